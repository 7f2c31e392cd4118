"""Background jobs (reminders, fixity audits, reindexing): the records and the store Protocol.

See :mod:`storage.records.jobs_models` for the queue's rules (lease, heartbeat, backoff)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from storage.records.ocr_base import OcrJobRecord


@dataclass(frozen=True)
class BackgroundJobRecord:
    id: int
    kind: str
    state: str
    attempts: int
    max_attempts: int
    queued_by: str
    queued_at: datetime
    payload: dict[str, Any] = field(default_factory=dict)
    slot: str | None = None
    owner: str | None = None
    lease_until: datetime | None = None
    heartbeat_at: datetime | None = None
    retry_at: datetime | None = None
    error: str | None = None
    traceback: str | None = None
    result: str | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None


class JobStore(Protocol):
    def queue_job(
        self,
        kind: str,
        *,
        queued_by: str,
        max_attempts: int,
        payload: dict[str, Any] | None = None,
        slot: str | None = None,
    ) -> BackgroundJobRecord | None:
        """Queue a job; None when ``slot`` is given and a job of that slot exists already."""
        ...

    def open_job_kinds(self) -> set[str]:
        """Kinds with a job queued or running."""
        ...

    def claim_job(
        self, owner: str, lease_seconds: float, *, kinds: set[str] | None = None
    ) -> BackgroundJobRecord | None:
        """Take the oldest job that may run now (queued and past its backoff, or running with
        its lease run out); its attempts count one more. A job whose lease ran out with its
        attempts used up is marked failed instead."""
        ...

    def heartbeat_job(self, job_id: int, owner: str, lease_seconds: float) -> bool:
        """Renew the lease; False when the job is no longer this owner's."""
        ...

    def finish_job(self, job_id: int, owner: str, result: str) -> bool: ...

    def fail_job(
        self,
        job_id: int,
        owner: str,
        error: str,
        *,
        retry_in: float | None,
        traceback: str | None = None,
    ) -> bool:
        """Queue again after ``retry_in`` seconds, or (None) mark it failed for good."""
        ...

    def retry_job(self, job_id: int) -> BackgroundJobRecord:
        """A failed job queued again with fresh attempts (NotFound, Conflict if not failed)."""
        ...

    def get_job(self, job_id: int) -> BackgroundJobRecord: ...

    def list_jobs(
        self, states: tuple[str, ...] = (), *, limit: int = 1000
    ) -> list[BackgroundJobRecord]:
        """Newest first; ``states`` empty: every state."""
        ...

    def expired_jobs(self, before: datetime) -> list[BackgroundJobRecord]:
        """Running jobs whose lease ran out before ``before`` (nobody took them again)."""
        ...

    def requeue_job(self, job_id: int) -> bool:
        """An orphaned running job (lease run out) queued again."""
        ...

    def active_ocr_pages(self, *, limit: int = 1000) -> list[OcrJobRecord]:
        """OCR pages queued or running (for ``jobs list --all``), oldest first."""
        ...
