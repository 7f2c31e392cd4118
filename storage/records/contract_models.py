"""Tables of the customer and contract model (issue 6).

The spine's ``contracts`` row stays the archived document. Everything a person knows about the
contract as a legal instrument lives beside it here:

* ``customers`` and ``customer_aliases``: one customer, its name variants matched to it;
* ``contract_terms`` (one row per contract): the *confirmed* values (number, parties, amounts,
  dates, renewal, ownership, relations, archival fields). Extracted values never go here;
* ``extraction_suggestions``: what extraction found, with page, character span and confidence,
  until a person accepts or rejects it;
* ``contract_parties``, ``payment_items``, ``contract_holds``;
* ``contract_events``: every lifecycle transition, confirmation, reclassification, filing,
  hold and automatic renewal, with who, when and why;
* ``classification_schemes`` / ``classification_codes``: the versioned classification scheme;
* ``archival_counters``: one row per archival series, locked while a 件号 is taken, so that
  archival codes are unique and gap-free even with several processes filing at once;
* ``reminders``: what the reminder job produced (API feed, iCalendar feed, e-mail);
* ``classifier_models``: the small classifier trained on the archive's confirmed contracts.

``contracts.status`` *is* the lifecycle status (see the README); ``contracts.classification``
and ``contracts.customer`` hold what search uses: the confirmed value first, else the
suggestion or the name given at upload.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import Mapped, mapped_column

from storage.records.models import Base, BigIntId, utcnow

CENT = Decimal("0.01")


class MoneyCents(TypeDecorator[Decimal]):
    """An amount as a Decimal in Python, stored exactly as whole cents in a BIGINT.

    SQLite has no exact decimal type (SQLAlchemy's Numeric goes through floats there); cents
    in an integer are exact on every backend and still sum in SQL.
    """

    impl = BigInteger
    cache_ok = True

    def process_bind_param(self, value: Decimal | None, dialect: Dialect) -> int | None:
        if value is None:
            return None
        cents = (Decimal(value) / CENT).to_integral_value(rounding=ROUND_HALF_EVEN)
        return int(cents)

    def process_result_value(self, value: int | None, dialect: Dialect) -> Decimal | None:
        if value is None:
            return None
        return (Decimal(int(value)) * CENT).quantize(CENT)


Money = MoneyCents()


class Customer(Base):
    __tablename__ = "customers"

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(500))
    name_key: Mapped[str] = mapped_column(String(500), unique=True)
    """The name folded for matching (``core.names.name_key``)."""
    loose_key: Mapped[str] = mapped_column(String(500), index=True)
    """The name key without its legal form: equal loose keys are variants of one name."""
    registration_no: Mapped[str | None] = mapped_column(String(100), unique=True)
    registration_kind: Mapped[str | None] = mapped_column(String(20))
    """``uscc`` (统一社会信用代码, check digit verified) or ``other`` (a foreign number)."""
    contacts: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    notes: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by: Mapped[str] = mapped_column(String(200))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class CustomerAlias(Base):
    __tablename__ = "customer_aliases"

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True, autoincrement=True)
    customer_id: Mapped[int] = mapped_column(
        BigIntId, ForeignKey("customers.id", ondelete="CASCADE"), index=True
    )
    alias: Mapped[str] = mapped_column(String(500))
    alias_key: Mapped[str] = mapped_column(String(500), unique=True)
    loose_key: Mapped[str] = mapped_column(String(500), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by: Mapped[str] = mapped_column(String(200))


class ContractTerms(Base):
    """Confirmed values of one contract. Every column is empty until a person (or an import)
    confirms it; suggestions live in ``extraction_suggestions``."""

    __tablename__ = "contract_terms"

    contract_id: Mapped[int] = mapped_column(
        BigIntId, ForeignKey("contracts.id", ondelete="CASCADE"), primary_key=True
    )
    customer_id: Mapped[int | None] = mapped_column(
        BigIntId, ForeignKey("customers.id", ondelete="SET NULL"), index=True
    )
    customer_text: Mapped[str | None] = mapped_column(String(500))
    """The customer name as given at upload, kept as it was typed."""
    contract_no: Mapped[str | None] = mapped_column(String(200), index=True)
    our_entity: Mapped[str | None] = mapped_column(String(500))
    classification: Mapped[str | None] = mapped_column(String(50))
    classification_version: Mapped[int | None] = mapped_column(Integer)
    amount: Mapped[Decimal | None] = mapped_column(Money)
    currency: Mapped[str | None] = mapped_column(String(3))
    sign_date: Mapped[date | None] = mapped_column(Date)
    effective_date: Mapped[date | None] = mapped_column(Date)
    expiry_date: Mapped[date | None] = mapped_column(Date, index=True)
    renewal_type: Mapped[str | None] = mapped_column(String(20))
    renewal_term_months: Mapped[int | None] = mapped_column(Integer)
    renewal_max_count: Mapped[int | None] = mapped_column(Integer)
    """How many times the contract may renew; null: no limit stated (renews without end)."""
    renewal_count: Mapped[int | None] = mapped_column(Integer)
    """How many times it has renewed (the reminder job counts automatic renewals); null: none."""
    notice_days: Mapped[int | None] = mapped_column(Integer)
    governing_law: Mapped[str | None] = mapped_column(String(200))
    owner: Mapped[str | None] = mapped_column(String(200))
    department: Mapped[str | None] = mapped_column(String(200))
    paper_location: Mapped[str | None] = mapped_column(String(500))
    master_id: Mapped[int | None] = mapped_column(
        BigIntId, ForeignKey("contracts.id", ondelete="SET NULL"), index=True
    )
    relation: Mapped[str | None] = mapped_column(String(20))
    """How this contract relates to ``master_id``: amendment, supplement, annex or renewal."""
    ended_on: Mapped[date | None] = mapped_column(Date)
    """When the contract ended (expired, terminated, voided): counts the legal minimum."""
    fonds_code: Mapped[str | None] = mapped_column(String(50))
    archival_year: Mapped[int | None] = mapped_column(Integer)
    retention: Mapped[str | None] = mapped_column(String(5))
    legal_minimum_years: Mapped[int | None] = mapped_column(Integer)
    archival_series: Mapped[str | None] = mapped_column(String(200))
    archival_item_no: Mapped[int | None] = mapped_column(Integer)
    archival_code: Mapped[str | None] = mapped_column(String(250), unique=True)
    filed_at: Mapped[datetime | None] = mapped_column()
    filed_by: Mapped[str | None] = mapped_column(String(200))
    disposal_due: Mapped[date | None] = mapped_column(Date, index=True)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_by: Mapped[str] = mapped_column(String(200))

    __table_args__ = (
        UniqueConstraint("archival_series", "archival_item_no", name="uq_contract_terms_series_no"),
    )


class ContractParty(Base):
    __tablename__ = "contract_parties"

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True, autoincrement=True)
    contract_id: Mapped[int] = mapped_column(
        BigIntId, ForeignKey("contracts.id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int] = mapped_column(Integer)
    role: Mapped[str] = mapped_column(String(50))
    """party_a, party_b, party_c, seller, buyer, lessor, ... or a free role."""
    role_label: Mapped[str | None] = mapped_column(String(100))
    """The role as the contract writes it: 甲方（出卖人）, Party A, "Licensee"."""
    name: Mapped[str] = mapped_column(String(500))
    customer_id: Mapped[int | None] = mapped_column(
        BigIntId, ForeignKey("customers.id", ondelete="SET NULL")
    )
    is_us: Mapped[bool] = mapped_column(default=False)


class PaymentItem(Base):
    __tablename__ = "payment_items"

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True, autoincrement=True)
    contract_id: Mapped[int] = mapped_column(
        BigIntId, ForeignKey("contracts.id", ondelete="CASCADE"), index=True
    )
    description: Mapped[str | None] = mapped_column(String(500))
    direction: Mapped[str] = mapped_column(String(20), default="receivable")
    """``receivable`` (the counterparty pays us) or ``payable``."""
    due_date: Mapped[date] = mapped_column(Date, index=True)
    amount: Mapped[Decimal] = mapped_column(Money)
    currency: Mapped[str] = mapped_column(String(3))
    paid_amount: Mapped[Decimal] = mapped_column(Money, default=Decimal("0"))
    paid_date: Mapped[date | None] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by: Mapped[str] = mapped_column(String(200))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class ContractEvent(Base):
    """Append-only history of a contract: no code path updates or deletes a row."""

    __tablename__ = "contract_events"

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True, autoincrement=True)
    contract_id: Mapped[int] = mapped_column(
        BigIntId, ForeignKey("contracts.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(40), index=True)
    from_value: Mapped[str | None] = mapped_column(String(500))
    to_value: Mapped[str | None] = mapped_column(String(500))
    reason: Mapped[str | None] = mapped_column(Text)
    actor: Mapped[str] = mapped_column(String(200))
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class ExtractionSuggestion(Base):
    __tablename__ = "extraction_suggestions"

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True, autoincrement=True)
    contract_id: Mapped[int] = mapped_column(
        BigIntId, ForeignKey("contracts.id", ondelete="CASCADE"), index=True
    )
    field: Mapped[str] = mapped_column(String(40))
    value: Mapped[Any] = mapped_column(JSON)
    display: Mapped[str] = mapped_column(String(1000))
    confidence: Mapped[float] = mapped_column(Float)
    method: Mapped[str] = mapped_column(String(60))
    page: Mapped[int | None] = mapped_column(Integer)
    char_start: Mapped[int | None] = mapped_column(Integer)
    char_end: Mapped[int | None] = mapped_column(Integer)
    evidence: Mapped[str | None] = mapped_column(Text)
    state: Mapped[str] = mapped_column(String(20), default="open")
    """open, accepted, rejected or superseded (a later extraction replaced it)."""
    extractor_version: Mapped[str] = mapped_column(String(20))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    decided_by: Mapped[str | None] = mapped_column(String(200))
    decided_at: Mapped[datetime | None] = mapped_column()

    __table_args__ = (Index("ix_extraction_suggestions_contract_field", "contract_id", "field"),)


class ContractHold(Base):
    __tablename__ = "contract_holds"

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True, autoincrement=True)
    contract_id: Mapped[int] = mapped_column(
        BigIntId, ForeignKey("contracts.id", ondelete="CASCADE"), index=True
    )
    reason: Mapped[str] = mapped_column(Text)
    placed_by: Mapped[str] = mapped_column(String(200))
    placed_at: Mapped[datetime] = mapped_column(default=utcnow)
    released_by: Mapped[str | None] = mapped_column(String(200))
    released_at: Mapped[datetime | None] = mapped_column()
    release_reason: Mapped[str | None] = mapped_column(Text)


class ClassificationScheme(Base):
    __tablename__ = "classification_schemes"

    version: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by: Mapped[str] = mapped_column(String(200))
    note: Mapped[str | None] = mapped_column(Text)


class ClassificationCode(Base):
    __tablename__ = "classification_codes"

    scheme_version: Mapped[int] = mapped_column(
        Integer, ForeignKey("classification_schemes.version", ondelete="CASCADE"), primary_key=True
    )
    code: Mapped[str] = mapped_column(String(10), primary_key=True)
    name_zh: Mapped[str] = mapped_column(String(100))
    name_en: Mapped[str] = mapped_column(String(100))
    retention: Mapped[str] = mapped_column(String(5))
    keywords: Mapped[list[str]] = mapped_column(JSON, default=list)


class ArchivalCounter(Base):
    """The last 件号 taken in one archival series (全宗号-HT·年度-保管期限-分类)."""

    __tablename__ = "archival_counters"

    series: Mapped[str] = mapped_column(String(200), primary_key=True)
    last_no: Mapped[int] = mapped_column(Integer, default=0)


class Reminder(Base):
    __tablename__ = "reminders"

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True, autoincrement=True)
    key: Mapped[str] = mapped_column(String(200), unique=True)
    """What makes a reminder unique, so a rerun of the job never repeats one."""
    contract_id: Mapped[int] = mapped_column(
        BigIntId, ForeignKey("contracts.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(30), index=True)
    tier_days: Mapped[int | None] = mapped_column(Integer)
    due_date: Mapped[date] = mapped_column(Date)
    payment_item_id: Mapped[int | None] = mapped_column(
        BigIntId, ForeignKey("payment_items.id", ondelete="CASCADE")
    )
    message: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    emailed_at: Mapped[datetime | None] = mapped_column()
    email_error: Mapped[str | None] = mapped_column(Text)


class ClassifierModel(Base):
    __tablename__ = "classifier_models"

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True, autoincrement=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by: Mapped[str] = mapped_column(String(200))
    scheme_version: Mapped[int] = mapped_column(Integer)
    examples: Mapped[int] = mapped_column(Integer)
    labels: Mapped[list[str]] = mapped_column(JSON)
    model: Mapped[dict[str, Any]] = mapped_column(JSON)
    accuracy: Mapped[float | None] = mapped_column(Float)
    """Leave-one-out accuracy on the training contracts (None with too few of them)."""
