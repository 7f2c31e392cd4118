"""Background jobs on SQLAlchemy: SQLite and PostgreSQL alike.

A job is taken as an OCR page is (:mod:`storage.records.ocr_sql`): one conditional ``UPDATE …
WHERE id = ? AND (state = 'queued' AND retry_at passed OR state = 'running' AND lease ran out)``;
the row count says whether this worker won it.
"""

from __future__ import annotations

import contextlib
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from core.errors import Conflict, NotFound
from storage.records.base import MAX_ID
from storage.records.jobs_base import BackgroundJobRecord
from storage.records.jobs_models import BackgroundJob
from storage.records.models import utcnow
from storage.records.ocr_base import OcrJobRecord
from storage.records.ocr_models import OcrJob
from storage.records.ocr_sql import _job_record

_CANDIDATES = 8


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


def _changed(s: Session, statement: Any) -> int:
    return int(getattr(s.execute(statement), "rowcount", 0) or 0)


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
        while True:
            now = utcnow()
            takeable = or_(
                and_(
                    BackgroundJob.state == "queued",
                    or_(BackgroundJob.retry_at.is_(None), BackgroundJob.retry_at <= now),
                ),
                and_(BackgroundJob.state == "running", BackgroundJob.lease_until < now),
            )
            query = select(BackgroundJob.id).where(takeable)
            if kinds is not None:
                query = query.where(BackgroundJob.kind.in_(sorted(kinds) or [""]))
            with self._session(write=False) as s:
                candidates = list(s.scalars(query.order_by(BackgroundJob.id).limit(_CANDIDATES)))
            if not candidates:
                return None
            for job_id in candidates:
                with self._session(write=True) as s:
                    row = s.get(BackgroundJob, job_id)
                    if row is None:
                        continue
                    if row.state == "running" and row.attempts >= row.max_attempts:
                        _changed(
                            s,
                            update(BackgroundJob)
                            .where(BackgroundJob.id == job_id, takeable)
                            .values(
                                state="failed",
                                owner=None,
                                lease_until=None,
                                finished_at=now,
                                error=f"the job was interrupted {row.attempts} times (its "
                                "worker stopped or crashed each time; the lease ran out)",
                            )
                            .execution_options(synchronize_session=False),
                        )
                        continue
                    won = _changed(
                        s,
                        update(BackgroundJob)
                        .where(BackgroundJob.id == job_id, takeable)
                        .values(
                            state="running",
                            owner=owner,
                            lease_until=now + timedelta(seconds=lease_seconds),
                            heartbeat_at=now,
                            started_at=now,
                            retry_at=None,
                            attempts=BackgroundJob.attempts + 1,
                        )
                        .execution_options(synchronize_session=False),
                    )
                    if won != 1:
                        continue  # another worker was faster
                    s.expire_all()
                    taken = s.get(BackgroundJob, job_id)
                    assert taken is not None
                    return _record(taken)

    def _owned(self, job_id: int, owner: str) -> Any:
        return and_(
            BackgroundJob.id == job_id,
            BackgroundJob.owner == owner,
            BackgroundJob.state == "running",
        )

    def heartbeat_job(self, job_id: int, owner: str, lease_seconds: float) -> bool:
        now = utcnow()
        with self._session(write=True) as s:
            return (
                _changed(
                    s,
                    update(BackgroundJob)
                    .where(self._owned(job_id, owner))
                    .values(lease_until=now + timedelta(seconds=lease_seconds), heartbeat_at=now)
                    .execution_options(synchronize_session=False),
                )
                == 1
            )

    def finish_job(self, job_id: int, owner: str, result: str) -> bool:
        with self._session(write=True) as s:
            return (
                _changed(
                    s,
                    update(BackgroundJob)
                    .where(self._owned(job_id, owner))
                    .values(
                        state="done",
                        owner=None,
                        lease_until=None,
                        finished_at=utcnow(),
                        result=result[:2000],
                        error=None,
                        traceback=None,
                    )
                    .execution_options(synchronize_session=False),
                )
                == 1
            )

    def fail_job(
        self,
        job_id: int,
        owner: str,
        error: str,
        *,
        retry_in: float | None,
        traceback: str | None = None,
    ) -> bool:
        now = utcnow()
        if retry_in is None:
            values: dict[str, Any] = {"state": "failed", "finished_at": now, "retry_at": None}
        else:
            values = {"state": "queued", "retry_at": now + timedelta(seconds=max(0.0, retry_in))}
        with self._session(write=True) as s:
            return (
                _changed(
                    s,
                    update(BackgroundJob)
                    .where(self._owned(job_id, owner))
                    .values(
                        owner=None,
                        lease_until=None,
                        error=error[:4000],
                        traceback=traceback,
                        **values,
                    )
                    .execution_options(synchronize_session=False),
                )
                == 1
            )

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
        now = utcnow()
        with self._session(write=True) as s:
            return (
                _changed(
                    s,
                    update(BackgroundJob)
                    .where(
                        BackgroundJob.id == job_id,
                        BackgroundJob.state == "running",
                        BackgroundJob.lease_until < now,
                    )
                    .values(state="queued", owner=None, lease_until=None, retry_at=None)
                    .execution_options(synchronize_session=False),
                )
                == 1
            )

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
