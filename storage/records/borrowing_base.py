"""The borrowing area of the record store (借阅): requests to borrow one contract of a
restricted class, their decisions, the grants' expiries and returns.

A request by a borrower for a contract that already has a pending request or a live grant of
theirs is a Conflict (no overlapping grants); the check and the insert are one transaction.

The Protocol :class:`BorrowStore` and the plain record it returns. Its SQL implementation,
:class:`~storage.records.borrowing_sql.SqlBorrowing`, is a part of ``SqlRecordStore``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol, runtime_checkable


@dataclass(frozen=True)
class BorrowRecord:
    id: int
    contract_id: int
    borrower: str
    purpose: str
    days: int
    download: bool
    state: str
    requested_at: datetime
    decided_by: str | None
    decided_at: datetime | None
    comment: str | None
    starts_at: datetime | None
    expires_at: datetime | None
    returned_at: datetime | None

    def live(self, at: datetime) -> bool:
        """Whether this is a grant in force at ``at``."""
        return (
            self.state == "granted"
            and self.returned_at is None
            and self.expires_at is not None
            and self.starts_at is not None
            and self.starts_at <= at < self.expires_at
        )

    def overdue(self, at: datetime) -> bool:
        """A grant that ran out without being returned."""
        return (
            self.state == "granted"
            and self.returned_at is None
            and self.expires_at is not None
            and self.expires_at <= at
        )


@runtime_checkable
class BorrowStore(Protocol):
    """Borrowing requests and grants."""

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
        """Conflict when the borrower has a pending request or a live grant of it."""

    def get_borrow(self, request_id: int) -> BorrowRecord: ...

    def list_borrows(
        self,
        *,
        borrower: str | None = None,
        contract_id: int | None = None,
        states: tuple[str, ...] = (),
        limit: int = 500,
    ) -> list[BorrowRecord]: ...

    def decide_borrow(
        self, request_id: int, *, grant: bool, actor: str, comment: str | None, at: datetime
    ) -> BorrowRecord:
        """Grant (from ``at`` for its days) or refuse a pending request; Conflict otherwise."""

    def return_borrow(self, request_id: int, *, at: datetime) -> BorrowRecord:
        """End a grant early (or record the return of an expired one); Conflict otherwise."""

    def live_grants(self, borrower: str, at: datetime) -> list[BorrowRecord]: ...
