"""The contract and customer model on the command line: `customer`, `contract`, `payment`,
`classification`, `reminders` and `import`."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Annotated, Any

import typer
from pydantic import BaseModel

from contract_archive.cli import EXIT_FAILED, app, err, esc, open_archive, out, run
from core.errors import InvalidRequest
from schemas.contract_model import CustomerView
from services.archive import default_user
from services.contracts.importer import import_metadata
from services.contracts.reminders import run_reminders

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
def customer_list(
    query: Annotated[str | None, typer.Option("--query", "-q", help="Part of a name.")] = None,
    limit: Annotated[int, typer.Option(min=1, max=200)] = 50,
    offset: Annotated[int, typer.Option(min=0)] = 0,
    as_json: JsonOpt = False,
) -> None:
    """Customers with their totals."""

    def body() -> None:
        with open_archive() as archive:
            page = archive.contracts.list_customers(q=query, offset=offset, limit=limit)
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

    run(body)


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
def customer_show(
    ref: Annotated[str, typer.Argument(help="Customer id, name or alias.")],
    as_json: JsonOpt = False,
) -> None:
    """One customer with every contract, its status, expiry and receivables."""

    def body() -> None:
        with open_archive() as archive:
            view = archive.contracts.customer_view(ref)
        _print_json(view) if as_json else _print_customer(view)

    run(body)


@customer_app.command("add")
def customer_add(
    name: Annotated[str, typer.Argument(help="The customer's name.")],
    registration_no: Annotated[
        str | None, typer.Option(help="统一社会信用代码 (checked) or a foreign number.")
    ] = None,
    alias: Annotated[list[str] | None, typer.Option(help="A name variant (repeatable).")] = None,
    notes: Annotated[str | None, typer.Option()] = None,
    as_json: JsonOpt = False,
) -> None:
    """Create a customer."""

    def body() -> None:
        with open_archive() as archive:
            c = archive.contracts.create_customer(
                name,
                actor=default_user(),
                registration_no=registration_no,
                aliases=alias or [],
                notes=notes,
            )
        _print_json({"id": c.id, "name": c.name}) if as_json else out.print(
            f"#{c.id} {esc(c.name)}"
        )

    run(body)


@customer_app.command("alias")
def customer_alias(
    customer_id: Annotated[int, typer.Argument()],
    alias: Annotated[str, typer.Argument(help="The name variant.")],
) -> None:
    """Add a name variant to a customer."""

    def body() -> None:
        with open_archive() as archive:
            c = archive.contracts.add_alias(customer_id, alias, actor=default_user())
        out.print(f"#{c.id} {esc(c.name)}: aliases {esc(', '.join(c.aliases))}")

    run(body)


@customer_app.command("merge")
def customer_merge(
    target_id: Annotated[int, typer.Argument(help="The customer that stays.")],
    source_id: Annotated[int, typer.Argument(help="The customer merged into it.")],
) -> None:
    """Merge two customers: contracts and names of the second go to the first."""

    def body() -> None:
        with open_archive() as archive:
            c = archive.contracts.merge_customers(target_id, source_id, actor=default_user())
        out.print(f"merged into #{c.id} {esc(c.name)}")

    run(body)


# --- contracts --------------------------------------------------------------------------------
@contract_app.command("list")
def contract_list(
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

    def body() -> None:
        with open_archive() as archive:
            flt = archive.contracts.contract_filter(
                customer=customer,
                status=status,
                classification=classification,
                expiring_within=expiring_within,
                overdue_payments=overdue_payments,
                expired_unrenewed=expired_unrenewed,
            )
            page = archive.contracts.list_contracts(flt, offset=offset, limit=limit)
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

    run(body)


@contract_app.command("terms")
def contract_terms(contract_id: Annotated[int, typer.Argument()], as_json: JsonOpt = False) -> None:
    """Confirmed terms, and suggestions with their evidence and confidence."""

    def body() -> None:
        with open_archive() as archive:
            view = archive.contracts.view(contract_id)
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
            out.print(
                f"  档号 {view.archival.archival_code}  disposal {view.archival.disposal_due}"
            )

    run(body)


@contract_app.command("set")
def contract_set(
    contract_id: Annotated[int, typer.Argument()],
    values: Annotated[
        list[str], typer.Argument(help="field=value pairs, e.g. expiry_date=2027-01-31.")
    ],
    reason: ReasonOpt = None,
) -> None:
    """Confirm or correct terms (an empty value clears a field)."""

    def body() -> None:
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
                    "notice_days",
                    "legal_minimum_years",
                ):
                    if not parsed.isdigit():
                        raise InvalidRequest(f"{key} must be a whole number")
                    parsed = int(parsed)
            changes[key] = parsed
        with open_archive() as archive:
            archive.contracts.confirm(contract_id, changes, actor=default_user(), reason=reason)
        out.print(f"#{contract_id}: set {', '.join(changes)}")

    run(body)


@contract_app.command("accept")
def contract_accept(
    contract_id: Annotated[int, typer.Argument()],
    suggestion_id: Annotated[int, typer.Argument()],
) -> None:
    """Accept a suggestion as the confirmed value."""

    def body() -> None:
        with open_archive() as archive:
            archive.contracts.accept_suggestion(contract_id, suggestion_id, actor=default_user())
        out.print(f"#{contract_id}: suggestion {suggestion_id} accepted")

    run(body)


@contract_app.command("reject")
def contract_reject(
    contract_id: Annotated[int, typer.Argument()],
    suggestion_id: Annotated[int, typer.Argument()],
) -> None:
    """Reject a suggestion."""

    def body() -> None:
        with open_archive() as archive:
            archive.contracts.reject_suggestion(contract_id, suggestion_id, actor=default_user())
        out.print(f"#{contract_id}: suggestion {suggestion_id} rejected")

    run(body)


@contract_app.command("relate")
def contract_relate(
    contract_id: Annotated[int, typer.Argument(help="The amendment, supplement, ...")],
    master_id: Annotated[int, typer.Argument(help="Its master contract.")],
    relation: Annotated[
        str, typer.Option(help="amendment, supplement, annex or renewal.")
    ] = "amendment",
    reason: ReasonOpt = None,
) -> None:
    """Link a contract to its master contract."""

    def body() -> None:
        if relation not in ("amendment", "supplement", "annex", "renewal"):
            raise InvalidRequest("relation must be amendment, supplement, annex or renewal")
        with open_archive() as archive:
            archive.contracts.confirm(
                contract_id,
                {"master_id": master_id, "relation": relation},
                actor=default_user(),
                reason=reason,
            )
        out.print(f"#{contract_id} is a {relation} of #{master_id}")

    run(body)


@contract_app.command("transition")
def contract_transition(
    contract_id: Annotated[int, typer.Argument()],
    to: Annotated[str, typer.Argument(help="The state to move to.")],
    reason: ReasonOpt = None,
    force: Annotated[
        bool, typer.Option(help="A correction outside the rules (needs --reason).")
    ] = False,
) -> None:
    """Move a contract along its lifecycle (recorded with who, when and why)."""

    def body() -> None:
        with open_archive() as archive:
            e = archive.contracts.transition(
                contract_id, to, actor=default_user(), reason=reason, force=force
            )
        out.print(f"#{contract_id}: {e.from_value} → {e.to_value}")

    run(body)


@contract_app.command("history")
def contract_history(
    contract_id: Annotated[int, typer.Argument()], as_json: JsonOpt = False
) -> None:
    """Every recorded change: who, when, what and why."""

    def body() -> None:
        with open_archive() as archive:
            archive.get(contract_id)
            events = archive.contracts.events(contract_id)
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

    run(body)


@contract_app.command("file")
def contract_file(
    contract_id: Annotated[int, typer.Argument()],
    fonds_code: Annotated[str | None, typer.Option(help="Default: ARCHIVE_FONDS_CODE.")] = None,
    retention: Annotated[
        str | None, typer.Option(help="Y, D30 or D10 (default: the code's).")
    ] = None,
) -> None:
    """File the contract: assign its archival code (档号), once."""

    def body() -> None:
        with open_archive() as archive:
            terms = archive.contracts.file(
                contract_id, actor=default_user(), fonds_code=fonds_code, retention=retention
            )
        out.print(f"#{contract_id}: 档号 {terms.archival_code}, disposal {terms.disposal_due}")

    run(body)


@contract_app.command("hold")
def contract_hold(
    contract_id: Annotated[int, typer.Argument()],
    reason: Annotated[str, typer.Argument(help="Why (litigation, audit, ...).")],
) -> None:
    """Place a hold: the contract cannot be disposed of while it is held."""

    def body() -> None:
        with open_archive() as archive:
            hold = archive.contracts.place_hold(contract_id, reason, actor=default_user())
        out.print(f"#{contract_id}: hold {hold.id} placed")

    run(body)


@contract_app.command("release")
def contract_release(
    contract_id: Annotated[int, typer.Argument()],
    hold_id: Annotated[int, typer.Argument()],
    reason: Annotated[str, typer.Argument()],
) -> None:
    """Release a hold."""

    def body() -> None:
        with open_archive() as archive:
            archive.contracts.release_hold(contract_id, hold_id, reason, actor=default_user())
        out.print(f"#{contract_id}: hold {hold_id} released")

    run(body)


@contract_app.command("disposal")
def contract_disposal(as_json: JsonOpt = False) -> None:
    """Filed contracts whose disposal is due, and the holds that stop it."""

    def body() -> None:
        with open_archive() as archive:
            due = archive.contracts.disposal_due()
        if as_json:
            _print_json(due)
            return
        for d in due:
            held = "  [red]held: " + esc("; ".join(d["holds"])) + "[/]" if d["held"] else ""
            out.print(f"#{d['id']} {d['archival_code']} due {d['disposal_due']}{held}")
        out.print(f"{len(due)} due for disposal")

    run(body)


# --- payments ---------------------------------------------------------------------------------
@payment_app.command("add")
def payment_add(
    contract_id: Annotated[int, typer.Argument()],
    due: Annotated[str, typer.Option(help="Due date, YYYY-MM-DD.")],
    amount: Annotated[str, typer.Option(help="Amount due.")],
    currency: Annotated[str, typer.Option()] = "CNY",
    direction: Annotated[str, typer.Option(help="receivable or payable.")] = "receivable",
    description: Annotated[str | None, typer.Option()] = None,
) -> None:
    """Add a payment plan item."""

    def body() -> None:
        if direction not in ("receivable", "payable"):
            raise InvalidRequest("direction must be receivable or payable")
        value = _decimal(amount, "amount")
        if value <= 0:
            raise InvalidRequest("the amount must be more than zero")
        with open_archive() as archive:
            item = archive.contracts.add_payment(
                contract_id,
                actor=default_user(),
                due_date=_date(due, "due"),
                amount=value,
                currency=currency.upper(),
                direction=direction,
                description=description,
            )
        out.print(f"#{contract_id}: payment item {item.id} due {item.due_date}")

    run(body)


@payment_app.command("paid")
def payment_paid(
    contract_id: Annotated[int, typer.Argument()],
    item_id: Annotated[int, typer.Argument()],
    amount: Annotated[str, typer.Option(help="The total paid so far.")],
    on: Annotated[str, typer.Option("--date", help="Paid on, YYYY-MM-DD.")],
) -> None:
    """Record what was paid on a payment item."""

    def body() -> None:
        with open_archive() as archive:
            item = archive.contracts.record_payment(
                contract_id,
                item_id,
                paid_amount=_decimal(amount, "amount"),
                paid_date=_date(on, "date"),
                actor=default_user(),
            )
        out.print(f"#{contract_id}: item {item.id} paid {item.paid_amount} of {item.amount}")

    run(body)


@payment_app.command("list")
def payment_list(contract_id: Annotated[int, typer.Argument()], as_json: JsonOpt = False) -> None:
    """The payment plan of a contract."""

    def body() -> None:
        with open_archive() as archive:
            items = archive.contracts.view(contract_id).payments
        if as_json:
            _print_json(items)
            return
        for p in items:
            late = "  [red]overdue[/]" if p.overdue else ""
            out.print(
                f"{p.id}: {p.direction} {p.currency} {p.amount} due {p.due_date}, "
                f"paid {p.paid_amount}{late}"
            )

    run(body)


# --- classification scheme --------------------------------------------------------------------
@scheme_app.command("show")
def scheme_show(
    version: Annotated[int | None, typer.Option(min=1)] = None, as_json: JsonOpt = False
) -> None:
    """The scheme: codes, names and default retention."""

    def body() -> None:
        with open_archive() as archive:
            scheme = archive.contracts.scheme(version)
        if as_json:
            _print_json(scheme)
            return
        out.print(f"[bold]scheme version {scheme.version}[/]")
        for c in scheme.codes:
            out.print(f"  {c.code:4} {esc(c.name_zh)} ({esc(c.name_en)})  {c.retention}")

    run(body)


@scheme_app.command("set")
def scheme_set(
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

    def body() -> None:
        with open_archive() as archive:
            s = archive.contracts.set_code(
                code,
                name_zh=name_zh,
                name_en=name_en,
                retention=retention,
                keywords=keyword or [],
                actor=default_user(),
                note=note,
            )
        out.print(f"scheme version {s.version}")

    run(body)


@scheme_app.command("retire")
def scheme_retire(
    code: Annotated[str, typer.Argument()], note: Annotated[str | None, typer.Option()] = None
) -> None:
    """Retire a code: a new version of the scheme."""

    def body() -> None:
        with open_archive() as archive:
            s = archive.contracts.retire_code(code, actor=default_user(), note=note)
        out.print(f"scheme version {s.version}")

    run(body)


@scheme_app.command("train")
def scheme_train() -> None:
    """Train the classifier on the contracts whose classification is confirmed."""

    def body() -> None:
        with open_archive() as archive:
            c = archive.contracts.train_classifier(actor=default_user())
        acc = f", leave-one-out accuracy {c.accuracy:.2f}" if c.accuracy is not None else ""
        out.print(f"classifier {c.id}: {c.examples} examples{acc}; in use: {c.in_use}")

    run(body)


# --- reminders --------------------------------------------------------------------------------
@reminders_app.command("run")
def reminders_run(
    today: Annotated[
        str | None, typer.Option(help="Run as of this day (YYYY-MM-DD); default today.")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """The reminder job, for cron: lifecycle moves, automatic renewals, reminders, e-mail."""

    def body() -> None:
        day = _date(today, "today") if today else None
        with open_archive() as archive:
            result = run_reminders(archive.contracts, today=day)
        if as_json:
            _print_json(result)
            return
        for line in result.transitions:
            out.print(f"moved    {esc(line)}")
        for line in result.renewed:
            out.print(f"renewed  {esc(line)}")
        for r in result.reminders:
            out.print(f"reminder [{r.kind}] {r.due_date}: {esc(r.message)}")
        out.print(f"{len(result.reminders)} new reminders, {result.emailed} mailed")
        if result.email_error:
            err.print(f"[bold red]error:[/] {esc(result.email_error)}")
            raise typer.Exit(EXIT_FAILED)

    run(body)


@reminders_app.command("list")
def reminders_list(
    contract_id: Annotated[int | None, typer.Option("--contract")] = None,
    limit: Annotated[int, typer.Option(min=1, max=1000)] = 50,
    as_json: JsonOpt = False,
) -> None:
    """Reminders made so far, newest first."""

    def body() -> None:
        with open_archive() as archive:
            items = archive.contracts.store.list_reminders(contract_id=contract_id, limit=limit)
        if as_json:
            _print_json([r.__dict__ for r in items])
            return
        for r in items:
            out.print(f"{r.created_at:%Y-%m-%d} [{r.kind}] {r.due_date}: {esc(r.message)}")

    run(body)


# --- legacy import ----------------------------------------------------------------------------
@app.command("import")
def import_(
    csv_file: Annotated[Path, typer.Argument(help="metadata.csv (columns: see the README).")],
    dry_run: Annotated[bool, typer.Option(help="Check every row, write nothing.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Import a legacy (paper) archive: one CSV row per file; all rows or none."""

    def body() -> None:
        with open_archive() as archive:
            report = import_metadata(archive.contracts, csv_file, dry_run=dry_run)
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
                out.print(f"{report.rows} rows checked: all good (dry run, nothing written)")
            elif report.ok:
                out.print(f"imported {len(report.imported)} contracts, filed {len(report.filed)}")
            else:
                err.print(f"{len(report.errors)} bad row(s): nothing was imported")
        if not report.ok:
            raise typer.Exit(EXIT_FAILED)

    run(body)
