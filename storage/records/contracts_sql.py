"""The SQL half of :class:`~storage.records.contracts_base.IngestedContracts`.

An ingest claim is a row keyed by the SHA-256: inserting it is taking it, so two ingests of one
file never both proceed. Contract ids are 64-bit on every backend; an id beyond that is NotFound,
not a driver overflow.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator
from datetime import datetime

from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.exc import IntegrityError

from core.errors import NotFound
from storage.records.contracts_base import Claim, ContractRecord, NewContract
from storage.records.models import Contract, ContractPage, IngestClaim, utcnow
from storage.records.sql_common import MAX_ID, SqlPart, contract_record


class SqlContracts(SqlPart):
    """Contracts, their pages and the ingest claims (a part of ``SqlRecordStore``)."""

    # -- ingest claims ---------------------------------------------------------------------
    def claim(self, sha256: str, owner: str) -> bool:
        try:
            with self._session(write=True) as s:
                s.add(IngestClaim(sha256=sha256, owner=owner, claimed_at=utcnow()))
        except IntegrityError:
            return False
        return True

    def release(self, sha256: str) -> None:
        with self._session(write=True) as s:
            s.execute(delete(IngestClaim).where(IngestClaim.sha256 == sha256))

    def stale_claims(self, older_than: datetime) -> list[str]:
        with self._session(write=False) as s:
            rows = s.scalars(select(IngestClaim.sha256).where(IngestClaim.claimed_at < older_than))
            return list(rows)

    def claims(self) -> list[Claim]:
        with self._session(write=False) as s:
            rows = s.scalars(select(IngestClaim).order_by(IngestClaim.claimed_at))
            return [Claim(r.sha256, r.owner, r.claimed_at) for r in rows]

    def take_over_claim(self, sha256: str, old_owner: str, new_owner: str) -> bool:
        with self._session(write=True) as s:
            result = s.execute(
                update(IngestClaim)
                .where(IngestClaim.sha256 == sha256, IngestClaim.owner == old_owner)
                .values(owner=new_owner, claimed_at=utcnow())
            )
            return bool(getattr(result, "rowcount", 0) == 1)

    # -- contracts -------------------------------------------------------------------------
    def add_contract(self, new: NewContract) -> ContractRecord:
        row = Contract(
            sha256=new.sha256,
            size=new.size,
            content_type=new.content_type,
            filename=new.filename,
            title=new.title,
            customer=new.customer,
            page_count=new.page_count,
            status=new.status,
            classification=new.classification,
            created_at=new.created_at or utcnow(),
            ingested_by=new.ingested_by,
            original_key=new.original_key,
            text_key=new.text_key,
            text_sha256=new.text_sha256,
            warnings=list(new.warnings),
            pages=[
                ContractPage(
                    page_no=p.page_no,
                    text_source=p.text_source,
                    chars=p.chars,
                    needs_ocr=p.needs_ocr,
                    ocr_status=p.ocr_status,
                    ocr_confidence=p.ocr_confidence,
                    ocr_error=p.ocr_error,
                )
                for p in new.pages
            ],
        )
        if new.id is not None:
            row.id = new.id
        with self._session(write=True) as s:
            s.add(row)
            s.flush()
            record = contract_record(row)
        return record

    def delete_contract(self, contract_id: int) -> None:
        if not 0 < contract_id <= MAX_ID:
            return
        with self._session(write=True) as s:
            row = s.get(Contract, contract_id)
            if row is not None:
                s.delete(row)

    def get_contract(self, contract_id: int) -> ContractRecord:
        if not 0 < contract_id <= MAX_ID:  # beyond a BIGINT: the driver would overflow
            raise NotFound(f"contract {contract_id} does not exist")
        with self._session(write=False) as s:
            row = s.get(Contract, contract_id)
            if row is None:
                raise NotFound(f"contract {contract_id} does not exist")
            return contract_record(row)

    def find_by_sha256(self, sha256: str) -> ContractRecord | None:
        with self._session(write=False) as s:
            row = s.scalars(select(Contract).where(Contract.sha256 == sha256)).first()
            return contract_record(row) if row else None

    def list_contracts(self, *, offset: int = 0, limit: int = 50) -> list[ContractRecord]:
        with self._session(write=False) as s:
            rows = s.scalars(select(Contract).order_by(Contract.id).offset(offset).limit(limit))
            return [contract_record(r) for r in rows]

    def count_contracts(self) -> int:
        with self._session(write=False) as s:
            return int(s.scalar(select(func.count(Contract.id))) or 0)

    def page_totals(self, hidden: Collection[str] = ()) -> tuple[int, int]:
        pages_stmt = select(func.coalesce(func.sum(Contract.page_count), 0))
        waiting_stmt = (
            select(func.count()).select_from(ContractPage).where(ContractPage.needs_ocr.is_(True))
        )
        if hidden:
            visible = or_(
                Contract.classification.is_(None), Contract.classification.not_in(sorted(hidden))
            )
            pages_stmt = pages_stmt.where(visible)
            waiting_stmt = waiting_stmt.join(
                Contract, Contract.id == ContractPage.contract_id
            ).where(visible)
        with self._session(write=False) as s:
            pages = s.scalar(pages_stmt)
            waiting = s.scalar(waiting_stmt)
            return int(pages or 0), int(waiting or 0)

    def iter_contracts(self, batch_size: int = 500) -> Iterator[ContractRecord]:
        last = 0
        while True:
            with self._session(write=False) as s:
                rows = list(
                    s.scalars(
                        select(Contract)
                        .where(Contract.id > last)
                        .order_by(Contract.id)
                        .limit(batch_size)
                    )
                )
                batch = [contract_record(r) for r in rows]
            if not batch:
                return
            yield from batch
            last = batch[-1].id

    def contract_ids(self) -> set[int]:
        with self._session(write=False) as s:
            return set(s.scalars(select(Contract.id)))

    def fix_sequences(self) -> None:
        """After inserting explicit ids (``recover``), move PostgreSQL's sequence past them."""
        if self.dialect != "postgresql":
            return
        with self._session(write=True) as s:
            s.execute(
                select(
                    func.setval(
                        func.pg_get_serial_sequence("contracts", "id"),
                        func.coalesce(select(func.max(Contract.id)).scalar_subquery(), 0) + 1,
                        False,
                    )
                )
            )
