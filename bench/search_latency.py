"""Search latency (with snippets) over 10,000 contracts built from corpus text.

    uv run python -m bench.search_latency [--docs 10000] [--queries 200]

Synthetic contracts are made by stitching 3-8 real pages from the corpus (CUAD English text
files and the Chinese model contracts), so that the vocabulary and the lengths are real. They go
into a tantivy index directly (the ingest pipeline is measured by bench.ingest_throughput).
Queries mix 2-character Chinese words, Chinese and English phrases, boolean queries, filters,
and date ranges; each runs through the same code as the API (parse, search, highlight).
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bench.common import CORPUS, machine, percentile
from services.search import search
from storage.index.analysis import normalize
from storage.index.base import IndexDocument
from storage.index.tantivy_index import TantivyIndex

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
    pages = corpus_pages()
    start = datetime(2024, 1, 1, tzinfo=UTC)
    batch: list[IndexDocument] = []
    session = index.rebuild()
    for i in range(1, n + 1):
        chosen = [normalize(p) for p in rng.sample(pages, rng.randint(3, 8))]
        batch.append(
            IndexDocument(
                id=i,
                sha256=f"{i:064x}",
                title=f"合同 Contract {i}",
                customer=rng.choice(CUSTOMERS),
                filename=f"{i}.pdf",
                created_at=start + timedelta(hours=rng.randint(0, 24 * 730)),
                pages=chosen,
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


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--docs", type=int, default=10_000)
    parser.add_argument("--queries", type=int, default=200)
    args = parser.parse_args()
    rng = random.Random(7)
    with tempfile.TemporaryDirectory() as tmp:
        index = TantivyIndex(Path(tmp) / "index")
        index.check()
        started = time.perf_counter()
        build(index, args.docs, rng)
        built = time.perf_counter() - started
        qs = queries(rng, args.queries)
        for q in qs[:20]:  # warm the caches once
            search(index, q, limit=10)
        timings = {"all": [], "facets": []}
        totals = []
        for q in qs:
            t = time.perf_counter()
            result = search(index, q, limit=10)
            timings["all"].append((time.perf_counter() - t) * 1000)
            totals.append(result.total)
        for q in qs[: args.queries // 2]:
            t = time.perf_counter()
            search(index, q, limit=10, facets=True)
            timings["facets"].append((time.perf_counter() - t) * 1000)
    print(f"machine: {machine()}")
    print(f"index: {args.docs} contracts built in {built:.1f} s")
    print(f"queries: {len(qs)}, median hits per query {int(percentile(totals, 50))}")
    for name, values in timings.items():
        label = "search + snippets" if name == "all" else "search + snippets + facets"
        print(
            f"{label}: p50 {percentile(values, 50):.2f} ms, p95 {percentile(values, 95):.2f} ms, "
            f"max {max(values):.2f} ms (n={len(values)})"
        )


if __name__ == "__main__":
    main()
