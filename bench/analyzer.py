"""The analyzer's speed (``index_string``, what a bulk build spends its Python time on) and its
identity with the previous code, over all the corpus text in the same run.

    uv run python -m bench.analyzer

The texts: every ``*.txt`` of the corpus, normalised as ingest stores page text, and the
pages ``bench.search_latency`` stitches its contracts from. For each: the terms of
``index_string`` must equal those of the previous implementation (a regex pass and a Python
step per token, kept as ``analysis._loop_terms``, which mostly CJK text still takes) and
those of ``tokenize`` (the offsets' tokenizer, the definition); any difference is printed and
the run fails. Then the time of each, best of 5, in CPU nanoseconds per character, for pure
ASCII text (most English pages), other text with few non-ASCII characters, and mostly CJK
text; and the same for tantivy's own tokenizers, which cannot make the same terms (they were
measured for that reason: no overlapping CJK bigrams, no UAX #29 joiners), to show the bar.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable

import tantivy

from bench.common import CORPUS, machine
from bench.search_latency import corpus_pages
from storage.index import analysis
from storage.index.analysis import index_string, normalize, tokenize


def texts() -> list[str]:
    files = [p.read_text(errors="replace") for p in sorted(CORPUS.rglob("*.txt"))]
    return [normalize(t) for t in files + corpus_pages() if t.strip()]


def kind(text: str) -> str:
    if text.isascii():
        return "pure ASCII"
    extra = len(text.encode("utf-8", "surrogatepass")) - len(text)
    return "mostly CJK" if 4 * extra > len(text) else "few non-ASCII"


def best_ns_per_char(fn: Callable[[str], object], group: list[str]) -> float:
    chars = sum(map(len, group))
    best = float("inf")
    for _ in range(5):
        started = time.process_time()
        for text in group:
            fn(text)
        best = min(best, time.process_time() - started)
    return best / chars * 1e9


def main() -> None:
    load_before = os.getloadavg()
    corpus = texts()
    differ = 0
    for text in corpus:
        new = index_string(text)
        if new != analysis._loop_terms(text) or new != " ".join(t.text for t in tokenize(text)):
            differ += 1
    print(f"machine: {machine()}")
    print(
        f"{len(corpus)} texts, {sum(map(len, corpus)):,} characters: index_string differs from "
        f"the previous code (and from tokenize) on {differ}"
    )
    whitespace = tantivy.TextAnalyzerBuilder(tantivy.Tokenizer.whitespace()).build()
    simple = (
        tantivy.TextAnalyzerBuilder(tantivy.Tokenizer.simple())
        .filter(tantivy.Filter.lowercase())
        .build()
    )
    groups: dict[str, list[str]] = {}
    for text in corpus:
        groups.setdefault(kind(text), []).append(text)
    for name, group in sorted(groups.items()):
        old = best_ns_per_char(analysis._loop_terms, group)
        new = best_ns_per_char(index_string, group)
        bare = best_ns_per_char(simple.analyze, group)
        ws = best_ns_per_char(whitespace.analyze, [index_string(t) for t in group])
        print(
            f"{name} ({len(group)} texts, {sum(map(len, group)):,} characters): previous "
            f"{old:.1f} ns/char, index_string {new:.1f} ns/char ({old / new:.1f}x); tantivy's "
            f"simple tokenizer + lowercase called from Python {bare:.1f} ns/char (other terms); "
            f"its whitespace tokenizer over index_string's output {ws:.1f} ns/char"
        )
    load_after = os.getloadavg()
    print(f"load average (1 min) {load_before[0]:.2f} before, {load_after[0]:.2f} after")
    if differ:
        sys.exit(1)


if __name__ == "__main__":
    main()
