"""The terms area of the record store: confirmed terms, parties, suggestions, master links.

A contract's terms are confirmed by a person (or accepted from an extraction suggestion); a
contract may name a master (``master_id``) with a relation (renewal, amendment, ...).

The Protocol :class:`TermsStore` and the plain records it returns (frozen dataclasses, never ORM
objects). Its SQL implementation, :class:`~storage.records.terms_sql.SqlTerms`, is a part of
``SqlRecordStore``; :class:`~storage.records.base.RecordStore` includes the Protocol.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Protocol, runtime_checkable


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
    renewal_max_count: int | None = None
    renewal_count: int | None = None
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
    "renewal_max_count",
    "renewal_count",
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


@runtime_checkable
class TermsStore(Protocol):
    """Terms and parties of a contract, the suggestions for them, and its master/amendment links."""

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
        self,
        contract_id: int,
        parties: Sequence[PartyRecord],
        *,
        actor: str,
        reason: str | None = None,
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

    def replace_suggestions(
        self, contract_id: int, suggestions: Sequence[NewSuggestion], *, version: str
    ) -> list[SuggestionRecord]: ...

    def list_suggestions(
        self, contract_id: int, *, states: Collection[str] = ("open",)
    ) -> list[SuggestionRecord]: ...

    def get_suggestion(self, suggestion_id: int) -> SuggestionRecord: ...

    def decide_suggestion(self, suggestion_id: int, state: str, *, actor: str) -> SuggestionRecord:
        """Mark an open suggestion accepted or rejected (Conflict when already decided)."""

    def successors(self, contract_id: int) -> list[int]:
        """Contracts that name this one as their master with relation ``renewal``."""

    def children(self, contract_id: int) -> list[int]:
        """Contracts that name this one as their master (amendments, supplements, ...)."""
