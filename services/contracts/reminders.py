"""The reminder job (``contract-archive reminders run``) and the feeds it serves.

One run, for a given day, over every live contract with confirmed dates:

* a signed contract whose effective (or signing) date has come becomes ``active``;
* an automatic renewal whose expiry has passed rolls the expiry forward by its renewal term
  (default 12 months), as often as needed but no more times than it may still renew
  (``renewal_max_count`` less ``renewal_count``; no limit when none is stated), counts the
  renewals in ``renewal_count`` and records that it did (``auto_renewal``); one whose
  renewals are used up is treated as a contract that does not renew;
* any other contract whose expiry has passed becomes ``expired`` (到期), and an
  ``expired_unrenewed`` reminder is made unless a renewal contract names it as its master;
* a live contract within the widest reminder tier of its expiry becomes ``expiring``;
* tiered reminders (``ARCHIVE_REMINDER_DAYS``, default 90/60/30) are made before the expiry
  and before the notice deadline (expiry minus the notice period) of renewable contracts;
* every receivable or payable item past its due date and not fully paid is flagged
  (``payment_overdue``).

Reminders are events with a unique key, so a rerun on the same day (or a later day within the
same tier) never repeats one. They are served as a JSON feed, as an iCalendar feed, and, when
SMTP is set up, mailed once.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection, Sequence
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING

from core import clock
from core.plural import counted
from core.rules import LIVE_STATES, expiring_window, renewals_left, renews_automatically
from core.settings import Settings
from ingest.extraction.dates import add_months
from schemas.contract_model import ReminderPublic, ReminderRun
from services.mail import mail_configured, send_mail
from storage.records.contract_base import ContractStore, NewReminder, ReminderRecord, TermsRecord

if TYPE_CHECKING:
    from services.contracts.service import ContractService

log = logging.getLogger(__name__)

ACTOR = "system:reminders"
DEFAULT_RENEWAL_MONTHS = 12
MAX_ROLLS = 200
"""An automatic renewal is rolled forward at most this many terms in one run."""


def _tier(days_left: int, tiers: Sequence[int]) -> int | None:
    """The tightest tier that applies ``days_left`` before a date, or None (too early, or
    the date has passed)."""
    if days_left < 0:
        return None
    fitting = [t for t in tiers if days_left <= t]
    return min(fitting) if fitting else None


def run_reminders(service: ContractService, *, today: date | None = None) -> ReminderRun:
    day = today or clock.today(service.settings)
    store = service.store
    tiers = service.settings.reminder_tiers
    widest = expiring_window(tiers)
    transitions: list[str] = []
    renewed: list[str] = []
    made: list[ReminderRecord] = []

    def remind(new: NewReminder) -> None:
        saved = store.add_reminder(new)
        if saved is not None:
            made.append(saved)

    for contract_id, status, terms in store.contracts_for_rules():
        title = service.archive.get(contract_id).title
        label = f"#{contract_id} {title}" + (f" ({terms.contract_no})" if terms.contract_no else "")
        start = terms.effective_date or terms.sign_date
        if status == "signed" and start is not None and start <= day:
            service.transition(
                contract_id,
                "active",
                actor=ACTOR,
                reason=f"effective since {start}",
                today=day,
            )
            status = "active"
            transitions.append(f"{contract_id}: signed → active")
        expiry = terms.expiry_date
        if expiry is not None and status in LIVE_STATES and status != "signed":
            rolled = False
            if expiry < day and renews_automatically(
                terms.renewal_type, terms.renewal_max_count, terms.renewal_count
            ):
                months = terms.renewal_term_months or DEFAULT_RENEWAL_MONTHS
                left = renewals_left(terms.renewal_max_count, terms.renewal_count)
                most = MAX_ROLLS if left is None else min(left, MAX_ROLLS)
                new_expiry = expiry
                rolls = 0
                while new_expiry < day and rolls < most:
                    new_expiry = add_months(new_expiry, months)
                    rolls += 1
                count = (terms.renewal_count or 0) + rolls
                of = "" if terms.renewal_max_count is None else f" of {terms.renewal_max_count}"
                service.transition(
                    contract_id,
                    "renewed",
                    actor=ACTOR,
                    reason=(
                        f"automatic renewal {count}{of}: expiry {expiry} rolled forward "
                        f"{rolls} × {months} months to {new_expiry}"
                    ),
                    kind="auto_renewal",
                    today=day,
                    terms={"expiry_date": new_expiry, "renewal_count": count},
                )
                renewed.append(f"{contract_id}: {expiry} → {new_expiry}")
                terms = replace(terms, expiry_date=new_expiry, renewal_count=count)
                expiry = new_expiry
                status = "renewed"
                rolled = True
            if expiry < day and not renews_automatically(
                terms.renewal_type, terms.renewal_max_count, terms.renewal_count
            ):
                # not renewing, or its renewals used up (perhaps by the rolls just made)
                used_up = terms.renewal_type == "automatic"
                service.transition(
                    contract_id,
                    "expired",
                    actor=ACTOR,
                    reason=f"expired on {expiry}"
                    + (
                        f", its {counted(f'{terms.renewal_max_count} automatic renewals')} used up"
                        if used_up
                        else ""
                    ),
                    today=day,
                    terms={"ended_on": expiry},
                )
                transitions.append(f"{contract_id}: {status} → expired")
                status = "expired"
                if not store.successors(contract_id):
                    remind(
                        NewReminder(
                            key=f"unrenewed:{contract_id}:{expiry}",
                            contract_id=contract_id,
                            kind="expired_unrenewed",
                            due_date=expiry,
                            message=f"到期未续签: {label} expired on {expiry} without a renewal",
                        )
                    )
            elif rolled:
                pass  # renewed this run: moves on to expiring at the next run, as before
            elif (expiry - day).days <= widest and status in ("active", "renewed"):
                service.transition(
                    contract_id,
                    "expiring",
                    actor=ACTOR,
                    reason=f"expires on {expiry}, within {widest} days",
                    today=day,
                )
                transitions.append(f"{contract_id}: {status} → expiring")
                status = "expiring"
            elif (expiry - day).days > widest and status == "expiring":
                service.transition(
                    contract_id,
                    "active",
                    actor=ACTOR,
                    reason=f"the expiry moved to {expiry}, beyond {widest} days",
                    today=day,
                )
                transitions.append(f"{contract_id}: expiring → active")
                status = "active"
        if expiry is not None and status in LIVE_STATES:
            _expiry_reminders(terms, expiry, day, tiers, label, contract_id, remind)
        if status in LIVE_STATES or status == "expired":
            for item in store.list_payments(contract_id):
                if item.overdue(day):
                    remind(
                        NewReminder(
                            key=f"overdue:{item.id}:{item.due_date}",
                            contract_id=contract_id,
                            kind="payment_overdue",
                            due_date=item.due_date,
                            payment_item_id=item.id,
                            message=(
                                ("应收款未结清" if item.direction == "receivable" else "应付款未付")
                                + f": {label}: {item.currency} {item.outstanding} of "
                                f"{item.amount} was due on {item.due_date}"
                            ),
                        )
                    )
    from services.approvals import approval_reminders

    approval_reminders(service, now=clock.now(service.settings), mail=False)
    emailed, error = send_email(service.settings, store.unsent_reminders(), store)
    return ReminderRun(
        today=day,
        transitions=transitions,
        renewed=renewed,
        reminders=[ReminderPublic.from_record(r) for r in made],
        emailed=emailed,
        email_error=error,
    )


def _renewal_kind(terms: TermsRecord) -> str | None:
    """The renewal type the reminders go by: an automatic renewal that has used up its
    renewals (``renewal_max_count``) is reminded of as a contract that does not renew."""
    if terms.renewal_type == "automatic" and not renews_automatically(
        terms.renewal_type, terms.renewal_max_count, terms.renewal_count
    ):
        return "none"
    return terms.renewal_type


def _expiry_reminders(
    terms: TermsRecord,
    expiry: date,
    day: date,
    tiers: Sequence[int],
    label: str,
    contract_id: int,
    remind: Callable[[NewReminder], None],
) -> None:
    kind = _renewal_kind(terms)
    tier = _tier((expiry - day).days, tiers)
    if tier is not None:
        what = {
            "automatic": "renews automatically",
            "manual": "needs a renewal decision",
        }.get(kind or "", "expires")
        remind(
            NewReminder(
                key=f"expiry:{contract_id}:{expiry}:{tier}",
                contract_id=contract_id,
                kind="expiry",
                tier_days=tier,
                due_date=expiry,
                message=f"{label} {what} on {expiry} (within {tier} days)",
            )
        )
    if terms.notice_days and kind in ("automatic", "manual"):
        deadline = expiry - timedelta(days=terms.notice_days)
        tier = _tier((deadline - day).days, tiers)
        if tier is not None:
            action = (
                "to stop the automatic renewal"
                if kind == "automatic"
                else "to give notice of renewal"
            )
            remind(
                NewReminder(
                    key=f"notice:{contract_id}:{deadline}:{tier}",
                    contract_id=contract_id,
                    kind="notice",
                    tier_days=tier,
                    due_date=deadline,
                    message=(
                        f"{label}: last day {action} is {deadline} "
                        f"({terms.notice_days} days before {expiry}; within {tier} days)"
                    ),
                )
            )


def send_email(
    settings: Settings, reminders: Sequence[ReminderRecord], store: ContractStore
) -> tuple[int, str | None]:
    """Mail unsent reminders in one message; (count mailed, error). Without SMTP settings
    nothing is mailed and reminders stay unsent (they are still served by the feeds)."""
    if not mail_configured(settings) or not reminders:
        return 0, None
    body = "\n".join(f"[{r.kind}] {r.due_date}: {r.message}" for r in reminders) + "\n"
    ids = [r.id for r in reminders]
    failed = send_mail(settings, f"Contract archive: {len(reminders)} reminder(s)", body)
    if failed is not None:
        error = f"mailing reminders failed: {failed}"
        log.warning(error)
        store.mark_emailed(ids, at=None, error=error[:1000])
        return 0, error
    store.mark_emailed(ids, at=datetime.now(UTC), error=None)
    return len(ids), None


# --- iCalendar --------------------------------------------------------------------------------
def _ics_text(value: str) -> str:
    return value.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,").replace("\n", "\\n")


def _fold(line: str) -> list[str]:
    """RFC 5545 line folding: at most 75 octets a line, continued with a space."""
    out: list[str] = []
    data = line.encode()
    while len(data) > 75:
        cut = 75 if not out else 74
        while cut > 0 and (data[cut] & 0xC0) == 0x80:  # never split a UTF-8 character
            cut -= 1
        out.append(data[:cut].decode())
        data = data[cut:]
    out.append(data.decode())
    return [out[0]] + [" " + part for part in out[1:]]


def calendar(
    service: ContractService, *, host: str = "contract-archive", hidden: Collection[str] = ()
) -> str:
    """Expiries, notice deadlines and unpaid payment items of live contracts, as all-day
    events of one iCalendar (RFC 5545) that calendar programs subscribe to."""
    store = service.store
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        "PRODID:-//contract-archive//reminders//EN",
        "CALSCALE:GREGORIAN",
        "METHOD:PUBLISH",
        "X-WR-CALNAME:Contract archive",
    ]

    def event(uid: str, day: date, summary: str, description: str) -> None:
        lines.extend(
            [
                "BEGIN:VEVENT",
                f"UID:{uid}@{host}",
                f"DTSTAMP:{stamp}",
                f"DTSTART;VALUE=DATE:{day:%Y%m%d}",
                f"DTEND;VALUE=DATE:{day + timedelta(days=1):%Y%m%d}",
                f"SUMMARY:{_ics_text(summary)}",
                f"DESCRIPTION:{_ics_text(description)}",
                "TRANSP:TRANSPARENT",
                "END:VEVENT",
            ]
        )

    for contract_id, status, terms in store.contracts_for_rules():
        if status not in LIVE_STATES:
            continue
        record = service.archive.get(contract_id)
        if record.classification in hidden:  # a restricted class the reader may not see
            continue
        title = record.title
        if terms.expiry_date is not None:
            event(
                f"expiry-{contract_id}-{terms.expiry_date}",
                terms.expiry_date,
                f"到期 expires: {title}",
                f"contract #{contract_id}, renewal: {_renewal_kind(terms) or 'unknown'}",
            )
            if terms.notice_days and _renewal_kind(terms) in ("automatic", "manual"):
                deadline = terms.expiry_date - timedelta(days=terms.notice_days)
                event(
                    f"notice-{contract_id}-{deadline}",
                    deadline,
                    f"通知期限 notice deadline: {title}",
                    f"contract #{contract_id}: {terms.notice_days} days before {terms.expiry_date}",
                )
        for item in store.list_payments(contract_id):
            if item.outstanding > 0:
                event(
                    f"payment-{item.id}-{item.due_date}",
                    item.due_date,
                    f"{'收款' if item.direction == 'receivable' else '付款'} "
                    f"{item.currency} {item.outstanding}: {title}",
                    f"contract #{contract_id}, payment item {item.id}"
                    + (f": {item.description}" if item.description else ""),
                )
    lines.append("END:VCALENDAR")
    return "".join(part + "\r\n" for line in lines for part in _fold(line))
