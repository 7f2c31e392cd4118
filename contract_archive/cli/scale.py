"""`contract-archive legal-hold` and `migrate`: running the archive on scale-out engines."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from contract_archive.cli import acts, app, err, esc, out
from schemas.locks import ContractLocks
from services.facade import Facade
from services.facade.admin import MigrationError

hold_app = typer.Typer(
    help="Legal holds: nothing of a held contract's package can be deleted until released.",
    no_args_is_help=True,
)
app.add_typer(hold_app, name="legal-hold")


def _print_locks(locks: ContractLocks, as_json: bool) -> None:
    if as_json:
        out.print(json.dumps(locks.model_dump(mode="json"), ensure_ascii=False), markup=False)
        return
    held = "[bold red]under legal hold[/]" if locks.legal_hold else "no legal hold"
    until = (
        f"retained until {locks.retain_until:%Y-%m-%d}" if locks.retain_until else "no retention"
    )
    enforced = "" if locks.enforced else "  [dim](the local store does not enforce locks)[/]"
    out.print(f"contract {locks.id}: {held}, {until}{enforced}")
    for obj in locks.objects:
        flags = []
        if obj.legal_hold:
            flags.append("legal hold")
        if obj.retain_until:
            flags.append(f"{obj.mode or 'COMPLIANCE'} until {obj.retain_until.isoformat()}")
        out.print(f"  {esc(obj.key)}  [dim]{', '.join(flags) or 'unlocked'}[/]")


JsonOption = Annotated[bool, typer.Option("--json", help="Print one JSON object.")]


@hold_app.command("set")
@acts
def hold_set(
    f: Facade,
    contract_id: Annotated[int, typer.Argument(help="Contract id.")],
    as_json: JsonOption = False,
) -> None:
    """Put a contract's evidence package under legal hold."""
    _print_locks(f.holds.set(contract_id, True), as_json)


@hold_app.command("release")
@acts
def hold_release(
    f: Facade,
    contract_id: Annotated[int, typer.Argument(help="Contract id.")],
    as_json: JsonOption = False,
) -> None:
    """Release the legal hold (retention still applies)."""
    _print_locks(f.holds.set(contract_id, False), as_json)


@hold_app.command("show")
@acts
def hold_show(
    f: Facade,
    contract_id: Annotated[int, typer.Argument(help="Contract id.")],
    as_json: JsonOption = False,
) -> None:
    """Show the legal hold and retention of every object of a contract's package."""
    _print_locks(f.holds.locks(contract_id), as_json)


@app.command()
@acts
def migrate(
    f: Facade,
    to: Annotated[
        Path,
        typer.Option(
            "--to",
            help="File of ARCHIVE_ settings describing the target archive (like .env).",
            dir_okay=False,
        ),
    ],
    as_json: JsonOption = False,
) -> None:
    """Copy objects and records to the target engines, rebuild its index, verify by counts and
    digests."""
    report = f.admin.migrate(to, announce=lambda line: err.print(esc(line)))
    if as_json:
        out.print(json.dumps(report.to_dict(), ensure_ascii=False), markup=False)
    else:
        table = Table("check", "source", "target", "digest", "")
        for c in report.checks:
            same = c.source_digest == c.target_digest
            table.add_row(
                c.what,
                str(c.source_count),
                str(c.target_count),
                c.target_digest[:16] + ("" if same else f" ≠ {c.source_digest[:16]}"),
                "[green]ok[/]" if c.ok else "[bold red]MISMATCH[/]",
            )
        out.print(table)
        out.print(
            f"objects copied {report.objects_copied}, already there "
            f"{report.objects_skipped}; rows copied {sum(report.rows_copied.values())}; "
            f"indexed {report.indexed}"
        )
    if not report.ok:
        raise MigrationError(
            "the target does not match the source: see the checks above",
            hint="nothing was deleted from the source; fix the cause and run the same "
            "command again (it copies only what is missing)",
        )
