"""Reminders and the calendar feed (hidden classes applied)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from core.errors import NotFound
from core.roles import Perm
from schemas.contract_model import ReminderFeed, ReminderPublic, ReminderRun
from services.contracts.reminders import calendar, run_reminders
from services.facade.base import Area, action


class RemindersArea(Area):
    """Reminders and the calendar feed (hidden classes applied)."""

    def _visible_line(self, line: str) -> bool:
        """A line of the job's report (``17: signed → active``) about a contract the caller
        may see."""
        head = line.split(":", 1)[0].strip()
        return head.isdigit() and self.acting.may_see_id(int(head))

    @action("reminder.list", Perm.CONTRACTS_VIEW, logged="read")
    def feed(
        self,
        days: int | None = 30,
        kind: str | None = None,
        contract_id: int | None = None,
        limit: int = 100,
    ) -> ReminderFeed:
        """Reminders made in the last ``days`` (None: all), newest first, of contracts the
        caller may see. A contract they may not see is missing, as elsewhere."""
        if contract_id is not None and not self.acting.may_see_id(contract_id):
            raise NotFound(f"contract {contract_id} does not exist")
        since = datetime.now(UTC) - timedelta(days=days) if days is not None else None
        items = self.archive.contracts.store.list_reminders(
            since=since, kinds=(kind,) if kind else (), contract_id=contract_id, limit=limit
        )
        if self.acting.hidden:
            items = [r for r in items if self.acting.may_see_id(r.contract_id)]
        self.acting.note(returned=[r.id for r in items])
        return ReminderFeed(items=[ReminderPublic.from_record(r) for r in items])

    @action("reminder.run", Perm.SETTINGS_MANAGE, logged="change", unit=False)
    def run(self, today: date | None = None) -> ReminderRun:
        """The reminder job (cron): lifecycle moves, automatic renewals, reminders, e-mail. What
        it reports back leaves out the contracts the caller may not see."""
        result = run_reminders(self.archive.contracts, today=today)
        self.acting.note(reminders=len(result.reminders), emailed=result.emailed)
        if not self.acting.hidden:
            return result
        return result.model_copy(
            update={
                "transitions": [t for t in result.transitions if self._visible_line(t)],
                "renewed": [r for r in result.renewed if self._visible_line(r)],
                "reminders": [r for r in result.reminders if self.acting.may_see_id(r.contract_id)],
            }
        )

    @action("calendar.view", Perm.CONTRACTS_VIEW, logged="read")
    def calendar(self, host: str = "contract-archive") -> str:
        """The iCalendar feed: expiries, notice deadlines, payments due, of live contracts the
        caller may see."""
        return calendar(self.archive.contracts, host=host, hidden=self.acting.hidden)
