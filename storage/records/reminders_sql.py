"""The SQL half of :class:`~storage.records.reminders_base.ReminderStore`.

A reminder is inserted with ``ON CONFLICT DO NOTHING`` on its key, so a repeated or concurrent
run of the reminder job adds it once.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime

from sqlalchemy import select, update

from storage.records.contract_models import (
    Reminder,
)
from storage.records.models import utcnow
from storage.records.reminders_base import NewReminder, ReminderRecord
from storage.records.sql_common import SqlPart


def _reminder(row: Reminder) -> ReminderRecord:
    return ReminderRecord(
        id=row.id,
        key=row.key,
        contract_id=row.contract_id,
        kind=row.kind,
        tier_days=row.tier_days,
        due_date=row.due_date,
        payment_item_id=row.payment_item_id,
        message=row.message,
        created_at=row.created_at,
        emailed_at=row.emailed_at,
        email_error=row.email_error,
    )


class SqlReminders(SqlPart):
    """Reminders (a part of ``SqlRecordStore``)."""

    def add_reminder(self, reminder: NewReminder) -> ReminderRecord | None:
        """Insert a reminder unless one with its key exists (a concurrent or repeated run)."""
        with self._session(write=True) as s:
            new_id = s.execute(
                self._insert(Reminder.__table__)
                .values(
                    key=reminder.key,
                    contract_id=reminder.contract_id,
                    kind=reminder.kind,
                    tier_days=reminder.tier_days,
                    due_date=reminder.due_date,
                    payment_item_id=reminder.payment_item_id,
                    message=reminder.message,
                    created_at=utcnow(),
                )
                .on_conflict_do_nothing(index_elements=["key"])
                .returning(Reminder.__table__.c.id)
            ).scalar()
            if new_id is None:
                return None
            row = s.get(Reminder, new_id)
            assert row is not None
            return _reminder(row)

    def list_reminders(
        self,
        *,
        since: datetime | None = None,
        kinds: Collection[str] = (),
        contract_id: int | None = None,
        limit: int = 100,
    ) -> list[ReminderRecord]:
        with self._session(write=False) as s:
            stmt = select(Reminder)
            if since is not None:
                stmt = stmt.where(Reminder.created_at >= since)
            if kinds:
                stmt = stmt.where(Reminder.kind.in_(list(kinds)))
            if contract_id is not None:
                stmt = stmt.where(Reminder.contract_id == contract_id)
            rows = s.scalars(stmt.order_by(Reminder.id.desc()).limit(limit))
            return [_reminder(r) for r in rows]

    def unsent_reminders(self) -> list[ReminderRecord]:
        with self._session(write=False) as s:
            rows = s.scalars(
                select(Reminder).where(Reminder.emailed_at.is_(None)).order_by(Reminder.id)
            )
            return [_reminder(r) for r in rows]

    def mark_emailed(
        self, reminder_ids: Sequence[int], *, at: datetime | None, error: str | None
    ) -> None:
        if not reminder_ids:
            return
        with self._session(write=True) as s:
            s.execute(
                update(Reminder)
                .where(Reminder.id.in_(list(reminder_ids)))
                .values(emailed_at=at, email_error=error)
            )
