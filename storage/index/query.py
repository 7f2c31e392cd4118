"""The query language, parsed once into an AST that every index backend compiles.

Syntax (documented with examples in the README)::

    违约责任                       a word; a Chinese run is matched as a phrase of its bigrams
    "limitation of liability"     an exact phrase
    force majeure                 both words (AND is implicit)
    indemnify OR indemnification  either
    -draft  /  NOT draft          exclusion
    (a OR b) c                    grouping
    customer:"Acme Corp"          field filters: customer, title, sha256, id, status,
    title:lease                   classification, year, governing_law, signed, expires,
    clause:non_compete            clause (a clause type found in the contract, core.clauses)
    archived:[2024-01-01 TO 2024-12-31]   date range, inclusive; * leaves a side open
    archived:2024-03-05           one day

Errors are :class:`~core.errors.QuerySyntaxError` naming the problem and where.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import Literal

from core.clauses import BY_SLUG, CLAUSE_TYPES, SLUGS
from core.errors import QuerySyntaxError
from storage.index.analysis import analyze

MAX_QUERY_CHARS = 2000
MAX_CLAUSES = 64
MAX_DEPTH = 32
"""Most parentheses and NOT/- signs nested in one another: the parser and every walker of the
tree recurse once per level, and 400 nested parentheses or 1,500 '-' signs went past Python's
recursion limit (a 500; issue 20)."""
MAX_OPERATORS = 256
"""Most operators (NOT, -, AND, OR) and parentheses in one query."""

TEXT_FIELDS = ("title", "customer")
KEYWORD_FIELDS = (
    "sha256",
    "id",
    "status",
    "classification",
    "year",
    "governing_law",
    "signed",
    "expires",
    "clause",
)
INTEGER_FIELDS = ("id", "year", "signed", "expires")
"""Keyword fields of whole numbers: ``year`` archived, ``signed`` and ``expires`` the years of
the confirmed signing and expiry dates."""
DATE_FIELDS = ("archived",)
KNOWN_FIELDS = (*TEXT_FIELDS, *KEYWORD_FIELDS, *DATE_FIELDS)


# --- AST --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Text:
    """Words to find, as a sequence of index terms.

    ``terms`` has one entry for a single word, several for a phrase (a quoted phrase, or a word
    the analyzer splits, such as a Chinese run into bigrams). ``field`` None means the contract's
    text and title.
    """

    raw: str
    terms: tuple[str, ...]
    field: str | None = None
    quoted: bool = False


@dataclass(frozen=True)
class Keyword:
    field: str
    value: str


@dataclass(frozen=True)
class DateRange:
    field: str
    start: date | None
    end: date | None


@dataclass(frozen=True)
class And:
    items: tuple[Node, ...]


@dataclass(frozen=True)
class Or:
    items: tuple[Node, ...]


@dataclass(frozen=True)
class Not:
    item: Node


@dataclass(frozen=True)
class MatchAll:
    pass


Node = Text | Keyword | DateRange | And | Or | Not | MatchAll


# --- lexer ------------------------------------------------------------------------------------
TokKind = Literal["LP", "RP", "OR", "AND", "NOT", "MINUS", "FIELD", "PHRASE", "WORD", "RANGE"]


@dataclass(frozen=True)
class Tok:
    kind: TokKind
    value: str
    pos: int


_FIELD_RE = re.compile(r"([A-Za-z_][A-Za-z0-9_]*):(?=\S)")
_BARE_FIELD_RE = re.compile(r"([A-Za-z_][A-Za-z0-9_]*):(?=\s|$)")
_RANGE_RE = re.compile(r"\[\s*(\S+)\s+TO\s+(\S+?)\s*\]")
_SPECIAL = set('()"')


def _error(message: str, pos: int | None = None) -> QuerySyntaxError:
    where = f" at character {pos + 1}" if pos is not None else ""
    return QuerySyntaxError(
        f"invalid query{where}: {message}",
        hint='the query language: words, "phrases", -exclusion, OR, parentheses, '
        "field:value and archived:[2024-01-01 TO 2024-12-31]",
        details={"position": pos} if pos is not None else None,
    )


def lex(query: str) -> list[Tok]:
    toks: list[Tok] = []
    i, n = 0, len(query)
    while i < n:
        c = query[i]
        if c.isspace():
            i += 1
            continue
        if c == "(":
            toks.append(Tok("LP", c, i))
            i += 1
            continue
        if c == ")":
            toks.append(Tok("RP", c, i))
            i += 1
            continue
        if c == '"':
            end = query.find('"', i + 1)
            if end < 0:
                raise _error("a quotation mark is not closed", i)
            toks.append(Tok("PHRASE", query[i + 1 : end], i))
            i = end + 1
            continue
        after_field = bool(toks) and toks[-1].kind == "FIELD"
        if c == "-" and i + 1 < n and not query[i + 1].isspace() and not after_field:
            toks.append(Tok("MINUS", c, i))
            i += 1
            continue
        m = _FIELD_RE.match(query, i)
        if m and (not toks or toks[-1].kind != "FIELD"):
            name = m.group(1).lower()
            if name not in KNOWN_FIELDS:
                raise _error(
                    f"unknown field {m.group(1)!r}; known fields: {', '.join(KNOWN_FIELDS)}"
                    "; to search for the text itself, put it in quotes",
                    i,
                )
            toks.append(Tok("FIELD", name, i))
            i = m.end()
            continue
        bare = _BARE_FIELD_RE.match(query, i)
        if bare and bare.group(1).lower() in KNOWN_FIELDS:
            raise _error(f"field {bare.group(1)!r} needs a value right after the colon", i)
        if c == "[":
            m = _RANGE_RE.match(query, i)
            if not m:
                raise _error("a range must look like [2024-01-01 TO 2024-12-31]", i)
            toks.append(Tok("RANGE", f"{m.group(1)}\x00{m.group(2)}", i))
            i = m.end()
            continue
        j = i
        while j < n and not query[j].isspace() and query[j] not in _SPECIAL:
            j += 1
        word = query[i:j]
        kind: TokKind = "WORD"
        if word in ("OR", "AND", "NOT") and (not toks or toks[-1].kind != "FIELD"):
            kind = word  # type: ignore[assignment]
        toks.append(Tok(kind, word, i))
        i = j
    return toks


# --- parser -----------------------------------------------------------------------------------
class _Parser:
    def __init__(self, toks: list[Tok], query: str) -> None:
        self.toks = toks
        self.i = 0
        self.query = query
        self.clauses = 0
        self.depth = 0
        operators = [t for t in toks if t.kind in ("MINUS", "NOT", "AND", "OR", "LP")]
        if len(operators) > MAX_OPERATORS:
            raise _error(
                f"the query has more than {MAX_OPERATORS} operators and parentheses",
                operators[MAX_OPERATORS].pos,
            )

    def _deeper(self, tok: Tok) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise _error(
                f"the query nests parentheses and exclusions more than {MAX_DEPTH} deep", tok.pos
            )

    def peek(self) -> Tok | None:
        return self.toks[self.i] if self.i < len(self.toks) else None

    def take(self) -> Tok:
        tok = self.toks[self.i]
        self.i += 1
        return tok

    def parse(self) -> Node:
        if not self.toks:
            return MatchAll()
        node = self.or_expr()
        tok = self.peek()
        if tok is not None:
            if tok.kind == "RP":
                raise _error("a closing parenthesis has no opening one", tok.pos)
            raise _error(f"unexpected {tok.value!r}", tok.pos)
        return node

    def or_expr(self) -> Node:
        items = [self.and_expr()]
        while (tok := self.peek()) is not None and tok.kind == "OR":
            self.take()
            nxt = self.peek()
            if nxt is None or nxt.kind in ("OR", "RP", "AND"):
                raise _error("OR needs something on both sides", tok.pos)
            items.append(self.and_expr())
        return items[0] if len(items) == 1 else Or(tuple(items))

    def and_expr(self) -> Node:
        items: list[Node] = []
        while (tok := self.peek()) is not None and tok.kind not in ("OR", "RP"):
            if tok.kind == "AND":
                self.take()
                nxt = self.peek()
                if not items or nxt is None or nxt.kind in ("OR", "RP", "AND"):
                    raise _error("AND needs something on both sides", tok.pos)
                continue
            items.append(self.unary())
        if not items:
            tok = self.peek()
            pos = tok.pos if tok else len(self.query)
            raise _error("an expression is missing", pos)
        return items[0] if len(items) == 1 else And(tuple(items))

    def unary(self) -> Node:
        tok = self.peek()
        assert tok is not None
        if tok.kind in ("MINUS", "NOT"):
            self.take()
            nxt = self.peek()
            if nxt is None or nxt.kind in ("OR", "RP", "AND"):
                raise _error(f"{tok.value!r} must be followed by what to exclude", tok.pos)
            self._deeper(tok)
            inner = self.unary()
            self.depth -= 1
            return Not(inner)
        return self.primary()

    def _count(self, pos: int) -> None:
        self.clauses += 1
        if self.clauses > MAX_CLAUSES:
            raise _error(f"the query has more than {MAX_CLAUSES} terms", pos)

    def primary(self) -> Node:
        tok = self.take()
        if tok.kind == "LP":
            if (nxt := self.peek()) is not None and nxt.kind == "RP":
                raise _error("empty parentheses", tok.pos)
            self._deeper(tok)
            node = self.or_expr()
            self.depth -= 1
            close = self.peek()
            if close is None or close.kind != "RP":
                raise _error("a parenthesis is not closed", tok.pos)
            self.take()
            return node
        if tok.kind == "RP":
            raise _error("a closing parenthesis has no opening one", tok.pos)
        if tok.kind == "FIELD":
            return self.field(tok)
        if tok.kind == "RANGE":
            raise _error("a range needs a field before it, as in archived:[... TO ...]", tok.pos)
        self._count(tok.pos)
        return _text(tok.value, None, quoted=tok.kind == "PHRASE", pos=tok.pos)

    def field(self, ftok: Tok) -> Node:
        name = ftok.value
        tok = self.peek()
        if tok is None or tok.kind not in ("WORD", "PHRASE", "RANGE"):
            raise _error(f"field {name!r} needs a value", ftok.pos)
        self.take()
        self._count(tok.pos)
        if name in DATE_FIELDS:
            return _date_filter(name, tok)
        if tok.kind == "RANGE":
            raise _error(f"field {name!r} does not take a range", tok.pos)
        if name in TEXT_FIELDS:
            return _text(tok.value, name, quoted=tok.kind == "PHRASE", pos=tok.pos)
        return _keyword(name, tok)


def _text(value: str, field: str | None, *, quoted: bool, pos: int) -> Node:
    terms = tuple(t.text for t in analyze(value))
    if not terms:
        if quoted:
            raise _error(f'the phrase "{value}" has no words to search for', pos)
        # Punctuation on its own (a stray "§" or "&") is nothing to search for: match all.
        return MatchAll()
    return Text(raw=value, terms=terms, field=field, quoted=quoted)


def _keyword(name: str, tok: Tok) -> Keyword:
    value = tok.value.strip()
    if name == "sha256":
        value = value.lower()
        if not re.fullmatch(r"[0-9a-f]{64}", value):
            raise _error("sha256: needs 64 hexadecimal digits", tok.pos)
    elif name in INTEGER_FIELDS:
        if not re.fullmatch(r"[0-9]{1,18}", value):
            raise _error(f"{name}: needs a whole number", tok.pos)
    elif not value:
        raise _error(f"field {name!r} needs a value", tok.pos)
    elif name == "clause":
        value = _clause_slug(value, tok.pos)
    return Keyword(name, value)


def _clause_slug(value: str, pos: int) -> str:
    """A clause type by slug (any case, ``-`` for ``_``) or by its Chinese or English name."""
    slug = value.strip().lower().replace("-", "_").replace(" ", "_")
    if slug in BY_SLUG:
        return slug
    for kind in CLAUSE_TYPES:
        if value.strip() in (kind.zh, kind.en) or value.strip().lower() == kind.en.lower():
            return kind.slug
    raise QuerySyntaxError(
        f"clause: {value!r} is not a clause type",
        hint="one of: " + ", ".join(SLUGS),
        details={"position": pos},
    )


def _parse_date(text: str, pos: int) -> date | None:
    if text == "*":
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise _error(f"{text!r} is not a date; write YYYY-MM-DD", pos) from None


def _date_filter(name: str, tok: Tok) -> DateRange:
    if tok.kind == "RANGE":
        lo_text, hi_text = tok.value.split("\x00")
        lo, hi = _parse_date(lo_text, tok.pos), _parse_date(hi_text, tok.pos)
        if lo and hi and lo > hi:
            raise _error(f"the range starts after it ends ({lo} > {hi})", tok.pos)
        return DateRange(name, lo, hi)
    if tok.kind == "PHRASE":
        raise _error(f"{name}: takes a date or a range, not a phrase", tok.pos)
    day = _parse_date(tok.value, tok.pos)
    return DateRange(name, day, day)


def _simplify(node: Node) -> Node:
    if isinstance(node, And):
        items = [_simplify(i) for i in node.items]
        kept = [i for i in items if not isinstance(i, MatchAll)]
        if not kept:
            return MatchAll()
        return kept[0] if len(kept) == 1 else And(tuple(kept))
    if isinstance(node, Or):
        items = [_simplify(i) for i in node.items]
        if any(isinstance(i, MatchAll) for i in items):
            return MatchAll()
        return Or(tuple(items))
    if isinstance(node, Not):
        inner = _simplify(node.item)
        if isinstance(inner, MatchAll):
            raise _error("the excluded term has no words to search for")
        return Not(inner)
    return node


def parse(query: str) -> Node:
    """Parse a query string; raise QuerySyntaxError with a readable message when malformed."""
    if len(query) > MAX_QUERY_CHARS:
        raise _error(f"the query is longer than {MAX_QUERY_CHARS} characters")
    if "\x00" in query:
        raise _error("the query contains a NUL character")
    return _simplify(_Parser(lex(query), query).parse())


def positive_texts(node: Node) -> list[Text]:
    """The text clauses that make a document match (not under a NOT): what to highlight."""
    out: list[Text] = []

    def walk(n: Node, negated: bool) -> None:
        if isinstance(n, Text):
            if not negated and n.field is None:
                out.append(n)
        elif isinstance(n, And | Or):
            for item in n.items:
                walk(item, negated)
        elif isinstance(n, Not):
            walk(n.item, not negated)

    walk(node, False)
    return out
