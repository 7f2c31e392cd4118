"""Typing help ("did you mean", close matches) over contracts built from corpus text.

    uv run python -m bench.typing_help [--docs 10000] [--queries 100]

The contracts of ``bench.search_latency`` (3-8 real corpus pages each) go into a tantivy index
through :class:`~storage.index.vocabulary.ArchiveIndex`, which counts their Latin words in a
SQLite records database as the archive does. Measured: indexing with and without the counting,
the vocabulary's size, and the time of a search through ``services.search.search`` with the
vocabulary for correct queries (the overhead: one lookup of the query's words), for misspelled
English words (edit distance over the vocabulary, then the corrected search), and for Chinese
words with one wrong character (near forms read from the index, then the corrected search).
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
from pathlib import Path

from bench.common import machine, percentile
from bench.search_latency import QUERIES_EN, QUERIES_ZH, build
from services.search import search
from storage.index.tantivy_index import TantivyIndex
from storage.index.vocabulary import ArchiveIndex
from storage.records.sql import SqlRecordStore

MISSPELT_EN = [
    "limitaton of liability",
    "indemnificaton",
    "termnation",
    "confidental information",
    "governing law",
    "asignment",
    "warrenty",
    "arbitraton",
]
MISSPELT_ZH = ["不可抗拒", "违约责仼", "争议解快", "解除合司", "质量保正", "交付使周"]


def timed(index: object, words: SqlRecordStore | None, qs: list[str]) -> tuple[list[float], int]:
    times, corrected = [], 0
    for q in qs:
        t = time.perf_counter()
        result = search(index, q, limit=10, words=words)  # type: ignore[arg-type]
        times.append((time.perf_counter() - t) * 1000)
        corrected += bool(result.did_you_mean)
    return times, corrected


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--docs", type=int, default=10_000)
    parser.add_argument("--queries", type=int, default=100)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        plain = TantivyIndex(Path(tmp) / "plain")
        plain.check()
        started = time.perf_counter()
        build(plain, args.docs, random.Random(7))
        plain_s = time.perf_counter() - started

        store = SqlRecordStore(f"sqlite:///{tmp}/records.db")
        store.migrate()
        inner = TantivyIndex(Path(tmp) / "counted")
        inner.check()
        index = ArchiveIndex(inner, store)
        started = time.perf_counter()
        build(index, args.docs, random.Random(7))  # type: ignore[arg-type]
        counted_s = time.perf_counter() - started
        with store._session(write=False) as s:
            size = s.scalar(__import__("sqlalchemy").text("SELECT count(*) FROM search_words"))

        rng = random.Random(11)
        correct = [rng.choice(QUERIES_ZH + QUERIES_EN) for _ in range(args.queries)]
        en = [rng.choice(MISSPELT_EN) for _ in range(args.queries)]
        zh = [rng.choice(MISSPELT_ZH) for _ in range(args.queries)]
        for q in correct[:10]:
            search(index, q, limit=10, words=store)  # type: ignore[arg-type]
        rows = {
            "correct, without the vocabulary": timed(index, None, correct),
            "correct, with the vocabulary": timed(index, store, correct),
            "misspelt English word": timed(index, store, en),
            "Chinese word, one character wrong": timed(index, store, zh),
        }
        store.close()
    print(f"machine: {machine()}")
    print(
        f"index: {args.docs} contracts in {plain_s:.1f} s without the vocabulary, "
        f"{counted_s:.1f} s with it; {size} words"
    )
    for label, (values, corrected) in rows.items():
        print(
            f"{label}: p50 {percentile(values, 50):.2f} ms, p95 {percentile(values, 95):.2f} ms, "
            f"max {max(values):.2f} ms (n={len(values)}, corrected {corrected})"
        )


if __name__ == "__main__":
    main()
