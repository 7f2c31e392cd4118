"""The contract and customer model on the command line: `customer`, `contract`, `payment`,
`classification`, `reminders` and `import`."""

# No ``from __future__ import annotations`` here: ``@acts`` hands Typer the command's signature
# as it is, so the annotations must be objects for Typer to see the options and their help.
import json
from datetime import date
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Annotated, Any

import typer
from pydantic import BaseModel

from contract_archive.cli import EXIT_FAILED, acts, app, err, esc, out
from core.errors import InvalidRequest
from core.plural import count, counted
from schemas.contract_model import CustomerView
from services.facade import Facade

customer_app = typer.Typer(help="Customers and all their contracts.", no_args_is_help=True)
contract_app = typer.Typer(
    help="Contract terms, lifecycle, filing (档号), holds and relations.", no_args_is_help=True
)
payment_app = typer.Typer(help="Payment plans and what was paid.", no_args_is_help=True)
scheme_app = typer.Typer(help="The classification scheme (versioned).", no_args_is_help=True)
reminders_app = typer.Typer(help="Expiry, notice and payment reminders.", no_args_is_help=True)
app.add_typer(customer_app, name="customer")
app.add_typer(contract_app, name="contract")
app.add_typer(payment_app, name="payment")
app.add_typer(scheme_app, name="classification")
app.add_typer(reminders_app, name="reminders")

JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON.")]
ReasonOpt = Annotated[str | None, typer.Option(help="Why (kept in the history).")]


def _print_json(data: Any) -> None:
    if isinstance(data, BaseModel):
        data = data.model_dump(mode="json")
    elif isinstance(data, list):
        data = [d.model_dump(mode="json") if isinstance(d, BaseModel) else d for d in data]
    out.print(json.dumps(data, ensure_ascii=False, default=str), markup=False)


def _money(items: list[Any]) -> str:
    return ", ".join(f"{m.currency} {m.amount:,}" for m in items) or "-"


def _date(text: str, what: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise InvalidRequest(f"{what} {text!r} is not a date (YYYY-MM-DD)") from None


def _decimal(text: str, what: str) -> Decimal:
    try:
        value = Decimal(text.replace(",", ""))
    except InvalidOperation:
        raise InvalidRequest(f"{what} {text!r} is not a number") from None
    if not value.is_finite() or value < 0:
        raise InvalidRequest(f"{what} {text!r} must be zero or more")
    return value.quantize(Decimal("0.01"))


# --- customers --------------------------------------------------------------------------------
@customer_app.command("list")
@acts
def customer_list(
    f: Facade,
    query: Annotated[str | None, typer.Option("--query", "-q", help="Part of a name.")] = None,
    limit: Annotated[int, typer.Option(min=1, max=200)] = 50,
    offset: Annotated[int, typer.Option(min=0)] = 0,
    as_json: JsonOpt = False,
) -> None:
    """Customers with their totals."""
    page = f.customers.list_page(q=query, offset=offset, limit=limit)
    if as_json:
        _print_json(page)
        return
    out.print(f"[bold]{page.total}[/] customers")
    for item in page.items:
        c, t = item.customer, item.totals
        out.print(
            f"[bold]#{c.id}[/] {esc(c.name)}  contracts {t.contracts} (live {t.live}, "
            f"expiring {t.expiring}, 到期未续签 {t.expired_unrenewed})  "
            f"outstanding {_money(t.outstanding)}  overdue {_money(t.overdue)}"
        )


def _print_customer(view: CustomerView) -> None:
    c, t = view.customer, view.totals
    out.print(f"[bold]#{c.id} {esc(c.name)}[/]")
    if c.aliases:
        out.print(f"  aliases: {esc(', '.join(c.aliases))}")
    if c.registration_no:
        out.print(f"  registration: {c.registration_no} ({c.registration_kind})")
    out.print(
        f"  contracts {t.contracts}, live {t.live}, expiring {t.expiring}, "
        f"到期未续签 {t.expired_unrenewed}; amount {_money(t.amount)}; "
        f"outstanding {_money(t.outstanding)}; overdue {_money(t.overdue)}"
    )
    for name, facets in view.facets.items():
        out.print(f"  by {name}: " + ", ".join(f"{esc(f.value)} {f.count}" for f in facets))
    for line in view.contracts:
        out.print(
            f"  #{line.id} [{line.status}] {esc(line.title)}  "
            f"expiry {line.expiry_date or '-'}  outstanding {_money(line.outstanding)}"
            + (f"  [red]{line.overdue_items} overdue[/]" if line.overdue_items else "")
        )


@customer_app.command("show")
@acts
def customer_show(
    f: Facade,
    ref: Annotated[str, typer.Argument(help="Customer id, name or alias.")],
    as_json: JsonOpt = False,
) -> None:
    """One customer with every contract, its status, expiry and receivables."""
    view = f.customers.view(ref)
    _print_json(view) if as_json else _print_customer(view)


@customer_app.command("add")
@acts
def customer_add(
    f: Facade,
    name: Annotated[str, typer.Argument(help="The customer's name.")],
    registration_no: Annotated[
        str | None, typer.Option(help="统一社会信用代码 (checked) or a foreign number.")
    ] = None,
    alias: Annotated[list[str] | None, typer.Option(help="A name variant (repeatable).")] = None,
    notes: Annotated[str | None, typer.Option()] = None,
    as_json: JsonOpt = False,
) -> None:
    """Create a customer."""
    c = f.customers.create(name, registration_no=registration_no, aliases=alias or [], notes=notes)
    _print_json({"id": c.id, "name": c.name}) if as_json else out.print(f"#{c.id} {esc(c.name)}")


@customer_app.command("alias")
@acts
def customer_alias(
    f: Facade,
    customer_id: Annotated[int, typer.Argument()],
    alias: Annotated[str, typer.Argument(help="The name variant.")],
) -> None:
    """Add a name variant to a customer."""
    c = f.customers.add_alias(customer_id, alias)
    out.print(f"#{c.id} {esc(c.name)}: aliases {esc(', '.join(c.aliases))}")


@customer_app.command("merge")
@acts
def customer_merge(
    f: Facade,
    target_id: Annotated[int, typer.Argument(help="The customer that stays.")],
    source_id: Annotated[int, typer.Argument(help="The customer merged into it.")],
) -> None:
    """Merge two customers: contracts and names of the second go to the first."""
    c = f.customers.merge(target_id, source_id)
    out.print(f"merged into #{c.id} {esc(c.name)}")


# --- contracts --------------------------------------------------------------------------------
@contract_app.command("list")
@acts
def contract_list(
    f: Facade,
    customer: Annotated[str | None, typer.Option(help="Customer id, name or alias.")] = None,
    status: Annotated[str | None, typer.Option(help="States, comma-separated.")] = None,
    classification: Annotated[str | None, typer.Option(help="Codes, comma-separated.")] = None,
    expiring_within: Annotated[
        str | None, typer.Option(help="Live contracts expiring within e.g. 90d, 12w, 3m.")
    ] = None,
    overdue_payments: Annotated[
        bool, typer.Option(help="Only contracts with payments past due (应收款未结清).")
    ] = False,
    expired_unrenewed: Annotated[
        bool, typer.Option(help="Only expired contracts without a renewal (到期未续签).")
    ] = False,
    limit: Annotated[int, typer.Option(min=1, max=500)] = 50,
    offset: Annotated[int, typer.Option(min=0)] = 0,
    as_json: JsonOpt = False,
) -> None:
    """List contracts by customer, status, classification, expiry and payments."""
    page = f.dashboard.contracts(
        customer=customer,
        status=status,
        classification=classification,
        expiring_within=expiring_within,
        overdue_payments=overdue_payments,
        expired_unrenewed=expired_unrenewed,
        offset=offset,
        limit=limit,
    )
    if as_json:
        _print_json(page)
        return
    out.print(f"[bold]{page.total}[/] contracts")
    for line in page.items:
        out.print(
            f"#{line.id} [{line.status}] {esc(line.title)}  "
            f"{esc(line.customer or '-')}  {line.classification or '-'}  "
            f"expiry {line.expiry_date or '-'}  outstanding {_money(line.outstanding)}"
            + (f"  [red]{line.overdue_items} overdue[/]" if line.overdue_items else "")
        )


@contract_app.command("terms")
@acts
def contract_terms(
    f: Facade, contract_id: Annotated[int, typer.Argument()], as_json: JsonOpt = False
) -> None:
    """Confirmed terms, and suggestions with their evidence and confidence."""
    view = f.terms.view(contract_id)
    if as_json:
        _print_json(view)
        return
    out.print(f"[bold]#{contract_id} {esc(view.contract.title)}[/]  [{view.status}]")
    out.print("  allowed next: " + (", ".join(view.allowed_transitions) or "-"))
    for key, value in view.confirmed.model_dump().items():
        if value is not None:
            out.print(f"  [green]confirmed[/] {key}: {esc(str(value))}")
    for field_name, items in view.suggested.items():
        for s in items:
            where = f"p.{s.evidence.page}" if s.evidence else ""
            out.print(
                f"  [yellow]suggested[/] #{s.id} {field_name}: {esc(s.display)} "
                f"({s.confidence:.2f}, {s.state}) {where}"
            )
    if view.archival.archival_code:
        out.print(f"  档号 {view.archival.archival_code}  disposal {view.archival.disposal_due}")


def _term_values(values: list[str]) -> dict[str, Any]:
    changes: dict[str, Any] = {}
    for pair in values:
        key, sep, value = pair.partition("=")
        if not sep:
            raise InvalidRequest(f"{pair!r} is not field=value")
        key = key.strip()
        parsed: Any = value.strip() or None
        if parsed is not None:
            if key.endswith("_date"):
                parsed = _date(parsed, key)
            elif key == "amount":
                parsed = _decimal(parsed, key)
            elif key in (
                "customer_id",
                "master_id",
                "renewal_term_months",
                "renewal_max_count",
                "renewal_count",
                "notice_days",
                "legal_minimum_years",
            ):
                if not parsed.isdigit():
                    raise InvalidRequest(f"{key} must be a whole number")
                parsed = int(parsed)
        changes[key] = parsed
    return changes


@contract_app.command("set")
@acts
def contract_set(
    f: Facade,
    contract_id: Annotated[int, typer.Argument()],
    values: Annotated[
        list[str], typer.Argument(help="field=value pairs, e.g. expiry_date=2027-01-31.")
    ],
    reason: ReasonOpt = None,
) -> None:
    """Confirm or correct terms (an empty value clears a field)."""
    changes = _term_values(values)
    f.terms.update(contract_id, changes, reason=reason)
    out.print(f"#{contract_id}: set {', '.join(changes)}")


@contract_app.command("accept")
@acts
def contract_accept(
    f: Facade,
    contract_id: Annotated[int, typer.Argument()],
    suggestion_id: Annotated[int, typer.Argument()],
) -> None:
    """Accept a suggestion as the confirmed value."""
    f.terms.accept(contract_id, suggestion_id)
    out.print(f"#{contract_id}: suggestion {suggestion_id} accepted")


@contract_app.command("reject")
@acts
def contract_reject(
    f: Facade,
    contract_id: Annotated[int, typer.Argument()],
    suggestion_id: Annotated[int, typer.Argument()],
) -> None:
    """Reject a suggestion."""
    f.terms.reject(contract_id, suggestion_id)
    out.print(f"#{contract_id}: suggestion {suggestion_id} rejected")


@contract_app.command("relate")
@acts
def contract_relate(
    f: Facade,
    contract_id: Annotated[int, typer.Argument(help="The amendment, supplement, ...")],
    master_id: Annotated[int, typer.Argument(help="Its master contract.")],
    relation: Annotated[
        str, typer.Option(help="amendment, supplement, annex or renewal.")
    ] = "amendment",
    reason: ReasonOpt = None,
) -> None:
    """Link a contract to its master contract."""
    if relation not in ("amendment", "supplement", "annex", "renewal"):
        raise InvalidRequest("relation must be amendment, supplement, annex or renewal")
    f.terms.update(contract_id, {"master_id": master_id, "relation": relation}, reason=reason)
    out.print(f"#{contract_id} is a {relation} of #{master_id}")


@contract_app.command("transition")
@acts
def contract_transition(
    f: Facade,
    contract_id: Annotated[int, typer.Argument()],
    to: Annotated[str, typer.Argument(help="The state to move to.")],
    reason: ReasonOpt = None,
    force: Annotated[
        bool, typer.Option(help="A correction outside the rules (needs --reason).")
    ] = False,
) -> None:
    """Move a contract along its lifecycle (recorded with who, when and why)."""
    e = f.lifecycle.transition(contract_id, to, reason=reason, force=force)
    out.print(f"#{contract_id}: {e.from_value} → {e.to_value}")


@contract_app.command("history")
@acts
def contract_history(
    f: Facade, contract_id: Annotated[int, typer.Argument()], as_json: JsonOpt = False
) -> None:
    """Every recorded change: who, when, what and why."""
    events = f.terms.history(contract_id)
    if as_json:
        _print_json(events)
        return
    for e in events:
        change = f"{e.from_value or ''} → {e.to_value or ''}"
        field_name = e.data.get("field", "")
        out.print(
            f"{e.at:%Y-%m-%d %H:%M:%S} {esc(e.actor)} {e.kind} {field_name} "
            f"{esc(change)}" + (f"  ({esc(e.reason)})" if e.reason else "")
        )


@contract_app.command("clauses")
@acts
def contract_clauses(
    f: Facade,
    contract_id: Annotated[int, typer.Argument()],
    as_json: JsonOpt = False,
    purpose: Annotated[
        str | None,
        typer.Option(help="Why (借阅目的): the sentences of a restricted class need it."),
    ] = None,
) -> None:
    """The clauses found in the contract: type, page, confidence, sentence (confirm or reject
    one with `contract accept|reject ID SUGGESTION_ID`)."""
    found = f.terms.clauses(contract_id, purpose=purpose)
    if as_json:
        _print_json(found)
        return
    if not found:
        out.print(f"#{contract_id}: no clauses found")
    for c in found:
        mark = "confirmed" if c.state == "accepted" else "suggested"
        out.print(
            f"{esc(c.type)} ({esc(c.label_zh)}) page {c.page or '-'} "
            f"{c.confidence:.2f} {mark} [suggestion {c.suggestion_id}]: {esc(c.sentence[:160])}"
        )


@contract_app.command("file")
@acts
def contract_file(
    f: Facade,
    contract_id: Annotated[int, typer.Argument()],
    fonds_code: Annotated[str | None, typer.Option(help="Default: ARCHIVE_FONDS_CODE.")] = None,
    retention: Annotated[
        str | None, typer.Option(help="Y, D30 or D10 (default: the code's).")
    ] = None,
    force_reason: Annotated[
        str | None,
        typer.Option(
            "--force-reason",
            help="File it although an item of the 四性检测 FAILED: why (kept in the history).",
        ),
    ] = None,
) -> None:
    """File the contract: the 四性检测 (four-properties check) of its package, then its
    archival code (档号), once. A FAILED item refuses the filing unless --force-reason."""
    filed = f.lifecycle.file(
        contract_id, fonds_code=fonds_code, retention=retention, force_reason=force_reason
    )
    out.print(f"#{contract_id}: 档号 {filed.archival_code}, disposal {filed.disposal_due}")
    out.print(
        f"四性检测 report: contract-archive contract fourprops {contract_id}"
        + (" (filed with a reason: forced)" if force_reason else ""),
        markup=False,
    )


@contract_app.command("fourprops")
@acts
def contract_fourprops(
    f: Facade, contract_id: Annotated[int, typer.Argument()], as_json: JsonOpt = False
) -> None:
    """The 四性检测 report made when the contract was filed: authenticity (真实性), integrity
    (完整性), usability (可用性), security (安全性), each item with its verdict and reason.
    Exits 1 when an item FAILED (a filing forced past it)."""
    report = f.lifecycle.fourprops(contract_id)
    if as_json:
        _print_json(report)
    else:
        out.print(
            f"#{contract_id} 四性检测 {report.overall} (checked {report.checked_at} by "
            f"{report.checked_by}; {report.file} sha256 {report.sha256[:16]}…"
            + (
                f", sealed in manifest v{report.sealed_in.version} ({report.sealed_in.state})"
                if report.sealed_in
                else ", not in a manifest yet"
            )
            + ")",
            markup=False,
        )
        for p in report.properties:
            out.print(f"{p.name_zh} {p.name_en}: {p.status}", markup=False)
            for i in p.items:
                out.print(f"  {i.id}: {i.status}: {i.reason}", markup=False)
        if report.forced:
            out.print(
                f"forced by {report.forced.get('by')}: {report.forced.get('reason')}",
                markup=False,
            )
    if report.overall == "FAILED":
        raise typer.Exit(EXIT_FAILED)


@contract_app.command("hold")
@acts
def contract_hold(
    f: Facade,
    contract_id: Annotated[int, typer.Argument()],
    reason: Annotated[str, typer.Argument(help="Why (litigation, audit, ...).")],
) -> None:
    """Place a hold: the contract cannot be disposed of while it is held."""
    hold = f.lifecycle.place_hold(contract_id, reason)
    out.print(f"#{contract_id}: hold {hold.id} placed")


@contract_app.command("release")
@acts
def contract_release(
    f: Facade,
    contract_id: Annotated[int, typer.Argument()],
    hold_id: Annotated[int, typer.Argument()],
    reason: Annotated[str, typer.Argument()],
) -> None:
    """Release a hold."""
    f.lifecycle.release_hold(contract_id, hold_id, reason)
    out.print(f"#{contract_id}: hold {hold_id} released")


@contract_app.command("disposal")
@acts
def contract_disposal(f: Facade, as_json: JsonOpt = False) -> None:
    """Filed contracts whose disposal is due, and the holds that stop it."""
    due = f.lifecycle.disposal_due()
    if as_json:
        _print_json(due)
        return
    for d in due:
        held = "  [red]held: " + esc("; ".join(d["holds"])) + "[/]" if d["held"] else ""
        out.print(f"#{d['id']} {d['archival_code']} due {d['disposal_due']}{held}")
    out.print(f"{len(due)} due for disposal")


# --- payments ---------------------------------------------------------------------------------
@payment_app.command("add")
@acts
def payment_add(
    f: Facade,
    contract_id: Annotated[int, typer.Argument()],
    due: Annotated[str, typer.Option(help="Due date, YYYY-MM-DD.")],
    amount: Annotated[str, typer.Option(help="Amount due.")],
    currency: Annotated[str, typer.Option()] = "CNY",
    direction: Annotated[str, typer.Option(help="receivable or payable.")] = "receivable",
    description: Annotated[str | None, typer.Option()] = None,
) -> None:
    """Add a payment plan item."""
    if direction not in ("receivable", "payable"):
        raise InvalidRequest("direction must be receivable or payable")
    value = _decimal(amount, "amount")
    if value <= 0:
        raise InvalidRequest("the amount must be more than zero")
    item = f.payments.add(
        contract_id,
        due_date=_date(due, "due"),
        amount=value,
        currency=currency.upper(),
        direction=direction,
        description=description,
    )
    out.print(f"#{contract_id}: payment item {item.id} due {item.due_date}")


@payment_app.command("paid")
@acts
def payment_paid(
    f: Facade,
    contract_id: Annotated[int, typer.Argument()],
    item_id: Annotated[int, typer.Argument()],
    amount: Annotated[str, typer.Option(help="The total paid so far.")],
    on: Annotated[str, typer.Option("--date", help="Paid on, YYYY-MM-DD.")],
) -> None:
    """Record what was paid on a payment item."""
    item = f.payments.record(
        contract_id, item_id, paid_amount=_decimal(amount, "amount"), paid_date=_date(on, "date")
    )
    out.print(f"#{contract_id}: item {item.id} paid {item.paid_amount} of {item.amount}")


@payment_app.command("list")
@acts
def payment_list(
    f: Facade, contract_id: Annotated[int, typer.Argument()], as_json: JsonOpt = False
) -> None:
    """The payment plan of a contract."""
    items = f.payments.list_items(contract_id)
    if as_json:
        _print_json(items)
        return
    for p in items:
        late = "  [red]overdue[/]" if p.overdue else ""
        out.print(
            f"{p.id}: {p.direction} {p.currency} {p.amount} due {p.due_date}, "
            f"paid {p.paid_amount}{late}"
        )


# --- classification scheme --------------------------------------------------------------------
@scheme_app.command("show")
@acts
def scheme_show(
    f: Facade,
    version: Annotated[int | None, typer.Option(min=1)] = None,
    as_json: JsonOpt = False,
) -> None:
    """The scheme: codes, names and default retention."""
    scheme = f.scheme.show(version)
    if as_json:
        _print_json(scheme)
        return
    out.print(f"[bold]scheme version {scheme.version}[/]")
    for c in scheme.codes:
        out.print(f"  {c.code:4} {esc(c.name_zh)} ({esc(c.name_en)})  {c.retention}")


@scheme_app.command("set")
@acts
def scheme_set(
    f: Facade,
    code: Annotated[str, typer.Argument()],
    name_zh: Annotated[str, typer.Option("--zh")],
    name_en: Annotated[str, typer.Option("--en")],
    retention: Annotated[str, typer.Option(help="Y, D30 or D10.")],
    keyword: Annotated[
        list[str] | None, typer.Option(help="A keyword for the rules (repeatable).")
    ] = None,
    note: Annotated[str | None, typer.Option()] = None,
) -> None:
    """Add or change a code: a new version of the scheme."""
    s = f.scheme.set_code(
        code,
        name_zh=name_zh,
        name_en=name_en,
        retention=retention,
        keywords=keyword or [],
        note=note,
    )
    out.print(f"scheme version {s.version}")


@scheme_app.command("retire")
@acts
def scheme_retire(
    f: Facade,
    code: Annotated[str, typer.Argument()],
    note: Annotated[str | None, typer.Option()] = None,
) -> None:
    """Retire a code: a new version of the scheme."""
    s = f.scheme.retire_code(code, note=note)
    out.print(f"scheme version {s.version}")


@scheme_app.command("train")
@acts
def scheme_train(f: Facade) -> None:
    """Train the classifier on the contracts whose classification is confirmed."""
    c = f.scheme.train()
    acc = f", leave-one-out accuracy {c.accuracy:.2f}" if c.accuracy is not None else ""
    out.print(f"classifier {c.id}: {count(c.examples, 'examples')}{acc}; in use: {c.in_use}")


# --- reminders --------------------------------------------------------------------------------
@reminders_app.command("run")
@acts
def reminders_run(
    f: Facade,
    today: Annotated[
        str | None, typer.Option(help="Run as of this day (YYYY-MM-DD); default today.")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """The reminder job, for cron: lifecycle moves, automatic renewals, reminders, e-mail."""
    result = f.reminders.run(today=_date(today, "today") if today else None)
    if as_json:
        _print_json(result)
        return
    for line in result.transitions:
        out.print(f"moved    {esc(line)}")
    for line in result.renewed:
        out.print(f"renewed  {esc(line)}")
    for r in result.reminders:
        out.print(f"reminder [{r.kind}] {r.due_date}: {esc(r.message)}")
    out.print(counted(f"{len(result.reminders)} new reminders, {result.emailed} mailed"))
    if result.email_error:
        err.print(f"[bold red]error:[/] {esc(result.email_error)}")
        raise typer.Exit(EXIT_FAILED)


@reminders_app.command("list")
@acts
def reminders_list(
    f: Facade,
    contract_id: Annotated[int | None, typer.Option("--contract")] = None,
    limit: Annotated[int, typer.Option(min=1, max=1000)] = 50,
    as_json: JsonOpt = False,
) -> None:
    """Reminders made so far, newest first."""
    items = f.reminders.feed(days=None, contract_id=contract_id, limit=limit).items
    if as_json:
        _print_json(items)
        return
    for r in items:
        out.print(f"{r.created_at:%Y-%m-%d} [{r.kind}] {r.due_date}: {esc(r.message)}")


# --- legacy import ----------------------------------------------------------------------------
@app.command("import")
@acts
def import_(
    f: Facade,
    csv_file: Annotated[Path, typer.Argument(help="metadata.csv (columns: see the README).")],
    dry_run: Annotated[bool, typer.Option(help="Check every row, write nothing.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Import a legacy (paper) archive: one CSV row per file; all rows or none."""
    report = f.imports.metadata(csv_file, dry_run=dry_run)
    if as_json:
        _print_json(
            {
                "rows": report.rows,
                "dry_run": report.dry_run,
                "ok": report.ok,
                "errors": [{"line": e.line, "message": e.message} for e in report.errors],
                "imported": report.imported,
                "filed": report.filed,
            }
        )
    else:
        for e in report.errors:
            err.print(f"[bold red]line {e.line}:[/] {esc(e.message)}")
        if report.ok and dry_run:
            out.print(counted(f"{report.rows} rows checked: all good (dry run, nothing written)"))
        elif report.ok:
            out.print(
                counted(f"imported {len(report.imported)} contracts, filed {len(report.filed)}")
            )
        else:
            err.print(f"{count(len(report.errors), 'bad rows')}: nothing was imported")
    if not report.ok:
        raise typer.Exit(EXIT_FAILED)
