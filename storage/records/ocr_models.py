"""Tables of the OCR job queue.

``ocr_jobs`` holds one row per page to OCR: a durable queue. A worker takes a page with an
atomic conditional update (``status='queued'`` → ``running`` with its name and a lease), so two
processes never take the same page; a lease that runs out (the worker died) lets another take
it again. The row keeps the page's result (confidence, low-confidence words, the text-only PDF
layer) until the contract is finished and afterwards, so that a retry of failed pages can build
the searchable copy again.

``ocr_batches`` holds one row per contract with OCR work: whether pages are still open, who is
writing the finished text and searchable copy (taken the same way), and where they are.

Both count their attempts: a page or a finalisation that fails is taken again after a backoff
(``retry_at``) until its attempts are used up, then it is ``failed`` with the reason, so that a
poison file never loops and never holds a worker.
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
    """Why the page failed; while it waits for another attempt, why the last one failed."""
    retry_at: Mapped[datetime | None] = mapped_column()
    """A queued page that failed is not taken again before this (backoff)."""
    traceback: Mapped[str | None] = mapped_column(Text)
    """For operators: where an unexpected failure of the last attempt came from."""
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
    """pending (pages open, or waiting for another attempt at finishing), finalizing (text and
    copy being written), done, incomplete (pages failed) or failed (finishing failed on every
    attempt)."""
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    """Attempts at finishing the contract since its pages were last queued."""
    retry_at: Mapped[datetime | None] = mapped_column()
    last_error: Mapped[str | None] = mapped_column(Text)
    """Why the last attempt at finishing failed (the reason of a `failed` batch)."""
    traceback: Mapped[str | None] = mapped_column(Text)
    """For operators: the traceback of the last failed attempt at finishing."""
    owner: Mapped[str | None] = mapped_column(String(200))
    lease_until: Mapped[datetime | None] = mapped_column()
    searchable_key: Mapped[str | None] = mapped_column(String(300))
    searchable_sha256: Mapped[str | None] = mapped_column(String(64))
    error: Mapped[str | None] = mapped_column(Text)
    """Why the searchable copy could not be made, when it could not."""
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column()
