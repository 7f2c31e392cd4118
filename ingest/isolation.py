"""Run untrusted-file parsing in worker processes that can be killed.

A slot is a single-process executor. A call takes a free slot, waits for the result up to a
timeout, and on timeout or crash kills that one worker and replaces it; other calls in other
slots are not disturbed. Workers are started with the ``forkserver`` method (a clean process,
not a fork of a threaded server) and run under an address-space limit so that a decompression
bomb ends in a MemoryError instead of the machine swapping.
"""

from __future__ import annotations

import contextlib
import functools
import multiprocessing
import os
import queue
import resource
import threading
from collections.abc import Callable
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from concurrent.futures.process import BrokenProcessPool
from typing import Any, TypeVar

from ingest.errors import RejectFile, WorkerCrashed, WorkerDied, WorkerTimedOut

T = TypeVar("T")


FORKSERVER_PRELOAD = [
    "ingest.forkserver_watchdog",
    "ingest.pdf",
    "pypdf",
    "pypdfium2",
    "signing.embedded",
    # what signing.embedded imports when it runs (every parse looks for signatures): imported
    # there, not at its top, so that the command line starts without them
    "signing.embedded_structure",
    "asn1crypto.pem",
    "asn1crypto.x509",
    "pyhanko.pdf_utils.reader",
    "pyhanko.sign.fields",
    "pyhanko.sign.validation.pdf_embedded",
]
"""Imported once by the forkserver; its workers start with them loaded (a new worker would
otherwise spend 0.7 s of CPU importing pyHanko on its first file). The watchdog makes the
forkserver exit when its parent is gone."""
STARTUP_TIMEOUT = 120.0
"""How long a new worker process may take to start (forkserver start, imports): not counted in
the parse timeout, which measures only the work on the file."""


_PR_SET_PDEATHSIG = 1


def die_with_parent() -> None:
    """Ask the kernel to kill this worker when its parent dies (Linux ``PR_SET_PDEATHSIG``).

    A worker's parent is the forkserver, which exits when the process that started it dies
    (SIGKILL of the CLI or the server included): the workers then die with it instead of
    living on as orphans holding the pipes. Elsewhere (or without libc) nothing happens."""
    import signal

    parent = os.getppid()
    lib = libc()
    if lib is not None and hasattr(lib, "prctl"):
        lib.prctl(_PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0)
    if os.getppid() != parent:  # the parent died before the request took effect
        os._exit(1)


@functools.cache
def libc() -> Any | None:
    """The C library (for ``prctl``), loaded once; None where it cannot be loaded."""
    import ctypes
    import ctypes.util

    try:
        return ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
    except (OSError, AttributeError, TypeError):
        return None


def child_dies_with_parent() -> Callable[[], None] | None:
    """A ``preexec_fn`` for a program this process starts (tesseract): the kernel kills it
    (``PR_SET_PDEATHSIG``) when this process dies, SIGKILL included, instead of letting it run
    on as an orphan. None where that cannot be done (no Linux libc).

    The death signal is tied to the *thread* that starts the program: call it from a thread
    that lives as long as the program (a worker's main thread)."""
    import signal

    lib = libc()  # loaded before the fork: nothing is loaded in the child
    if lib is None or not hasattr(lib, "prctl"):
        return None
    prctl = lib.prctl
    parent = os.getpid()
    kill = int(signal.SIGKILL)

    def preexec() -> None:
        prctl(_PR_SET_PDEATHSIG, kill, 0, 0, 0)
        if os.getppid() != parent:  # the parent died before the request took effect
            os._exit(1)

    return preexec


def _limit_memory(max_bytes: int, nice: int = 0) -> None:
    die_with_parent()
    if nice > 0:
        # The parsing yields the cores to the server's requests (searches) when they are busy.
        with contextlib.suppress(OSError):
            os.nice(nice)
    if max_bytes > 0:
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_AS, (max_bytes, max_bytes))


class WorkerPool:
    def __init__(self, workers: int, *, timeout: float, memory_limit: int, nice: int = 0) -> None:
        self.timeout = timeout
        self.memory_limit = memory_limit
        self.nice = nice
        self._ctx = multiprocessing.get_context("forkserver")
        self._ctx.set_forkserver_preload(FORKSERVER_PRELOAD)
        self._free: queue.Queue[int] = queue.Queue()
        self._slots: list[ProcessPoolExecutor | None] = [None] * max(1, workers)
        self._lock = threading.Lock()
        for i in range(len(self._slots)):
            self._free.put(i)

    def _executor(self, slot: int) -> ProcessPoolExecutor:
        with self._lock:
            ex = self._slots[slot]
            if ex is not None:
                return ex
            ex = ProcessPoolExecutor(
                max_workers=1,
                mp_context=self._ctx,
                initializer=_limit_memory,
                initargs=(self.memory_limit, self.nice),
            )
            self._slots[slot] = ex
        # Start the worker now, so that a slow start on a busy machine is not taken for a
        # slow file by the timeout of the call that follows.
        try:
            ex.submit(os.getpid).result(timeout=STARTUP_TIMEOUT)
        except (FutureTimeout, BrokenProcessPool, OSError) as exc:
            self._kill(slot)
            raise WorkerDied(
                f"the worker process did not start ({type(exc).__name__})",
                hint="the machine may be out of memory or processes; try again",
            ) from None
        return ex

    def _kill(self, slot: int) -> None:
        with self._lock:
            ex = self._slots[slot]
            self._slots[slot] = None
        if ex is None:
            return
        processes: dict[int, Any] = dict(getattr(ex, "_processes", None) or {})
        for proc in processes.values():
            with contextlib.suppress(Exception):
                proc.kill()
        ex.shutdown(wait=False, cancel_futures=True)

    def run(
        self,
        fn: Callable[..., T],
        *args: Any,
        what: str = "the file",
        timeout: float | None = None,
        **kwargs: Any,
    ) -> T:
        limit = self.timeout if timeout is None else timeout
        slot = self._free.get()
        try:
            future: Future[T] = self._executor(slot).submit(fn, *args, **kwargs)
            try:
                return future.result(timeout=limit)
            except FutureTimeout:
                self._kill(slot)
                raise WorkerTimedOut(
                    f"reading {what} took longer than {limit:g} s and was stopped",
                    hint="the file may be damaged or hostile; raise "
                    "ARCHIVE_PARSE_TIMEOUT_SECONDS if it is a genuine, very large document",
                ) from None
            except BrokenProcessPool:
                self._kill(slot)
                raise WorkerCrashed(
                    f"reading {what} crashed the PDF reader (out of memory or a fault)",
                    hint="the file may be damaged or hostile",
                ) from None
            except MemoryError:
                raise RejectFile(
                    f"reading {what} needs more memory than the reader is allowed",
                    hint="the file may contain a decompression bomb",
                ) from None
        finally:
            self._free.put(slot)

    def close(self) -> None:
        for i in range(len(self._slots)):
            with self._lock:
                ex = self._slots[i]
                self._slots[i] = None
            if ex is not None:
                ex.shutdown(wait=True, cancel_futures=True)


def default_workers(sharing: int = 1) -> int:
    """Parser processes of one archiving process: one per core (at most 4), the cores shared
    among ``sharing`` processes (the server's workers)."""
    return max(1, min(4, (os.cpu_count() or 1) // max(1, sharing)))
