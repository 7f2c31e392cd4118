"""The record store Protocol: one :class:`RecordStore`, composed of one Protocol per area.

Each area has its Protocol and plain records in ``<area>_base.py`` and its SQL half in
``<area>_sql.py``: contracts (and ingest claims), customers, terms (with suggestions and
master/amendment links), lifecycle (status, events, filing, holds, expiry), payments, scheme
(with the classifier), reminders, listing, seals, the evidence ledger, the OCR queue, approvals
and borrowing. ``SqlRecordStore`` (``storage.records.sql``) implements all of them, composed of
one mixin per area.

Why multiple inheritance and not an attribute per area (``records.customers.get(...)``): the
store is one database with one set of sessions, and callers already ask it directly
(``records.get_terms(id)``, ``store.create_customer(...)``) in services, ingest and signing.
Composing the Protocols keeps every one of those call sites as it is, while each area stays
readable on its own; and because a ``RecordStore`` has every area, no caller needs to probe
(``isinstance``/``hasattr``) what the store can do. Method names are unique across areas, which
the composition checks (mypy rejects two bases that define one name differently).

The access store (users, tokens, the access log) keeps its own object, since it carries state
of its own (the daily checkpoint hook): :meth:`RecordStore.access_store` makes one on the same
database.

Records are frozen dataclasses, not ORM objects, so nothing outside ``storage.records`` holds a
session or lazily loads anything. The names of the contract records are re-exported here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol, runtime_checkable

from storage.records.approvals_base import ApprovalStore
from storage.records.borrowing_base import BorrowStore
from storage.records.contracts_base import (
    Claim,
    ContractRecord,
    IngestedContracts,
    NewContract,
    PageRecord,
)
from storage.records.customers_base import CustomerStore
from storage.records.jobs_base import JobStore
from storage.records.ledger_base import LedgerStore
from storage.records.lifecycle_base import LifecycleStore
from storage.records.listing_base import ListingStore
from storage.records.ocr_base import OcrRecords
from storage.records.payments_base import PaymentStore
from storage.records.reminders_base import ReminderStore
from storage.records.scheme_base import SchemeStore
from storage.records.seals_base import SealStore
from storage.records.terms_base import TermsStore
from storage.records.vocabulary_base import VocabularyStore

MAX_ID = 2**63 - 1
"""Ids are 64-bit signed integers on every backend (the largest id a BIGINT holds). Here, not
in the SQL modules, so that checking an id does not load SQLAlchemy's ORM."""

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

    from storage.records.access_base import AccessStore

__all__ = [
    "MAX_ID",
    "Claim",
    "ContractRecord",
    "NewContract",
    "PageRecord",
    "RecordStore",
]


@runtime_checkable
class RecordStore(
    IngestedContracts,
    CustomerStore,
    TermsStore,
    LifecycleStore,
    PaymentStore,
    SchemeStore,
    ReminderStore,
    ListingStore,
    SealStore,
    LedgerStore,
    OcrRecords,
    VocabularyStore,
    ApprovalStore,
    BorrowStore,
    JobStore,
    Protocol,
):
    """Every area of the records database, and the database itself."""

    name: str
    engine: Engine
    """The database, for what works on whole tables (``migrate-storage`` copies and compares
    them)."""

    def check(self) -> None:
        """Connect; raise ConfigurationError naming ARCHIVE_DATABASE_URL when unusable."""

    def migrate(self) -> None:
        """Bring the schema to the newest migration."""

    def close(self) -> None: ...

    def access_store(self) -> AccessStore:
        """A new access store on the same database (so a change and its log entry share one
        transaction)."""
