"""The contract table (issue 15): a page of it, bulk actions' outcomes, saved views."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from schemas.contract_model import ContractLine


class TablePage(BaseModel):
    """One page of the contract table under its filters and sort."""

    total: int = Field(description="Contracts matching the filters that the caller may see.")
    page: int
    size: int
    pages: int
    sort: str
    items: list[ContractLine]


class BulkRequest(BaseModel):
    """One action on many contracts (the contract table's bulk actions)."""

    action: str = Field(
        max_length=40,
        description="`classify` (confirm a classification code: `value`), `customer` (set the "
        "customer, who must exist: `value`), `file` (assign the 档号), `hold` (place a legal "
        "hold: `reason`).",
    )
    ids: list[int] = Field(
        min_length=1, max_length=1000, description="The contracts, at most 500 at a time."
    )
    value: str | None = Field(None, max_length=500, description="The code or the customer.")
    reason: str | None = Field(
        None, max_length=2000, description="Why; recorded in each contract's history."
    )


class BulkRow(BaseModel):
    """What a bulk action did to one contract: done, or refused with the reason (a contract the
    caller may not see is refused exactly as a missing one)."""

    id: int
    ok: bool
    code: str | None = Field(None, description="The error code of a refusal.")
    message: str | None = Field(None, description="The reason for a refusal.")


class BulkOutcome(BaseModel):
    action: str
    done: int = Field(description="Contracts the action was applied to.")
    failed: int = Field(description="Contracts it was refused for (see their rows).")
    rows: list[BulkRow]


class SavedViewPublic(BaseModel):
    id: int
    name: str
    query: str = Field(description="The query string of the view's filters and sort.")
    created_at: datetime
