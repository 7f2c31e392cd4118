"""Health and the front door."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel

from search_api.deps import ArchiveDep

router = APIRouter(tags=["system"])


class Health(BaseModel):
    status: str
    contracts: int
    indexed: int
    object_store: str
    records: str
    index: str


@router.get("/api/v1/health", response_model=Health, summary="Is the archive up")
def health(archive: ArchiveDep) -> Health:
    return Health(
        status="ok",
        contracts=archive.records.count_contracts(),
        indexed=archive.index.count(),
        object_store=archive.objects.name,
        records=archive.records.name,
        index=archive.index.name,
    )
