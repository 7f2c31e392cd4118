"""Search: parse the query, ask the index, highlight the hits. Shared by the API and the CLI."""

from __future__ import annotations

import re
import time
from collections import Counter

from core.errors import InvalidRequest
from schemas.search import FacetBucket, SearchHit, SearchResponse, SnippetPublic
from storage.index.analysis import CJK_CHAR, analyze, normalize
from storage.index.base import IndexResult, SearchIndex, SortOrder
from storage.index.highlight import highlight_title, lead, snippets
from storage.index.query import And, Node, Not, Or, Text, parse, positive_texts
from storage.index.vocabulary import WORD
from storage.records.vocabulary_base import VocabularyStore

SORTS: tuple[SortOrder, ...] = ("relevance", "newest", "oldest")


def search(
    index: SearchIndex,
    q: str,
    *,
    limit: int = 10,
    offset: int = 0,
    sort: str = "relevance",
    facets: bool = False,
    max_limit: int = 100,
    snippet_chars: int = 160,
    snippets_per_hit: int = 3,
    restrict: Node | None = None,
    metadata_only: bool = False,
    words: VocabularyStore | None = None,
) -> SearchResponse:
    """``restrict`` is ANDed into the query the index runs (access control: the classes the
    caller may not see), so hits, totals, facets and snippets all respect it.

    ``metadata_only`` (a caller who may see records but not read content, the auditor):
    words match the title and the customer instead of the text, and hits carry no snippets.

    ``words`` (the index's vocabulary) turns on "did you mean": words of the query the index
    does not know are replaced by the nearest known ones (:func:`suggest`), offered in
    ``did_you_mean`` when that query finds contracts; and when the query itself found nothing,
    the results are those of the suggestion, flagged ``fuzzy``."""
    started = time.perf_counter()
    if not 1 <= limit <= max_limit:
        raise InvalidRequest(f"limit must be between 1 and {max_limit}, not {limit}")
    if offset < 0 or offset > 100_000:
        raise InvalidRequest(f"offset must be between 0 and 100000, not {offset}")
    if sort not in SORTS:
        raise InvalidRequest(f"sort must be one of {', '.join(SORTS)}, not {sort!r}")
    node = parse(q)
    if metadata_only:
        node = metadata_query(node)

    def run(query: Node) -> IndexResult:
        return index.search(
            _restricted(query, restrict), limit=limit, offset=offset, sort=sort, facets=facets
        )

    result = run(node)
    did_you_mean: str | None = None
    corrections: dict[str, str] = {}
    fuzzy = False
    if words is not None and not metadata_only:
        corrected = suggest(index, words, q, node, restrict, exact_total=result.total)
        if corrected is not None:
            did_you_mean, corrected_node, corrections = corrected
            if result.total == 0:
                result, node, fuzzy = run(corrected_node), corrected_node, True
    patterns = [t.terms for t in positive_texts(node)]
    title_patterns = patterns or [t.terms for t in metadata_texts(node)]
    hits = []
    for hit in result.hits:
        found = (
            snippets(hit.pages, patterns, width=snippet_chars, limit=snippets_per_hit)
            if patterns
            else []
        )
        if not found:
            found = lead(hit.pages, snippet_chars)
        if metadata_only:
            found = []
        hits.append(
            SearchHit(
                id=hit.id,
                title=hit.title,
                title_html=highlight_title(hit.title, title_patterns),
                customer=hit.customer,
                score=round(hit.score, 4),
                snippets=[SnippetPublic(page=s.page, html=s.html) for s in found],
            )
        )
    return SearchResponse(
        query=q,
        total=result.total,
        offset=offset,
        limit=limit,
        sort=sort,
        hits=hits,
        facets={
            name: [FacetBucket(value=v.value, count=v.count) for v in values]
            for name, values in result.facets.items()
        },
        took_ms=round((time.perf_counter() - started) * 1000, 2),
        did_you_mean=did_you_mean,
        corrections=corrections,
        fuzzy=fuzzy,
    )


def metadata_query(node: Node) -> Node:
    """``node`` with every word of the text (a Text without a field) looking in the title and
    the customer instead: what a caller who may not read contracts searches."""
    if isinstance(node, Text) and node.field is None:
        return Or(tuple(Text(node.raw, node.terms, f, node.quoted) for f in ("title", "customer")))
    if isinstance(node, And):
        return And(tuple(metadata_query(i) for i in node.items))
    if isinstance(node, Or):
        return Or(tuple(metadata_query(i) for i in node.items))
    if isinstance(node, Not):
        return Not(metadata_query(node.item))
    return node


def metadata_texts(node: Node) -> list[Text]:
    """The title words of a metadata query (to mark in the hit titles)."""
    out: list[Text] = []
    if isinstance(node, Text) and node.field == "title":
        out.append(node)
    elif isinstance(node, And | Or):
        for item in node.items:
            out.extend(metadata_texts(item))
    return out


def _restricted(node: Node, restrict: Node | None) -> Node:
    if restrict is None:
        return node
    return And((*node.items, restrict)) if isinstance(node, And) else And((node, restrict))


# --- did you mean -------------------------------------------------------------------------------
CJK_RUN = re.compile(f"{CJK_CHAR}+")
NEAR_RUNS = 3
"""At most this many Chinese words of a query are looked for in near forms, each of 3 to 8
characters (a longer run is a phrase, not a mistyped word): the searches stay few."""
NEAR_DOCS = 20
"""How many documents are read for the near forms of a Chinese word."""


def edit_distance(a: str, b: str, cutoff: int = 2) -> int:
    """Damerau-Levenshtein (optimal string alignment) distance, or ``cutoff + 1`` once it is
    certain to exceed ``cutoff``."""
    if abs(len(a) - len(b)) > cutoff:
        return cutoff + 1
    previous2: list[int] = []
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, start=1):
        current = [i] + [0] * len(b)
        for j, cb in enumerate(b, start=1):
            cost = 0 if ca == cb else 1
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
            if i > 1 and j > 1 and ca == b[j - 2] and a[i - 2] == cb:
                current[j] = min(current[j], previous2[j - 2] + 1)
        if min(current) > cutoff:
            return cutoff + 1
        previous2, previous = previous, current
    return previous[-1]


def nearest_word(word: str, candidates: list[tuple[str, int]]) -> str | None:
    """The known word nearest ``word``: at most one edit for words of up to 4 letters, two for
    longer ones; ties go to the word more documents have."""
    cutoff = 1 if len(word) <= 4 else 2
    best: tuple[int, int, str] | None = None
    for candidate, docs in candidates:
        if candidate == word:
            continue
        distance = edit_distance(word, candidate, cutoff)
        if distance <= cutoff and (best is None or (distance, -docs) < best[:2]):
            best = (distance, -docs, candidate)
    return best[2] if best else None


def _phrase(text: str) -> Text:
    return Text(text, tuple(t.text for t in analyze(text)))


def near_cjk(index: SearchIndex, run: str, restrict: Node | None) -> str | None:
    """A form of the Chinese word ``run`` with one character changed that the documents the
    caller may see contain (不可抗拒 → 不可抗力): for each position, the documents with the
    rest of the word are read for what stands in that place; the most frequent form wins."""
    found: Counter[str] = Counter()
    pattern_of = re.escape
    for i in range(len(run)):
        left, right = run[:i], run[i + 1 :]
        parts = [p for p in (left, right) if len(p) >= 2]
        if not parts:
            continue
        query: Node = _phrase(parts[0]) if len(parts) == 1 else And(tuple(map(_phrase, parts)))
        result = index.search(_restricted(query, restrict), limit=NEAR_DOCS)
        pattern = re.compile(pattern_of(left) + f"({CJK_CHAR})" + pattern_of(right))
        for hit in result.hits:
            for page in hit.pages:
                for m in pattern.finditer(page):
                    form = left + m.group(1) + right
                    if form != run:
                        found[form] += 1
    return found.most_common(1)[0][0] if found else None


def suggest(
    index: SearchIndex,
    words: VocabularyStore,
    q: str,
    node: Node,
    restrict: Node | None,
    *,
    exact_total: int,
) -> tuple[str, Node, dict[str, str]] | None:
    """The query with its unknown words replaced, and its AST, when it finds contracts the
    caller may see; None otherwise. Latin words are looked up in the vocabulary (edit distance);
    a Chinese word of three or more characters, when the query found nothing, is looked for in
    near forms in the index."""
    texts = positive_texts(node)
    latin = {t for text in texts for t in text.terms if WORD.fullmatch(t)}
    replacements: dict[str, str] = {}
    if latin:
        known = words.known_words(latin)
        for word in sorted(latin - known):
            better = nearest_word(word, words.words_like(word))
            if better:
                replacements[word] = better
    if exact_total == 0:
        runs = [
            run
            for text in texts
            for run in CJK_RUN.findall(normalize(text.raw))
            if 3 <= len(run) <= 8
        ]
        for run in runs[:NEAR_RUNS]:
            if index.search(_restricted(_phrase(run), restrict), limit=1).total:
                continue
            better = near_cjk(index, run, restrict)
            if better:
                replacements[run] = better
    if not replacements:
        return None
    corrected = apply_corrections(q, replacements)
    if corrected == q:
        return None
    corrected_node = parse(corrected)
    if not index.search(_restricted(corrected_node, restrict), limit=1).total:
        return None
    return corrected, corrected_node, replacements


def apply_corrections(q: str, replacements: dict[str, str]) -> str:
    """``q`` with each wrong word replaced (Latin words whole and in any case)."""
    for wrong, right in replacements.items():
        if CJK_RUN.fullmatch(wrong):  # a Chinese word: replaced where it stands
            q = q.replace(wrong, right)
        else:
            q = re.sub(rf"(?i)(?<!\w){re.escape(wrong)}(?!\w)", right, q)
    return q
