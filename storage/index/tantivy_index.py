"""The embedded search index: tantivy, in a directory under ARCHIVE_DATA_DIR.

Layout::

    index/CURRENT          name of the live generation, e.g. "gen-000002"
    index/gen-000002/      a tantivy index (plus VERSION, the field layout version)

``reindex`` builds a new generation beside the live one and swaps CURRENT with a rename, so
readers (every server worker re-checks CURRENT before a search) never see a half-built index.
Pitfalls from DESIGN.md handled here: tokenizers are registered on every open; there is one
writer per index (a file lock), so writers are taken briefly and retried while busy; ids are
i64 because deleting by a u64 term silently deletes nothing.

Writes of a process are group-committed (``TantivyIndex._write``): concurrent uploads share one
writer and one commit, and each returns once its entry is searchable. Searches never wait for a
write; a reader reloads when the generation's meta.json changed (every commit rewrites it).
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import shutil
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from datetime import time as dtime
from pathlib import Path
from typing import Any

import tantivy

from core.errors import ConfigurationError
from storage.errors import StorageError, StorageFull
from storage.index.base import (
    FACET_FIELDS,
    INDEX_VERSION,
    FacetValue,
    IndexDocument,
    IndexHit,
    IndexResult,
    SortOrder,
)
from storage.index.bulk import AnalysisPool, Prepared, default_processes, prepare
from storage.index.query import (
    INTEGER_FIELDS,
    And,
    DateRange,
    Keyword,
    MatchAll,
    Node,
    Not,
    Or,
    Text,
)
from storage.maintenance import Leftover, owner_tag, tag_owner_alive

TOKENIZER = "archive_ws"
WRITER_HEAP = 16_000_000
"""The heap of the writer of incremental writes (a batch of uploads is small)."""
BULK_HEAP = 192_000_000
"""The rebuild writer's heap (split between its threads): what bounds a bulk build's memory
(tantivy writes a segment whenever it is full; nothing is committed before the end)."""
BULK_THREADS = max(1, min(2, os.cpu_count() or 1))
BULK_CHUNK = 64
"""Contracts per chunk sent to an analysis process during a bulk build."""
BULK_POOL_AFTER = 1_000
"""Contracts a rebuild analyses in its own process before it starts the analysis processes
(a small archive is rebuilt before they would have started)."""
LOCK_WAIT_SECONDS = 60.0
_NONE = ""  # stored for absent keyword values (tantivy has no null)


def _schema() -> Any:
    sb = tantivy.SchemaBuilder()
    sb.add_integer_field("id", stored=True, indexed=True, fast=True)
    sb.add_text_field("sha256", tokenizer_name="raw")
    sb.add_text_field("body", tokenizer_name=TOKENIZER, index_option="position")
    sb.add_text_field("title", tokenizer_name=TOKENIZER, index_option="position")
    sb.add_text_field("customer", tokenizer_name=TOKENIZER, index_option="position")
    sb.add_text_field("customer_key", tokenizer_name="raw", fast=True)
    sb.add_text_field("status", tokenizer_name="raw", fast=True)
    sb.add_text_field("classification", tokenizer_name="raw", fast=True)
    sb.add_integer_field("year", indexed=True, fast=True)
    sb.add_text_field("governing_law", tokenizer_name="raw", fast=True)
    sb.add_integer_field("signed", indexed=True, fast=True)
    sb.add_integer_field("expires", indexed=True, fast=True)
    sb.add_text_field("clause", tokenizer_name="raw", fast=True)
    sb.add_date_field("archived", indexed=True, fast=True)
    sb.add_bytes_field("payload", stored=True)
    return sb.build()


SCHEMA = _schema()


def _analyzer() -> Any:
    # Text arrives already analysed (tokens joined by spaces): split on whitespace only.
    return tantivy.TextAnalyzerBuilder(tantivy.Tokenizer.whitespace()).build()


def _open(path: Path) -> Any:
    try:
        index = tantivy.Index(SCHEMA, path=str(path), reuse=True)
    except (OSError, ValueError) as exc:
        raise StorageError(f"cannot open the search index at {path}: {exc}") from exc
    index.register_tokenizer(TOKENIZER, _analyzer())
    return index


def _to_doc(doc: IndexDocument, prepared: Prepared | None = None) -> Any:
    """The tantivy document of ``doc``; ``prepared`` is its analysed text and payload when a
    worker process made them (``storage.index.bulk``), otherwise they are made here."""
    body, title, customer, payload = prepared or prepare(doc.title, doc.customer, doc.pages)
    created = doc.created_at.astimezone(UTC)
    years = {
        name: value
        for name, value in (("signed", doc.signed_year), ("expires", doc.expiry_year))
        if value is not None
    }
    document = tantivy.Document(
        **years,
        governing_law=doc.governing_law or _NONE,
        id=doc.id,
        sha256=doc.sha256,
        body=body,
        title=title,
        customer=customer,
        customer_key=doc.customer or _NONE,
        status=doc.status,
        classification=doc.classification or _NONE,
        year=created.year,
        archived=created,
        payload=payload,
    )
    for slug in doc.clauses:  # several values; none when no clause was found
        document.add_text("clause", slug)
    return document


# --- query compilation ------------------------------------------------------------------------
def _text_query(node: Text, field: str) -> Any:
    terms = node.terms
    if len(terms) == 1:
        term = terms[0]
        if len(term) == 1 and not term.isascii() and term.isalpha():
            # A lone CJK character: match it alone or inside any bigram.
            return tantivy.Query.boolean_query(
                [
                    (tantivy.Occur.Should, tantivy.Query.term_query(SCHEMA, field, term)),
                    (
                        tantivy.Occur.Should,
                        tantivy.Query.regex_query(
                            SCHEMA, field, f"{_re_escape(term)}.|.{_re_escape(term)}"
                        ),
                    ),
                ]
            )
        return tantivy.Query.term_query(SCHEMA, field, term)
    return tantivy.Query.phrase_query(SCHEMA, field, list(terms))


def _re_escape(text: str) -> str:
    return "".join("\\" + c if c in r".^$*+?()[]{}|\\" else c for c in text)


def _day_start(d: Any) -> datetime:
    return datetime.combine(d, dtime.min, tzinfo=UTC)


def _day_end(d: Any) -> datetime:
    return datetime.combine(d, dtime.max, tzinfo=UTC)


def compile_query(node: Node) -> Any:
    """The tantivy query for an AST node."""
    Q, Occur = tantivy.Query, tantivy.Occur
    if isinstance(node, MatchAll):
        return Q.all_query()
    if isinstance(node, Text):
        if node.field is None:
            return Q.boolean_query(
                [
                    (Occur.Should, _text_query(node, "body")),
                    (Occur.Should, _text_query(node, "title")),
                ]
            )
        return _text_query(node, node.field)
    if isinstance(node, Keyword):
        if node.field in INTEGER_FIELDS:
            q = Q.term_query(SCHEMA, node.field, int(node.value))
        elif node.field == "sha256":
            q = Q.term_query(SCHEMA, "sha256", node.value)
        else:
            q = Q.term_query(SCHEMA, node.field, node.value)
        return Q.const_score_query(q, 0.0)
    if isinstance(node, DateRange):
        lo = _day_start(node.start) if node.start else None
        hi = _day_end(node.end) if node.end else None
        if lo is None and hi is None:
            return Q.all_query()
        return Q.const_score_query(
            Q.range_query(SCHEMA, "archived", tantivy.FieldType.Date, lo, hi), 0.0
        )
    if isinstance(node, And):
        clauses = [_clause(item) for item in node.items]
        if _needs_anchor(node):  # also when nested: only MustNot clauses match nothing
            clauses.insert(0, (Occur.Must, Q.all_query()))
        return Q.boolean_query(clauses)
    if isinstance(node, Or):
        return Q.boolean_query([(Occur.Should, compile_query(item)) for item in node.items])
    if isinstance(node, Not):
        return Q.boolean_query(
            [(Occur.Must, Q.all_query()), (Occur.MustNot, compile_query(node.item))]
        )
    raise TypeError(f"unknown query node {node!r}")


def _clause(node: Node) -> tuple[Any, Any]:
    if isinstance(node, Not):
        return (tantivy.Occur.MustNot, compile_query(node.item))
    return (tantivy.Occur.Must, compile_query(node))


def _needs_anchor(node: Node) -> bool:
    # A boolean query made only of MustNot clauses matches nothing in tantivy.
    return isinstance(node, And) and all(isinstance(i, Not) for i in node.items)


def _write_error(what: str, exc: Exception) -> StorageError:
    if "No space left on device" in str(exc) or getattr(exc, "errno", None) == 28:
        return StorageFull(
            "no space left on the device while writing the search index",
            hint="free disk space under ARCHIVE_DATA_DIR, then retry: nothing was archived",
        )
    return StorageError(f"{what}: {exc}")


# --- facets -----------------------------------------------------------------------------------
FACET_THREADS = max(1, os.cpu_count() or 1)
"""Threads of a process that compute facets beside searches."""
FACET_SPEC = {
    name: {"terms": {"field": "customer_key" if name == "customer" else name, "size": 20}}
    for name in FACET_FIELDS
}


def _facet_values(raw: dict[str, Any]) -> dict[str, list[FacetValue]]:
    out: dict[str, list[FacetValue]] = {}
    for name in FACET_FIELDS:
        buckets = raw.get(name, {}).get("buckets", [])
        out[name] = [
            FacetValue(value=str(b["key"]), count=int(b["doc_count"]))
            for b in buckets
            if str(b["key"]) != _NONE
        ]
    return out


class _PendingFacets(Mapping[str, list[FacetValue]]):
    """A search's facets, computed in a thread of ``pool`` while the search goes on and
    waited for when first read. When every thread is busy (other searches' facets) and the
    computation has not started by then, the reader computes them itself instead of queueing
    behind them."""

    def __init__(self, pool: ThreadPoolExecutor, searcher: Any, compiled: Any) -> None:
        self._searcher, self._compiled = searcher, compiled
        self._future: Future[dict[str, Any]] | None = pool.submit(self._aggregate)
        self._values: dict[str, list[FacetValue]] | None = None
        self._lock = threading.Lock()

    def _aggregate(self) -> dict[str, Any]:
        return dict(self._searcher.aggregate(self._compiled, FACET_SPEC))

    def _resolved(self) -> dict[str, list[FacetValue]]:
        with self._lock:
            if self._values is None:
                future = self._future
                try:
                    # cancel() succeeds only when no thread has started it yet
                    raw = (
                        self._aggregate() if future is None or future.cancel() else future.result()
                    )
                except ValueError as exc:
                    raise StorageError(f"the search index failed to count facets: {exc}") from exc
                self._values = _facet_values(raw)
                self._future = self._searcher = self._compiled = None
            return self._values

    def __getitem__(self, name: str) -> list[FacetValue]:
        return self._resolved()[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._resolved())

    def __len__(self) -> int:
        return len(self._resolved())

    def __repr__(self) -> str:
        return repr(self._resolved())


# --- the index --------------------------------------------------------------------------------
@dataclass
class _Change:
    """One caller's queued write: documents to add (analysed) or ids to delete."""

    adds: list[tuple[int, Any]] = field(default_factory=list)
    deletes: list[int] = field(default_factory=list)
    done: threading.Event = field(default_factory=threading.Event)
    error: BaseException | None = None


class TantivyIndex:
    name = "tantivy"

    def __init__(self, root: Path) -> None:
        self.root = root
        self._lock = threading.Lock()
        self._generation: str | None = None
        self._index: Any = None
        self._queue: list[_Change] = []
        self._queue_lock = threading.Lock()
        self._leader_lock = threading.Lock()
        self._seen: tuple[str, int, int] | None = None
        """(generation, mtime_ns, size) of meta.json when the reader last reloaded."""
        self._pool: ThreadPoolExecutor | None = None
        self._pool_pid = 0

    # -- generations -----------------------------------------------------------------------
    def _current_name(self) -> str | None:
        try:
            return (self.root / "CURRENT").read_text().strip() or None
        except FileNotFoundError:
            return None

    def _set_current(self, name: str) -> None:
        tmp = self.root / f"CURRENT.{os.getpid()}.tmp"
        tmp.write_text(name)
        os.replace(tmp, self.root / "CURRENT")

    def _new_generation(self) -> Path:
        self.root.mkdir(parents=True, exist_ok=True)
        while True:
            numbers = [int(p.name[4:]) for p in self.root.glob("gen-*") if p.name[4:].isdigit()]
            path = self.root / f"gen-{max(numbers, default=0) + 1:06d}"
            try:
                path.mkdir()
            except FileExistsError:  # another process took this number
                continue
            (path / "VERSION").write_text(str(INDEX_VERSION))
            (path / "OWNER").write_text(owner_tag())
            return path

    def _init_current(self) -> str:
        """Create the first generation; if another process races us, use theirs."""
        path = self._new_generation()
        tmp = self.root / f"CURRENT.{os.getpid()}.{threading.get_ident()}.tmp"
        tmp.write_text(path.name)
        try:
            os.link(tmp, self.root / "CURRENT")
        except FileExistsError:
            shutil.rmtree(path, ignore_errors=True)
        finally:
            tmp.unlink()
        name = self._current_name()
        assert name is not None
        return name

    def _live(self) -> Any:
        """The index of the current generation, reopened if another process swapped it."""
        with self._lock:
            name = self._current_name()
            if name is None:
                name = self._init_current()
            if name != self._generation or self._index is None:
                path = self.root / name
                version = (path / "VERSION").read_text().strip() if path.is_dir() else "?"
                if version != str(INDEX_VERSION):
                    raise ConfigurationError(
                        f"the search index at {path} has field layout version {version}; "
                        f"this version of the archive needs {INDEX_VERSION}",
                        hint="run `contract-archive reindex` to rebuild it from the records",
                    )
                self._index = _open(path)
                self._generation = name
            return self._index

    def check(self) -> None:
        try:
            self.root.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ConfigurationError(
                f"index directory {self.root} cannot be created: {exc.strerror}",
                hint="set ARCHIVE_DATA_DIR to a writable directory",
            ) from exc
        self._live()

    def close(self) -> None:
        with self._lock:
            self._index = None
            self._generation = None
            self._seen = None
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=False)  # a search still running keeps its thread to the end

    @contextlib.contextmanager
    def _writer(self, index: Any) -> Iterator[Any]:
        deadline = time.monotonic() + LOCK_WAIT_SECONDS
        while True:
            try:
                writer = index.writer(heap_size=WRITER_HEAP, num_threads=1)
                break
            except ValueError as exc:
                if "LockBusy" not in str(exc) or time.monotonic() > deadline:
                    raise StorageError(f"cannot write the search index: {exc}") from exc
                time.sleep(0.05)
        try:
            yield writer
            writer.commit()
        except BaseException:
            with contextlib.suppress(Exception):
                writer.rollback()
            raise
        finally:
            writer.wait_merging_threads()
        index.reload()

    # -- writes ----------------------------------------------------------------------------
    # Writes of one process go through a group commit: each caller queues its change and waits;
    # whichever caller finds no batch being written becomes the leader, takes everything queued
    # (its own and what other threads queued meanwhile), applies it with one writer and one
    # commit, reloads the reader and wakes the others. One upload alone costs what it did;
    # concurrent uploads share a commit (and the writer lock, between the server's workers).
    # Searches never wait for writes: they read the last committed segments.
    def add(self, docs: Sequence[IndexDocument]) -> None:
        if not docs:
            return
        # Analysis (the costly part) happens in the caller's thread, outside the writer.
        prepared = [(doc.id, _to_doc(doc)) for doc in docs]
        self._write(_Change(adds=prepared), "cannot add to the search index")

    def delete(self, ids: Sequence[int]) -> None:
        if not ids:
            return
        self._write(
            _Change(deletes=[int(i) for i in ids]), "cannot remove entries of the search index"
        )

    def _write(self, change: _Change, what: str) -> None:
        with self._queue_lock:
            self._queue.append(change)
        while not change.done.is_set():
            if self._leader_lock.acquire(blocking=False):
                try:
                    if not change.done.is_set():
                        self._commit_queued()
                finally:
                    self._leader_lock.release()
            else:
                change.done.wait(0.01)
        error = change.error
        if isinstance(error, OSError | ValueError):
            raise _write_error(what, error) from error
        if error is not None:
            raise error

    def _commit_queued(self) -> None:
        with self._queue_lock:
            batch, self._queue = self._queue, []
        if not batch:
            return
        error: BaseException | None = None
        try:
            index = self._live()
            with self._writer(index) as writer:
                for change in batch:  # in queue order: a later change wins
                    for doc_id in change.deletes:
                        writer.delete_documents_by_term("id", doc_id)
                    for doc_id, document in change.adds:
                        writer.delete_documents_by_term("id", doc_id)
                        writer.add_document(document)
        except BaseException as exc:  # noqa: BLE001 - handed to every waiter, re-raised there
            error = exc
        finally:
            for change in batch:
                change.error = error
                change.done.set()

    # -- reads -----------------------------------------------------------------------------
    def _searcher(self) -> Any:
        """A searcher that sees every commit made before the call, by any process.

        tantivy rewrites meta.json (by a rename) on every commit: the reader reloads when it
        changed since the last reload, not on every search (a reload costs about as much as a
        small query)."""
        index = self._live()
        generation = self._generation or ""
        try:
            st = os.stat(self.root / generation / "meta.json")
            seen: tuple[str, int, int] | None = (generation, st.st_mtime_ns, st.st_size)
        except OSError:
            seen = None
        if seen is None or seen != self._seen:
            index.reload()
            self._seen = seen
        return index.searcher()

    def search(
        self,
        query: Node,
        *,
        limit: int = 10,
        offset: int = 0,
        sort: SortOrder = "relevance",
        facets: bool = False,
    ) -> IndexResult:
        compiled = compile_query(query)
        if _needs_anchor(query):
            compiled = tantivy.Query.boolean_query(
                [(tantivy.Occur.Must, tantivy.Query.all_query()), _clause(query)]
            )
        searcher = self._searcher()
        # The facets' aggregation runs over every hit, as the count does: it starts first, in
        # a thread of its own (tantivy releases the GIL), and the caller waits for it only
        # when it reads the facets, after the hits' documents and snippets.
        pending = _PendingFacets(self._facet_pool(), searcher, compiled) if facets else None
        kwargs: dict[str, Any] = {"limit": limit, "offset": offset, "count": True}
        if sort != "relevance":
            kwargs["order_by_field"] = "archived"
            kwargs["order"] = tantivy.Order.Desc if sort == "newest" else tantivy.Order.Asc
        try:
            result = searcher.search(compiled, **kwargs)
        except ValueError as exc:
            raise StorageError(f"the search index failed: {exc}") from exc
        hits: list[IndexHit] = []
        for key, address in result.hits:
            stored = searcher.doc(address).to_dict()
            payload = json.loads(stored["payload"][0])
            score = float(key) if sort == "relevance" else 0.0
            hits.append(
                IndexHit(
                    id=int(stored["id"][0]),
                    score=score,
                    title=payload["title"],
                    customer=payload["customer"],
                    pages=tuple(payload["pages"]),
                )
            )
        total = int(result.count or 0)
        return IndexResult(total=total, hits=hits, facets={} if pending is None else pending)

    def _facet_pool(self) -> ThreadPoolExecutor:
        with self._lock:
            if self._pool is None or self._pool_pid != os.getpid():  # none yet, or forked
                self._pool = ThreadPoolExecutor(FACET_THREADS, thread_name_prefix="facets")
                self._pool_pid = os.getpid()
            return self._pool

    def ids(self) -> set[int]:
        searcher = self._searcher()
        found: set[int] = set()
        total = searcher.num_docs
        if total == 0:
            return found
        result = searcher.search(tantivy.Query.all_query(), limit=total, count=False)
        for _, address in result.hits:
            found.add(int(searcher.doc(address).to_dict()["id"][0]))
        return found

    def count(self) -> int:
        return int(self._searcher().num_docs)

    # -- rebuild ---------------------------------------------------------------------------
    def rebuild(self) -> TantivyRebuild:
        return TantivyRebuild(self)

    # -- maintenance -----------------------------------------------------------------------
    def leftovers(self) -> list[Leftover]:
        """Generations that are not the live one (a reindex in progress, or one a crash
        interrupted) and temporary CURRENT files."""
        if not self.root.is_dir():
            return []
        current = self._current_name()
        found: list[Leftover] = []
        now = time.time()
        for item in self.root.iterdir():
            try:
                age = max(0.0, now - item.stat().st_mtime)
            except FileNotFoundError:
                continue
            if item.is_dir() and item.name.startswith("gen-") and item.name != current:
                try:
                    alive = tag_owner_alive((item / "OWNER").read_text().strip())
                except OSError:
                    alive = None
                found.append(Leftover("index generation", str(item), alive, age))
            elif item.name.startswith("CURRENT.") and item.name.endswith(".tmp"):
                found.append(Leftover("temporary file", str(item), None, age))
        return found

    def remove_leftover(self, leftover: Leftover) -> None:
        path = Path(leftover.name)
        if path.parent != self.root or path.name == self._current_name():
            raise StorageError(f"{path} is not a leftover of the search index")
        if path.is_dir():
            shutil.rmtree(path, ignore_errors=True)
        else:
            with contextlib.suppress(FileNotFoundError):
                path.unlink()


class TantivyRebuild:
    """A new generation being filled; commit() makes it live, abort() throws it away.

    One writer with a sized heap and its own indexing threads; the analysis (the costly part
    in Python) runs in worker processes once the build is large enough to pay for starting
    them (:class:`storage.index.bulk.AnalysisPool`), the documents added in the order given.
    ``processes=0`` analyses everything in this process."""

    def __init__(self, owner: TantivyIndex, processes: int | None = None) -> None:
        self.owner = owner
        self.path = owner._new_generation()
        self.index = _open(self.path)
        self.writer = self.index.writer(heap_size=BULK_HEAP, num_threads=BULK_THREADS)
        self.processes = default_processes() if processes is None else processes
        self.pool: AnalysisPool | None = None
        self.added = 0

    def add(self, docs: Sequence[IndexDocument]) -> None:
        for i in range(0, len(docs), BULK_CHUNK):
            chunk = docs[i : i + BULK_CHUNK]
            pool = self._pool()
            if pool is None:
                for doc in chunk:
                    self.writer.add_document(_to_doc(doc))
            else:
                pool.submit(
                    [(d.title, d.customer, d.pages) for d in chunk],
                    functools.partial(self._add_prepared, chunk),
                )
            self.added += len(chunk)

    def _pool(self) -> AnalysisPool | None:
        if self.pool is None and self.processes > 0 and self.added >= BULK_POOL_AFTER:
            try:
                self.pool = AnalysisPool(self.processes)
            except OSError:  # no processes to be had (limits): analyse here
                self.processes = 0
        return self.pool

    def _add_prepared(self, docs: Sequence[IndexDocument], prepared: list[Prepared]) -> None:
        for doc, fields in zip(docs, prepared, strict=True):
            self.writer.add_document(_to_doc(doc, fields))

    def _close_pool(self) -> None:
        if self.pool is not None:
            self.pool.close()
            self.pool = None

    def commit(self) -> None:
        try:
            if self.pool is not None:
                self.pool.drain()
        finally:
            self._close_pool()
        self.writer.commit()
        self.writer.wait_merging_threads()
        old = self.owner._current_name()
        self.owner._set_current(self.path.name)
        self.owner.close()
        if old and old != self.path.name:
            # Readers in other processes reopen on their next search; their open files stay
            # readable after the unlink, so the old generation can go now.
            shutil.rmtree(self.owner.root / old, ignore_errors=True)

    def abort(self) -> None:
        self._close_pool()
        with contextlib.suppress(Exception):
            self.writer.rollback()
        shutil.rmtree(self.path, ignore_errors=True)
