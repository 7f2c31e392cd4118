"""Background jobs on SQLAlchemy: SQLite and PostgreSQL alike.

A job is taken, failed, backed off and given back by the rules every kind of background work
shares (:mod:`storage.records.leases`): one conditional ``UPDATE … WHERE id = ? AND (state =
'queued' AND retry_at passed OR state = 'running' AND lease ran out)``; the row count says
whether this worker won it.
"""

from __future__ import annotations

import contextlib
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from core.errors import Conflict, NotFound
from storage.records import leases
from storage.records.base import MAX_ID
from storage.records.jobs_base import BackgroundJobRecord
from storage.records.jobs_models import BackgroundJob
from storage.records.leases import changed
from storage.records.models import utcnow
from storage.records.ocr_base import OcrJobRecord
from storage.records.ocr_models import OcrJob
from storage.records.ocr_sql import _job_record

JOBS = leases.LeaseTable(BackgroundJob)
"""The background jobs as a table of leased work (:mod:`storage.records.leases`)."""


def _record(row: BackgroundJob) -> BackgroundJobRecord:
    return BackgroundJobRecord(
        id=row.id,
        kind=row.kind,
        state=row.state,
        attempts=row.attempts or 0,
        max_attempts=row.max_attempts,
        queued_by=row.queued_by,
        queued_at=row.queued_at,
        payload=dict(row.payload or {}),
        slot=row.slot,
        owner=row.owner,
        lease_until=row.lease_until,
        heartbeat_at=row.heartbeat_at,
        retry_at=row.retry_at,
        error=row.error,
        traceback=row.traceback,
        result=row.result,
        started_at=row.started_at,
        finished_at=row.finished_at,
    )


class SqlJobs:
    """Mixed into :class:`~storage.records.sql.SqlRecordStore`."""

    def _session(self, *, write: bool) -> contextlib.AbstractContextManager[Session]:
        raise NotImplementedError  # provided by SqlRecordStore

    def queue_job(
        self,
        kind: str,
        *,
        queued_by: str,
        max_attempts: int,
        payload: dict[str, Any] | None = None,
        slot: str | None = None,
    ) -> BackgroundJobRecord | None:
        try:
            with self._session(write=True) as s:
                row = BackgroundJob(
                    kind=kind,
                    payload=dict(payload or {}),
                    state="queued",
                    attempts=0,
                    max_attempts=max_attempts,
                    slot=slot,
                    queued_by=queued_by,
                    queued_at=utcnow(),
                )
                s.add(row)
                s.flush()
                return _record(row)
        except IntegrityError:
            if slot is None:
                raise
            return None  # another worker scheduled this slot first

    def open_job_kinds(self) -> set[str]:
        with self._session(write=False) as s:
            return set(
                s.scalars(
                    select(BackgroundJob.kind)
                    .where(BackgroundJob.state.in_(("queued", "running")))
                    .distinct()
                )
            )

    def claim_job(
        self, owner: str, lease_seconds: float, *, kinds: set[str] | None = None
    ) -> BackgroundJobRecord | None:
        def exhausted(row: BackgroundJob) -> str | None:
            if row.attempts < row.max_attempts:
                return None
            return (
                f"the job was interrupted {row.attempts} times (its worker stopped or crashed "
                "each time; the lease ran out)"
            )

        def taken(s: Session, row: BackgroundJob) -> BackgroundJobRecord:
            s.expire_all()
            now_taken = s.get(BackgroundJob, row.id)
            assert now_taken is not None
            return _record(now_taken)

        def where(query: Any) -> Any:
            if kinds is None:
                return query
            return query.where(BackgroundJob.kind.in_(sorted(kinds) or [""]))

        return leases.claim(
            self._session,
            JOBS,
            owner,
            lease_seconds,
            taken=taken,
            exhausted=exhausted,
            where=where,
            extra=lambda now: {"heartbeat_at": now},
        )

    def heartbeat_job(self, job_id: int, owner: str, lease_seconds: float) -> bool:
        now = utcnow()
        values = {"lease_until": now + timedelta(seconds=lease_seconds), "heartbeat_at": now}
        with self._session(write=True) as s:
            return changed(s, JOBS.update_owned(job_id, owner, values)) == 1

    def finish_job(self, job_id: int, owner: str, result: str) -> bool:
        values = {
            "state": "done",
            "owner": None,
            "lease_until": None,
            "finished_at": utcnow(),
            "result": result[:2000],
            "error": None,
            "traceback": None,
        }
        with self._session(write=True) as s:
            return changed(s, JOBS.update_owned(job_id, owner, values)) == 1

    def fail_job(
        self,
        job_id: int,
        owner: str,
        error: str,
        *,
        retry_in: float | None,
        traceback: str | None = None,
    ) -> bool:
        values = JOBS.failure(error[:4000], retry_in=retry_in, traceback=traceback, now=utcnow())
        with self._session(write=True) as s:
            return changed(s, JOBS.update_owned(job_id, owner, values)) == 1

    def retry_job(self, job_id: int) -> BackgroundJobRecord:
        if not 0 < job_id <= MAX_ID:
            raise NotFound(f"background job {job_id} does not exist")
        with self._session(write=True) as s:
            row = s.get(BackgroundJob, job_id, with_for_update=True)
            if row is None:
                raise NotFound(f"background job {job_id} does not exist")
            if row.state != "failed":
                raise Conflict(
                    f"background job {job_id} is {row.state}, not failed: only a failed job "
                    "is retried",
                    hint="see `contract-archive jobs list --all`",
                )
            row.state, row.attempts, row.retry_at = "queued", 0, None
            row.finished_at, row.owner, row.lease_until = None, None, None
            s.flush()
            return _record(row)

    def get_job(self, job_id: int) -> BackgroundJobRecord:
        if not 0 < job_id <= MAX_ID:
            raise NotFound(f"background job {job_id} does not exist")
        with self._session(write=False) as s:
            row = s.get(BackgroundJob, job_id)
            if row is None:
                raise NotFound(f"background job {job_id} does not exist")
            return _record(row)

    def list_jobs(
        self, states: tuple[str, ...] = (), *, limit: int = 1000
    ) -> list[BackgroundJobRecord]:
        query = select(BackgroundJob)
        if states:
            query = query.where(BackgroundJob.state.in_(states))
        with self._session(write=False) as s:
            rows = s.scalars(query.order_by(BackgroundJob.id.desc()).limit(limit))
            return [_record(r) for r in rows]

    def expired_jobs(self, before: datetime) -> list[BackgroundJobRecord]:
        with self._session(write=False) as s:
            rows = s.scalars(
                select(BackgroundJob)
                .where(BackgroundJob.state == "running", BackgroundJob.lease_until < before)
                .order_by(BackgroundJob.id)
            )
            return [_record(r) for r in rows]

    def requeue_job(self, job_id: int) -> bool:
        expired = and_(BackgroundJob.state == "running", BackgroundJob.lease_until < utcnow())
        values = {"state": "queued", "owner": None, "lease_until": None, "retry_at": None}
        with self._session(write=True) as s:
            return changed(s, JOBS.update_if(job_id, expired, values)) == 1

    def active_ocr_pages(self, *, limit: int = 1000) -> list[OcrJobRecord]:
        """OCR pages queued or running (for ``jobs list --all``), oldest first."""
        with self._session(write=False) as s:
            rows = s.scalars(
                select(OcrJob)
                .where(OcrJob.status.in_(("queued", "running")))
                .order_by(OcrJob.id)
                .limit(limit)
            )
            return [_job_record(r, with_layer=False) for r in rows]
