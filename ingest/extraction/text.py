"""Page text prepared for the extraction rules, with a map back to the stored text.

The rules run on a normalised copy of each page: NFKC (full-width forms become ASCII), curly
quotes made straight, the spaces that pypdf and OCR put between Chinese characters removed, and
other runs of whitespace folded to one space (or one newline when they held a line break).
Every character of the copy remembers where it came from, so a match is reported as a
character span of the page text exactly as the archive stores it (``text.v1.json``).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import cached_property

from storage.index.analysis import CJK_CHAR, is_cjk

_EN_FUNCTION_TEXT = (
    "the of and to in a an or by for with on at as be is are shall will this that any such "
    "its it from not all other which may have has no"
)
_EN_FUNCTION_WORDS = frozenset(_EN_FUNCTION_TEXT.split())
_QUOTES = str.maketrans({"\u201c": '"', "\u201d": '"', "\u2018": "'", "\u2019": "'", "\u2032": "'"})


@dataclass(frozen=True)
class Span:
    page: int
    """1-based page number."""
    start: int
    end: int
    """Character offsets into the stored page text (end exclusive)."""
    evidence: str
    """The normalised text matched, with a little context around it."""


@dataclass(frozen=True)
class Page:
    number: int
    raw: str
    text: str
    offsets: tuple[int, ...]
    """``offsets[i]`` is the index in ``raw`` of ``text[i]``; one extra entry for the end."""

    def span(self, start: int, end: int, *, context: int = 40) -> Span:
        raw_start = self.offsets[start]
        raw_end = self.offsets[end - 1] + 1 if end > start else raw_start
        left = max(0, start - context)
        right = min(len(self.text), end + context)
        snippet = self.text[left:start] + "[" + self.text[start:end] + "]" + self.text[end:right]
        snippet = re.sub(r"\s+", " ", snippet).strip()
        return Span(self.number, raw_start, raw_end, snippet)


_SPACE_RUN = re.compile(r"\s+")
"""The same characters as ``str.isspace`` (both use the Unicode White_Space test)."""
_NEWLINES = frozenset("\n\r\f\v\u2028\u2029")
_CJK_CHARS = re.compile(CJK_CHAR)
_NON_ASCII_RUN = re.compile(r"[^\x00-\x7f]+")
_FOLDED: dict[str, str] = {}
"""One character's NFKC with straight quotes, remembered (a page repeats its characters)."""


def _fold(ch: str) -> str:
    folded = _FOLDED.get(ch)
    if folded is None:
        folded = unicodedata.normalize("NFKC", ch).translate(_QUOTES)
        if len(_FOLDED) < 100_000:
            _FOLDED[ch] = folded
    return folded


def _copy_run(raw: str, start: int, end: int, out: list[str], offsets: list[int]) -> None:
    """Append ``raw[start:end]`` (no white space in it) folded character by character.

    ASCII is its own NFKC and holds no curly quote, so ASCII stretches are copied whole."""
    chunk = raw[start:end]
    if chunk.isascii():
        out.append(chunk)
        offsets.extend(range(start, end))
        return
    at = start
    for m in _NON_ASCII_RUN.finditer(chunk):
        s, e = start + m.start(), start + m.end()
        if s > at:
            out.append(raw[at:s])
            offsets.extend(range(at, s))
        for i in range(s, e):
            folded = _fold(raw[i])
            out.append(folded)
            offsets.extend([i] * len(folded))
        at = e
    if at < end:
        out.append(raw[at:end])
        offsets.extend(range(at, end))


def normalize_page(number: int, raw: str) -> Page:
    """The page folded for the rules (see the module): NFKC per character, straight quotes,
    a run of white space one space (one newline if it held a line break), none between two
    CJK characters on one line; ``offsets`` maps each character back into ``raw``."""
    out: list[str] = []
    offsets: list[int] = []
    n = len(raw)
    at = 0
    for m in _SPACE_RUN.finditer(raw):
        i, j = m.span()
        if i > at:
            chunk = raw[at:i]
            if chunk.isascii():  # the common case, inline: ASCII is its own NFKC
                out.append(chunk)
                offsets.extend(range(at, i))
            else:
                _copy_run(raw, at, i, out, offsets)
        at = j
        if not out:  # white space before any text is dropped
            continue
        has_newline = not _NEWLINES.isdisjoint(m.group())
        # Between two CJK characters on one line the white space goes. An ASCII character
        # after it is no CJK (and its own NFKC), so the test is spared for English text.
        # _fold straightens quotes after NFKC: no curly or straight quote is CJK either way.
        if (
            not has_newline
            and j < n
            and not raw[j].isascii()
            and is_cjk(_fold(raw[j])[:1])
            and is_cjk(out[-1][-1])
        ):
            continue
        out.append("\n" if has_newline else " ")
        offsets.append(i)
    if at < n:
        _copy_run(raw, at, n, out, offsets)
    offsets.append(n)
    return Page(number=number, raw=raw, text="".join(out), offsets=tuple(offsets))


@dataclass(frozen=True)
class Document:
    pages: tuple[Page, ...]
    title: str = ""

    @classmethod
    def from_pages(cls, pages: list[str] | tuple[str, ...], title: str = "") -> Document:
        return cls(
            pages=tuple(normalize_page(i + 1, p or "") for i, p in enumerate(pages)),
            title=unicodedata.normalize("NFKC", title or ""),
        )

    @cached_property
    def cjk_ratio(self) -> float:
        sample = "".join(p.text for p in self.pages[:5])[:20000]
        letters = "".join(c for c in sample if c.isalpha())
        if not letters:
            return 0.0
        return len(_CJK_CHARS.findall(letters)) / len(letters)

    @cached_property
    def language(self) -> str:
        """``zh``, ``en``, ``mixed``, ``other`` (a third language: nothing is suggested), or
        ``none`` when there is no text (a scan awaiting OCR)."""
        if not any(c.isalpha() for p in self.pages[:5] for c in p.text[:5000]):
            return "none"
        ratio = self.cjk_ratio
        if ratio >= 0.5:
            return "zh"
        if ratio >= 0.1:
            return "mixed"
        return "en" if self._reads_as_english() else "other"

    def _reads_as_english(self) -> bool:
        """English prose is about a fifth to a half function words ("the", "of", "shall"; the
        corpus's English contracts 0.20-0.45, its scans' OCR text too); German or French
        contracts have almost none. Too few words to tell counts as English."""
        sample = "".join(p.text for p in self.pages[:5])[:20000].lower()
        words = re.findall(r"[a-z]+", sample)
        if len(words) < 40:
            return True
        return sum(w in _EN_FUNCTION_WORDS for w in words) / len(words) >= 0.05
