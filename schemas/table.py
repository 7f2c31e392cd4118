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


class BulkRow(BaseModel):
    """What a bulk action did to one contract."""

    id: int
    ok: bool
    code: str | None = None
    message: str | None = None


class BulkOutcome(BaseModel):
    action: str
    done: int
    failed: int
    rows: list[BulkRow]


class SavedViewPublic(BaseModel):
    id: int
    name: str
    query: str = Field(description="The query string of the view's filters and sort.")
    created_at: datetime
