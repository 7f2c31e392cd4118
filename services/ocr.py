"""The OCR service: works the durable OCR queue with one worker process per core.

Used three ways: in the background of the server (``ARCHIVE_OCR_BACKGROUND``), on its own as
``contract-archive worker``, and in the foreground of ``contract-archive ingest`` and ``ocr
--retry``. Any number of them may run at once, on one machine or several: pages are taken from
the queue in the records database with an atomic conditional update, never twice.

Per page: take it, copy the original out of the object store once per contract, OCR the page in
a killable worker process, store the result in the queue row (or the reason it failed). When a
contract has no open page left, one worker takes its finalisation and writes, as new versions
(nothing is overwritten): ``text.vN.json`` with the OCR text, confidence and low-confidence words
of each page, and ``searchable.vN.pdf``, the original's pages with an invisible text layer. The
new text is indexed, the record is then pointed at them in one transaction (so a contract whose
OCR reads `done` is found by search), and :meth:`Archive.package_changed` tells the package
listeners (the seal).

A worker that dies leaves its pages ``running`` with a lease; they are taken again when the
lease runs out, or at once by the next service started on the same host (it sees that the
owning process is gone). Queued pages therefore survive restarts.

Failure is a state, not a loop. A page or a finalisation that fails goes back to the queue with
a backoff (``ARCHIVE_OCR_RETRY_BACKOFF_SECONDS``, doubling), not to be taken before it, while the
workers go on with other contracts; after ``ARCHIVE_OCR_MAX_ATTEMPTS`` attempts it is
``failed`` with the reason (and, for an unexpected error, its traceback in the record and the
log). A searchable copy that cannot be built (a hostile original that makes pypdf loop) is not
a failure of the contract: its OCR text is kept and indexed, and its OCR status says
"searchable copy could not be made: <reason>".
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import io
import json
import logging
import os
import re
import secrets
import shutil
import socket
import threading
import time
import traceback
from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from core.errors import ArchiveError
from ingest.ocr.check import TesseractInfo, check_tesseract
from ingest.ocr.engine import OcrEngine, TesseractEngine
from ingest.ocr.errors import OcrPageError, OcrTimeout
from ingest.ocr.page import PageOcr, PageOptions, ocr_page
from ingest.ocr.pool import GRACE_SECONDS, OcrPool, PoolStopped, usage
from ingest.ocr.rapid import RapidOcrEngine, check_rapidocr
from ingest.ocr.searchable import SEARCHABLE_FAILED, Layer, build_searchable
from ingest.ocr.select import engine_options
from ingest.pdf import usable_chars
from ingest.stages import index_document, text_document_bytes
from schemas.ocr import ocr_note
from services.archive import WORDS_SCHEMA, Archive, words_key
from storage.objects.base import (
    CHUNK_SIZE,
    RENDITION_INFO_NAME,
    package_key,
    package_prefix,
    pdf_key,
)
from storage.records.base import PageRecord
from storage.records.leases import retry_in
from storage.records.ocr_base import OcrCounts, OcrJobRecord

log = logging.getLogger(__name__)

FINALIZE_LEASE_SECONDS = 1800.0
SEARCHABLE_SECONDS_PER_PAGE = 2.0
TRACEBACK_CHARS = 20_000
_VERSIONED = re.compile(r"^(?P<stem>[a-z]+)\.v(?P<n>\d+)\.(?P<ext>[a-z]+)$")


@dataclass(frozen=True)
class OcrWait(OcrCounts):
    """What :meth:`OcrService.wait_for` saw last: the page counts, and the contracts whose OCR
    was still open when it stopped waiting (none when everything finished)."""

    open_contracts: frozenset[int] = frozenset()
    timed_out: bool = False


def _short_traceback(exc: BaseException) -> str:
    text = "".join(traceback.format_exception(exc))
    return text[-TRACEBACK_CHARS:]


def _reason(exc: BaseException) -> str:
    if isinstance(exc, ArchiveError):
        return exc.message
    text = " ".join(str(exc).split())[:500]
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


@dataclass(frozen=True)
class OcrEvent:
    """One page finished (``done`` or ``failed``), or one contract (``finished``)."""

    contract_id: int
    page_no: int | None
    status: str
    error: str | None = None
    seconds: float = 0.0


def next_version_key(objects: Any, sha256: str, stem: str, ext: str) -> str:
    """``packages/…/<stem>.v<N+1>.<ext>`` after the highest version the package holds."""
    highest = 0
    for key in objects.iter_keys(package_prefix(sha256)):
        m = _VERSIONED.match(key.rsplit("/", 1)[-1])
        if m and m["stem"] == stem and m["ext"] == ext:
            highest = max(highest, int(m["n"]))
    return package_key(sha256, f"{stem}.v{highest + 1}.{ext}")


class _SourceFiles:
    """Local copies of originals for the worker processes, one per contract being worked on,
    checked against the original's SHA-256 on the way out of the object store."""

    def __init__(self, objects: Any, directory: Path, keep: int) -> None:
        self.objects = objects
        self.directory = directory
        self.keep = keep
        self._lock = threading.Lock()
        self._users: dict[str, int] = {}
        self._last_used: dict[str, float] = {}

    def acquire(self, sha256: str, key: str) -> Path:
        path = self.directory / f"{sha256}.pdf"
        with self._lock:
            self._users[sha256] = self._users.get(sha256, 0) + 1
            self._last_used[sha256] = time.monotonic()
            try:
                if not path.exists():
                    self._fetch(sha256, key, path)
            except BaseException:
                self._users[sha256] -= 1
                raise
        return path

    def _fetch(self, sha256: str, key: str, path: Path) -> None:
        part = path.with_suffix(".part")
        digest = hashlib.sha256()
        with self.objects.open(key) as src, open(part, "wb") as out:
            while chunk := src.read(CHUNK_SIZE):
                digest.update(chunk)
                out.write(chunk)
        # The PDF of an image original (its rendition) has its own digest, in rendition.json.
        expected = sha256 if key.endswith("/original") else self._rendition_sha256(key)
        if digest.hexdigest() != expected:
            part.unlink(missing_ok=True)
            raise OcrPageError(
                f"the stored file {key} does not match its SHA-256",
                hint="run `contract-archive doctor`: the object store may be damaged",
            )
        part.rename(path)

    def _rendition_sha256(self, key: str) -> str | None:
        info_key = key.rsplit("/", 1)[0] + "/" + RENDITION_INFO_NAME
        try:
            with self.objects.open(info_key) as fh:
                info = json.loads(fh.read())
        except (ArchiveError, ValueError):
            return None
        value = info.get("sha256") if isinstance(info, dict) else None
        return str(value) if value else None

    def release(self, sha256: str) -> None:
        with self._lock:
            self._users[sha256] = max(0, self._users.get(sha256, 1) - 1)
            idle = sorted((t, s) for s, t in self._last_used.items() if self._users.get(s, 0) == 0)
            for _, sha in idle[: max(0, len(self._last_used) - self.keep)]:
                self._drop(sha)

    def discard(self, sha256: str) -> None:
        with self._lock:
            if self._users.get(sha256, 0) == 0:
                self._drop(sha256)

    def _drop(self, sha256: str) -> None:
        (self.directory / f"{sha256}.pdf").unlink(missing_ok=True)
        self._users.pop(sha256, None)
        self._last_used.pop(sha256, None)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class OcrService:
    def __init__(
        self,
        archive: Archive,
        *,
        workers: int | None = None,
        engine: OcrEngine | None = None,
        poll_seconds: float = 1.0,
        on_event: Callable[[OcrEvent], None] | None = None,
        only: set[int] | None = None,
        max_attempts: int | None = None,
        backoff_seconds: float | None = None,
    ) -> None:
        self.archive = archive
        self.settings = archive.settings
        self.records = archive.records
        self.objects = archive.objects
        self.workers = workers or self.settings.effective_ocr_workers
        chosen: dict[str, Any] = (
            engine_options(self.settings.ocr_engine)
            if engine is None
            else {
                "engine": engine,
                "chinese_engine": None,
                "reread_block": True,
                "reread_layout": True,
            }
        )
        self.engine: OcrEngine = chosen["engine"]
        """The engine that reads every page first (``ARCHIVE_OCR_ENGINE``, or the one given)."""
        self.chinese_engine: OcrEngine | None = chosen["chinese_engine"]
        """``auto``: the engine whose reading is kept for Chinese pages (RapidOCR)."""
        self.poll_seconds = poll_seconds
        self.on_event = on_event
        self.only = only
        """When set, only these contracts are worked on (the CLI's own batch); it may grow."""
        self.host = socket.gethostname()
        self.token = secrets.token_hex(4)
        self.owner_prefix = f"{self.host}:{os.getpid()}:{self.token}"
        self.work_dir = self.settings.tmp_dir / f"ocr-{self.host}-{os.getpid()}-{self.token}"
        self.page_timeout = self.settings.ocr_page_timeout_seconds
        self.max_attempts = max_attempts or self.settings.ocr_max_attempts
        """Attempts at a page or a finalisation (default ``ARCHIVE_OCR_MAX_ATTEMPTS``)."""
        self.backoff = (
            self.settings.ocr_retry_backoff_seconds if backoff_seconds is None else backoff_seconds
        )
        self.options = PageOptions(
            languages=self.settings.ocr_languages,
            timeout=self.page_timeout,
            low_confidence=self.settings.ocr_low_confidence,
            engine=self.engine,
            chinese_engine=self.chinese_engine,
            reread_block=chosen["reread_block"],
            reread_layout=chosen["reread_layout"],
        )
        self.tesseract: TesseractInfo | None = None
        self.rapidocr: str | None = None
        """RapidOCR's version once :meth:`check` found it usable."""
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._threads: list[threading.Thread] = []
        self._pool: OcrPool | None = None
        self._sources = _SourceFiles(self.objects, self.work_dir, keep=2 * self.workers)

    # -- lifecycle ---------------------------------------------------------------------------
    def check(self) -> None:
        """OcrUnavailable (naming the apt package) unless the engine can run."""
        engines = [self.engine, self.chinese_engine]
        if any(isinstance(e, (TesseractEngine, RapidOcrEngine)) for e in engines):
            # RapidOCR asks tesseract's OSD how a page is turned: tesseract is needed too.
            self.tesseract = check_tesseract(self.settings.ocr_languages)
        if any(isinstance(e, RapidOcrEngine) for e in engines):
            self.rapidocr = check_rapidocr()
        if self.tesseract is not None or self.rapidocr is not None:
            self.options = dataclasses.replace(
                self.options,
                engine_version=self.tesseract.version if self.tesseract else "",
                chinese_engine_label=self._label(self.chinese_engine),
            )

    def _label(self, engine: OcrEngine | None) -> str:
        if engine is None:
            return ""
        if isinstance(engine, TesseractEngine) and self.tesseract is not None:
            return f"tesseract {self.tesseract.version}"
        if isinstance(engine, RapidOcrEngine) and self.rapidocr:
            return f"rapidocr {self.rapidocr}"
        return engine.name

    @property
    def engine_label(self) -> str:
        """The engine that reads every page; with ``auto`` also the one for Chinese pages
        (each page's text file names the engine of its own reading)."""
        label = self._label(self.engine)
        if self.chinese_engine is not None:
            label += f", Chinese pages {self._label(self.chinese_engine)}"
        return label

    def open(self, *, warm: bool = False) -> OcrService:
        """Check the engine, recover what dead workers on this host left, queue forgotten
        pages, and make the worker pool ready (with ``warm``, its processes started). Takes no
        work yet."""
        self.check()
        self.work_dir.mkdir(parents=True, exist_ok=True)
        self.recover()
        queued = self.records.enqueue_missing_ocr()
        if queued:
            log.info("queued %d pages that awaited OCR without a job", queued)
        if self._pool is None:
            self._pool = OcrPool(self.workers)
            if warm:
                self._pool.warm()
        return self

    def worker_usage(self) -> list[dict[str, float]]:
        """Per worker process: CPU seconds and peak memory of it and of its tesseract runs
        (for the benchmark; call while no page is being read)."""
        return [] if self._pool is None else self._pool.each(usage)

    def start(self) -> OcrService:
        """Open, then work the queue in background threads until :meth:`stop`."""
        self.open()
        self._stop.clear()
        for slot in range(self.workers):
            thread = threading.Thread(
                target=self._loop,
                args=(f"{self.owner_prefix}:{slot}",),
                daemon=True,
                name=f"ocr-{slot}",
            )
            thread.start()
            self._threads.append(thread)
        log.info(
            "OCR service started: %d workers, languages %s",
            self.workers,
            self.settings.ocr_languages,
        )
        return self

    def stop(self) -> None:
        """Stop at once: pages being read go back to the queue for the next start."""
        self._stop.set()
        self._wake.set()
        if self._pool is not None:
            self._pool.close(kill=True)
        for thread in self._threads:
            thread.join(timeout=30)
        self._threads = []
        self._pool = None
        shutil.rmtree(self.work_dir, ignore_errors=True)

    def __enter__(self) -> OcrService:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def running(self) -> bool:
        return bool(self._threads)

    def wake(self) -> None:
        self._wake.set()

    def recover(self) -> int:
        """Give back pages held by OCR services on this host whose process is gone."""
        dead = set()
        for owner in self.records.ocr_owners():
            parts = owner.split(":")
            if len(parts) < 3 or parts[0] != self.host:
                continue
            try:
                pid = int(parts[1])
            except ValueError:
                continue
            token = parts[2]
            if token == self.token:
                continue
            if pid == os.getpid() or not _pid_alive(pid):
                dead.add(owner)
        count = self.records.requeue_ocr_owned_by(dead) if dead else 0
        if count:
            log.warning("resumed %d OCR pages left by stopped workers", count)
        self._sweep_work_dirs()
        return count

    def _sweep_work_dirs(self) -> None:
        tmp = self.settings.tmp_dir
        if not tmp.is_dir():
            return
        for path in tmp.glob(f"ocr-{self.host}-*"):
            try:
                pid = int(path.name[len(f"ocr-{self.host}-") :].split("-")[0])
            except ValueError:
                continue
            if path != self.work_dir and (pid == os.getpid() or not _pid_alive(pid)):
                shutil.rmtree(path, ignore_errors=True)

    # -- the work ----------------------------------------------------------------------------
    def _loop(self, owner: str) -> None:
        while not self._stop.is_set():
            try:
                worked = self.step(owner)
            except PoolStopped:
                return
            except ArchiveError as exc:
                log.error("OCR worker %s: %s", owner, exc.message)
                worked = False
            except Exception:
                log.exception("OCR worker %s failed; it goes on with the next page", owner)
                worked = False
            if not worked:
                self._wake.wait(self.poll_seconds)
                self._wake.clear()

    def step(self, owner: str) -> bool:
        """Do one unit of work (a page or a contract's finalisation); False when idle."""
        only = None if self.only is None else list(self.only)
        contract_id = self.records.claim_stale_finalization(
            owner, FINALIZE_LEASE_SECONDS, max_attempts=self.max_attempts, contract_ids=only
        )
        if contract_id is not None:
            self.finalize(contract_id, owner)
            return True
        claim = self.records.claim_ocr_page(
            owner,
            self.page_timeout + GRACE_SECONDS + 60,
            max_attempts=self.max_attempts,
            contract_ids=only,
        )
        if claim is None:
            return False
        started = time.monotonic()
        pool = self._pool
        if pool is None:
            raise PoolStopped
        try:
            source = self._sources.acquire(claim.sha256, claim.original_key)
            try:
                result: PageOcr = pool.run(
                    self.page_timeout,
                    ocr_page,
                    str(source),
                    claim.page_no,
                    claim.sha256[:16],
                    self.options,
                    str(self.work_dir),
                )
            finally:
                self._sources.release(claim.sha256)
        except PoolStopped:
            self.records.release_ocr_page(claim.job_id, owner)
            return False
        except Exception as exc:  # noqa: BLE001 - recorded with its traceback, never a loop
            # One page's failure is recorded and the worker goes on: an ArchiveError is an
            # expected one (the engine failed, a timeout); anything else keeps its traceback.
            expected = isinstance(exc, ArchiveError)
            if isinstance(exc, ArchiveError) and exc.code == "ocr_timeout":
                reason = self._timeout_reason()
            else:
                reason = _reason(exc)
            trace = None if expected else _short_traceback(exc)
            wait = retry_in(claim.attempts, self.max_attempts, self.backoff)
            again = wait is not None
            (log.warning if expected else log.error)(
                "OCR of contract %d page %d failed (attempt %d of %d%s): %s%s",
                claim.contract_id,
                claim.page_no,
                claim.attempts,
                self.max_attempts,
                ", tried again later" if again else "",
                reason,
                f"\n{trace}" if trace else "",
            )
            self.records.fail_ocr_page(
                claim.job_id,
                owner,
                reason,
                retry_in=wait,
                traceback=trace,
            )
            if not again:
                self._emit(
                    OcrEvent(
                        claim.contract_id,
                        claim.page_no,
                        "failed",
                        reason,
                        time.monotonic() - started,
                    )
                )
        else:
            data = result.result_json(
                languages=self.settings.ocr_languages,
                engine=self._label(self.engine),
                threshold=self.settings.ocr_low_confidence,
            )
            data["text"] = result.text
            data["boxes"] = result.words_json()
            self.records.complete_ocr_page(
                claim.job_id,
                owner,
                result=data,
                layer=result.layer_pdf,
                confidence=result.confidence,
            )
            self._emit(
                OcrEvent(
                    claim.contract_id, claim.page_no, "done", seconds=time.monotonic() - started
                )
            )
        if self.records.try_finalize_ocr(claim.contract_id, owner, FINALIZE_LEASE_SECONDS):
            self.finalize(claim.contract_id, owner)
        return True

    def _timeout_reason(self) -> str:
        return (
            f"OCR took longer than ARCHIVE_OCR_PAGE_TIMEOUT_SECONDS ({self.page_timeout:g} s) "
            "and was stopped"
        )

    def _emit(self, event: OcrEvent) -> None:
        if self.on_event is not None:
            try:
                self.on_event(event)
            except Exception:
                log.exception("OCR progress callback failed")

    # -- finishing a contract ----------------------------------------------------------------
    def finalize(self, contract_id: int, owner: str) -> None:
        created: list[str] = []
        indexed = False
        try:
            record = self.archive.get(contract_id)
            jobs = self.records.ocr_jobs(contract_id, with_layers=True)
            document = self.archive.text_document(contract_id)
            new_document, pages = merge_text(
                document, jobs, previous_key=record.text_key, previous_sha256=record.text_sha256
            )
            data = text_document_bytes(new_document)
            text_key = next_version_key(self.objects, record.sha256, "text", "json")
            put = self.objects.put(text_key, io.BytesIO(data), content_type="application/json")
            if put.created:
                created.append(text_key)
            self._store_words(record, jobs, text_key, put.sha256, created)
            searchable_key, searchable_sha, error = self._searchable(record, jobs, created)
            failed = [j.page_no for j in jobs if j.status == "failed"]
            # Index the new text first, so that a contract whose OCR state reads `done` is
            # also found by search (pollers search right after it); put back below when the
            # record is not updated after all.
            texts = [str(p.get("text", "")) for p in new_document["pages"]]
            by_page = {p.page_no: p for p in pages}
            self.archive.index.add(
                [
                    index_document(
                        dataclasses.replace(
                            record,
                            text_key=text_key,
                            text_sha256=put.sha256,
                            pages=tuple(by_page.get(p.page_no, p) for p in record.pages),
                        ),
                        texts,
                    )
                ]
            )
            indexed = True
            updated = self.records.finish_ocr(
                contract_id,
                owner,
                state="incomplete" if failed else "done",
                text_key=text_key,
                text_sha256=put.sha256,
                pages=pages,
                searchable_key=searchable_key,
                searchable_sha256=searchable_sha,
                error=error,
            )
        except BaseException as exc:
            self._undo(created)
            if indexed:
                self._index_as_recorded(contract_id)
            if isinstance(exc, Exception) and not isinstance(exc, PoolStopped):
                self._finalization_failed(contract_id, owner, exc)
                return
            with contextlib.suppress(ArchiveError):
                self.records.abandon_finalization(contract_id, owner)
            raise
        if updated is None:  # another worker took over after our lease ran out
            self._undo(created)
            self._index_as_recorded(contract_id)
            return
        self._sources.discard(record.sha256)
        try:
            self.archive.package_changed(contract_id)
        except ArchiveError as exc:
            log.error(
                "contract %d: OCR text stored, but updating the index or the seal failed (%s); "
                "run `contract-archive reindex`",
                contract_id,
                exc.message,
            )
        note = ocr_note(updated.pages, updated.warnings)
        self._emit(OcrEvent(contract_id, None, "finished", error=note))

    def _store_words(
        self,
        record: Any,
        jobs: list[OcrJobRecord],
        text_key: str,
        text_sha256: str,
        created: list[str],
    ) -> None:
        """``words.vN.json`` beside ``text.vN.json``: the word boxes of every OCR'd page (the
        pages OCR'd before keep theirs from the previous version), for the page viewer."""
        document = merge_words(
            self.archive.stored_words(record), jobs, text_key=text_key, text_sha256=text_sha256
        )
        key = words_key(text_key)
        if not document["pages"] or key is None:
            return
        data = json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        put = self.objects.put(key, io.BytesIO(data), content_type="application/json")
        if put.created:
            created.append(key)

    def _finalization_failed(self, contract_id: int, owner: str, exc: Exception) -> None:
        """Count the failed attempt at finishing: back to the queue after a backoff, or
        ``failed`` for good when its attempts are used up. Never a tight loop."""
        batch = self.records.ocr_batch(contract_id)
        attempts = batch.attempts if batch is not None else self.max_attempts
        wait = retry_in(attempts, self.max_attempts, self.backoff)
        again = wait is not None
        reason = _reason(exc)
        trace = _short_traceback(exc)
        log.error(
            "contract %d: finishing OCR failed (attempt %d of %d%s): %s\n%s",
            contract_id,
            attempts,
            self.max_attempts,
            ", tried again later" if again else "; it is marked failed",
            reason,
            trace,
        )
        try:
            self.records.fail_finalization(
                contract_id,
                owner,
                reason,
                retry_in=wait,
                traceback=trace,
            )
        except ArchiveError as store_error:
            log.error(
                "contract %d: the failed attempt could not be recorded (%s); its lease runs out",
                contract_id,
                store_error.message,
            )
            return
        if not again:
            self._emit(OcrEvent(contract_id, None, "failed", error=reason))

    def _searchable(
        self, record: Any, jobs: list[OcrJobRecord], created: list[str]
    ) -> tuple[str | None, str | None, str | None]:
        layers = [
            Layer(j.page_no, j.layer, int((j.result or {}).get("rotation", 0)))
            for j in jobs
            if j.status == "done" and j.layer
        ]
        if not layers:
            return None, None, None
        pool = self._pool
        if pool is None:
            raise PoolStopped
        out = self.work_dir / f"searchable-{record.id}-{secrets.token_hex(4)}.pdf"
        source = self._sources.acquire(
            record.sha256, pdf_key(record.original_key, record.content_type)
        )
        limit = max(60.0, SEARCHABLE_SECONDS_PER_PAGE * record.page_count)
        try:
            try:
                pool.run(limit, build_searchable, str(source), layers, str(out))
            except PoolStopped:
                raise
            except OcrTimeout:
                message = f"{SEARCHABLE_FAILED}: building it took longer than {limit:g} s"
                log.warning("contract %d: %s", record.id, message)
                return None, None, message
            except Exception as exc:  # noqa: BLE001 - hostile original: the copy is skipped
                # The original itself is at fault (pypdf loops, recurses or gives up on it):
                # trying again gives the same. The contract keeps its text and is searchable.
                message = _reason(exc)
                if not message.startswith(SEARCHABLE_FAILED):
                    message = f"{SEARCHABLE_FAILED}: {message}"
                log.warning("contract %d: %s", record.id, message)
                return None, None, message
            key = next_version_key(self.objects, record.sha256, "searchable", "pdf")
            with open(out, "rb") as fh:
                put = self.objects.put(key, fh, content_type="application/pdf")
            if put.created:
                created.append(key)
            return key, put.sha256, None
        finally:
            self._sources.release(record.sha256)
            out.unlink(missing_ok=True)

    def _index_as_recorded(self, contract_id: int) -> None:
        """Index the contract as its record stands (after an abandoned finalisation)."""
        try:
            record = self.archive.get(contract_id)
            self.archive.index.add([index_document(record, self.archive.page_texts(record))])
        except ArchiveError as exc:
            log.error(
                "contract %d: the search index may show text that was not kept (%s); "
                "run `contract-archive reindex`",
                contract_id,
                exc.message,
            )

    def _undo(self, keys: list[str]) -> None:
        for key in reversed(keys):
            try:
                self.objects.delete(key)
            except ArchiveError:
                log.exception("could not remove %s after a failed OCR finalisation", key)

    # -- running until done (CLI) ------------------------------------------------------------
    def wait_for(
        self,
        contract_ids: Collection[int] | None = None,
        *,
        progress: Callable[[OcrCounts], None] | None = None,
        poll: float = 0.5,
        timeout: float | None = None,
    ) -> OcrWait:
        """Wait until OCR of these contracts (all when None) is finished, but no longer than
        ``timeout`` seconds (default ``ARCHIVE_OCR_WAIT_SECONDS``): the page counts, and the
        contracts still open when it stopped waiting (their work stays queued)."""
        limit = self.settings.ocr_wait_seconds if timeout is None else timeout
        deadline = time.monotonic() + max(0.0, limit)
        while True:
            counts = self.records.ocr_counts(contract_ids)
            still_open = self.records.open_ocr_contracts(contract_ids)
            if progress is not None:
                progress(counts)
            timed_out = bool(still_open) and time.monotonic() >= deadline
            if not still_open or timed_out:
                if timed_out:
                    log.warning(
                        "stopped waiting for OCR after %g s: %d contracts still open (%s)",
                        limit,
                        len(still_open),
                        ", ".join(f"#{cid}" for cid in sorted(still_open)[:20]),
                    )
                return OcrWait(
                    **dataclasses.asdict(counts),
                    open_contracts=frozenset(still_open),
                    timed_out=timed_out,
                )
            if self._threads and not any(t.is_alive() for t in self._threads):
                raise ArchiveError("the OCR workers stopped unexpectedly; see the log")
            time.sleep(max(0.01, min(poll, deadline - time.monotonic())))


def merge_text(
    document: dict[str, Any],
    jobs: list[OcrJobRecord],
    *,
    previous_key: str,
    previous_sha256: str,
) -> tuple[dict[str, Any], list[PageRecord]]:
    """The next version of a text file: OCR'd pages replaced, failed ones marked."""
    by_page = {j.page_no: j for j in jobs}
    pages_out: list[dict[str, Any]] = []
    records: list[PageRecord] = []
    for page in document.get("pages", []):
        entry = dict(page)
        job = by_page.get(int(entry.get("page", 0)))
        if job is None:
            pages_out.append(entry)
            continue
        if job.status == "done" and job.result is not None:
            result = dict(job.result)
            text = str(result.pop("text", ""))
            result.pop("boxes", None)  # kept in words.vN.json
            entry.update(
                text=text,
                source="ocr",
                needs_ocr=False,
                chars=usable_chars(text),
                ocr={"status": "done", **result},
            )
            records.append(
                PageRecord(
                    page_no=job.page_no,
                    text_source="ocr",
                    chars=entry["chars"],
                    needs_ocr=False,
                    ocr_status="done",
                    ocr_confidence=result.get("confidence"),
                )
            )
        else:
            entry["needs_ocr"] = True
            entry["ocr"] = {"status": "failed", "error": job.error}
            records.append(
                PageRecord(
                    page_no=job.page_no,
                    text_source=str(entry.get("source", "none")),
                    chars=int(entry.get("chars", 0)),
                    needs_ocr=True,
                    ocr_status="failed",
                    ocr_error=job.error,
                )
            )
        pages_out.append(entry)
    new = dict(document)
    new["pages"] = pages_out
    new["derived_from"] = {"key": previous_key, "sha256": previous_sha256}
    new["ocr"] = {
        "finished_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "pages_done": sorted(j.page_no for j in jobs if j.status == "done"),
        "pages_failed": sorted(j.page_no for j in jobs if j.status == "failed"),
    }
    return new, records


def merge_words(
    previous: dict[str, Any] | None,
    jobs: list[OcrJobRecord],
    *,
    text_key: str,
    text_sha256: str,
) -> dict[str, Any]:
    """The next word-box file: the OCR'd pages' boxes, over those of the previous version."""
    pages: dict[int, dict[str, Any]] = {}
    for page in (previous or {}).get("pages", []):
        with contextlib.suppress(KeyError, TypeError, ValueError):
            pages[int(page["page"])] = page
    for job in jobs:
        boxes = (job.result or {}).get("boxes") if job.status == "done" else None
        if isinstance(boxes, dict):
            pages[job.page_no] = boxes
        else:
            pages.pop(job.page_no, None)
    return {
        "schema": WORDS_SCHEMA,
        "text": {"key": text_key, "sha256": text_sha256},
        "pages": [pages[n] for n in sorted(pages)],
    }
