"""The reminders area of the record store: reminders of expiries, notices and payments.

A reminder has a unique key, so a repeated or concurrent run of the reminder job adds it once.

The Protocol :class:`ReminderStore` and the plain records it returns (frozen dataclasses, never ORM
objects). Its SQL implementation, :class:`~storage.records.reminders_sql.SqlReminders`, is a part of
``SqlRecordStore``; :class:`~storage.records.base.RecordStore` includes the Protocol.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Protocol, runtime_checkable


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


@runtime_checkable
class ReminderStore(Protocol):
    """Reminders the reminder job wrote, and whether they were mailed."""

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
