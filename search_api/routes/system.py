"""Health and the front door."""

from __future__ import annotations

from fastapi import APIRouter, Request
from pydantic import BaseModel

from search_api.auth import runtime_of
from search_api.deps import AnyoneOrCaller
from services.facade.admin import health as archive_health

router = APIRouter(tags=["system"])


class Health(BaseModel):
    status: str
    contracts: int | None = None
    """Counts are shown to administrators only."""
    indexed: int | None = None
    object_store: str
    records: str
    index: str


@router.get("/api/v1/health", response_model=Health, summary="Is the archive up")
def health(request: Request, caller: AnyoneOrCaller) -> Health:
    found = archive_health(runtime_of(request), caller)
    return Health(
        status="ok",
        contracts=found.contracts,
        indexed=found.indexed,
        object_store=found.object_store,
        records=found.records,
        index=found.index,
    )
