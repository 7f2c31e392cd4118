"""Analysis of a bulk index build (reindex, imports) in worker processes beside the writer.

A rebuild session's costly part in Python is turning each contract into what the tantivy
writer takes: the analysed body, title and customer (``analysis.index_text``) and the stored
payload (JSON of the title, customer and pages). :func:`prepare` does that for one contract;
:class:`AnalysisPool` runs it for chunks of contracts in a few worker processes, so that a
build uses every core while the writer's own threads index, and hands the results back in the
order the chunks went in. At most ``inflight`` chunks are out at a time (the caller waits for
the oldest when it is full), which bounds the memory of a build of any size.

The workers are started with ``spawn`` (never ``fork``: the server and the job runner have
threads) and import only this module and the analyzer.
"""

from __future__ import annotations

import contextlib
import json
import multiprocessing
import os
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ProcessPoolExecutor

from storage.index.analysis import index_text, normalize

Prepared = tuple[str, str, str, bytes]
"""body, title and customer analysed (terms between spaces, ``index_text``), and the stored
payload."""
Source = tuple[str, str | None, Sequence[str]]
"""title, customer and the normalised page texts of one contract."""


def payload_of(title: str, customer: str | None, pages: Sequence[str]) -> bytes:
    return json.dumps(
        {"title": title, "customer": customer, "pages": list(pages)}, ensure_ascii=False
    ).encode()


def prepare(title: str, customer: str | None, pages: Sequence[str]) -> Prepared:
    """What the writer takes of one contract, but the keyword fields."""
    return (
        index_text("\n".join(pages)),
        index_text(normalize(title)),
        index_text(normalize(customer or "")),
        payload_of(title, customer, pages),
    )


def prepare_many(sources: Sequence[Source]) -> list[Prepared]:
    return [prepare(*source) for source in sources]


def default_processes() -> int:
    """One analysis process per core (the writer's threads share them): on one core, none."""
    try:
        cores = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        cores = os.cpu_count() or 1
    return cores if cores > 1 else 0


class AnalysisPool:
    """Chunks of contracts prepared in ``processes`` worker processes, results in order.

    ``submit`` queues a chunk with what to do with its results (``then``, run in the caller's
    thread); when ``inflight`` chunks are out, it first waits for the oldest and runs its
    ``then``. ``drain`` waits for all; ``close`` stops the workers (pending chunks dropped)."""

    def __init__(self, processes: int, inflight: int | None = None) -> None:
        self._executor = ProcessPoolExecutor(
            max_workers=processes, mp_context=multiprocessing.get_context("spawn")
        )
        self.inflight = inflight or 3 * processes
        self._pending: deque[tuple[Future[list[Prepared]], Callable[[list[Prepared]], None]]]
        self._pending = deque()

    def submit(self, sources: Sequence[Source], then: Callable[[list[Prepared]], None]) -> None:
        while len(self._pending) >= self.inflight:
            self._finish_oldest()
        self._pending.append((self._executor.submit(prepare_many, list(sources)), then))

    def _finish_oldest(self) -> None:
        future, then = self._pending.popleft()
        then(future.result())

    def drain(self) -> None:
        while self._pending:
            self._finish_oldest()

    def close(self) -> None:
        for future, _ in self._pending:
            future.cancel()
        self._pending.clear()
        with contextlib.suppress(Exception):
            self._executor.shutdown(wait=True, cancel_futures=True)
