"""The contract model's part of the record store: :class:`ContractStore` and its records.

The contract model (issue 6) spans seven areas, each with its own module: customers, terms,
lifecycle, payments, scheme, reminders and listing (``<area>_base.py`` for the Protocol and
records, ``<area>_sql.py`` for the SQL half). :class:`ContractStore` composes their Protocols for
code that works on the contract model only (``services.contracts``, ``ingest.linking``); the
full :class:`~storage.records.base.RecordStore` includes all of them. The records are
re-exported here under the names callers import.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from storage.records.customers_base import CustomerRecord, CustomerStore
from storage.records.lifecycle_base import EventRecord, HoldRecord, LifecycleStore
from storage.records.listing_base import ContractFilter, ContractSummary, ListingStore, Money
from storage.records.payments_base import PaymentRecord, PaymentStore
from storage.records.reminders_base import NewReminder, ReminderRecord, ReminderStore
from storage.records.scheme_base import ClassifierRecord, SchemeCode, SchemeRecord, SchemeStore
from storage.records.terms_base import (
    EDITABLE_TERMS,
    NewSuggestion,
    PartyRecord,
    SuggestionRecord,
    TermsRecord,
    TermsStore,
)

__all__ = [
    "EDITABLE_TERMS",
    "ClassifierRecord",
    "ContractFilter",
    "ContractStore",
    "ContractSummary",
    "CustomerRecord",
    "EventRecord",
    "HoldRecord",
    "Money",
    "NewReminder",
    "NewSuggestion",
    "PartyRecord",
    "PaymentRecord",
    "ReminderRecord",
    "SchemeCode",
    "SchemeRecord",
    "SuggestionRecord",
    "TermsRecord",
]


@runtime_checkable
class ContractStore(
    CustomerStore,
    TermsStore,
    LifecycleStore,
    PaymentStore,
    SchemeStore,
    ReminderStore,
    ListingStore,
    Protocol,
):
    """What the contract model needs from the record store."""
