"""The one text analyzer of the archive, used to index, to query and to highlight.

Measured in ``../shared/DESIGN.md`` (search section): CJK bigrams made here in Python beat
per-character and dictionary (jieba) tokens on exactness and speed. The steps:

1. :func:`normalize`: NFKC; whitespace between two CJK characters is removed (OCR line breaks
   and pypdf's spacing put it there).
2. :func:`tokenize`: a run of CJK characters becomes overlapping bigrams (a lone character stays
   a unigram); Latin words and numbers are lower-cased and kept whole, joined across the
   in-word punctuation of Unicode word breaking (``1,000,000.00``, ``party's``, ``U.S``);
   no stop words, so ``limitation of liability`` stays a phrase.

Elasticsearch/OpenSearch mirror it with ``standard`` + ``cjk_width`` + ``lowercase`` +
``cjk_bigram`` (``storage.index.search_dsl``). Tokens carry character offsets into the
normalised text, which is what the application highlights from.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass

# Han (with extensions and compatibility ideographs), Hiragana, Katakana, Hangul: the scripts
# Elasticsearch's cjk_bigram filter bigrams.
_CJK_RANGES = (
    "\u1100-\u11ff"  # Hangul Jamo
    "\u3040-\u309f"  # Hiragana
    "\u30a0-\u30ff"  # Katakana
    "\u3131-\u318e"  # Hangul compatibility Jamo
    "\u3400-\u4dbf"  # CJK extension A
    "\u4e00-\u9fff"  # CJK unified ideographs
    "\uac00-\ud7af"  # Hangul syllables
    "\uf900-\ufaff"  # CJK compatibility ideographs
    "\U00020000-\U0003134f"  # CJK extensions B-G
)
CJK_CHAR = f"[{_CJK_RANGES}]"
_CJK_RUN = f"{CJK_CHAR}+"
# A word character that is not CJK.
_W = rf"[^\W{_CJK_RANGES}]"
_TOKEN_RE = re.compile(rf"(?P<cjk>{_CJK_RUN})|(?P<word>{_W}+(?:[.,':]{_W}+)*)")
_JOINER_SPLIT = re.compile(r"[.,':]")
_CJK_SPACE_RE = re.compile(rf"(?<={CJK_CHAR})\s+(?={CJK_CHAR})")
_CJK_ONE = re.compile(CJK_CHAR)

MAX_TOKEN_CHARS = 255


@dataclass(frozen=True, slots=True)
class Token:
    text: str
    start: int
    end: int
    position: int


_QUOTES = str.maketrans({"\u2019": "'", "\u2018": "'"})


def normalize(text: str) -> str:
    """NFKC, curly apostrophes made straight, whitespace between two CJK characters removed."""
    text = unicodedata.normalize("NFKC", text).translate(_QUOTES)
    return _CJK_SPACE_RE.sub("", text)


def is_cjk(char: str) -> bool:
    return bool(_CJK_ONE.fullmatch(char))


def _joiner_ok(left: str, joiner: str, right: str) -> bool:
    """Unicode word-break rules (UAX #29) for punctuation inside a word."""
    a, b = left[-1], right[0]
    if joiner == ",":  # MidNum: only between digits
        return a.isdigit() and b.isdigit()
    if joiner == ":":  # MidLetter: only between letters
        return a.isalpha() and b.isalpha()
    # "." and apostrophes are MidNumLet: between two letters or two digits
    return (a.isalpha() and b.isalpha()) or (a.isdigit() and b.isdigit())


def _split_word(word: str, start: int) -> Iterator[tuple[str, int]]:
    """Split a candidate word at joiners that do not join under UAX #29."""
    pieces: list[tuple[str, int]] = []
    pos = 0
    for m in _JOINER_SPLIT.finditer(word):
        pieces.append((word[pos : m.start()], start + pos))
        pieces.append((m.group(), -1))
        pos = m.end()
    pieces.append((word[pos:], start + pos))
    current, current_start = pieces[0]
    i = 1
    while i < len(pieces):
        joiner = pieces[i][0]
        nxt, nxt_start = pieces[i + 1]
        if _joiner_ok(current, joiner, nxt):
            current += joiner + nxt
        else:
            yield current, current_start
            current, current_start = nxt, nxt_start
        i += 2
    yield current, current_start


def iter_tokens(normalized: str) -> Iterator[Token]:
    """The tokens of :func:`tokenize`, one at a time (a caller that needs the first few stops
    early: highlighting confirms a hit from the tokens at its place)."""
    position = 0
    for m in _TOKEN_RE.finditer(normalized):
        start = m.start()
        run = m.group("cjk")
        if run is not None:
            if len(run) == 1:
                yield Token(run, start, start + 1, position)
                position += 1
                continue
            for i in range(len(run) - 1):
                yield Token(run[i : i + 2], start + i, start + i + 2, position)
                position += 1
            continue
        word = m.group("word")
        if not _has_joiner(word):  # most words: one piece, no splitting to do
            if len(word) <= MAX_TOKEN_CHARS:
                yield Token(word.lower(), start, start + len(word), position)
                position += 1
            continue
        for piece, piece_start in _split_word(word, start):
            if len(piece) > MAX_TOKEN_CHARS:
                continue
            yield Token(piece.lower(), piece_start, piece_start + len(piece), position)
            position += 1


def _has_joiner(word: str) -> bool:
    return "." in word or "," in word or "'" in word or ":" in word


def tokenize(normalized: str) -> list[Token]:
    """Tokens of already normalised text, with offsets into it and consecutive positions."""
    return list(iter_tokens(normalized))


def analyze(text: str) -> list[Token]:
    """Normalise and tokenize: offsets refer to ``normalize(text)``."""
    return tokenize(normalize(text))


def terms(text: str) -> list[str]:
    """The index terms of ``text`` (normalised here), in order."""
    return [t.text for t in analyze(text)]


def index_string(normalized: str) -> str:
    """Tokens joined by spaces: what the index's whitespace tokenizer receives.

    The same terms as :func:`tokenize` without its offsets: bulk indexing spends its time
    here (the profile in the README's benchmark section), so no Token is made."""
    out: list[str] = []
    add, extend = out.append, out.extend
    for cjk, word in _TOKEN_RE.findall(normalized):
        if cjk:
            if len(cjk) == 1:
                add(cjk)
            else:
                extend(map(str.__add__, cjk[:-1], cjk[1:]))  # overlapping bigrams
        elif not _has_joiner(word):
            if len(word) <= MAX_TOKEN_CHARS:
                add(word.lower())
        else:
            extend(
                piece.lower() for piece, _ in _split_word(word, 0) if len(piece) <= MAX_TOKEN_CHARS
            )
    return " ".join(out)
