"""Contracts as the API and the CLI show them."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from schemas.base import FromRecord
from schemas.ocr import OcrStatus, ocr_note
from storage.records.base import ContractRecord


class PagePublic(FromRecord):
    page: int
    text_source: str = Field(description="`text-layer`, `ocr`, or `none` (no usable text yet).")
    chars: int = Field(description="Letters and digits found on the page.")
    needs_ocr: bool
    ocr_status: str | None = None
    ocr_confidence: float | None = None
    ocr_error: str | None = None


class ContractPublic(FromRecord):
    id: int
    title: str
    customer: str | None
    filename: str
    sha256: str
    size: int
    content_type: str
    pages: int
    status: str
    classification: str | None
    created_at: datetime
    ingested_by: str
    pages_needing_ocr: list[int]
    warnings: list[str]
    ocr_note: str | None = Field(
        None,
        description="`OCR incomplete: pages 3, 7` when pages failed; progress while OCR runs; "
        "`searchable copy could not be made: <reason>` when the original defeated it.",
    )
    page_details: list[PagePublic]

    @classmethod
    def from_record(cls, rec: ContractRecord) -> ContractPublic:
        return cls.of(
            rec,
            pages=rec.page_count,
            warnings=list(rec.warnings),
            ocr_note=ocr_note(rec.pages, rec.warnings),
            page_details=[PagePublic.of(p, page=p.page_no) for p in rec.pages],
        )


class ContractPage(BaseModel):
    """A page of the contract list."""

    total: int
    offset: int
    limit: int
    items: list[ContractPublic]


class PageText(BaseModel):
    page: int
    source: str
    text: str


class ContractText(BaseModel):
    id: int
    pages: list[PageText]


class IngestOutcome(BaseModel):
    """What happened to one uploaded file."""

    file: str
    status: Literal["archived", "duplicate", "rejected", "failed"]
    id: int | None = None
    sha256: str | None = None
    reason: str | None = None
    hint: str | None = None
    title: str | None = None
    pages: int | None = None
    pages_needing_ocr: list[int] = Field(default_factory=list)
    warnings: list[str] = Field(default_factory=list)
    contract: ContractPublic | None = None
    ocr: OcrStatus | None = Field(
        None, description="For a scan (answered with 202): OCR progress; poll `ocr_status_url`."
    )
    ocr_status_url: str | None = None
    attached_to: int | None = Field(
        None, description="For an attachment of an e-mail: the contract of the message."
    )
    attachments: list[IngestOutcome] = Field(
        default_factory=list,
        description="For an e-mail: what happened to each attachment (archived as a contract "
        "linked to the message, a duplicate, or refused with the reason).",
    )
