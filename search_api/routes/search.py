"""Full-text search with highlighted snippets."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query

from schemas.search import SearchResponse
from search_api.deps import ActsSearching
from search_api.errors import ERROR_RESPONSES

router = APIRouter(prefix="/api/v1", tags=["search"])


@router.get(
    "/search",
    response_model=SearchResponse,
    responses=ERROR_RESPONSES,
    summary="Search contracts",
)
def search(
    f: ActsSearching,
    q: Annotated[str, Query(max_length=2000, description="Query; see the README.")] = "",
    limit: Annotated[int, Query(ge=1, le=100)] = 10,
    offset: Annotated[int, Query(ge=0, le=100_000)] = 0,
    sort: Literal["relevance", "newest", "oldest"] = "relevance",
    facets: bool = False,
    purpose: Annotated[str | None, Query(max_length=2000, description="Why; logged.")] = None,
) -> SearchResponse:
    """Words, "exact phrases", -exclusion, OR, parentheses and field filters
    (`customer:`, `title:`, `sha256:`, `archived:[2024-01-01 TO 2024-12-31]`). Snippets mark
    hits with `<mark>`; `total` is exact. Contracts of restricted classes the caller is not
    cleared for are left out of hits, totals, facets and snippets; every search is logged."""
    return f.contracts.search(
        q, limit=limit, offset=offset, sort=sort, facets=facets, purpose=purpose
    )
