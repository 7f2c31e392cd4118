"""Health and the front door."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel

from core.roles import Perm
from search_api.deps import AnyoneOrCaller, ArchiveDep

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
def health(archive: ArchiveDep, caller: AnyoneOrCaller) -> Health:
    admin = caller is not None and caller.can(Perm.SETTINGS_MANAGE)
    return Health(
        status="ok",
        contracts=archive.records.count_contracts() if admin else None,
        indexed=archive.index.count() if admin else None,
        object_store=archive.objects.name,
        records=archive.records.name,
        index=archive.index.name,
    )
