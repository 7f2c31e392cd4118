"""The one compiler from the query AST to the Elasticsearch/OpenSearch search DSL.

Both engines get exactly these bodies (``tests/golden/dsl`` pins them). The semantics are those
of the tantivy compiler (``storage.index.tantivy_index``), so that both backends return the same
contracts for the same query:

* The archive's analyzer (``storage.index.analysis``) is mirrored by the index's ``archive``
  analyzer: ``standard`` tokenizer, then ``cjk_width``, ``lowercase`` and ``cjk_bigram``. Text is
  normalised in Python before it is sent (NFKC, spaces between CJK characters removed), which is
  more than ``cjk_width`` does.
* Queries are not re-analysed by the server: the AST already holds the index terms, so a phrase
  is a ``match_phrase`` of those terms with the ``whitespace`` analyzer and one term is a
  ``term`` query. A lone CJK character matches itself or any bigram containing it.
* Filters (id, sha256, status, classification, year, archived) are ``bool.filter`` clauses and
  do not score. A query made only of exclusions is anchored on ``match_all``.
* Pages are indexed as an array with ``position_increment_gap: 0``, which matches tantivy's
  pages joined by a newline: a phrase may run across a page break, a CJK bigram may not.

Highlighting stays in the application (``storage.index.highlight``): hits return the normalised
page texts, so every backend highlights alike; ``index_options: offsets`` keeps the index ready
for server-side highlighting all the same.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

from storage.index.analysis import normalize
from storage.index.base import (
    FACET_FIELDS,
    INDEX_VERSION,
    FacetValue,
    IndexDocument,
    IndexHit,
    IndexResult,
    SortOrder,
)
from storage.index.query import (
    INTEGER_FIELDS,
    And,
    DateRange,
    Keyword,
    MatchAll,
    Node,
    Not,
    Or,
    Text,
)

ANALYZER = "archive"
FACET_SIZE = 20
# Query text fields → index fields (title and customer are matched on their normalised copies).
TEXT_FIELD = {None: "pages", "title": "title_text", "customer": "customer_text"}
FACET_FIELD = {"customer": "customer", "year": "year", "status": "status"}
SOURCE_FIELDS = ["id", "title", "customer", "pages"]
META = {"archive_index_version": INDEX_VERSION, "kind": "contract-archive"}
_REGEX_RESERVED = set('.?+*|{}[]()"\\#@&<>~')


def index_body() -> dict[str, Any]:
    """Settings and mappings of a new index (``PUT /<index>``)."""
    text = {"type": "text", "analyzer": ANALYZER, "index_options": "offsets"}
    return {
        "settings": {
            "index": {"number_of_shards": 1, "max_result_window": 200_000},
            "analysis": {
                "analyzer": {
                    ANALYZER: {
                        "type": "custom",
                        "tokenizer": "standard",
                        "filter": ["cjk_width", "lowercase", "cjk_bigram"],
                    }
                }
            },
        },
        "mappings": {
            "dynamic": "strict",
            "_meta": dict(META),
            "properties": {
                "id": {"type": "long"},
                "sha256": {"type": "keyword"},
                "filename": {"type": "keyword", "index": False, "doc_values": False},
                "title": {"type": "keyword", "index": False, "doc_values": False},
                "title_text": dict(text),
                "customer": {"type": "keyword"},
                "customer_text": dict(text),
                "pages": {**text, "position_increment_gap": 0},
                "status": {"type": "keyword"},
                "classification": {"type": "keyword"},
                "year": {"type": "integer"},
                "governing_law": {"type": "keyword"},
                "signed": {"type": "integer"},
                "expires": {"type": "integer"},
                "clause": {"type": "keyword"},
                "archived": {"type": "date"},
            },
        },
    }


def mapping_version(mapping: dict[str, Any]) -> int | None:
    """The archive's layout version recorded in an index mapping (None if not the archive's)."""
    meta = mapping.get("_meta") or {}
    value = meta.get("archive_index_version")
    try:
        return int(value) if value is not None else None
    except (TypeError, ValueError):
        return None


def to_source(doc: IndexDocument) -> dict[str, Any]:
    created = doc.created_at.astimezone(UTC)
    source: dict[str, Any] = {
        "id": doc.id,
        "sha256": doc.sha256,
        "filename": doc.filename,
        "title": doc.title,
        "title_text": normalize(doc.title),
        "pages": list(doc.pages),
        "status": doc.status,
        "year": created.year,
        "archived": created.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
    }
    if doc.customer:
        source["customer"] = doc.customer
        source["customer_text"] = normalize(doc.customer)
    if doc.classification:
        source["classification"] = doc.classification
    if doc.governing_law:
        source["governing_law"] = doc.governing_law
    if doc.signed_year is not None:
        source["signed"] = doc.signed_year
    if doc.expiry_year is not None:
        source["expires"] = doc.expiry_year
    if doc.clauses:
        source["clause"] = list(doc.clauses)
    return source


# --- queries ----------------------------------------------------------------------------------
def _is_lone_char(term: str) -> bool:
    # The same test as the tantivy compiler: one non-ASCII letter (a CJK character on its own).
    return len(term) == 1 and not term.isascii() and term.isalpha()


def _regex_escape(text: str) -> str:
    return "".join("\\" + c if c in _REGEX_RESERVED else c for c in text)


def _text_query(node: Text, field: str) -> dict[str, Any]:
    terms = node.terms
    if len(terms) == 1:
        term = terms[0]
        if _is_lone_char(term):
            char = _regex_escape(term)
            return {
                "bool": {
                    "should": [
                        {"term": {field: term}},
                        {"regexp": {field: {"value": f"{char}.|.{char}"}}},
                    ],
                    "minimum_should_match": 1,
                }
            }
        return {"term": {field: term}}
    return {"match_phrase": {field: {"query": " ".join(terms), "analyzer": "whitespace"}}}


def _filter(clause: dict[str, Any]) -> dict[str, Any]:
    return {"bool": {"filter": [clause]}}


def _day(d: date) -> str:
    return datetime(d.year, d.month, d.day, tzinfo=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def compile_query(node: Node) -> dict[str, Any]:
    """The DSL query for an AST node."""
    if isinstance(node, MatchAll):
        return {"match_all": {}}
    if isinstance(node, Text):
        if node.field is None:
            return {
                "bool": {
                    "should": [
                        _text_query(node, TEXT_FIELD[None]),
                        _text_query(node, TEXT_FIELD["title"]),
                    ],
                    "minimum_should_match": 1,
                }
            }
        return _text_query(node, TEXT_FIELD[node.field])
    if isinstance(node, Keyword):
        value: str | int = int(node.value) if node.field in INTEGER_FIELDS else node.value
        return _filter({"term": {node.field: value}})
    if isinstance(node, DateRange):
        bounds: dict[str, str] = {}
        if node.start is not None:
            bounds["gte"] = _day(node.start)
        if node.end is not None:
            bounds["lt"] = _day(node.end + timedelta(days=1))
        if not bounds:
            return {"match_all": {}}
        return _filter({"range": {"archived": bounds}})
    if isinstance(node, And):
        must = [compile_query(i) for i in node.items if not isinstance(i, Not)]
        must_not = [compile_query(i.item) for i in node.items if isinstance(i, Not)]
        body: dict[str, Any] = {"must": must or [{"match_all": {}}]}
        if must_not:
            body["must_not"] = must_not
        return {"bool": body}
    if isinstance(node, Or):
        return {
            "bool": {"should": [compile_query(i) for i in node.items], "minimum_should_match": 1}
        }
    if isinstance(node, Not):
        return {"bool": {"must": [{"match_all": {}}], "must_not": [compile_query(node.item)]}}
    raise TypeError(f"unknown query node {node!r}")


def search_body(
    node: Node,
    *,
    limit: int = 10,
    offset: int = 0,
    sort: SortOrder = "relevance",
    facets: bool = False,
) -> dict[str, Any]:
    """The whole ``POST /<alias>/_search`` body."""
    body: dict[str, Any] = {
        "query": compile_query(node),
        "from": offset,
        "size": limit,
        "track_total_hits": True,
        "_source": list(SOURCE_FIELDS),
    }
    if sort != "relevance":
        order = "desc" if sort == "newest" else "asc"
        body["sort"] = [{"archived": {"order": order}}, {"id": {"order": order}}]
    if facets:
        body["aggs"] = {
            name: {"terms": {"field": FACET_FIELD.get(name, name), "size": FACET_SIZE}}
            for name in FACET_FIELDS
        }
    return body


def parse_response(response: dict[str, Any], *, sort: SortOrder = "relevance") -> IndexResult:
    hits_part = response.get("hits") or {}
    total = hits_part.get("total") or {}
    hits = []
    for hit in hits_part.get("hits") or []:
        source = hit.get("_source") or {}
        score = hit.get("_score")
        hits.append(
            IndexHit(
                id=int(source.get("id", hit.get("_id"))),
                score=float(score) if sort == "relevance" and score is not None else 0.0,
                title=str(source.get("title", "")),
                customer=source.get("customer"),
                pages=tuple(str(p) for p in source.get("pages") or ()),
            )
        )
    facets: dict[str, list[FacetValue]] = {}
    aggs = response.get("aggregations") or {}
    for name in FACET_FIELDS:
        if name in aggs:
            facets[name] = [
                FacetValue(value=str(b["key"]), count=int(b["doc_count"]))
                for b in aggs[name].get("buckets", [])
            ]
    return IndexResult(
        total=int(total.get("value", 0) if isinstance(total, dict) else total),
        hits=hits,
        facets=facets,
    )
