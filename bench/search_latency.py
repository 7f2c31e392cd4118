"""Search latency (with snippets and facets) and bulk index build over stitched contracts.

    uv run python -m bench.search_latency [--docs 10000] [--queries 200]

Synthetic contracts are made by stitching 3-8 real pages from the corpus (CUAD English text
files and the Chinese model contracts), so that the vocabulary and the lengths are real. They go
into a tantivy index through a rebuild session (what `contract-archive reindex` and imports
use: one writer, a sized heap, one commit at the end, the analysis in worker processes beside
it); the build rate (wall, and per CPU second of this process and its workers) and the peak RSS
(this process, and the largest worker) are printed, beside the bare tantivy writer fed the same
contracts already analysed (``--bare-build`` of them, 5,000 by default). Queries mix
2-character Chinese words, Chinese and English phrases, boolean queries, filters, and date
ranges; each runs through the same code as the API (parse,
search, facets, highlight, result assembly).

Beside each figure, measured in the same run on the same index and queries, the bare tool:
tantivy alone (the query compiled beforehand, ``searcher.search``, the stored documents read,
``searcher.aggregate`` for facets) followed by the same snippet generator
(``storage.index.highlight.snippets``) over the hits; the ratio of the two is the pipeline's
overhead, meaningful even on a loaded machine. The load average is printed before and after.
The pipeline computes a search's facets in a thread beside the search (tantivy releases the
GIL), the bare tool after it: with facets, the CPU on the critical path (the larger of the
calling thread's and the facets' thread's) is printed too, what the query waits for on a
machine with a core free for each. ``--profile`` prints where the pipeline's time goes
(cProfile over the queries with facets, grouped by step: parse, tantivy search, waiting for the
facets, stored documents, snippets; cProfile sees the calling thread only).

``--index-dir DIR`` keeps the index in DIR and, when DIR already holds one of ``--docs``
contracts made by an earlier run, searches it without building it again (the build figures are
then not printed; the contracts are still drawn, so the queries are the same): at 100,000
contracts the build takes minutes of both cores, a search run one.
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import json
import os
import random
import resource
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bench.common import CORPUS, machine, percentile
from core.errors import ConfigurationError
from services.search import search
from storage.errors import StorageError
from storage.index.analysis import normalize
from storage.index.base import FACET_FIELDS, IndexDocument
from storage.index.bulk import prepare
from storage.index.highlight import snippets
from storage.index.query import parse, positive_texts
from storage.index.tantivy_index import (
    BULK_HEAP,
    BULK_THREADS,
    TantivyIndex,
    _open,
    _to_doc,
    compile_query,
)

CUSTOMERS = ["青岛木门有限公司", "南京房产", "Acme Corp", "新疆汽车贸易", "Globex", "四川莞蓉科技"]

QUERIES_ZH = [
    "违约",
    "合同",
    "甲方",
    "定金",
    "房屋",
    "车辆",
    "租赁",
    "责任",
    "仲裁",
    "发票",
    "违约责任",
    "不可抗力",
    "争议解决",
    "解除合同",
    "交付使用",
    "质量保证",
]
QUERIES_EN = [
    '"limitation of liability"',
    '"governing law"',
    "indemnification",
    "termination",
    '"force majeure"',
    "confidential information",
    "exclusive -termination",
    "(warranty OR warranties) damages",
    "assignment consent",
    '"non-compete"',
]
FILTERS = [
    'customer:"Acme Corp"',
    "archived:[2024-01-01 TO 2024-06-30]",
    "year:2025",
    "customer:南京房产",
]


def corpus_pages() -> list[str]:
    pages: list[str] = []
    for path in sorted((CORPUS / "en-cuad").rglob("*.txt")):
        text = path.read_text(errors="replace")
        pages += [text[i : i + 3000] for i in range(0, len(text), 3000)]
    for path in sorted((CORPUS / "zh").rglob("*.txt")):
        text = path.read_text(errors="replace")
        pages += [text[i : i + 1500] for i in range(0, len(text), 1500)]
    return [p for p in pages if p.strip()]


def contracts(n: int, rng: random.Random) -> Iterator[IndexDocument]:
    """``n`` stitched contracts, made as they are consumed (the pages are shared strings)."""
    pages = [normalize(p) for p in corpus_pages()]
    start = datetime(2024, 1, 1, tzinfo=UTC)
    for i in range(1, n + 1):
        yield IndexDocument(
            id=i,
            sha256=f"{i:064x}",
            title=f"合同 Contract {i}",
            customer=rng.choice(CUSTOMERS),
            filename=f"{i}.pdf",
            created_at=start + timedelta(hours=rng.randint(0, 24 * 730)),
            pages=rng.sample(pages, rng.randint(3, 8)),
        )


class AnonPeak:
    """The peak of this process's anonymous memory (RssAnon: the heap, not the index files
    tantivy maps, which ru_maxrss counts too), sampled every 0.2 s in a thread."""

    def __init__(self) -> None:
        self.peak_kb = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    @staticmethod
    def _read() -> dict[str, int]:
        out = {}
        with contextlib.suppress(OSError):
            for line in Path("/proc/self/status").read_text().splitlines():
                if line.startswith(("RssAnon:", "RssFile:", "VmHWM:")):
                    out[line.split(":")[0]] = int(line.split()[1])
        return out

    def _run(self) -> None:
        while not self._stop.wait(0.2):
            self.peak_kb = max(self.peak_kb, self._read().get("RssAnon", 0))

    def stop(self) -> dict[str, int]:
        self._stop.set()
        self._thread.join()
        now = self._read()
        self.peak_kb = max(self.peak_kb, now.get("RssAnon", 0))
        return now


def build(index: TantivyIndex, docs: Iterator[IndexDocument]) -> None:
    session = index.rebuild()
    batch: list[IndexDocument] = []
    for doc in docs:
        batch.append(doc)
        if len(batch) == 500:
            session.add(batch)
            batch = []
    session.add(batch)
    session.commit()


def bare_build(docs: list[IndexDocument], path: Path) -> tuple[float, float]:
    """The bare tool: tantivy's writer (same heap and threads, one commit) fed the contracts
    analysed beforehand; wall and CPU seconds."""
    prepared = [_to_doc(d, prepare(d.title, d.customer, d.pages)) for d in docs]
    path.mkdir()
    index = _open(path)
    t, c = time.perf_counter(), time.process_time()
    writer = index.writer(heap_size=BULK_HEAP, num_threads=BULK_THREADS)
    for document in prepared:
        writer.add_document(document)
    writer.commit()
    writer.wait_merging_threads()
    return time.perf_counter() - t, time.process_time() - c


def _cpu(who: int) -> float:
    usage = resource.getrusage(who)
    return usage.ru_utime + usage.ru_stime


def queries(
    rng: random.Random,
    count: int,
    *,
    zh: list[str] = QUERIES_ZH,
    en: list[str] = QUERIES_EN,
    filters: list[str] = FILTERS,
) -> list[str]:
    """The mix, in turn: a Chinese word or phrase, an English one, a Chinese one with a filter,
    an English one excluding a Chinese word (other benches pass their own word lists)."""
    out = []
    for i in range(count):
        kind = i % 4
        if kind == 0:
            out.append(rng.choice(zh))
        elif kind == 1:
            out.append(rng.choice(en))
        elif kind == 2:
            out.append(f"{rng.choice(zh)} {rng.choice(filters)}")
        else:
            out.append(f"{rng.choice(en)} -{rng.choice(zh)}")
    return out


def bare(index: TantivyIndex, q: str) -> Callable[[bool], None]:
    """The bare tool for query ``q``: tantivy with the query compiled beforehand, then the same
    snippet generator over the stored pages of the hits."""
    node = parse(q)
    compiled = compile_query(node)
    patterns = [t.terms for t in positive_texts(node)]
    spec = {
        name: {"terms": {"field": "customer_key" if name == "customer" else name, "size": 20}}
        for name in FACET_FIELDS
    }
    searcher: Any = index._live().searcher()

    def run(facets: bool) -> None:
        result = searcher.search(compiled, limit=10, count=True)
        for _, address in result.hits:
            pages = json.loads(searcher.doc(address).to_dict()["payload"][0])["pages"]
            if patterns:
                snippets(pages, patterns)
        if facets:
            searcher.aggregate(compiled, spec)

    return run


STEPS = {
    # step: the functions whose cumulative time it is (none calls another of the list)
    "parse the query": ("query.py:parse",),
    "compile it for tantivy": ("tantivy_index.py:compile_query",),
    "reader check (meta.json)": ("tantivy_index.py:_searcher",),
    "tantivy search": ("<method 'search' of 'tantivy.tantivy.Searcher' objects>",),
    "facets (waited for: tantivy's aggregate runs in a thread beside the search)": (
        "tantivy_index.py:_resolved",
    ),
    "stored documents (doc, to_dict, JSON)": (
        "<method 'doc' of 'tantivy.tantivy.Searcher' objects>",
        "<method 'to_dict' of 'tantivy.tantivy.Document' objects>",
        "json/__init__.py:loads",
    ),
    "snippets (highlight)": ("highlight.py:snippets",),
}


def profile(index: TantivyIndex, qs: list[str]) -> None:
    """Where a query's time goes: cProfile over the queries with facets; each step's
    cumulative time as a share of ``services.search.search``'s."""
    import pstats

    profiler = cProfile.Profile()
    profiler.enable()
    for q in qs:
        search(index, q, limit=10, facets=True)
    profiler.disable()
    stats = pstats.Stats(profiler).stats  # type: ignore[attr-defined]
    cumulative: dict[str, float] = {}
    for (filename, _line, name), (_cc, _nc, _own, cum, _callers) in stats.items():
        key = f"{filename.rsplit('/', 1)[-1]}:{name}" if filename != "~" else name
        if filename.endswith("json/__init__.py"):
            key = f"json/__init__.py:{name}"
        cumulative[key] = cumulative.get(key, 0.0) + cum
    total = cumulative.get("search.py:search", 0.0) or 1e-9
    print(f"profile of {len(qs)} queries with facets (cProfile, {total:.2f} s in search()):")
    rest = total
    for step, names in STEPS.items():
        spent = sum(cumulative.get(n, 0.0) for n in names)
        rest -= spent
        print(f"  {step}: {1000 * spent / len(qs):.2f} ms per query, {100 * spent / total:.0f} %")
    print(f"  the rest (result assembly, access checks): {100 * rest / total:.0f} %")


CPU: dict[str, list[float]] = {}
"""CPU milliseconds of this process per query, by series: what a loaded machine does not
inflate (wall time does, with the other processes' share of the cores)."""
CRITICAL: dict[str, list[float]] = {}
"""CPU milliseconds on a query's critical path, by series: the larger of the calling thread's
CPU and the other threads' (the facets, computed beside the search): what the query waits for
when a core is free for each, as on an idle 2-core machine."""


def timed(fn: Callable[[], object], series: str = "") -> float:
    t, c, own = time.perf_counter(), time.process_time(), time.thread_time()
    fn()
    wall = (time.perf_counter() - t) * 1000
    if series:
        cpu, caller = time.process_time() - c, time.thread_time() - own
        CPU.setdefault(series, []).append(cpu * 1000)
        CRITICAL.setdefault(series, []).append(max(caller, cpu - caller) * 1000)
    return wall


def build_and_measure(
    index: TantivyIndex, args: argparse.Namespace, rng: random.Random, tmp: Path
) -> list[str]:
    """Build the index of ``args.docs`` contracts and the bare writer's reference; the lines
    that report them."""
    started = time.perf_counter()
    cpu_self, cpu_children = _cpu(resource.RUSAGE_SELF), _cpu(resource.RUSAGE_CHILDREN)
    anon = AnonPeak()
    build(index, contracts(args.docs, rng))
    status = anon.stop()
    built = time.perf_counter() - started
    built_self = _cpu(resource.RUSAGE_SELF) - cpu_self
    built_workers = _cpu(resource.RUSAGE_CHILDREN) - cpu_children
    build_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    worker_rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    load_build = os.getloadavg()
    n_bare = min(args.bare_build, args.docs)
    bare_docs = list(contracts(n_bare, random.Random(8)))
    bare_wall, bare_build_cpu = bare_build(bare_docs, tmp / "bare")
    del bare_docs
    built_cpu = built_self + built_workers
    return [
        f"index: {args.docs} contracts built in {built:.1f} s "
        f"({args.docs / built:.0f} contracts/s wall, load average {load_build[0]:.2f} at the "
        f"end), {built_cpu:.1f} CPU s = {built_self:.1f} this process + {built_workers:.1f} "
        f"analysis workers ({args.docs / built_cpu:.0f} contracts per CPU second); peak RSS "
        f"{build_rss:.0f} MB (of which anonymous memory at most {anon.peak_kb / 1024:.0f} MB; "
        f"at the end {status.get('RssAnon', 0) / 1024:.0f} MB anonymous + "
        f"{status.get('RssFile', 0) / 1024:.0f} MB of mapped files), largest worker "
        f"{worker_rss:.0f} MB",
        f"  bare tantivy writer, {n_bare} contracts analysed beforehand: {bare_wall:.1f} s "
        f"({n_bare / bare_wall:.0f} contracts/s wall), {bare_build_cpu:.1f} CPU s "
        f"({n_bare / bare_build_cpu:.0f} contracts per CPU second)",
    ]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--docs", type=int, default=10_000)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--bare-build", type=int, default=5_000)
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--index-dir", type=Path, help="keep the index here; reuse it if built")
    args = parser.parse_args()
    if args.docs < 1 or args.queries < 1:
        parser.error("--docs and --queries must be at least 1")
    rng = random.Random(7)
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory() as tmp:
        where = args.index_dir or Path(tmp)
        index = TantivyIndex(where / "index")
        try:
            index.check()
            built_before = index.count()
        except (ConfigurationError, StorageError) as exc:
            parser.error(f"{where / 'index'}: {exc}")
        if built_before == args.docs:
            build_lines = [f"index: {args.docs} contracts of an earlier run reused ({where})"]
            for _ in contracts(args.docs, rng):  # the same draws: the same queries follow
                pass
        elif built_before:
            parser.error(
                f"{where / 'index'} holds {built_before} contracts, not --docs {args.docs}: "
                "give another --index-dir or the same --docs"
            )
        else:
            build_lines = build_and_measure(index, args, rng, Path(tmp))
        qs = queries(rng, args.queries)
        bares = {q: bare(index, q) for q in set(qs)}
        for q in qs[:20]:  # warm the caches once
            search(index, q, limit=10, facets=True)
            bares[q](True)
        if args.profile:
            profile(index, qs)
        timings: dict[str, list[float]] = {"all": [], "facets": []}
        bare_timings: dict[str, list[float]] = {"all": [], "facets": []}
        totals = []
        for q in qs:  # the pipeline and the bare tool interleaved: the same load on both
            found: list[int] = []
            timings["all"].append(
                timed(lambda q=q, f=found: f.append(search(index, q, limit=10).total), "all")
            )
            totals += found
            bare_timings["all"].append(timed(lambda q=q: bares[q](False), "bare all"))
            timings["facets"].append(
                timed(lambda q=q: search(index, q, limit=10, facets=True), "facets")
            )
            bare_timings["facets"].append(timed(lambda q=q: bares[q](True), "bare facets"))
        index.close()
    load_after = os.getloadavg()
    print(f"machine: {machine()}")
    print(
        f"load average (1 min) {load_before[0]:.2f} before, {load_after[0]:.2f} after "
        f"({os.cpu_count()} cores)"
    )
    for line in build_lines:
        print(line)
    print(f"queries: {len(qs)}, median hits per query {int(percentile(totals, 50))}")
    for name, values in timings.items():
        label = "search + snippets" if name == "all" else "search + snippets + facets"
        bare_values = bare_timings[name]
        print(
            f"{label}: p50 {percentile(values, 50):.2f} ms, p95 {percentile(values, 95):.2f} ms, "
            f"max {max(values):.2f} ms (n={len(values)}); bare tantivy + same snippets: "
            f"p50 {percentile(bare_values, 50):.2f} ms, p95 {percentile(bare_values, 95):.2f} ms; "
            f"ratio at p95 {percentile(values, 95) / percentile(bare_values, 95):.2f}"
        )
        cpu, bare_cpu = CPU[name], CPU[f"bare {name}"]
        print(
            f"  CPU per query: p50 {percentile(cpu, 50):.2f} ms, p95 {percentile(cpu, 95):.2f} ms;"
            f" bare: p50 {percentile(bare_cpu, 50):.2f} ms, p95 {percentile(bare_cpu, 95):.2f} ms;"
            f" ratio at p95 {percentile(cpu, 95) / max(percentile(bare_cpu, 95), 1e-9):.2f}"
        )
        critical = CRITICAL[name]
        if name == "facets":
            print(
                f"  CPU on the critical path (the calling thread or the facets' thread, the "
                f"larger): p50 {percentile(critical, 50):.2f} ms, "
                f"p95 {percentile(critical, 95):.2f} ms"
            )


if __name__ == "__main__":
    main()
