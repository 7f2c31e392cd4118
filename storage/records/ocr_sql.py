"""The OCR queue on SQLAlchemy: SQLite and PostgreSQL alike.

Pages and finalisations are taken, failed, backed off and given back by the rules every kind of
background work shares (:mod:`storage.records.leases`): a page is taken with one conditional
``UPDATE … WHERE id = ? AND (status = 'queued' OR lease ran out)``; the row count says whether
this worker won it. On SQLite writers are serialised by
``BEGIN IMMEDIATE``; on PostgreSQL the update locks the row and re-checks the condition, so two
processes never both see one row count for the same page. The contract's finalisation is taken
under a row lock on its batch (``SELECT … FOR UPDATE``) after counting its open pages, so that
exactly one of the workers finishing its last pages writes the result.
"""

from __future__ import annotations

import contextlib
from collections.abc import Collection, Sequence
from typing import Any

from sqlalchemy import and_, func, insert, or_, select, update
from sqlalchemy.orm import Session, defer

from core.errors import NotFound
from storage.objects.base import pdf_key
from storage.records import leases
from storage.records.base import ContractRecord, PageRecord
from storage.records.leases import changed
from storage.records.models import Contract, ContractPage, utcnow
from storage.records.ocr_base import (
    OcrBatchRecord,
    OcrClaim,
    OcrCounts,
    OcrJobRecord,
)
from storage.records.ocr_models import OcrBatch, OcrJob

PAGES = leases.LeaseTable(OcrJob, state="status")
"""OCR pages as a table of leased work (:mod:`storage.records.leases`)."""
BATCHES = leases.LeaseTable(
    OcrBatch, key="contract_id", waiting="pending", running="finalizing", reason="last_error"
)
"""Finishing a contract's OCR as a table of leased work: ``pending`` while it waits for its pages
or its backoff, ``finalizing`` while a worker holds it."""


def _only(query: Any, column: Any, contract_ids: Collection[int] | None) -> Any:
    if contract_ids is None:
        return query
    return query.where(column.in_(list(contract_ids) or [-1]))


def _apply(row: Any, values: dict[str, Any]) -> None:
    """Set the values of :mod:`storage.records.leases` on a row held under its lock."""
    for name, value in values.items():
        setattr(row, name, value)


def _job_record(row: OcrJob, *, with_layer: bool = True) -> OcrJobRecord:
    return OcrJobRecord(
        job_id=row.id,
        contract_id=row.contract_id,
        page_no=row.page_no,
        status=row.status,
        attempts=row.attempts,
        error=row.error,
        result=row.result,
        layer=row.layer if with_layer else None,
        queued_at=row.queued_at,
        started_at=row.started_at,
        finished_at=row.finished_at,
        retry_at=row.retry_at,
        traceback=row.traceback,
    )


def _batch_record(row: OcrBatch) -> OcrBatchRecord:
    return OcrBatchRecord(
        contract_id=row.contract_id,
        state=row.state,
        searchable_key=row.searchable_key,
        searchable_sha256=row.searchable_sha256,
        error=row.error,
        created_at=row.created_at,
        updated_at=row.updated_at,
        finished_at=row.finished_at,
        attempts=row.attempts or 0,
        retry_at=row.retry_at,
        last_error=row.last_error,
        traceback=row.traceback,
    )


class OcrQueueSql:
    """Mixed into :class:`~storage.records.sql.SqlRecordStore`."""

    def _session(self, *, write: bool) -> contextlib.AbstractContextManager[Session]:
        raise NotImplementedError  # provided by SqlRecordStore

    def get_contract(self, contract_id: int) -> ContractRecord:
        raise NotImplementedError  # provided by SqlRecordStore

    # -- queueing ----------------------------------------------------------------------------
    @staticmethod
    def _set_page_status(
        s: Session, contract_id: int, pages: Collection[int], status: str, **values: Any
    ) -> None:
        if not pages:
            return
        s.execute(
            update(ContractPage)
            .where(ContractPage.contract_id == contract_id, ContractPage.page_no.in_(pages))
            .values(ocr_status=status, **values)
        )

    @staticmethod
    def _open_batch(s: Session, contract_id: int) -> None:
        now = utcnow()
        batch = s.get(OcrBatch, contract_id, with_for_update=True)
        if batch is None:
            s.add(
                OcrBatch(contract_id=contract_id, state="pending", created_at=now, updated_at=now)
            )
        elif batch.state != "finalizing":
            batch.state = "pending"
            batch.finished_at = None
            batch.updated_at = now
            batch.attempts, batch.retry_at = 0, None
            batch.last_error, batch.traceback = None, None

    def queue_ocr(self, contract_id: int, pages: Sequence[int]) -> int:
        wanted = sorted(set(pages))
        if not wanted:
            return 0
        now = utcnow()
        with self._session(write=True) as s:
            if s.get(Contract, contract_id) is None:
                raise NotFound(f"contract {contract_id} does not exist")
            existing = {
                row.page_no: row
                for row in s.scalars(
                    select(OcrJob).where(
                        OcrJob.contract_id == contract_id, OcrJob.page_no.in_(wanted)
                    )
                )
            }
            changed: list[int] = []
            for page_no in wanted:
                row = existing.get(page_no)
                if row is None:
                    s.add(
                        OcrJob(
                            contract_id=contract_id,
                            page_no=page_no,
                            status="queued",
                            attempts=0,
                            queued_at=now,
                        )
                    )
                    changed.append(page_no)
                elif row.status == "failed" or (row.status == "queued" and row.retry_at):
                    row.status, row.attempts, row.error = "queued", 0, None
                    row.owner, row.lease_until, row.queued_at = None, None, now
                    row.retry_at, row.traceback = None, None
                    changed.append(page_no)
            if changed:
                self._open_batch(s, contract_id)
                self._set_page_status(s, contract_id, changed, "pending", ocr_error=None)
            return len(changed)

    def enqueue_missing_ocr(self) -> int:
        with self._session(write=True) as s:
            missing = s.execute(
                select(ContractPage.contract_id, ContractPage.page_no)
                .outerjoin(
                    OcrJob,
                    and_(
                        OcrJob.contract_id == ContractPage.contract_id,
                        OcrJob.page_no == ContractPage.page_no,
                    ),
                )
                .where(
                    ContractPage.needs_ocr.is_(True),
                    ContractPage.ocr_status == "pending",
                    OcrJob.id.is_(None),
                )
            ).all()
            if not missing:
                return 0
            now = utcnow()
            s.execute(
                insert(OcrJob),
                [
                    {
                        "contract_id": cid,
                        "page_no": page,
                        "status": "queued",
                        "attempts": 0,
                        "queued_at": now,
                    }
                    for cid, page in missing
                ],
            )
            for cid in sorted({cid for cid, _ in missing}):
                self._open_batch(s, cid)
            return len(missing)

    # -- taking and finishing pages ----------------------------------------------------------
    def claim_ocr_page(
        self,
        owner: str,
        lease_seconds: float,
        *,
        max_attempts: int = 3,
        contract_ids: Collection[int] | None = None,
    ) -> OcrClaim | None:
        def exhausted(row: OcrJob) -> str | None:
            if row.attempts < max_attempts:
                return None
            return (
                f"OCR of the page was interrupted {row.attempts} times "
                "(the worker stopped or crashed each time)"
            )

        def page_failed(s: Session, row: OcrJob, reason: str) -> None:
            self._set_page_status(s, row.contract_id, [row.page_no], "failed", ocr_error=reason)

        def taken(s: Session, row: OcrJob) -> OcrClaim | None:
            contract = s.get(Contract, row.contract_id)
            if contract is None:  # deleted meanwhile; the cascade removes the job
                return None
            self._set_page_status(s, row.contract_id, [row.page_no], "running")
            return OcrClaim(
                job_id=row.id,
                contract_id=row.contract_id,
                page_no=row.page_no,
                sha256=contract.sha256,
                original_key=pdf_key(contract.original_key, contract.content_type),
                attempts=row.attempts + 1,
                owner=owner,
            )

        return leases.claim(
            self._session,
            PAGES,
            owner,
            lease_seconds,
            taken=taken,
            exhausted=exhausted,
            on_failed=page_failed,
            where=lambda query: _only(query, OcrJob.contract_id, contract_ids),
        )

    def complete_ocr_page(
        self,
        job_id: int,
        owner: str,
        *,
        result: dict[str, Any],
        layer: bytes | None,
        confidence: float | None,
    ) -> bool:
        values = {
            "status": "done",
            "owner": None,
            "lease_until": None,
            "finished_at": utcnow(),
            "error": None,
            "traceback": None,
            "result": result,
            "layer": layer,
        }
        with self._session(write=True) as s:
            if changed(s, PAGES.update_owned(job_id, owner, values)) != 1:
                return False
            row = s.get(OcrJob, job_id)
            assert row is not None
            self._set_page_status(
                s, row.contract_id, [row.page_no], "done", ocr_confidence=confidence, ocr_error=None
            )
            return True

    def fail_ocr_page(
        self,
        job_id: int,
        owner: str,
        error: str,
        *,
        retry_in: float | None = None,
        traceback: str | None = None,
    ) -> bool:
        values = PAGES.failure(error, retry_in=retry_in, traceback=traceback, now=utcnow())
        with self._session(write=True) as s:
            if changed(s, PAGES.update_owned(job_id, owner, values)) != 1:
                return False
            row = s.get(OcrJob, job_id)
            assert row is not None
            if retry_in is None:
                self._set_page_status(s, row.contract_id, [row.page_no], "failed", ocr_error=error)
            else:
                self._set_page_status(s, row.contract_id, [row.page_no], "pending")
            return True

    def release_ocr_page(self, job_id: int, owner: str) -> None:
        with self._session(write=True) as s:
            if changed(s, PAGES.update_owned(job_id, owner, PAGES.release())) == 1:
                row = s.get(OcrJob, job_id)
                assert row is not None
                self._set_page_status(s, row.contract_id, [row.page_no], "pending")

    def ocr_owners(self) -> set[str]:
        with self._session(write=False) as s:
            jobs = s.scalars(
                select(OcrJob.owner).where(OcrJob.status == "running", OcrJob.owner.is_not(None))
            )
            batches = s.scalars(
                select(OcrBatch.owner).where(
                    OcrBatch.state == "finalizing", OcrBatch.owner.is_not(None)
                )
            )
            return {o for o in [*jobs, *batches] if o}

    def requeue_ocr_owned_by(self, owners: Collection[str]) -> int:
        if not owners:
            return 0
        owners = list(owners)
        with self._session(write=True) as s:
            rows = list(
                s.scalars(
                    select(OcrJob).where(OcrJob.status == "running", OcrJob.owner.in_(owners))
                )
            )
            for row in rows:
                row.status, row.owner, row.lease_until = "queued", None, None
                self._set_page_status(s, row.contract_id, [row.page_no], "pending")
            batches = changed(
                s,
                update(OcrBatch)
                .where(OcrBatch.state == "finalizing", OcrBatch.owner.in_(owners))
                .values(state="pending", owner=None, lease_until=None, updated_at=utcnow())
                .execution_options(synchronize_session=False),
            )
            return len(rows) + batches

    # -- finishing contracts -----------------------------------------------------------------
    @staticmethod
    def _open_pages(s: Session, contract_id: int) -> int:
        return int(
            s.scalar(
                select(func.count(OcrJob.id)).where(
                    OcrJob.contract_id == contract_id, OcrJob.status.in_(("queued", "running"))
                )
            )
            or 0
        )

    def try_finalize_ocr(self, contract_id: int, owner: str, lease_seconds: float) -> bool:
        with self._session(write=True) as s:
            batch = s.get(OcrBatch, contract_id, with_for_update=True, populate_existing=True)
            if batch is None or batch.state != "pending":
                return False
            now = utcnow()
            if batch.retry_at is not None and batch.retry_at > now:
                return False
            if self._open_pages(s, contract_id):
                return False
            self._take_batch(batch, owner, now, lease_seconds)
            return True

    @staticmethod
    def _take_batch(batch: OcrBatch, owner: str, now: Any, lease_seconds: float) -> None:
        _apply(batch, BATCHES.take(owner, lease_seconds, now))
        batch.attempts = (batch.attempts or 0) + 1
        batch.updated_at = now

    def claim_stale_finalization(
        self,
        owner: str,
        lease_seconds: float,
        *,
        max_attempts: int = 3,
        contract_ids: Collection[int] | None = None,
    ) -> int | None:
        now = utcnow()
        with self._session(write=False) as s:
            candidates = list(
                s.scalars(
                    _only(select(OcrBatch.contract_id), OcrBatch.contract_id, contract_ids)
                    .where(
                        BATCHES.takeable(now),
                        or_(
                            OcrBatch.state == "finalizing",
                            ~select(OcrJob.id)
                            .where(
                                OcrJob.contract_id == OcrBatch.contract_id,
                                OcrJob.status.in_(("queued", "running")),
                            )
                            .exists(),
                        ),
                    )
                    .order_by(OcrBatch.contract_id)
                    .limit(leases.CANDIDATES)
                )
            )
        for contract_id in candidates:
            with self._session(write=True) as s:
                batch = s.get(OcrBatch, contract_id, with_for_update=True, populate_existing=True)
                if batch is None:
                    continue
                stale = batch.state == "finalizing" and (
                    batch.lease_until is None or batch.lease_until < now
                )
                ready = (
                    batch.state == "pending"
                    and (batch.retry_at is None or batch.retry_at <= now)
                    and not self._open_pages(s, contract_id)
                )
                if not (stale or ready):
                    continue
                if stale and (batch.attempts or 0) >= max_attempts:
                    reason = (
                        f"finishing OCR was interrupted {batch.attempts} times "
                        "(the worker stopped or crashed each time)"
                    )
                    self._fail_batch(s, batch, reason, None, now)
                    continue
                self._take_batch(batch, owner, now, lease_seconds)
                return int(contract_id)
        return None

    @staticmethod
    def _fail_batch(
        s: Session, batch: OcrBatch, reason: str, traceback: str | None, now: Any
    ) -> None:
        """The batch is failed for good; its pages whose OCR was done say that it could not
        be finished (their text never reached the record: they still need OCR)."""
        _apply(batch, BATCHES.failure(reason, retry_in=None, traceback=traceback, now=now))
        batch.updated_at = now
        s.execute(
            update(ContractPage)
            .where(
                ContractPage.contract_id == batch.contract_id,
                ContractPage.needs_ocr.is_(True),
                ContractPage.ocr_status.in_(("done", "running", "pending")),
            )
            .values(ocr_status="failed", ocr_error=f"OCR could not be finished: {reason}")
            .execution_options(synchronize_session=False)
        )

    def fail_finalization(
        self,
        contract_id: int,
        owner: str,
        error: str,
        *,
        retry_in: float | None,
        traceback: str | None = None,
    ) -> bool:
        now = utcnow()
        with self._session(write=True) as s:
            batch = s.get(OcrBatch, contract_id, with_for_update=True, populate_existing=True)
            if batch is None or batch.state != "finalizing" or batch.owner != owner:
                return False
            if retry_in is None:
                self._fail_batch(s, batch, error, traceback, now)
                return True
            _apply(batch, BATCHES.failure(error, retry_in=retry_in, traceback=traceback, now=now))
            batch.updated_at = now
            return True

    def abandon_finalization(self, contract_id: int, owner: str) -> None:
        with self._session(write=True) as s:
            values = {**BATCHES.release(), "updated_at": utcnow()}
            s.execute(BATCHES.update_owned(contract_id, owner, values))

    def finish_ocr(
        self,
        contract_id: int,
        owner: str,
        *,
        state: str,
        text_key: str,
        text_sha256: str,
        pages: Sequence[PageRecord],
        searchable_key: str | None,
        searchable_sha256: str | None,
        error: str | None,
    ) -> ContractRecord | None:
        now = utcnow()
        with self._session(write=True) as s:
            batch = s.get(OcrBatch, contract_id, with_for_update=True, populate_existing=True)
            if batch is None or batch.state != "finalizing" or batch.owner != owner:
                return None
            contract = s.get(Contract, contract_id)
            if contract is None:
                return None
            contract.text_key = text_key
            contract.text_sha256 = text_sha256
            # The contract says why its searchable copy could not be made (and stops saying it
            # once a retry made one): a warning of the record, sealed with the package.
            warnings = [w for w in (contract.warnings or []) if w != batch.error]
            if error and error not in warnings:
                warnings.append(error)
            if warnings != list(contract.warnings or []):
                contract.warnings = warnings
            by_number = {p.page_no: p for p in pages}
            for row in contract.pages:
                new = by_number.get(row.page_no)
                if new is None:
                    continue
                row.text_source = new.text_source
                row.chars = new.chars
                row.needs_ocr = new.needs_ocr
                row.ocr_status = new.ocr_status
                row.ocr_confidence = new.ocr_confidence
                row.ocr_error = new.ocr_error
            batch.state = state
            batch.owner = None
            batch.lease_until = None
            batch.searchable_key = searchable_key
            batch.searchable_sha256 = searchable_sha256
            batch.error = error
            batch.retry_at, batch.last_error, batch.traceback = None, None, None
            batch.updated_at = now
            batch.finished_at = now
        return self.get_contract(contract_id)

    def retry_ocr(self, contract_id: int) -> list[int]:
        with self._session(write=False) as s:
            if s.get(Contract, contract_id) is None:
                raise NotFound(f"contract {contract_id} does not exist")
            failed = list(
                s.scalars(
                    select(OcrJob.page_no).where(
                        OcrJob.contract_id == contract_id,
                        or_(
                            OcrJob.status == "failed",
                            and_(OcrJob.status == "queued", OcrJob.retry_at.is_not(None)),
                        ),
                    )
                )
            )
        if failed:
            self.queue_ocr(contract_id, failed)
        with self._session(write=True) as s:
            batch = s.get(OcrBatch, contract_id, with_for_update=True, populate_existing=True)
            if batch is not None and (
                batch.state == "failed" or (batch.state == "pending" and batch.retry_at)
            ):
                now = utcnow()
                batch.state, batch.attempts, batch.retry_at = "pending", 0, None
                batch.finished_at, batch.updated_at = None, now
                # pages whose OCR is done wait for the contract to be finished again
                done = select(OcrJob.page_no).where(
                    OcrJob.contract_id == contract_id, OcrJob.status == "done"
                )
                s.execute(
                    update(ContractPage)
                    .where(
                        ContractPage.contract_id == contract_id,
                        ContractPage.page_no.in_(done),
                        ContractPage.needs_ocr.is_(True),
                    )
                    .values(ocr_status="running", ocr_error=None)
                    .execution_options(synchronize_session=False)
                )
        return sorted(failed)

    def failed_ocr(self, contract_ids: Collection[int] | None = None) -> list[OcrBatchRecord]:
        query = select(OcrBatch).where(OcrBatch.state == "failed").order_by(OcrBatch.contract_id)
        query = _only(query, OcrBatch.contract_id, contract_ids)
        with self._session(write=False) as s:
            return [_batch_record(row) for row in s.scalars(query)]

    def failed_ocr_pages(self, contract_ids: Collection[int] | None = None) -> list[OcrJobRecord]:
        query = (
            select(OcrJob)
            .where(OcrJob.status == "failed")
            .options(defer(OcrJob.layer))
            .order_by(OcrJob.contract_id, OcrJob.page_no)
        )
        query = _only(query, OcrJob.contract_id, contract_ids)
        with self._session(write=False) as s:
            return [_job_record(row, with_layer=False) for row in s.scalars(query)]

    # -- reading -----------------------------------------------------------------------------
    def ocr_jobs(self, contract_id: int, *, with_layers: bool = False) -> list[OcrJobRecord]:
        query = select(OcrJob).where(OcrJob.contract_id == contract_id).order_by(OcrJob.page_no)
        if not with_layers:
            query = query.options(defer(OcrJob.layer))
        with self._session(write=False) as s:
            return [_job_record(r, with_layer=with_layers) for r in s.scalars(query)]

    def ocr_batch(self, contract_id: int) -> OcrBatchRecord | None:
        with self._session(write=False) as s:
            row = s.get(OcrBatch, contract_id)
            return _batch_record(row) if row else None

    def ocr_counts(self, contract_ids: Collection[int] | None = None) -> OcrCounts:
        query = select(OcrJob.status, func.count(OcrJob.id)).group_by(OcrJob.status)
        if contract_ids is not None:
            if not contract_ids:
                return OcrCounts()
            query = query.where(OcrJob.contract_id.in_(list(contract_ids)))
        with self._session(write=False) as s:
            counts = {status: int(n) for status, n in s.execute(query)}
        return OcrCounts(
            total=sum(counts.values()),
            queued=counts.get("queued", 0),
            running=counts.get("running", 0),
            done=counts.get("done", 0),
            failed=counts.get("failed", 0),
        )

    def open_ocr_contracts(self, contract_ids: Collection[int] | None = None) -> set[int]:
        query = select(OcrBatch.contract_id).where(OcrBatch.state.in_(("pending", "finalizing")))
        if contract_ids is not None:
            if not contract_ids:
                return set()
            query = query.where(OcrBatch.contract_id.in_(list(contract_ids)))
        with self._session(write=False) as s:
            return set(s.scalars(query))
