"""Search latency (with snippets and facets) and bulk index build over stitched contracts.

    uv run python -m bench.search_latency [--docs 10000] [--queries 200]

Synthetic contracts are made by stitching 3-8 real pages from the corpus (CUAD English text
files and the Chinese model contracts), so that the vocabulary and the lengths are real. They go
into a tantivy index through a rebuild session (what `contract-archive reindex` and imports
use: one writer, a sized heap, one commit at the end); the build rate and the peak RSS of this
process are printed. Queries mix 2-character Chinese words, Chinese and English phrases,
boolean queries, filters, and date ranges; each runs through the same code as the API (parse,
search, facets, highlight, result assembly).

Beside each figure, measured in the same run on the same index and queries, the bare tool:
tantivy alone (the query compiled beforehand, ``searcher.search``, the stored documents read,
``searcher.aggregate`` for facets) followed by the same snippet generator
(``storage.index.highlight.snippets``) over the hits; the ratio of the two is the pipeline's
overhead, meaningful even on a loaded machine. The load average is printed before and after.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bench.common import CORPUS, machine, percentile
from services.search import search
from storage.index.analysis import normalize
from storage.index.base import FACET_FIELDS, IndexDocument
from storage.index.highlight import snippets
from storage.index.query import parse, positive_texts
from storage.index.tantivy_index import TantivyIndex, compile_query

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


def build(index: TantivyIndex, n: int, rng: random.Random) -> None:
    pages = [normalize(p) for p in corpus_pages()]
    start = datetime(2024, 1, 1, tzinfo=UTC)
    batch: list[IndexDocument] = []
    session = index.rebuild()
    for i in range(1, n + 1):
        batch.append(
            IndexDocument(
                id=i,
                sha256=f"{i:064x}",
                title=f"合同 Contract {i}",
                customer=rng.choice(CUSTOMERS),
                filename=f"{i}.pdf",
                created_at=start + timedelta(hours=rng.randint(0, 24 * 730)),
                pages=rng.sample(pages, rng.randint(3, 8)),
            )
        )
        if len(batch) == 500:
            session.add(batch)
            batch = []
    session.add(batch)
    session.commit()


def queries(rng: random.Random, count: int) -> list[str]:
    out = []
    for i in range(count):
        kind = i % 4
        if kind == 0:
            out.append(rng.choice(QUERIES_ZH))
        elif kind == 1:
            out.append(rng.choice(QUERIES_EN))
        elif kind == 2:
            out.append(f"{rng.choice(QUERIES_ZH)} {rng.choice(FILTERS)}")
        else:
            out.append(f"{rng.choice(QUERIES_EN)} -{rng.choice(QUERIES_ZH)}")
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


CPU: dict[str, list[float]] = {}
"""CPU milliseconds of this process per query, by series: what a loaded machine does not
inflate (wall time does, with the other processes' share of the cores)."""


def timed(fn: Callable[[], object], series: str = "") -> float:
    t, c = time.perf_counter(), time.process_time()
    fn()
    wall = (time.perf_counter() - t) * 1000
    if series:
        CPU.setdefault(series, []).append((time.process_time() - c) * 1000)
    return wall


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--docs", type=int, default=10_000)
    parser.add_argument("--queries", type=int, default=200)
    args = parser.parse_args()
    rng = random.Random(7)
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory() as tmp:
        index = TantivyIndex(Path(tmp) / "index")
        index.check()
        started, cpu_started = time.perf_counter(), time.process_time()
        build(index, args.docs, rng)
        built = time.perf_counter() - started
        built_cpu = time.process_time() - cpu_started
        build_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        qs = queries(rng, args.queries)
        bares = {q: bare(index, q) for q in set(qs)}
        for q in qs[:20]:  # warm the caches once
            search(index, q, limit=10, facets=True)
            bares[q](True)
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
    load_after = os.getloadavg()
    print(f"machine: {machine()}")
    print(
        f"load average (1 min) {load_before[0]:.2f} before, {load_after[0]:.2f} after "
        f"({os.cpu_count()} cores)"
    )
    print(
        f"index: {args.docs} contracts built in {built:.1f} s "
        f"({args.docs / built:.0f} contracts/s wall), {built_cpu:.1f} CPU s "
        f"({args.docs / built_cpu:.0f} contracts per CPU second), peak RSS {build_rss:.0f} MB"
    )
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


if __name__ == "__main__":
    main()
