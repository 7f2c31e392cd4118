"""OCR progress of a contract, as the API and the CLI show it."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from ingest.ocr.searchable import SEARCHABLE_FAILED
from storage.records.base import ContractRecord, PageRecord
from storage.records.ocr_base import OcrBatchRecord, OcrJobRecord

OcrState = Literal["none", "queued", "running", "done", "incomplete", "failed"]


def page_list(numbers: list[int]) -> str:
    shown = ", ".join(str(n) for n in numbers[:20])
    more = f" and {len(numbers) - 20} more" if len(numbers) > 20 else ""
    return f"page{'s' if len(numbers) > 1 else ''} {shown}{more}"


def ocr_note(pages: Collection[PageRecord], warnings: Collection[str] = ()) -> str | None:
    """The record's one-line OCR note: ``OCR incomplete: pages 3, 7``, OCR in progress, or
    ``searchable copy could not be made: <reason>`` (from the record's warnings)."""
    notes: list[str] = []
    failed = [p.page_no for p in pages if p.ocr_status == "failed"]
    waiting = [p.page_no for p in pages if p.ocr_status in ("pending", "running")]
    if failed:
        notes.append(f"OCR incomplete: {page_list(failed)}")
    elif waiting:
        notes.append(f"OCR in progress: {page_list(waiting)} waiting")
    notes.extend(w for w in warnings if w.startswith(SEARCHABLE_FAILED))
    return "; ".join(notes) or None


class OcrPageStatus(BaseModel):
    page: int
    status: Literal["queued", "running", "done", "failed"]
    confidence: float | None = Field(None, description="Mean word confidence, 0-100.")
    words: int | None = None
    rotation: int | None = Field(
        None, description="Degrees the page image was turned clockwise to read it upright."
    )
    error: str | None = Field(
        None, description="Why the page failed; while `queued` again, why the last attempt did."
    )
    attempts: int
    retry_at: datetime | None = Field(
        None, description="A page that failed waits until then for its next attempt."
    )


class OcrStatus(BaseModel):
    """Where OCR of a contract stands. Poll it after an upload answered with 202."""

    id: int
    state: OcrState = Field(
        description="`none` (nothing to OCR), `queued`, `running`, `done`, `incomplete` "
        "(some pages failed; `contract-archive ocr --retry ID` redoes them), or `failed` "
        "(finishing the contract failed on every attempt; `message` says why, and the retry "
        "tries again)."
    )
    pages_total: int
    pages_done: int
    pages_failed: list[int]
    pages_open: int
    progress: float = Field(description="Pages finished (done or failed) / pages to OCR.")
    mean_confidence: float | None
    message: str | None = Field(
        None,
        description="e.g. `OCR incomplete: pages 3, 7`, `searchable copy could not be made: "
        "<reason>`, `OCR could not be finished: <reason>`.",
    )
    searchable_url: str | None = None
    searchable_error: str | None = Field(
        None, description="`searchable copy could not be made: <reason>` when it could not."
    )
    attempts: int = Field(0, description="Attempts at finishing the contract's OCR.")
    retry_at: datetime | None = Field(
        None, description="Finishing failed and is tried again then (`last_error` says why)."
    )
    last_error: str | None = None
    finished_at: datetime | None = None
    pages: list[OcrPageStatus]

    @classmethod
    def build(
        cls,
        record: ContractRecord,
        batch: OcrBatchRecord | None,
        jobs: list[OcrJobRecord],
    ) -> OcrStatus:
        pages = [
            OcrPageStatus(
                page=j.page_no,
                status=j.status,
                confidence=(j.result or {}).get("confidence"),
                words=(j.result or {}).get("words"),
                rotation=(j.result or {}).get("rotation"),
                error=j.error,
                attempts=j.attempts,
                retry_at=j.retry_at if j.status == "queued" else None,
            )
            for j in jobs
        ]
        done = [p for p in pages if p.status == "done"]
        failed = [p.page for p in pages if p.status == "failed"]
        open_pages = sum(1 for p in pages if p.status in ("queued", "running"))
        state: OcrState
        if batch is None:
            state = "none"
        elif batch.state in ("done", "incomplete", "failed"):
            state = batch.state  # type: ignore[assignment]
        elif batch.state == "finalizing" or any(p.status != "queued" or p.attempts for p in pages):
            state = "running"
        else:
            state = "queued"
        confidences = [p.confidence for p in done if p.confidence is not None]
        notes: list[str] = []
        if state == "failed" and batch is not None:
            notes.append(f"OCR could not be finished: {batch.last_error or 'unknown reason'}")
        elif state == "incomplete" and failed:
            notes.append(f"OCR incomplete: {page_list(failed)}")
        elif state in ("queued", "running"):
            notes.append(f"OCR in progress: {len(done) + len(failed)} of {len(pages)} pages")
        finished = state in ("done", "incomplete")
        if finished and batch is not None and batch.error:
            notes.append(batch.error)
        message = "; ".join(notes) or None
        searchable = batch.searchable_key if batch and finished else None
        return cls(
            id=record.id,
            state=state,
            pages_total=len(pages),
            pages_done=len(done),
            pages_failed=failed,
            pages_open=open_pages,
            progress=round((len(done) + len(failed)) / len(pages), 4) if pages else 1.0,
            mean_confidence=round(sum(confidences) / len(confidences), 2) if confidences else None,
            message=message,
            searchable_url=f"/api/v1/contracts/{record.id}/searchable" if searchable else None,
            searchable_error=batch.error if batch and finished else None,
            attempts=batch.attempts if batch else 0,
            retry_at=batch.retry_at if batch and state in ("queued", "running") else None,
            last_error=batch.last_error if batch else None,
            finished_at=batch.finished_at if batch else None,
            pages=pages,
        )
