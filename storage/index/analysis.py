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
from array import array
from collections.abc import Iterator
from dataclasses import dataclass
from itertools import groupby

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


# --- index_string: the same terms as tokenize, made by whole-text passes in C ------------------
# Bulk indexing spends its time here. Instead of a Python step per token, the text is turned
# into the terms joined by spaces by a few passes that each run in C over the whole text (regex
# substitutions with a literal replacement, str.translate, split/join, strided array copies for
# the CJK bigrams). The result is identical to joining tokenize()'s terms: checked over the
# corpus and on random text by tests/test_analysis.py and bench/analyzer.py.
_NON_ASCII = "\x80-\U0010ffff"
_ASCII_BREAK = re.compile(
    # A joiner between two ASCII characters (or at the text's edge) that does not join under
    # the rules of _joiner_ok: it becomes a space. Starts with the joiner so that the regex
    # engine skips to the next joiner in C.
    rf"[.,':](?<![{_NON_ASCII}].)(?![{_NON_ASCII}])"
    r"(?!(?<=[A-Za-z][.':])[A-Za-z]|(?<=[0-9][.,'])[0-9])"
)
_SEPARATOR = re.compile(
    rf"[^\x00-\x26\x28-\x2b\x2d\x2f-\x39\x3b-\x7f\w{_CJK_RANGES}]"
    rf"(?:(?<=[^.,':])|(?<={CJK_CHAR}.)|(?={CJK_CHAR}))"
)
"""A non-ASCII character that is neither a word character nor CJK, or a joiner beside a CJK
character (CJK is not a word character, so it never joins): a space."""
_OTHER_JOINER = re.compile(rf"[.,':](?:(?<=[{_NON_ASCII}].)|(?=[{_NON_ASCII}]))")
"""A joiner beside another non-ASCII character: decided one by one (rare)."""
_W_ONE = re.compile(_W)
_CJK_SPLIT = re.compile(rf"({_CJK_RUN})")
_JUNCTION = re.compile("[^\x00]\x00 \x00[^\x00] ")


def _ascii_class(c: int) -> str:
    char = chr(c)
    return char.lower() if char.isalnum() or char in "_.,':" else " "


# ASCII letters lower-cased, digits, "_" and the joiners kept, everything else a space.
_ASCII_TABLE = str.maketrans({chr(c): _ascii_class(c) for c in range(128)})
_BYTES_TABLE = bytes(c if c >= 128 else ord(_ascii_class(c)) for c in range(256))
_SPACES = array("I", [32])


def _other_joiner(m: re.Match[str]) -> str:
    text, i, joiner = m.string, m.start(), m.group()
    if i == 0 or i + 1 >= len(text):
        return " "
    a, b = text[i - 1], text[i + 1]
    if _W_ONE.match(a) and _W_ONE.match(b) and _joiner_ok(a, joiner, b):
        return joiner
    return " "


def _cjk_bigrams(runs: list[str]) -> list[str]:
    """Each CJK run as its overlapping bigrams joined by spaces (a lone character as itself).

    All runs at once: joined by NUL, as UTF-32 code units, the bigrams are three strided
    copies (first characters, second characters, spaces); the two bigrams across each junction
    are then cut out and the result split at the junctions. A lone character gets a \x01
    after it, so that it makes one "bigram" with it, removed afterwards."""
    joined = "\x00".join([r if len(r) > 1 else r + "\x01" for r in runs])
    src = array("I")
    src.frombytes(joined.encode("utf-32-le"))
    n = len(src) - 1
    if n <= 0:
        return runs
    out = array("I", bytes(12 * n))
    out[0::3] = src[:-1]
    out[1::3] = src[1:]
    out[2::3] = _SPACES * n
    text = _JUNCTION.sub("\x00", out.tobytes().decode("utf-32-le")).replace("\x01", "")
    return text.split("\x00")


def index_string(normalized: str) -> str:
    """Tokens joined by single spaces: the terms of :func:`tokenize` (without offsets)."""
    return " ".join(index_text(normalized).split())


def index_text(normalized: str) -> str:
    """What the index's whitespace tokenizer receives: the terms of :func:`tokenize` (without
    offsets) separated by one or more ASCII spaces, the only whitespace in it.

    Made without a Python step per token: bulk indexing spends its time here (the README's
    benchmark section). Runs of spaces are left as they are (the tokenizer skips them; a
    term's position counts terms, not characters), which spares splitting the text into
    words and joining them again. Pure ASCII text takes the short way; other text is cut at
    line breaks (which no token spans) into stretches of ASCII lines, which take the short
    way, and the others."""
    if normalized.isascii():
        return _ascii_spaced(normalized)
    if 4 * (len(normalized.encode("utf-8", "surrogatepass")) - len(normalized)) > len(normalized):
        # Mostly CJK (some 15 % of the characters or more): bigrams one run at a time in
        # Python are as fast there as the whole-text passes.
        return _loop_terms(normalized)
    if "\n" not in normalized:
        return _any_spaced(normalized)
    return " ".join(
        _ascii_spaced(stretch) if ascii_ else _any_spaced(stretch)
        for ascii_, stretch in _stretches(normalized.split("\n"))
    )


def _stretches(lines: list[str]) -> Iterator[tuple[bool, str]]:
    for ascii_, group in groupby(lines, key=str.isascii):
        yield ascii_, "\n".join(group)


_LONG_WORD = re.compile(rf" [^ ]{{{MAX_TOKEN_CHARS + 1}}}")


def _without_long_words(spaced: str) -> str:
    """``spaced`` (words between spaces) without its words longer than MAX_TOKEN_CHARS.

    Looking for one is a regex scan that jumps from space to space; only a text that has one
    is split into words."""
    n = MAX_TOKEN_CHARS + 1
    if len(spaced) < n or (" " in spaced[:n] and _LONG_WORD.search(spaced) is None):
        return spaced
    return " ".join(_short(spaced.split()))


def _ascii_spaced(text: str) -> str:
    return _without_long_words(_ASCII_BREAK.sub(" ", text).translate(_ASCII_TABLE))


def _any_spaced(normalized: str) -> str:
    # Separators and joiners become spaces; the neighbours a joiner is judged by may have
    # become spaces before, which changes nothing (neither is a word character).
    text = _SEPARATOR.sub(" ", normalized)
    text = _OTHER_JOINER.sub(_other_joiner, text)
    text = _ASCII_BREAK.sub(" ", text)
    # The ASCII characters mapped as above, the others kept: on UTF-8 bytes, in one pass.
    mapped = text.encode("utf-8", "surrogatepass").translate(_BYTES_TABLE)
    text = mapped.decode("utf-8", "surrogatepass")
    if _CJK_ONE.search(text):
        parts = _CJK_SPLIT.split(text)
        parts[1::2] = _cjk_bigrams(parts[1::2])
        text = " ".join(parts)
    # Lower-cased after the length check (lower-casing may lengthen a word); the whole string
    # at once is the same as word by word (words are separated by spaces, which end the
    # context of a final sigma).
    return _without_long_words(text).lower()


def _loop_terms(normalized: str) -> str:
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


def _short(words: list[str]) -> list[str]:
    if words and max(map(len, words)) > MAX_TOKEN_CHARS:
        return [w for w in words if len(w) <= MAX_TOKEN_CHARS]
    return words
