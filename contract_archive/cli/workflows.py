"""`contract-archive approvals` and `borrow`: approval before signing, and borrowing (借阅)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from pydantic import BaseModel

from contract_archive.cli import acts, app, esc, out
from contract_archive.cli.times import when
from core.errors import InvalidRequest
from core.plural import count
from services.facade import Facade

approvals_app = typer.Typer(
    help="Approval before signing: the approvers' queue, approve, reject, submit, the rules."
)
rules_app = typer.Typer(help="The approval rules (versioned): show, set from a JSON file.")
borrow_app = typer.Typer(help="Borrowing (借阅): request, grant, refuse, return, list.")
app.add_typer(approvals_app, name="approvals")
approvals_app.add_typer(rules_app, name="rules")
app.add_typer(borrow_app, name="borrow")

AsJson = Annotated[bool, typer.Option("--json", help="Print JSON.")]


def _json(data: Any) -> None:
    if isinstance(data, BaseModel):
        data = data.model_dump(mode="json")
    out.print(json.dumps(data, ensure_ascii=False, default=str), markup=False)


# -- approvals ---------------------------------------------------------------------------------
@approvals_app.command("list")
@acts
def approvals_list(
    f: Facade,
    mine: Annotated[bool, typer.Option("--mine", help="Only those waiting for me.")] = False,
    state: Annotated[str, typer.Option(help="open, approved, rejected or all.")] = "open",
    as_json: AsJson = False,
) -> None:
    """Rounds of approval of contracts I may see (the approver's queue with --mine)."""
    result = f.approvals.queue(mine=mine, state=None if state == "all" else state)
    if as_json:
        _json(result)
        return
    if not result.items:
        out.print("nothing waiting" if mine else "no rounds of approval")
    for a in result.items:
        where = f"step {a.current_step}/{len(a.steps)}" if a.current_step else a.state
        out.print(
            f"#{a.contract_id} {esc(a.title)}  [{a.status}] round {a.round_no} {where}  "
            f"submitted by {esc(a.submitted_by)}" + ("  ← yours to decide" if a.may_decide else "")
        )


@approvals_app.command("submit")
@acts
def approvals_submit(
    f: Facade, contract_id: Annotated[int, typer.Argument()], as_json: AsJson = False
) -> None:
    """Submit a draft for approval: the rules select the chain of approvers."""
    a = f.approvals.submit(contract_id)
    if as_json:
        _json(a)
        return
    out.print(f"#{contract_id}: draft → in_approval, {count(len(a.steps), 'steps')}")
    for s in a.steps:
        out.print(f"  step {s.number}: {s.mode} of {', '.join(s.approvers)}")


@approvals_app.command("approve")
@acts
def approvals_approve(
    f: Facade,
    contract_id: Annotated[int, typer.Argument()],
    comment: Annotated[str | None, typer.Option(help="A comment, kept with the decision.")] = None,
    as_json: AsJson = False,
) -> None:
    """Approve the current step of a contract in approval (the last one moves it to signing)."""
    a = f.approvals.approve(contract_id, comment=comment)
    if as_json:
        _json(a)
        return
    where = f"waiting at step {a.current_step}" if a.current_step else a.status
    out.print(f"#{contract_id}: approved; {where}")


@approvals_app.command("reject")
@acts
def approvals_reject(
    f: Facade,
    contract_id: Annotated[int, typer.Argument()],
    comment: Annotated[str, typer.Option(help="Why (required): the submitter reads it.")],
    as_json: AsJson = False,
) -> None:
    """Reject: the contract returns to draft with the reason."""
    a = f.approvals.reject(contract_id, comment=comment)
    if as_json:
        _json(a)
        return
    out.print(f"#{contract_id}: rejected; back to {a.status}")


@approvals_app.command("remind")
@acts
def approvals_remind(f: Facade, as_json: AsJson = False) -> None:
    """Remind the approvers of steps waiting longer than ARCHIVE_APPROVAL_REMINDER_HOURS."""
    run = f.approvals.remind()
    if as_json:
        _json(run)
        return
    for r in run.reminders:
        out.print(f"#{r.contract_id} step {r.step}: waiting for {', '.join(r.approvers)}")
    out.print(f"{count(len(run.reminders), 'reminders')}, {run.emailed} e-mailed")


@approvals_app.command("risk")
@acts
def approvals_risk(
    f: Facade,
    customer: Annotated[str, typer.Argument(help="The customer's id, name or alias.")],
    flag: Annotated[
        list[str] | None, typer.Option("--flag", help="A risk flag (repeatable); none clears.")
    ] = None,
) -> None:
    """Set a customer's risk flags (what the customer_flag condition of a rule selects on)."""
    flags = f.approvals.set_risk_flags(customer, flag or [])
    out.print("risk flags: " + (", ".join(flags) or "none"))


@rules_app.command("show")
@acts
def rules_show(f: Facade) -> None:
    """The current approval rules, as JSON."""
    _json(f.approvals.rules())


@rules_app.command("set")
@acts
def rules_set(
    f: Facade,
    path: Annotated[Path, typer.Argument(help='A JSON file: {"rules": [...]}.')],
    note: Annotated[str | None, typer.Option(help="Why the rules change.")] = None,
) -> None:
    """Replace the approval rules: a new version."""
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise InvalidRequest(f"cannot read {path}: {exc.strerror or exc}") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InvalidRequest(f"{path} is not JSON: {exc}") from None
    saved = f.approvals.set_rules(raw, note=note)
    out.print(f"approval rules version {saved.version}: {count(len(saved.rules), 'rules')}")


# -- borrowing ---------------------------------------------------------------------------------
def _borrow_line(b: Any) -> str:
    access = "view+download" if b.download else "view"
    state = b.state + (" (in force)" if b.live else "") + (" OVERDUE" if b.overdue else "")
    until = f" until {when(b.expires_at)}" if b.expires_at else ""
    title = f" {esc(b.title)}" if b.title else ""
    return (
        f"request {b.id}: #{b.contract_id}{title} by {esc(b.borrower)}, {access}, "
        f"{count(b.days, 'days')}: {state}{until} — {esc(b.purpose)}"
    )


@borrow_app.command("request")
@acts
def borrow_request(
    f: Facade,
    contract_id: Annotated[int, typer.Argument()],
    purpose: Annotated[str, typer.Option(help="Why (借阅用途); kept with every read.")],
    days: Annotated[int, typer.Option(help="How many days.")],
    download: Annotated[bool, typer.Option("--download", help="Download too.")] = False,
    as_json: AsJson = False,
) -> None:
    """Ask to borrow a contract of a restricted class."""
    b = f.borrowing.request(contract_id, purpose=purpose, days=days, download=download)
    if as_json:
        _json(b)
        return
    out.print(f"request {b.id} sent: #{contract_id}, {count(days, 'days')}; pending")


@borrow_app.command("grant")
@acts
def borrow_grant(
    f: Facade,
    request_id: Annotated[int, typer.Argument()],
    comment: Annotated[str | None, typer.Option(help="A comment for the borrower.")] = None,
    as_json: AsJson = False,
) -> None:
    """Grant a pending borrowing request (from now, for its days)."""
    b = f.borrowing.grant(request_id, comment=comment)
    if as_json:
        _json(b)
        return
    out.print(_borrow_line(b))


@borrow_app.command("refuse")
@acts
def borrow_refuse(
    f: Facade,
    request_id: Annotated[int, typer.Argument()],
    comment: Annotated[str, typer.Option(help="Why (required).")],
    as_json: AsJson = False,
) -> None:
    """Refuse a pending borrowing request."""
    b = f.borrowing.refuse(request_id, comment=comment)
    if as_json:
        _json(b)
        return
    out.print(_borrow_line(b))


@borrow_app.command("return")
@acts
def borrow_return(
    f: Facade, request_id: Annotated[int, typer.Argument()], as_json: AsJson = False
) -> None:
    """Return a borrowing early (or withdraw a pending request)."""
    b = f.borrowing.give_back(request_id)
    if as_json:
        _json(b)
        return
    out.print(_borrow_line(b))


@borrow_app.command("list")
@acts
def borrow_list(
    f: Facade,
    mine: Annotated[bool, typer.Option("--mine", help="Only my own.")] = False,
    open_only: Annotated[
        bool, typer.Option("--open", help="Only pending, in force or overdue.")
    ] = False,
    as_json: AsJson = False,
) -> None:
    """Borrowing requests and grants: mine, and those of contracts I am cleared for."""
    result = f.borrowing.list_requests(mine=mine, open_only=open_only)
    if as_json:
        _json(result)
        return
    if not result.items:
        out.print("no borrowings")
    for b in result.items:
        out.print(_borrow_line(b))
