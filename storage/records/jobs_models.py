"""The table of background jobs other than OCR (issue 14): reminders, fixity audits, reindexing.

``background_jobs`` holds one row per job: a durable queue like the OCR queue's. A worker takes
a job with an atomic conditional update (``state='queued'`` → ``running`` with its name and a
lease it renews while it works: the heartbeat); a lease that runs out (the worker died) lets
another worker take the job again. A job that fails is queued again after a backoff
(``retry_at``) until its attempts are used up, then it is ``failed`` with the reason and the
traceback. ``slot`` is set on scheduled jobs (``reminders:<n>``, the n-th interval since the
epoch) and is unique, so two workers never schedule the same run twice.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from storage.records.models import Base, BigIntId, utcnow


class BackgroundJob(Base):
    __tablename__ = "background_jobs"

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(40), index=True)
    """``reminders``, ``fixity`` or ``reindex``."""
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    state: Mapped[str] = mapped_column(String(20), index=True)
    """queued, running, done or failed."""
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    max_attempts: Mapped[int] = mapped_column(Integer, default=3)
    slot: Mapped[str | None] = mapped_column(String(80), unique=True)
    """The schedule slot of a scheduled job (None for a job queued by hand)."""
    owner: Mapped[str | None] = mapped_column(String(200))
    lease_until: Mapped[datetime | None] = mapped_column()
    heartbeat_at: Mapped[datetime | None] = mapped_column()
    retry_at: Mapped[datetime | None] = mapped_column()
    """A queued job that failed is not taken again before this (backoff)."""
    error: Mapped[str | None] = mapped_column(Text)
    """Why the job failed; while it waits for another attempt, why the last one failed."""
    traceback: Mapped[str | None] = mapped_column(Text)
    result: Mapped[str | None] = mapped_column(Text)
    """What a finished job did, in a line."""
    queued_by: Mapped[str] = mapped_column(String(200))
    queued_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column()
    finished_at: Mapped[datetime | None] = mapped_column()
