"""The SQL half of :class:`~storage.records.borrowing_base.BorrowStore`.

A new request locks the contract's row first, so two overlapping requests of one borrower are
serialized and the second finds the first."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import or_, select

from core.errors import Conflict, NotFound
from storage.records.borrowing_base import BorrowRecord
from storage.records.models import Contract
from storage.records.sql_common import SqlPart
from storage.records.workflow_models import BorrowRequest


def _borrow(row: BorrowRequest) -> BorrowRecord:
    return BorrowRecord(
        id=row.id,
        contract_id=row.contract_id,
        borrower=row.borrower,
        purpose=row.purpose,
        days=row.days,
        download=bool(row.download),
        state=row.state,
        requested_at=row.requested_at,
        decided_by=row.decided_by,
        decided_at=row.decided_at,
        comment=row.comment,
        starts_at=row.starts_at,
        expires_at=row.expires_at,
        returned_at=row.returned_at,
    )


class SqlBorrowing(SqlPart):
    """Borrowing requests and grants (a part of ``SqlRecordStore``)."""

    def add_borrow_request(
        self,
        contract_id: int,
        *,
        borrower: str,
        purpose: str,
        days: int,
        download: bool,
        at: datetime,
    ) -> BorrowRecord:
        with self._write_tx() as s:
            # Serializes two requests for one contract (when it exists: a request may name an
            # id that does not, see the model).
            s.get(Contract, contract_id, with_for_update=True)
            clash = s.scalars(
                select(BorrowRequest).where(
                    BorrowRequest.contract_id == contract_id,
                    BorrowRequest.borrower == borrower,
                    or_(
                        BorrowRequest.state == "requested",
                        (BorrowRequest.state == "granted")
                        & BorrowRequest.returned_at.is_(None)
                        & (BorrowRequest.expires_at > at),
                    ),
                )
            ).first()
            if clash is not None:
                what = "pending request" if clash.state == "requested" else "live grant"
                raise Conflict(
                    f"{borrower} has a {what} for contract {contract_id} already",
                    hint="see `borrow list --mine`; return it or wait for the decision: grants "
                    "do not overlap",
                    details={"request_id": clash.id},
                )
            row = BorrowRequest(
                contract_id=contract_id,
                borrower=borrower,
                purpose=purpose,
                days=days,
                download=download,
                state="requested",
                requested_at=at,
            )
            s.add(row)
            s.flush()
            return _borrow(row)

    def get_borrow(self, request_id: int) -> BorrowRecord:
        with self._session(write=False) as s:
            row = s.get(BorrowRequest, request_id)
            if row is None:
                raise NotFound(f"borrowing request {request_id} does not exist")
            return _borrow(row)

    def list_borrows(
        self,
        *,
        borrower: str | None = None,
        contract_id: int | None = None,
        states: tuple[str, ...] = (),
        limit: int = 500,
    ) -> list[BorrowRecord]:
        with self._session(write=False) as s:
            stmt = select(BorrowRequest)
            if borrower is not None:
                stmt = stmt.where(BorrowRequest.borrower == borrower)
            if contract_id is not None:
                stmt = stmt.where(BorrowRequest.contract_id == contract_id)
            if states:
                stmt = stmt.where(BorrowRequest.state.in_(list(states)))
            rows = s.scalars(stmt.order_by(BorrowRequest.id.desc()).limit(limit))
            return [_borrow(r) for r in rows]

    def decide_borrow(
        self, request_id: int, *, grant: bool, actor: str, comment: str | None, at: datetime
    ) -> BorrowRecord:
        with self._write_tx() as s:
            row = s.get(BorrowRequest, request_id, with_for_update=True)
            if row is None:
                raise NotFound(f"borrowing request {request_id} does not exist")
            if row.state != "requested":
                raise Conflict(
                    f"borrowing request {request_id} is {row.state}; only a pending request "
                    "can be granted or refused",
                    details={"state": row.state},
                )
            row.state = "granted" if grant else "refused"
            row.decided_by = actor
            row.decided_at = at
            row.comment = comment
            if grant:
                row.starts_at = at
                row.expires_at = at + timedelta(days=row.days)
            s.flush()
            return _borrow(row)

    def return_borrow(self, request_id: int, *, at: datetime) -> BorrowRecord:
        with self._write_tx() as s:
            row = s.get(BorrowRequest, request_id, with_for_update=True)
            if row is None:
                raise NotFound(f"borrowing request {request_id} does not exist")
            if row.state == "requested":
                row.state = "cancelled"
                row.returned_at = at
            elif row.state == "granted" and row.returned_at is None:
                row.returned_at = at
                row.state = "returned"
            else:
                raise Conflict(
                    f"borrowing request {request_id} is {row.state}; there is nothing to return",
                    details={"state": row.state},
                )
            s.flush()
            return _borrow(row)

    def live_grants(self, borrower: str, at: datetime) -> list[BorrowRecord]:
        with self._session(write=False) as s:
            rows = s.scalars(
                select(BorrowRequest).where(
                    BorrowRequest.borrower == borrower,
                    BorrowRequest.state == "granted",
                    BorrowRequest.returned_at.is_(None),
                    BorrowRequest.starts_at <= at,
                    BorrowRequest.expires_at > at,
                )
            )
            return [_borrow(r) for r in rows]
