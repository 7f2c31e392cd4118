"""OCR worker processes: one per core, each killable with the tesseract it started.

The pattern of :mod:`ingest.isolation` (a slot is a single-process executor started by the
forkserver, under an address-space limit), with what OCR needs besides: every worker leads its
own process group, so that a page past its timeout is stopped together with the tesseract
process it is waiting for, and sets ``OMP_THREAD_LIMIT=1`` for the tesseract processes it
starts. pytesseract already stops tesseract at the page timeout; the pool's own deadline (the
page timeout plus a grace period) catches a worker stuck anywhere else.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import queue
import resource
import signal
import threading
from collections.abc import Callable
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from concurrent.futures.process import BrokenProcessPool
from typing import Any, TypeVar

from ingest.isolation import FORKSERVER_PRELOAD, die_with_parent
from ingest.ocr.engine import give_back_memory, worker_environment
from ingest.ocr.errors import OcrPageError, OcrTimeout

T = TypeVar("T")

GRACE_SECONDS = 15.0
MEMORY_LIMIT = 3 * 1024**3
IDLE_SECONDS = 10.0
"""A worker that has read no page for this long gives its freed memory back to the kernel
(``ingest.ocr.engine.keep_freed_memory`` keeps it from one page to the next)."""


class PoolStopped(Exception):
    """The pool was closed while the call ran (shutdown); the work was not done."""


def _init_worker(memory_limit: int) -> None:
    die_with_parent()
    with contextlib.suppress(OSError):
        os.setpgrp()
    worker_environment()
    if memory_limit > 0:
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_AS, (memory_limit, memory_limit))


_idle: threading.Timer | None = None


def _in_worker(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Run one call in the worker; :data:`IDLE_SECONDS` after the last call ends, the memory
    the worker kept is given back (a call that starts before cancels that)."""
    global _idle
    if _idle is not None:
        _idle.cancel()
    try:
        return fn(*args, **kwargs)
    finally:
        _idle = threading.Timer(IDLE_SECONDS, give_back_memory)
        _idle.daemon = True
        _idle.start()


def _ready() -> bool:
    import ingest.ocr.page  # noqa: F401  (pypdfium2, PIL)

    return True


def usage() -> dict[str, float]:
    """CPU seconds and peak resident memory (KiB) of this worker and of the tesseract
    processes it ran (the largest of them)."""
    me = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return {
        "worker_cpu": me.ru_utime + me.ru_stime,
        "tesseract_cpu": children.ru_utime + children.ru_stime,
        "worker_kib": me.ru_maxrss,
        "tesseract_kib": children.ru_maxrss,
    }


class OcrPool:
    def __init__(
        self, workers: int, *, memory_limit: int = MEMORY_LIMIT, grace: float = GRACE_SECONDS
    ) -> None:
        self.memory_limit = memory_limit
        self.grace = grace
        self._ctx = multiprocessing.get_context("forkserver")
        self._ctx.set_forkserver_preload(FORKSERVER_PRELOAD)  # one forkserver, as WorkerPool's
        self._free: queue.Queue[int] = queue.Queue()
        self._slots: list[ProcessPoolExecutor | None] = [None] * max(1, workers)
        self._lock = threading.Lock()
        self._closed = False
        for i in range(len(self._slots)):
            self._free.put(i)

    @property
    def size(self) -> int:
        return len(self._slots)

    def _executor(self, slot: int) -> ProcessPoolExecutor:
        with self._lock:
            if self._closed:
                raise PoolStopped
            ex = self._slots[slot]
            if ex is None:
                ex = ProcessPoolExecutor(
                    max_workers=1,
                    mp_context=self._ctx,
                    initializer=_init_worker,
                    initargs=(self.memory_limit,),
                )
                self._slots[slot] = ex
            return ex

    @staticmethod
    def _kill_executor(ex: ProcessPoolExecutor) -> None:
        # The executor's own table of its worker processes, taken before the shutdown (which
        # drops it): a submit that is starting a worker right now adds it there under the
        # executor's lock, and the shutdown waits for that lock, so after it every worker that
        # will ever run is in the table. Copying the table first instead missed a worker that
        # a concurrent submit was starting: its page ran to the end, and a stop that should
        # be at once took as long as the page (seen once in 1,341 tests, a 30 s page).
        processes: dict[int, Any] | None = getattr(ex, "_processes", None)
        ex.shutdown(wait=False, cancel_futures=True)
        for proc in list((processes or {}).values()):
            with contextlib.suppress(OSError, ValueError, AttributeError):
                if proc.pid:
                    os.killpg(proc.pid, signal.SIGKILL)
            with contextlib.suppress(Exception):
                proc.kill()

    def _kill(self, slot: int) -> None:
        with self._lock:
            ex = self._slots[slot]
            self._slots[slot] = None
        if ex is not None:
            self._kill_executor(ex)

    def each(self, fn: Callable[[], T], timeout: float = 120.0) -> list[T]:
        """Run ``fn`` once in every worker (starting those not running). Only while the pool
        is idle: it does not wait for a free slot."""
        futures = [self._executor(slot).submit(fn) for slot in range(self.size)]
        return [future.result(timeout=timeout) for future in futures]

    def warm(self, timeout: float = 120.0) -> None:
        """Start every worker now and load the page code in it (otherwise the first page of
        each worker pays for that). Call before any :meth:`run`."""
        self.each(_ready, timeout)

    def run(self, timeout: float, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run ``fn`` in a free worker; OcrTimeout after ``timeout`` plus a grace period."""
        slot = self._free.get()
        try:
            try:
                future: Future[T] = self._executor(slot).submit(_in_worker, fn, *args, **kwargs)
            except RuntimeError:  # closed between taking the executor and submitting to it
                if self._closed:
                    raise PoolStopped from None
                raise
            try:
                return future.result(timeout=timeout + self.grace)
            except FutureTimeout:
                self._kill(slot)
                raise OcrTimeout(
                    f"OCR took longer than {timeout:g} s and was stopped",
                    hint="raise ARCHIVE_OCR_PAGE_TIMEOUT_SECONDS for very large or dense pages",
                ) from None
            except BrokenProcessPool:
                self._kill(slot)
                if self._closed:
                    raise PoolStopped from None
                raise OcrPageError(
                    "the OCR worker crashed (out of memory or a fault in the page)",
                    hint="the page may be damaged; `contract-archive ocr --retry ID` tries again",
                ) from None
            except MemoryError:
                raise OcrPageError(
                    "OCR of the page needs more memory than a worker is allowed"
                ) from None
        finally:
            self._free.put(slot)

    def close(self, *, kill: bool = False) -> None:
        """Stop the workers; with ``kill`` the pages being read are abandoned at once."""
        with self._lock:
            self._closed = True
            executors = [ex for ex in self._slots if ex is not None]
            self._slots = [None] * len(self._slots)
        for ex in executors:
            if kill:
                self._kill_executor(ex)
            else:
                ex.shutdown(wait=True, cancel_futures=True)
