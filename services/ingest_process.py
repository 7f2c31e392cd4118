"""Uploads archived in one process of their own, beside the server's workers (issue 19).

An upload costs the server about ten times the CPU of a search (a 3-page text PDF: about
190 ms in the worker besides its parsing: terms, index, manifest and seal, records), and in the
worker it holds the worker's GIL for all of it, so searches queued behind uploads in the same
process whatever the OS did. `contract-archive serve` therefore starts one **ingest process**
before its workers (:class:`IngestProcess`): the workers hand each uploaded file to it over a
Unix socket (:class:`IngestClient`) and wait for its outcome, which is the same
``IngestResult`` as before (the same pipeline, the same access-log entries, with the caller's
identity). The ingest process runs at ``ARCHIVE_UPLOAD_NICE`` (default 10), so when the cores
are busy the searches in the workers go first; it archives up to ``THREADS`` files at once.

The socket is an abstract Unix socket on Linux (no file, so no limit from the data directory's
path length and nothing to clean up; elsewhere a socket file in a private temporary folder) and
needs a random key that only the server's processes know (``multiprocessing.connection``'s HMAC
challenge), so no other process can make the archive ingest a file as someone else.

If the ingest process dies (killed, out of memory), the uploads it was archiving get a 503 that
says to retry them (a file that was archived answers as a duplicate; one that was not is
archived again: the pipeline's claims and the doctor make a half-done file whole or absent), and
the server starts a new one, at most ``MAX_RESTARTS`` times within ``RESTART_WINDOW`` seconds;
after that it stops trying and the uploads say so (restart the server). The process dies with
the server (``PR_SET_PDEATHSIG``); its parser processes die with it (see
``ingest.forkserver_watchdog``).
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import multiprocessing
import os
import secrets
import shutil
import sys
import tempfile
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from multiprocessing.connection import Client, Connection, Listener
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from core.errors import ArchiveError, Unavailable
from storage.errors import StorageFull

if TYPE_CHECKING:
    from core.roles import Caller
    from core.settings import Settings
    from ingest.context import IngestRequest, IngestResult
    from services.access.service import AccessControl

log = logging.getLogger(__name__)

SOCKET_ENV = "ARCHIVE_INGEST_SOCKET"
KEY_ENV = "ARCHIVE_INGEST_KEY"
"""How `serve` tells its workers where the ingest process listens (set for them, not by users)."""
THREADS = 4
"""Files the ingest process archives at once (they wait on the disk, the index commit and the
parser processes as much as on the CPU)."""
MAX_RESTARTS = 5
RESTART_WINDOW = 60.0
START_TIMEOUT = 120.0
CONNECT_WAIT = 30.0
"""How long an upload waits for an ingest process that is being started again."""

_RETRY = "retry the upload: a file that was archived is then reported as a duplicate"


class IngestProcess:
    """The server's ingest process: started by `serve` before its workers, restarted when it
    dies, stopped with the server. ``env()`` is what the workers need to reach it."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        name = f"contract-archive-ingest-{os.getpid()}-{secrets.token_hex(8)}"
        self._dir: Path | None = None
        if sys.platform.startswith("linux"):
            self.address = "\0" + name  # abstract: no file, no path length limit
        else:
            self._dir = Path(tempfile.mkdtemp(prefix="ingest-"))  # short: sockets' 104 bytes
            self.address = str(self._dir / "socket")
        self._key = secrets.token_bytes(32)
        self._ctx = multiprocessing.get_context("spawn")
        self._proc: Any = None
        self._stopping = threading.Event()
        self._deaths: list[float] = []
        self._watch: threading.Thread | None = None

    def env(self) -> dict[str, str]:
        # An environment value cannot hold the abstract socket's leading NUL: "@" stands for it.
        return {SOCKET_ENV: self.address.replace("\0", "@", 1), KEY_ENV: self._key.hex()}

    def start(self) -> IngestProcess:
        self._spawn()
        self._watch = threading.Thread(target=self._restart_when_dead, name="ingest-watch")
        self._watch.daemon = True
        self._watch.start()
        return self

    def _spawn(self) -> None:
        if self._dir is not None:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self.address)
        ours, theirs = self._ctx.Pipe(duplex=False)
        proc = self._ctx.Process(
            target=_main,
            args=(self.address, self._key, self.settings.upload_nice, theirs),
            name="contract-archive ingest",
            daemon=False,
        )
        proc.start()
        theirs.close()
        try:
            if not ours.poll(START_TIMEOUT):
                proc.kill()
                raise Unavailable(
                    f"the ingest process did not start within {START_TIMEOUT:.0f} s",
                    hint="check the server's log; ARCHIVE_UPLOAD_PROCESS=false archives "
                    "uploads in the workers instead",
                )
            started = ours.recv()
        except EOFError:
            proc.join(5)
            raise Unavailable(
                f"the ingest process ended while it started (exit code {proc.exitcode})",
                hint="check the server's log above this message",
            ) from None
        finally:
            ours.close()
        if isinstance(started, ArchiveError):
            proc.join(5)
            raise started
        self._proc = proc

    def _restart_when_dead(self) -> None:
        while not self._stopping.is_set():
            proc = self._proc
            proc.join(0.5)
            if proc.is_alive() or self._stopping.is_set():
                continue
            now = time.monotonic()
            self._deaths = [t for t in self._deaths if now - t < RESTART_WINDOW] + [now]
            if len(self._deaths) > MAX_RESTARTS:
                log.error(
                    "the ingest process died %d times within %.0f s (last exit code %s); "
                    "uploads are refused until the server is restarted",
                    len(self._deaths),
                    RESTART_WINDOW,
                    proc.exitcode,
                )
                return
            log.warning(
                "the ingest process ended (exit code %s); starting a new one", proc.exitcode
            )
            try:
                self._spawn()
            except ArchiveError as exc:
                log.error("the ingest process could not be started again: %s", exc.message)
                return

    def stop(self, timeout: float = 30.0) -> None:
        """Let the files in progress finish (up to ``timeout``), then end the process."""
        self._stopping.set()
        proc = self._proc
        if proc is not None and proc.is_alive():
            proc.terminate()  # SIGTERM: it stops accepting and finishes its files
            proc.join(timeout)
            if proc.is_alive():
                proc.kill()
                proc.join(5)
        if self._watch is not None:
            self._watch.join(5)
        if self._dir is not None:
            shutil.rmtree(self._dir, ignore_errors=True)


def _main(address: str, key: bytes, nice: int, ready: Connection) -> None:
    """The ingest process: opens the archive, listens, archives what the workers send."""
    import signal

    from ingest.isolation import default_workers, die_with_parent

    die_with_parent()
    if nice > 0:
        with contextlib.suppress(OSError):
            os.nice(nice)
    try:
        from core.settings import get_settings
        from services.access.service import AccessControl
        from services.archive import Archive

        settings = get_settings()
        parsers = settings.parser_workers or default_workers()
        archive = Archive(settings, parser_workers=parsers).open(migrate=False)
        access = AccessControl.for_archive(archive)
        listener = Listener(address, family="AF_UNIX", authkey=key)
        if not address.startswith("\0"):
            os.chmod(address, 0o600)
    except ArchiveError as exc:
        ready.send(exc)
        return
    except Exception as exc:  # noqa: BLE001 - said to `serve`, which stops with the reason
        ready.send(
            Unavailable(
                f"the ingest process could not start: {type(exc).__name__}: {exc}",
                hint="fix what the message says, or set ARCHIVE_UPLOAD_PROCESS=false",
            )
        )
        return
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    pool = ThreadPoolExecutor(THREADS, thread_name_prefix="ingest")
    ready.send(True)
    ready.close()
    threading.Thread(target=_accept, args=(listener, access, pool, stop), daemon=True).start()
    stop.wait()
    listener.close()
    pool.shutdown(wait=True)  # the files in progress are finished
    archive.close()


def _accept(
    listener: Listener, access: AccessControl, pool: ThreadPoolExecutor, stop: threading.Event
) -> None:
    while not stop.is_set():
        try:
            conn = listener.accept()
        except (OSError, EOFError, multiprocessing.AuthenticationError):
            continue  # a caller without the key, or the listener closed (stop is set)
        threading.Thread(target=_session, args=(conn, access, pool), daemon=True).start()


def _session(conn: Connection, access: AccessControl, pool: ThreadPoolExecutor) -> None:
    """One worker's connection: each message a file to archive, each answer its outcome."""
    send_lock = threading.Lock()

    def archive_one(job: int, caller: Caller, request: IngestRequest, path: str) -> None:
        answer: tuple[int, bool, Any]
        try:
            with open(path, "rb") as fh:
                answer = (job, True, access.ingest_request(caller, request, fh))
        except ArchiveError as exc:
            answer = (job, False, exc)
        except Exception as exc:
            log.exception("the ingest process failed on %s", request.filename)
            answer = (
                job,
                False,
                Unavailable(f"archiving the file failed: {type(exc).__name__}: {exc}", hint=_RETRY),
            )
        with send_lock, contextlib.suppress(OSError):
            conn.send(answer)

    while True:
        try:
            job, caller, request, path = conn.recv()
        except (EOFError, OSError):
            conn.close()
            return
        try:
            pool.submit(archive_one, job, caller, request, path)
        except RuntimeError:  # shutting down
            with send_lock, contextlib.suppress(OSError):
                conn.send((job, False, Unavailable("the server is stopping", hint=_RETRY)))


class IngestClient:
    """A worker's way to the ingest process: one connection, answers matched by job number."""

    def __init__(self, address: str, key: bytes, tmp_dir: Path) -> None:
        self.address = address
        self.key = key
        self.tmp_dir = tmp_dir
        self._lock = threading.RLock()
        self._conn: Connection | None = None
        self._pending: dict[int, Future[IngestResult]] = {}
        self._jobs = itertools.count(1)

    @classmethod
    def from_env(cls, tmp_dir: Path) -> IngestClient | None:
        address, key = os.environ.get(SOCKET_ENV), os.environ.get(KEY_ENV)
        if not address or not key:
            return None
        if address.startswith("@"):
            address = "\0" + address[1:]
        return cls(address, bytes.fromhex(key), tmp_dir)

    def ingest(self, caller: Caller, request: IngestRequest, source: IO[bytes]) -> IngestResult:
        try:
            fd, path = tempfile.mkstemp(prefix="upload-", dir=self.tmp_dir)
        except OSError as exc:
            raise _spool_error(exc) from exc
        try:
            try:
                with os.fdopen(fd, "wb") as out:
                    shutil.copyfileobj(source, out, 1024 * 1024)
            except OSError as exc:
                raise _spool_error(exc) from exc
            future: Future[IngestResult] = Future()
            with self._lock:
                conn = self._connect()
                job = next(self._jobs)
                self._pending[job] = future
                try:
                    conn.send((job, caller, request, path))
                except OSError as exc:
                    self._pending.pop(job, None)
                    self._broken(conn)
                    raise _gone(exc) from exc
            return future.result()
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(path)

    def _connect(self) -> Connection:
        """The connection, made when there is none; while the ingest process is being started
        again (its socket not there yet) this waits up to ``CONNECT_WAIT`` seconds."""
        deadline = time.monotonic() + CONNECT_WAIT
        while self._conn is None:
            try:
                self._conn = Client(self.address, family="AF_UNIX", authkey=self.key)
            except (FileNotFoundError, ConnectionRefusedError) as exc:
                if time.monotonic() > deadline:
                    raise _gone(exc) from exc
                time.sleep(0.2)
                continue
            except (OSError, EOFError, multiprocessing.AuthenticationError) as exc:
                raise _gone(exc) from exc
            threading.Thread(
                target=self._read, args=(self._conn,), name="ingest-answers", daemon=True
            ).start()
        return self._conn

    def _read(self, conn: Connection) -> None:
        while True:
            try:
                job, ok, value = conn.recv()
            except (EOFError, OSError) as exc:
                self._broken(conn, exc)
                return
            with self._lock:
                future = self._pending.pop(job, None)
            if future is None:
                continue
            if ok:
                future.set_result(value)
            else:
                future.set_exception(value)

    def _broken(self, conn: Connection, exc: BaseException | None = None) -> None:
        """The connection is gone: every file waiting on it gets a 503 that says to retry."""
        with self._lock:
            if self._conn is conn:
                self._conn = None
            waiting, self._pending = self._pending, {}
        with contextlib.suppress(OSError):
            conn.close()
        for future in waiting.values():
            if not future.done():
                future.set_exception(
                    Unavailable(
                        "the archive's ingest process ended while it archived the file",
                        hint=_RETRY,
                    )
                )

    def close(self) -> None:
        with self._lock:
            conn, self._conn = self._conn, None
        if conn is not None:
            with contextlib.suppress(OSError):
                conn.close()


def _spool_error(exc: OSError) -> ArchiveError:
    import errno

    why = exc.strerror or str(exc)
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return StorageFull(
            f"the upload could not be kept for archiving: {why}",
            hint="free space under ARCHIVE_DATA_DIR; nothing was archived",
        )
    return Unavailable(
        f"the upload could not be kept for archiving: {why}",
        hint="check ARCHIVE_DATA_DIR's tmp folder; nothing was archived",
    )


def _gone(exc: BaseException) -> Unavailable:
    return Unavailable(
        f"the archive's ingest process cannot be reached ({type(exc).__name__})",
        hint="retry the upload in a moment; if it persists, restart the server (the ingest "
        "process died too often) or set ARCHIVE_UPLOAD_PROCESS=false",
    )
