"""Customers, contract terms, suggestions, payments, holds, events, the classification scheme
and reminders, as the API and the CLI's --json show them."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel, Field

from core.clauses import clause_label
from core.rules import WHOLE_TERMS
from schemas.base import FromRecord
from schemas.contracts import ContractPublic
from storage.records.base import ContractRecord
from storage.records.contract_base import (
    ContractSummary,
    CustomerRecord,
    EventRecord,
    HoldRecord,
    Money,
    PaymentRecord,
    ReminderRecord,
    SchemeRecord,
    SuggestionRecord,
    TermsRecord,
)

Amount = Decimal


class MoneyPublic(BaseModel):
    currency: str
    amount: Amount


def money(values: tuple[Money, ...] | list[Money]) -> list[MoneyPublic]:
    return [MoneyPublic(currency=m.currency, amount=m.amount) for m in values]


# --- customers ----------------------------------------------------------------------------------
class Contact(BaseModel):
    name: str | None = Field(None, max_length=200)
    role: str | None = Field(None, max_length=100)
    phone: str | None = Field(None, max_length=50)
    email: str | None = Field(None, max_length=200)
    note: str | None = Field(None, max_length=500)


class CustomerCreate(BaseModel):
    name: str = Field(min_length=1, max_length=500)
    registration_no: str | None = Field(
        None, max_length=100, description="统一社会信用代码 (checked) or a foreign number."
    )
    aliases: list[str] = Field(default_factory=list, max_length=100)
    contacts: list[Contact] = Field(default_factory=list, max_length=50)
    notes: str | None = Field(None, max_length=5000)


class CustomerUpdate(BaseModel):
    name: str | None = Field(None, min_length=1, max_length=500)
    registration_no: str | None = Field(None, max_length=100)
    contacts: list[Contact] | None = Field(None, max_length=50)
    notes: str | None = Field(None, max_length=5000)


class AliasCreate(BaseModel):
    alias: str = Field(min_length=1, max_length=500)


class MergeRequest(BaseModel):
    source_id: int = Field(description="The customer merged into this one; it ceases to exist.")


class CustomerPublic(FromRecord):
    id: int
    name: str
    registration_no: str | None
    registration_kind: str | None
    aliases: list[str]
    contacts: list[dict[str, Any]]
    notes: str | None
    created_at: datetime
    created_by: str
    updated_at: datetime

    @classmethod
    def from_record(cls, c: CustomerRecord) -> CustomerPublic:
        return cls.of(c, contacts=[dict(x) for x in c.contacts])


class ContractLine(FromRecord):
    """A contract as a line of a list: what a person scans for."""

    id: int
    title: str
    customer: str | None
    customer_id: int | None
    status: str
    classification: str | None
    classification_confirmed: bool
    contract_no: str | None
    amount: Amount | None
    currency: str | None
    sign_date: date | None
    effective_date: date | None
    expiry_date: date | None
    renewal_type: str | None
    archival_code: str | None
    created_at: datetime
    outstanding: list[MoneyPublic] = Field(description="Receivables not yet paid.")
    overdue: list[MoneyPublic] = Field(description="Receivables past their due date.")
    overdue_items: int = Field(description="Payment items (either way) past due and unpaid.")
    verification: str | None = Field(
        default=None,
        description="alert (a stored file found damaged), failed (the latest fixity audit), "
        "pending or sealed (the latest manifest's seal), unsealed.",
    )

    @classmethod
    def from_summary(cls, s: ContractSummary) -> ContractLine:
        return cls.of(s, outstanding=money(s.outstanding), overdue=money(s.overdue))


class ContractLinePage(BaseModel):
    total: int
    offset: int
    limit: int
    items: list[ContractLine]


class ContractListItem(ContractPublic):
    """A contract of the list: its record and, under ``terms``, its model line."""

    terms: ContractLine


class ContractListPage(BaseModel):
    total: int
    offset: int
    limit: int
    items: list[ContractListItem]


class Facet(BaseModel):
    value: str
    count: int


class CustomerTotals(BaseModel):
    contracts: int
    live: int = Field(description="Contracts signed, active, expiring or renewed.")
    expiring: int = Field(description="Live contracts whose expiry is within the first tier.")
    expired_unrenewed: int = Field(description="到期未续签: expired without a renewal.")
    amount: list[MoneyPublic] = Field(description="Sum of confirmed contract amounts.")
    outstanding: list[MoneyPublic]
    overdue: list[MoneyPublic]


class CustomerView(BaseModel):
    customer: CustomerPublic
    totals: CustomerTotals
    facets: dict[str, list[Facet]]
    contracts: list[ContractLine]


class CustomerSummary(BaseModel):
    customer: CustomerPublic
    totals: CustomerTotals


class CustomerPage(BaseModel):
    total: int
    offset: int
    limit: int
    items: list[CustomerSummary]


# --- terms --------------------------------------------------------------------------------------
class Evidence(BaseModel):
    page: int = Field(description="1-based page the value was read from.")
    start: int = Field(description="Start of the span in the page's stored text (characters).")
    end: int = Field(description="End of the span (exclusive).")
    text: str = Field(description="The matched text [in brackets] with some context.")


class SuggestionPublic(FromRecord):
    id: int
    field: str
    value: Any
    display: str
    confidence: float
    method: str
    state: str
    evidence: Evidence | None
    created_at: datetime

    @classmethod
    def from_record(cls, s: SuggestionRecord) -> SuggestionPublic:
        evidence = None
        if s.page is not None and s.char_start is not None and s.char_end is not None:
            evidence = Evidence(
                page=s.page, start=s.char_start, end=s.char_end, text=s.evidence or ""
            )
        return cls.of(s, evidence=evidence)


class PartyPublic(BaseModel):
    role: str = Field(max_length=50)
    name: str = Field(min_length=1, max_length=500)
    role_label: str | None = Field(None, max_length=100)
    customer_id: int | None = None
    is_us: bool = False


class ConfirmedTerms(FromRecord):
    """Values a person confirmed (or an import brought); null: not confirmed yet."""

    customer_id: int | None
    customer_text: str | None
    contract_no: str | None
    our_entity: str | None
    classification: str | None
    classification_version: int | None
    amount: Amount | None
    currency: str | None
    sign_date: date | None
    effective_date: date | None
    expiry_date: date | None
    renewal_type: str | None
    renewal_term_months: int | None
    renewal_max_count: int | None = Field(
        description="How many times the contract may renew; null: no limit stated."
    )
    renewal_count: int | None = Field(
        description="How many times it has renewed (automatic renewals are counted by the "
        "reminder job); null: none."
    )
    notice_days: int | None
    governing_law: str | None
    owner: str | None
    department: str | None
    paper_location: str | None
    master_id: int | None
    relation: str | None
    ended_on: date | None

    @classmethod
    def from_record(cls, t: TermsRecord) -> ConfirmedTerms:
        return cls.of(t)


class ArchivalPublic(FromRecord):
    fonds_code: str | None
    archival_code: str | None = Field(description="档号: 全宗号-HT·年度-保管期限-分类-件号.")
    archival_year: int | None
    retention: str | None
    legal_minimum_years: int | None
    filed_at: datetime | None
    filed_by: str | None
    disposal_due: date | None
    held: bool

    @classmethod
    def from_record(cls, t: TermsRecord, held: bool) -> ArchivalPublic:
        return cls.of(t, held=held)


class PaymentPublic(FromRecord):
    id: int
    description: str | None
    direction: str
    due_date: date
    amount: Amount
    currency: str
    paid_amount: Amount
    paid_date: date | None
    outstanding: Amount
    overdue: bool

    @classmethod
    def from_record(cls, p: PaymentRecord, today: date) -> PaymentPublic:
        return cls.of(p, overdue=p.overdue(today))


class PaymentCreate(BaseModel):
    due_date: date
    amount: Amount = Field(gt=0, max_digits=16, decimal_places=2)
    currency: str = Field("CNY", pattern=r"^[A-Z]{3}$")
    direction: Literal["receivable", "payable"] = "receivable"
    description: str | None = Field(None, max_length=500)
    paid_amount: Amount = Field(Decimal("0"), ge=0, max_digits=16, decimal_places=2)
    paid_date: date | None = None


class PaymentUpdate(BaseModel):
    paid_amount: Amount = Field(ge=0, max_digits=16, decimal_places=2)
    paid_date: date


class HoldPublic(FromRecord):
    id: int
    reason: str
    placed_by: str
    placed_at: datetime
    released_by: str | None
    released_at: datetime | None
    release_reason: str | None
    active: bool

    @classmethod
    def from_record(cls, h: HoldRecord) -> HoldPublic:
        return cls.of(h)


class HoldCreate(BaseModel):
    reason: str = Field(min_length=1, max_length=2000)


class HoldRelease(BaseModel):
    reason: str = Field(min_length=1, max_length=2000)


class EventPublic(FromRecord):
    id: int
    kind: str
    from_value: str | None
    to_value: str | None
    reason: str | None
    actor: str
    at: datetime
    data: dict[str, Any]

    @classmethod
    def from_record(cls, e: EventRecord) -> EventPublic:
        return cls.of(e)


class RelatedContract(BaseModel):
    id: int
    title: str
    relation: str | None
    status: str


class ContractTermsView(BaseModel):
    """One contract: its record, the confirmed terms and, apart, what extraction suggests."""

    contract: ContractPublic
    status: str
    status_zh: str
    allowed_transitions: list[str]
    confirmed: ConfirmedTerms
    parties: list[PartyPublic]
    suggested: dict[str, list[SuggestionPublic]] = Field(
        description="Open suggestions per field, best first, each with its evidence."
    )
    archival: ArchivalPublic
    payments: list[PaymentPublic]
    holds: list[HoldPublic]
    master: RelatedContract | None
    related: list[RelatedContract]


class TermsUpdate(BaseModel):
    """Fields to confirm or correct; a field left out is unchanged, null clears it."""

    customer_id: int | None = None
    customer: str | None = Field(
        None, max_length=500, description="A customer name or alias, instead of customer_id."
    )
    contract_no: str | None = Field(None, max_length=200)
    our_entity: str | None = Field(None, max_length=500)
    classification: str | None = Field(None, max_length=10)
    amount: Amount | None = Field(None, ge=0, max_digits=16, decimal_places=2)
    currency: str | None = Field(None, pattern=r"^[A-Z]{3}$")
    sign_date: date | None = None
    effective_date: date | None = None
    expiry_date: date | None = None
    renewal_type: Literal["automatic", "manual", "none"] | None = None
    renewal_term_months: int | None = Field(
        None, ge=WHOLE_TERMS["renewal_term_months"][0], le=WHOLE_TERMS["renewal_term_months"][1]
    )
    renewal_max_count: int | None = Field(
        None,
        ge=WHOLE_TERMS["renewal_max_count"][0],
        le=WHOLE_TERMS["renewal_max_count"][1],
        description="How many times the contract may renew; null: no limit. An automatic "
        "renewal that has used them up expires.",
    )
    renewal_count: int | None = Field(
        None,
        ge=WHOLE_TERMS["renewal_count"][0],
        le=WHOLE_TERMS["renewal_count"][1],
        description="How many times it has renewed so far.",
    )
    notice_days: int | None = Field(
        None, ge=WHOLE_TERMS["notice_days"][0], le=WHOLE_TERMS["notice_days"][1]
    )
    governing_law: str | None = Field(None, max_length=200)
    owner: str | None = Field(None, max_length=200)
    department: str | None = Field(None, max_length=200)
    paper_location: str | None = Field(None, max_length=500)
    master_id: int | None = None
    relation: Literal["amendment", "supplement", "annex", "renewal"] | None = None
    retention: Literal["Y", "D30", "D10"] | None = None
    legal_minimum_years: int | None = Field(
        None, ge=WHOLE_TERMS["legal_minimum_years"][0], le=WHOLE_TERMS["legal_minimum_years"][1]
    )
    fonds_code: str | None = Field(None, max_length=20, pattern=r"^[0-9A-Za-z]+$")
    parties: list[PartyPublic] | None = Field(None, max_length=20)
    reason: str | None = Field(None, max_length=2000, description="Why (kept in the history).")


class TransitionRequest(BaseModel):
    to: str = Field(description="The lifecycle state to move to.")
    reason: str | None = Field(None, max_length=2000)
    force: bool = Field(
        False, description="A correction outside the rules; needs a reason, is recorded as such."
    )


class FilingRequest(BaseModel):
    fonds_code: str | None = Field(None, max_length=20, pattern=r"^[0-9A-Za-z]+$")
    retention: Literal["Y", "D30", "D10"] | None = None
    force_reason: str | None = Field(
        None,
        min_length=1,
        max_length=2000,
        description="File it although an item of the 四性检测 FAILED: why (kept in the history).",
    )


class ContractEvents(BaseModel):
    id: int
    events: list[EventPublic]


# --- classification scheme ------------------------------------------------------------------------
class SchemeCodePublic(FromRecord):
    code: str
    name_zh: str
    name_en: str
    retention: str
    keywords: list[str]


class SchemePublic(FromRecord):
    version: int
    created_at: datetime
    created_by: str
    note: str | None
    codes: list[SchemeCodePublic]

    @classmethod
    def from_record(cls, s: SchemeRecord) -> SchemePublic:
        return cls.of(s)


class SchemeCodeUpdate(BaseModel):
    name_zh: str = Field(min_length=1, max_length=100)
    name_en: str = Field(min_length=1, max_length=100)
    retention: Literal["Y", "D30", "D10"]
    keywords: list[str] = Field(default_factory=list, max_length=200)
    note: str | None = Field(None, max_length=2000)


class ClassifierPublic(BaseModel):
    id: int
    created_at: datetime
    created_by: str
    scheme_version: int
    examples: int
    labels: list[str]
    accuracy: float | None = Field(description="Leave-one-out accuracy on the training set.")
    in_use: bool = Field(description="Enough examples to be offered at ingest.")


# --- reminders ------------------------------------------------------------------------------------
class ReminderPublic(FromRecord):
    id: int
    contract_id: int
    kind: str
    tier_days: int | None
    due_date: date
    payment_item_id: int | None
    message: str
    created_at: datetime
    emailed_at: datetime | None
    email_error: str | None

    @classmethod
    def from_record(cls, r: ReminderRecord) -> ReminderPublic:
        return cls.of(r)


class ReminderFeed(BaseModel):
    items: list[ReminderPublic]


class ReminderRun(BaseModel):
    today: date
    transitions: list[str]
    renewed: list[str]
    reminders: list[ReminderPublic]
    emailed: int
    email_error: str | None


def contract_public(record: ContractRecord) -> ContractPublic:
    return ContractPublic.from_record(record)


class ClausePublic(BaseModel):
    """A clause found in a contract: its type, where it is, the sentence, how sure the finding
    is and whether a person confirmed it (``accepted``) or not yet (``open``). Confirm or reject
    it as a suggestion: ``POST /api/v1/contracts/{id}/suggestions/{suggestion_id}/accept``."""

    suggestion_id: int
    type: str = Field(description="the clause type's slug (core.clauses), e.g. non_compete")
    label_en: str
    label_zh: str
    page: int | None
    start: int | None = Field(None, description="character offset into the page text")
    end: int | None = None
    sentence: str
    confidence: float
    method: str
    state: str

    @classmethod
    def from_record(cls, s: SuggestionRecord) -> ClausePublic:
        value = s.value if isinstance(s.value, dict) else {}
        slug = str(value.get("type") or "")
        return cls(
            suggestion_id=s.id,
            type=slug,
            label_en=clause_label(slug, "en"),
            label_zh=clause_label(slug, "zh"),
            page=s.page,
            start=s.char_start,
            end=s.char_end,
            sentence=str(value.get("sentence") or s.evidence or ""),
            confidence=s.confidence,
            method=s.method,
            state=s.state,
        )


class ContractClauses(BaseModel):
    id: int
    clauses: list[ClausePublic] = Field(
        description="Clauses found in the contract's text, open or confirmed, in text order."
    )
