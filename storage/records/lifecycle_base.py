"""The lifecycle area of the record store: status, events, filing, holds, expiry and disposal.

Every change of status is an event written in the same transaction; filing gives the
contract its archival code once; holds stop disposal.

The Protocol :class:`LifecycleStore` and the plain records it returns (frozen dataclasses, never ORM
objects). Its SQL implementation, :class:`~storage.records.lifecycle_sql.SqlLifecycle`, is a part of
``SqlRecordStore``; :class:`~storage.records.base.RecordStore` includes the Protocol.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Protocol, runtime_checkable

from storage.records.terms_base import TermsRecord


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


@runtime_checkable
class LifecycleStore(Protocol):
    """Status transitions and their events, filing, holds; what the rules and disposal see."""

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

    def place_hold(self, contract_id: int, reason: str, *, actor: str) -> HoldRecord: ...

    def release_hold(
        self, contract_id: int, hold_id: int, *, actor: str, reason: str
    ) -> HoldRecord: ...

    def list_holds(self, contract_id: int) -> list[HoldRecord]: ...

    def contracts_for_rules(self) -> list[tuple[int, str, TermsRecord]]:
        """(id, status, terms) of every contract the reminder job looks at."""

    def find_archival_code(self, code: str) -> int | None:
        """The contract filed under ``code``, if any."""

    def disposal_due_ids(self, today: date) -> list[int]:
        """Filed contracts whose disposal is due on or before ``today``."""
