"""Highlighting from the analyzer's offsets, the same for every index backend.

For each text clause of the query (a sequence of index terms) we find candidate places in the
normalised page text with a fast scan for its first term, then confirm each one by running the
analyzer over a small window there and comparing the term sequence. The confirmed token
offsets become ``<mark>`` spans; everything else is HTML-escaped.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from functools import lru_cache
from itertools import islice

from storage.index.analysis import is_cjk, iter_tokens

MAX_SPANS_PER_PAGE = 40
MAX_CANDIDATES = 400


@dataclass(frozen=True)
class Span:
    start: int
    end: int


@dataclass(frozen=True)
class Snippet:
    page: int
    html: str


@lru_cache(maxsize=512)
def _first_term_re(term: str, ignore_case: bool = True) -> re.Pattern[str]:
    body = re.escape(term)
    if is_cjk(term[0]):
        return re.compile(body)
    # A Latin term must end at a word boundary (not inside a longer word); the start is checked
    # by _candidates (a leading look-behind would turn off the regex's literal prefix search).
    return re.compile(rf"{body}(?![^\W_])", re.IGNORECASE if ignore_case else 0)


def _candidates(pattern: re.Pattern[str], text: str, latin: bool) -> Iterator[re.Match[str]]:
    """The matches ``pattern.finditer(text)`` would give, Latin ones starting a word."""
    pos = 0
    while (m := pattern.search(text, pos)) is not None:
        start = m.start()
        if latin and start > 0 and text[start - 1].isalnum():  # [^\W_] before: inside a word
            pos = start + 1
            continue
        yield m
        pos = max(m.end(), start + 1)


_JOINING = ("_", ".", ",", "'", ":")


def _cjk_chain(terms: Sequence[str]) -> str | None:
    """The text of a clause made only of overlapping CJK bigrams (违约 约责 责任 → 违约责任)."""
    if not all(len(t) == 2 and is_cjk(t[0]) and is_cjk(t[1]) for t in terms):
        return None
    if any(terms[i][1] != terms[i + 1][0] for i in range(len(terms) - 1)):
        return None
    return terms[0] + "".join(t[1] for t in terms[1:])


def find_spans(text: str, terms: Sequence[str]) -> Iterator[Span]:
    """Where the term sequence ``terms`` occurs in the normalised ``text``."""
    if not terms:
        return
    first = terms[0]
    if len(terms) == 1 and len(first) == 1 and is_cjk(first):
        # A lone CJK character matches inside bigrams too.
        start = text.find(first)
        while start >= 0:
            yield Span(start, start + 1)
            start = text.find(first, start + 1)
        return
    window = 2 * sum(len(t) for t in terms) + 64
    chain = _cjk_chain(terms)
    haystack, pattern = text, _first_term_re(first)
    if not is_cjk(first[0]):
        # Terms are lower case: scanning the lower-cased text case-sensitively finds the same
        # candidates several times faster than an IGNORECASE scan (which has no literal
        # prefix search), as long as lower-casing kept every offset.
        lowered = text.lower()
        if len(lowered) == len(text):
            haystack, pattern = lowered, _first_term_re(first, False)
    for n, m in enumerate(_candidates(pattern, haystack, not is_cjk(first[0]))):
        if n >= MAX_CANDIDATES:
            return
        # Shortcuts that give what tokenizing the window would, without doing it: inside a
        # run of CJK characters every bigram is a token; a Latin word followed by neither an
        # underscore nor a joiner is a token by itself.
        if chain is not None:
            if text.startswith(chain, m.start()):
                yield Span(m.start(), m.start() + len(chain))
            continue
        if len(terms) == 1 and haystack[m.end() : m.end() + 1] not in _JOINING:
            yield Span(m.start(), m.end())
            continue
        # Only as many tokens as the clause has: confirming a candidate stays cheap.
        tokens = list(islice(iter_tokens(text[m.start() : m.start() + window]), len(terms)))
        if len(tokens) < len(terms) or tokens[0].start != 0:
            continue
        if all(tokens[i].text == terms[i] for i in range(len(terms))):
            yield Span(m.start() + tokens[0].start, m.start() + tokens[len(terms) - 1].end)


def _merge(spans: list[Span]) -> list[Span]:
    spans.sort(key=lambda s: (s.start, -s.end))
    merged: list[Span] = []
    for s in spans:
        if merged and s.start <= merged[-1].end:
            last = merged[-1]
            merged[-1] = Span(last.start, max(last.end, s.end))
        else:
            merged.append(s)
    return merged


def mark(text: str, spans: Sequence[Span]) -> str:
    """HTML of ``text`` with each span wrapped in <mark>."""
    out: list[str] = []
    pos = 0
    for s in spans:
        out.append(html.escape(text[pos : s.start]))
        out.append(f"<mark>{html.escape(text[s.start : s.end])}</mark>")
        pos = s.end
    out.append(html.escape(text[pos:]))
    return "".join(out)


def _clean(text: str) -> str:
    return " ".join(text.split())


def _window(text: str, span: Span, width: int) -> tuple[int, int]:
    room = max(0, width - (span.end - span.start))
    start = max(0, span.start - room // 2)
    end = min(len(text), span.end + room - (span.start - start))
    start = max(0, min(start, end - width))
    # Do not cut a Latin word in half at either edge.
    while 0 < start < span.start and text[start - 1].isalnum() and not is_cjk(text[start - 1]):
        start += 1
    while span.end < end < len(text) and text[end].isalnum() and not is_cjk(text[end]):
        end -= 1
    return start, end


def snippets(
    pages: Sequence[str],
    patterns: Sequence[Sequence[str]],
    *,
    width: int = 160,
    limit: int = 3,
) -> list[Snippet]:
    """Up to ``limit`` snippets, each showing hits, preferring a different clause in each.

    The pages are scanned in order and the scan stops after a page once every clause has been
    found and there are ``4 * limit`` hits: the snippets are chosen from the first hit of
    each clause and the first ``4 * limit`` hits in document order, and each snippet marks the
    hits of its own page, so the pages after it cannot change them (most hits of a common word
    need only the first page of a long contract)."""
    found: list[tuple[int, int, Span]] = []  # (page index, pattern index, span)
    seen: set[int] = set()
    for page_index, text in enumerate(pages):
        for pattern_index, terms in enumerate(patterns):
            for n, span in enumerate(find_spans(text, terms)):
                if n >= MAX_SPANS_PER_PAGE:
                    break
                found.append((page_index, pattern_index, span))
                seen.add(pattern_index)
        if len(seen) == len(patterns) and len(found) >= limit * 4:
            break
    if not found:
        return []
    # First the first hit of every clause, then further hits in document order.
    chosen: list[tuple[int, Span]] = []
    seen_patterns: set[int] = set()
    ordered = sorted(found, key=lambda f: (f[0], f[2].start))
    for page_index, pattern_index, span in ordered:
        if pattern_index not in seen_patterns:
            seen_patterns.add(pattern_index)
            chosen.append((page_index, span))
    for page_index, _, span in ordered:
        if len(chosen) >= limit * 4:
            break
        chosen.append((page_index, span))

    result: list[Snippet] = []
    covered: list[tuple[int, int, int]] = []
    for page_index, span in chosen:
        if len(result) >= limit:
            break
        if any(p == page_index and a <= span.start and span.end <= b for p, a, b in covered):
            continue
        text = pages[page_index]
        start, end = _window(text, span, width)
        covered.append((page_index, start, end))
        inside = _merge(
            [
                Span(s.start - start, s.end - start)
                for p, _, s in found
                if p == page_index and s.start >= start and s.end <= end
            ]
        )
        body = mark(text[start:end], inside)
        prefix = "…" if start > 0 else ""
        suffix = "…" if end < len(text) else ""
        result.append(Snippet(page=page_index + 1, html=prefix + _clean_html(body) + suffix))
    return result


def _clean_html(fragment: str) -> str:
    # Collapse whitespace (line breaks from the PDF) without touching the markup.
    return re.sub(r"\s+", " ", fragment).strip()


def lead(pages: Sequence[str], width: int = 160) -> list[Snippet]:
    """The opening text of the first page that has any, for hits with nothing to highlight."""
    for page_index, text in enumerate(pages):
        cleaned = _clean(text)
        if cleaned:
            cut = cleaned[:width]
            suffix = "…" if len(cleaned) > width else ""
            return [Snippet(page=page_index + 1, html=html.escape(cut) + suffix)]
    return []


def highlight_title(title: str, patterns: Sequence[Sequence[str]]) -> str:
    from storage.index.analysis import normalize

    text = normalize(title)
    spans = [s for terms in patterns for s in find_spans(text, terms)]
    return mark(text, _merge(spans))
