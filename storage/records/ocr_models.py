"""Tables of the OCR job queue.

``ocr_jobs`` holds one row per page to OCR: a durable queue. A worker takes a page with an
atomic conditional update (``status='queued'`` → ``running`` with its name and a lease), so two
processes never take the same page; a lease that runs out (the worker died) lets another take
it again. The row keeps the page's result (confidence, low-confidence words, the text-only PDF
layer) until the contract is finished and afterwards, so that a retry of failed pages can build
the searchable copy again.

``ocr_batches`` holds one row per contract with OCR work: whether pages are still open, who is
writing the finished text and searchable copy (taken the same way), and where they are.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Integer, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from storage.records.models import Base, BigIntId, utcnow


class OcrJob(Base):
    __tablename__ = "ocr_jobs"
    __table_args__ = (UniqueConstraint("contract_id", "page_no"),)

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True, autoincrement=True)
    contract_id: Mapped[int] = mapped_column(
        BigIntId, ForeignKey("contracts.id", ondelete="CASCADE"), index=True
    )
    page_no: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(20), index=True)
    """queued, running, done or failed."""
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    owner: Mapped[str | None] = mapped_column(String(200))
    lease_until: Mapped[datetime | None] = mapped_column()
    error: Mapped[str | None] = mapped_column(Text)
    result: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    layer: Mapped[bytes | None] = mapped_column(LargeBinary)
    queued_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column()
    finished_at: Mapped[datetime | None] = mapped_column()


class OcrBatch(Base):
    __tablename__ = "ocr_batches"

    contract_id: Mapped[int] = mapped_column(
        BigIntId, ForeignKey("contracts.id", ondelete="CASCADE"), primary_key=True
    )
    state: Mapped[str] = mapped_column(String(20), index=True)
    """pending (pages open), finalizing (text and copy being written), done or incomplete."""
    owner: Mapped[str | None] = mapped_column(String(200))
    lease_until: Mapped[datetime | None] = mapped_column()
    searchable_key: Mapped[str | None] = mapped_column(String(300))
    searchable_sha256: Mapped[str | None] = mapped_column(String(64))
    error: Mapped[str | None] = mapped_column(Text)
    """Why the searchable copy could not be made, when it could not."""
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column()
