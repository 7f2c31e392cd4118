"""Search results."""

from __future__ import annotations

from pydantic import BaseModel, Field


class SnippetPublic(BaseModel):
    page: int = Field(description="1-based page number the snippet comes from.")
    html: str = Field(description="HTML-escaped text with the hits wrapped in <mark>.")


class SearchHit(BaseModel):
    id: int
    title: str
    title_html: str = Field(description="The title, HTML-escaped, hits wrapped in <mark>.")
    customer: str | None
    score: float
    snippets: list[SnippetPublic]


class FacetBucket(BaseModel):
    value: str
    count: int


class SearchResponse(BaseModel):
    query: str
    total: int = Field(description="Number of contracts that match (exact).")
    offset: int
    limit: int
    sort: str
    hits: list[SearchHit]
    facets: dict[str, list[FacetBucket]] = Field(default_factory=dict)
    took_ms: float
    did_you_mean: str | None = Field(
        None,
        description="The query with its words not in the index's vocabulary replaced by the "
        "nearest ones that are (limitaton → limitation, 不可抗拒 → 不可抗力); only offered when "
        "it finds contracts.",
    )
    corrections: dict[str, str] = Field(
        default_factory=dict,
        description="Each word of the query `did_you_mean` replaced, and by what.",
    )
    fuzzy: bool = Field(
        False,
        description="True when the query itself found nothing and the hits, total and facets "
        "are those of `did_you_mean` (close matches, not exact ones).",
    )
