"""Search: parse the query, ask the index, highlight the hits. Shared by the API and the CLI."""

from __future__ import annotations

import time

from core.errors import InvalidRequest
from schemas.search import FacetBucket, SearchHit, SearchResponse, SnippetPublic
from storage.index.base import SearchIndex, SortOrder
from storage.index.highlight import highlight_title, lead, snippets
from storage.index.query import And, Node, Not, Or, Text, parse, positive_texts

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
) -> SearchResponse:
    """``restrict`` is ANDed into the query the index runs (access control: the classes the
    caller may not see), so hits, totals, facets and snippets all respect it.

    ``metadata_only`` (a caller who may see records but not read content, the auditor):
    words match the title and the customer instead of the text, and hits carry no snippets."""
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
    if restrict is None:
        run = node
    else:
        run = And((*node.items, restrict)) if isinstance(node, And) else And((node, restrict))
    result = index.search(run, limit=limit, offset=offset, sort=sort, facets=facets)
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
