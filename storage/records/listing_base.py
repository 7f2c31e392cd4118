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
    verification: str | None = None
    """The contract's verification state as the records know it (:data:`VERIFICATION_STATES`)."""


VERIFICATION_STATES: tuple[str, ...] = ("alert", "failed", "pending", "sealed", "unsealed")
"""What the contract table shows of a contract's verification, worst first: ``alert`` (a stored
file was found damaged when served), ``failed`` (the latest fixity audit failed it), then the
seal of its latest manifest version: ``pending`` or ``sealed``; ``unsealed`` when it has none."""

SORT_KEYS: tuple[str, ...] = (
    "id",
    "title",
    "customer",
    "classification",
    "status",
    "archival_code",
    "sign_date",
    "expiry_date",
    "amount",
    "outstanding",
    "verification",
    "created_at",
)
"""The columns a contract list can be sorted by (in SQL), ties broken by id."""


@dataclass(frozen=True)
class ContractSort:
    key: str = "id"
    descending: bool = False


@dataclass(frozen=True)
class ColumnFilter:
    """The contract table's filters on its columns (issue 15), applied in SQL."""

    title: str | None = None
    """Words the title contains (case-insensitive)."""
    customer: str | None = None
    """Text the customer's name contains."""
    archival_code: str | None = None
    """Text the 档号 contains."""
    filed: bool | None = None
    """Only contracts with (True) or without (False) a 档号."""
    unclassified: bool = False
    """Also (with ``classifications``) or only contracts without a classification."""
    signed_from: date | None = None
    signed_to: date | None = None
    expires_from: date | None = None
    expires_to: date | None = None
    amount_min: Decimal | None = None
    amount_max: Decimal | None = None
    currency: str | None = None
    """Only contracts whose amount is in this currency (the amount bounds are in it)."""
    outstanding: bool | None = None
    """Only contracts with (True) or without (False) receivables not yet paid."""
    verification: tuple[str, ...] = ()


@dataclass(frozen=True)
class SavedView:
    """A user's saved view of the contract table: a name and the query string of its filters
    and sort."""

    id: int
    username: str
    name: str
    query: str
    created_at: datetime


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
    columns: ColumnFilter | None = None
    """The contract table's column filters (issue 15)."""
    sort: ContractSort | None = None
    """The order of the list (id order when None)."""


@runtime_checkable
class ListingStore(Protocol):
    """Contract lists with their totals and receivables, under a filter."""

    def query_contracts(
        self, flt: ContractFilter, *, offset: int = 0, limit: int = 50
    ) -> tuple[int, list[ContractSummary]]: ...

    def save_view(self, username: str, name: str, query: str) -> SavedView:
        """Save (or replace, by name) one of the user's views of the contract table."""
        ...

    def list_views(self, username: str) -> list[SavedView]: ...

    def delete_view(self, username: str, view_id: int) -> bool:
        """Delete one of the user's views; False when the user has no such view."""
        ...
