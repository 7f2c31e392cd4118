"""The contract-model part of the record store: its Protocol and the plain records it returns.

Like ``storage.records.base``, records are frozen dataclasses, never ORM objects. The one SQL
implementation is the :class:`~storage.records.contract_store.SqlContractStore` mixin of
``SqlRecordStore``.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Protocol, runtime_checkable


@dataclass(frozen=True)
class CustomerRecord:
    id: int
    name: str
    registration_no: str | None
    registration_kind: str | None
    contacts: tuple[dict[str, Any], ...]
    notes: str | None
    aliases: tuple[str, ...]
    created_at: datetime
    created_by: str
    updated_at: datetime


@dataclass(frozen=True)
class PartyRecord:
    role: str
    name: str
    role_label: str | None = None
    customer_id: int | None = None
    is_us: bool = False


@dataclass(frozen=True)
class TermsRecord:
    """The confirmed values of a contract (every field None until confirmed)."""

    contract_id: int
    customer_id: int | None = None
    customer_text: str | None = None
    contract_no: str | None = None
    our_entity: str | None = None
    classification: str | None = None
    classification_version: int | None = None
    amount: Decimal | None = None
    currency: str | None = None
    sign_date: date | None = None
    effective_date: date | None = None
    expiry_date: date | None = None
    renewal_type: str | None = None
    renewal_term_months: int | None = None
    notice_days: int | None = None
    governing_law: str | None = None
    owner: str | None = None
    department: str | None = None
    paper_location: str | None = None
    master_id: int | None = None
    relation: str | None = None
    ended_on: date | None = None
    fonds_code: str | None = None
    archival_year: int | None = None
    retention: str | None = None
    legal_minimum_years: int | None = None
    archival_series: str | None = None
    archival_item_no: int | None = None
    archival_code: str | None = None
    filed_at: datetime | None = None
    filed_by: str | None = None
    disposal_due: date | None = None
    updated_at: datetime | None = None
    updated_by: str | None = None
    parties: tuple[PartyRecord, ...] = ()


# Terms a person may confirm or correct directly (the archival fields are set by filing).
EDITABLE_TERMS = (
    "customer_id",
    "contract_no",
    "our_entity",
    "classification",
    "amount",
    "currency",
    "sign_date",
    "effective_date",
    "expiry_date",
    "renewal_type",
    "renewal_term_months",
    "notice_days",
    "governing_law",
    "owner",
    "department",
    "paper_location",
    "master_id",
    "relation",
    "retention",
    "legal_minimum_years",
    "fonds_code",
)


@dataclass(frozen=True)
class PaymentRecord:
    id: int
    contract_id: int
    description: str | None
    direction: str
    due_date: date
    amount: Decimal
    currency: str
    paid_amount: Decimal
    paid_date: date | None
    created_at: datetime
    created_by: str

    @property
    def outstanding(self) -> Decimal:
        return max(self.amount - self.paid_amount, Decimal("0"))

    def overdue(self, today: date) -> bool:
        return self.outstanding > 0 and self.due_date < today


@dataclass(frozen=True)
class EventRecord:
    id: int
    contract_id: int
    kind: str
    from_value: str | None
    to_value: str | None
    reason: str | None
    actor: str
    at: datetime
    data: dict[str, Any]


@dataclass(frozen=True)
class NewSuggestion:
    field: str
    value: Any
    display: str
    confidence: float
    method: str
    page: int | None = None
    char_start: int | None = None
    char_end: int | None = None
    evidence: str | None = None


@dataclass(frozen=True)
class SuggestionRecord:
    id: int
    contract_id: int
    field: str
    value: Any
    display: str
    confidence: float
    method: str
    page: int | None
    char_start: int | None
    char_end: int | None
    evidence: str | None
    state: str
    extractor_version: str
    created_at: datetime
    decided_by: str | None
    decided_at: datetime | None


@dataclass(frozen=True)
class HoldRecord:
    id: int
    contract_id: int
    reason: str
    placed_by: str
    placed_at: datetime
    released_by: str | None
    released_at: datetime | None
    release_reason: str | None

    @property
    def active(self) -> bool:
        return self.released_at is None


@dataclass(frozen=True)
class SchemeCode:
    code: str
    name_zh: str
    name_en: str
    retention: str
    keywords: tuple[str, ...] = ()


@dataclass(frozen=True)
class SchemeRecord:
    version: int
    created_at: datetime
    created_by: str
    note: str | None
    codes: tuple[SchemeCode, ...]

    def get(self, code: str) -> SchemeCode | None:
        return next((c for c in self.codes if c.code == code), None)


@dataclass(frozen=True)
class ReminderRecord:
    id: int
    key: str
    contract_id: int
    kind: str
    tier_days: int | None
    due_date: date
    payment_item_id: int | None
    message: str
    created_at: datetime
    emailed_at: datetime | None
    email_error: str | None


@dataclass(frozen=True)
class NewReminder:
    key: str
    contract_id: int
    kind: str
    due_date: date
    message: str
    tier_days: int | None = None
    payment_item_id: int | None = None


@dataclass(frozen=True)
class ClassifierRecord:
    id: int
    created_at: datetime
    created_by: str
    scheme_version: int
    examples: int
    labels: tuple[str, ...]
    model: dict[str, Any]
    accuracy: float | None


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
class ContractStore(Protocol):
    """What the contract model needs from the record store."""

    # customers
    def create_customer(
        self,
        name: str,
        *,
        actor: str,
        registration_no: str | None = None,
        registration_kind: str | None = None,
        contacts: Sequence[Mapping[str, Any]] = (),
        notes: str | None = None,
        aliases: Sequence[str] = (),
    ) -> CustomerRecord: ...

    def update_customer(
        self, customer_id: int, changes: Mapping[str, Any], *, actor: str
    ) -> CustomerRecord: ...

    def add_alias(self, customer_id: int, alias: str, *, actor: str) -> CustomerRecord: ...

    def remove_alias(self, customer_id: int, alias: str) -> CustomerRecord: ...

    def get_customer(self, customer_id: int) -> CustomerRecord: ...

    def find_customer(self, key: str) -> CustomerRecord | None:
        """The customer whose name key or alias key is ``key``."""

    def find_customers_loose(self, key: str) -> list[CustomerRecord]:
        """Customers whose name or an alias has the loose key ``key`` (legal form ignored)."""

    def list_customers(
        self,
        *,
        q: str | None = None,
        offset: int = 0,
        limit: int = 50,
        hidden: Sequence[str] = (),
    ) -> tuple[int, list[CustomerRecord]]:
        """``hidden``: restricted classes; customers known only through them are left out."""

    def merge_customers(self, target_id: int, source_id: int, *, actor: str) -> CustomerRecord: ...

    def delete_customer_if_unused(self, customer_id: int) -> bool:
        """Delete a customer no contract refers to (undo of a failed ingest)."""

    # terms and parties
    def init_terms(
        self,
        contract_id: int,
        *,
        customer_text: str | None,
        actor: str,
        status: str,
        reason: str,
    ) -> TermsRecord:
        """The terms row of a new contract, with the event that records its creation."""

    def get_terms(self, contract_id: int) -> TermsRecord: ...

    def update_terms(
        self,
        contract_id: int,
        changes: Mapping[str, Any],
        *,
        actor: str,
        reason: str | None = None,
        kind: str = "confirmed",
    ) -> TermsRecord: ...

    def set_parties(
        self, contract_id: int, parties: Sequence[PartyRecord], *, actor: str
    ) -> TermsRecord: ...

    def set_effective(
        self,
        contract_id: int,
        *,
        customer: str | None = None,
        classification: str | None = None,
        set_customer: bool = False,
        set_classification: bool = False,
    ) -> None:
        """Write what search uses into the contract row (confirmed first, else suggested)."""

    # suggestions
    def replace_suggestions(
        self, contract_id: int, suggestions: Sequence[NewSuggestion], *, version: str
    ) -> list[SuggestionRecord]: ...

    def list_suggestions(
        self, contract_id: int, *, states: Collection[str] = ("open",)
    ) -> list[SuggestionRecord]: ...

    def get_suggestion(self, suggestion_id: int) -> SuggestionRecord: ...

    def decide_suggestion(self, suggestion_id: int, state: str, *, actor: str) -> SuggestionRecord:
        """Mark an open suggestion accepted or rejected (Conflict when already decided)."""

    # events and lifecycle
    def add_event(
        self,
        contract_id: int,
        kind: str,
        *,
        actor: str,
        from_value: str | None = None,
        to_value: str | None = None,
        reason: str | None = None,
        data: Mapping[str, Any] | None = None,
    ) -> EventRecord: ...

    def list_events(self, contract_id: int) -> list[EventRecord]: ...

    def transition(
        self,
        contract_id: int,
        to_state: str,
        *,
        allowed_from: Collection[str] | None,
        actor: str,
        reason: str | None,
        kind: str = "transition",
        terms: Mapping[str, Any] | None = None,
        data: Mapping[str, Any] | None = None,
    ) -> EventRecord:
        """Move the contract to ``to_state`` if it is in one of ``allowed_from`` (None: any),
        updating ``terms`` in the same transaction; Conflict otherwise."""

    # filing
    def file_contract(
        self,
        contract_id: int,
        *,
        fonds_code: str,
        year: int,
        retention: str,
        classification: str,
        disposal_due: date | None,
        actor: str,
        item_no: int | None = None,
    ) -> TermsRecord:
        """Take the next 件号 of the series and give the contract its archival code, once."""

    # holds
    def place_hold(self, contract_id: int, reason: str, *, actor: str) -> HoldRecord: ...

    def release_hold(
        self, contract_id: int, hold_id: int, *, actor: str, reason: str
    ) -> HoldRecord: ...

    def list_holds(self, contract_id: int) -> list[HoldRecord]: ...

    # payments
    def add_payment(
        self,
        contract_id: int,
        *,
        due_date: date,
        amount: Decimal,
        currency: str,
        actor: str,
        direction: str = "receivable",
        description: str | None = None,
        paid_amount: Decimal = Decimal("0"),
        paid_date: date | None = None,
    ) -> PaymentRecord: ...

    def record_payment(
        self,
        contract_id: int,
        item_id: int,
        *,
        paid_amount: Decimal,
        paid_date: date,
        actor: str,
    ) -> PaymentRecord: ...

    def list_payments(self, contract_id: int) -> list[PaymentRecord]: ...

    # classification scheme
    def current_scheme(self) -> SchemeRecord: ...

    def get_scheme(self, version: int) -> SchemeRecord: ...

    def scheme_versions(self) -> list[SchemeRecord]: ...

    def new_scheme_version(
        self, codes: Sequence[SchemeCode], *, actor: str, note: str | None, based_on: int
    ) -> SchemeRecord:
        """Save a new version; Conflict when ``based_on`` is no longer the current one."""

    # reminders
    def add_reminder(self, reminder: NewReminder) -> ReminderRecord | None:
        """Store a reminder; None when one with the same key exists already."""

    def list_reminders(
        self,
        *,
        since: datetime | None = None,
        kinds: Collection[str] = (),
        contract_id: int | None = None,
        limit: int = 100,
    ) -> list[ReminderRecord]: ...

    def unsent_reminders(self) -> list[ReminderRecord]: ...

    def mark_emailed(
        self, reminder_ids: Sequence[int], *, at: datetime | None, error: str | None
    ) -> None: ...

    # classifier
    def save_classifier(
        self,
        *,
        actor: str,
        scheme_version: int,
        examples: int,
        labels: Sequence[str],
        model: Mapping[str, Any],
        accuracy: float | None,
    ) -> ClassifierRecord: ...

    def latest_classifier(self) -> ClassifierRecord | None: ...

    # lists
    def query_contracts(
        self, flt: ContractFilter, *, offset: int = 0, limit: int = 50
    ) -> tuple[int, list[ContractSummary]]: ...

    def contracts_for_rules(self) -> list[tuple[int, str, TermsRecord]]:
        """(id, status, terms) of every contract the reminder job looks at."""

    def confirmed_classifications(self) -> list[tuple[int, str]]:
        """(contract id, confirmed classification) of every contract that has one."""

    def successors(self, contract_id: int) -> list[int]:
        """Contracts that name this one as their master with relation ``renewal``."""

    def find_archival_code(self, code: str) -> int | None:
        """The contract filed under ``code``, if any."""

    def children(self, contract_id: int) -> list[int]:
        """Contracts that name this one as their master (amendments, supplements, ...)."""

    def disposal_due_ids(self, today: date) -> list[int]:
        """Filed contracts whose disposal is due on or before ``today``."""
