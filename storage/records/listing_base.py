"""The listing area of the record store: filtered, counted pages of contract summaries.

A filter may hide restricted classes (issue 7): their contracts are left out of the page and
of the count.

The Protocol :class:`ListingStore` and the plain records it returns (frozen dataclasses, never ORM
objects). Its SQL implementation, :class:`~storage.records.listing_sql.SqlListing`, is a part of
``SqlRecordStore``; :class:`~storage.records.base.RecordStore` includes the Protocol.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Protocol, runtime_checkable


@dataclass(frozen=True)
class Money:
    currency: str
    amount: Decimal


@dataclass(frozen=True)
class ContractSummary:
    """One row of a contract list or a customer view."""

    id: int
    title: str
    customer: str | None
    customer_id: int | None
    status: str
    classification: str | None
    classification_confirmed: bool
    contract_no: str | None
    amount: Decimal | None
    currency: str | None
    sign_date: date | None
    effective_date: date | None
    expiry_date: date | None
    renewal_type: str | None
    archival_code: str | None
    created_at: datetime
    outstanding: tuple[Money, ...] = ()
    """Receivables not yet paid, per currency."""
    overdue: tuple[Money, ...] = ()
    """Receivables past their due date and not paid, per currency."""
    overdue_items: int = 0


@dataclass(frozen=True)
class ContractFilter:
    customer_id: int | None = None
    customer_text: str | None = None
    statuses: tuple[str, ...] = ()
    classifications: tuple[str, ...] = ()
    expiring_before: date | None = None
    """Live contracts whose confirmed expiry is on or before this date (and not yet past)."""
    today: date | None = None
    overdue_payments: bool = False
    expired_unrenewed: bool = False
    contract_ids: tuple[int, ...] = field(default_factory=tuple)
    hidden_classifications: tuple[str, ...] = ()
    """Restricted classes the caller may not see (issue 7): their contracts are left out."""


@runtime_checkable
class ListingStore(Protocol):
    """Contract lists with their totals and receivables, under a filter."""

    def query_contracts(
        self, flt: ContractFilter, *, offset: int = 0, limit: int = 50
    ) -> tuple[int, list[ContractSummary]]: ...
