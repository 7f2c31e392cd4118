"""Reminders of approval steps that wait too long (ARCHIVE_APPROVAL_REMINDER_HOURS).

Each waiting step gets one reminder in the reminder feed (kind ``approval_waiting``, keyed by
round and step, so a rerun adds none), naming the approvers who have not decided; the reminder
job mails unsent reminders when SMTP is configured. Called by the reminder job
(:func:`services.contracts.reminders.run_reminders`) and by ``approvals remind``.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from schemas.workflows import ApprovalReminder, ApprovalReminderRun
from storage.records.reminders_base import NewReminder

if TYPE_CHECKING:
    from services.contracts.service import ContractService


def approval_reminders(
    service: ContractService, *, now: datetime, mail: bool = True
) -> ApprovalReminderRun:
    store = service.archive.records
    limit = timedelta(hours=service.settings.approval_reminder_hours)
    made: list[ApprovalReminder] = []
    for r in store.list_rounds(states=("open",)):
        if now - r.step_started_at < limit:
            continue
        step = r.steps[r.current_step]
        waiting = sorted(set(step.get("approvers", ())) - r.approved_in(r.current_step))
        title = service.archive.get(r.contract_id).title
        saved = store.add_reminder(
            NewReminder(
                key=f"approval:{r.id}:{r.current_step}",
                contract_id=r.contract_id,
                kind="approval_waiting",
                due_date=r.step_started_at.date(),
                message=(
                    f"待审批: #{r.contract_id} {title}: step {r.current_step + 1} has waited "
                    f"since {r.step_started_at:%Y-%m-%d %H:%M} UTC for " + ", ".join(waiting)
                ),
            )
        )
        if saved is not None:
            store.mark_reminded(r.id, now)
            made.append(
                ApprovalReminder(
                    round_id=r.id,
                    contract_id=r.contract_id,
                    step=r.current_step + 1,
                    approvers=waiting,
                    waiting_since=r.step_started_at,
                    emailed=False,
                )
            )
    emailed, error = 0, None
    if mail and made:
        from services.contracts.reminders import send_email

        emailed, error = send_email(service.settings, store.unsent_reminders(), store)
    if emailed:
        made = [m.model_copy(update={"emailed": True}) for m in made]
    return ApprovalReminderRun(reminders=made, emailed=emailed, email_error=error)
