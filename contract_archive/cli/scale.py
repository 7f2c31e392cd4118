"""`contract-archive legal-hold` and `migrate`: running the archive on scale-out engines."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from contract_archive.cli import app, err, esc, open_archive, out, run
from contract_archive.cli.acting import acting
from core.settings import get_settings
from schemas.locks import ContractLocks
from services.archive import Archive
from services.holds import contract_locks, set_legal_hold
from services.migrate import MigrationError, carry_development_keys, load_target_settings
from services.migrate import migrate as run_migration

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
def hold_set(
    contract_id: Annotated[int, typer.Argument(help="Contract id.")], as_json: JsonOption = False
) -> None:
    """Put a contract's evidence package under legal hold."""

    def body() -> None:
        with open_archive() as archive:
            access, caller = acting(archive)
            access.check_visible(caller, contract_id, "contract.legal_hold")
            locks = set_legal_hold(archive, contract_id, True, user=caller.username)
            _print_locks(locks, as_json)

    run(body)


@hold_app.command("release")
def hold_release(
    contract_id: Annotated[int, typer.Argument(help="Contract id.")], as_json: JsonOption = False
) -> None:
    """Release the legal hold (retention still applies)."""

    def body() -> None:
        with open_archive() as archive:
            access, caller = acting(archive)
            access.check_visible(caller, contract_id, "contract.legal_hold")
            locks = set_legal_hold(archive, contract_id, False, user=caller.username)
            _print_locks(locks, as_json)

    run(body)


@hold_app.command("show")
def hold_show(
    contract_id: Annotated[int, typer.Argument(help="Contract id.")], as_json: JsonOption = False
) -> None:
    """Show the legal hold and retention of every object of a contract's package."""

    def body() -> None:
        with open_archive() as archive:
            access, caller = acting(archive)
            access.check_visible(caller, contract_id, "contract.view")
            _print_locks(contract_locks(archive, contract_id), as_json)

    run(body)


@app.command()
def migrate(
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

    def body() -> None:
        target_settings = load_target_settings(to)
        if carry_development_keys(get_settings(), target_settings):
            err.print("copied the development seal keys to the target")
        with (
            open_archive() as source,
            Archive(target_settings).open(check_index=False) as target,
        ):
            err.print(
                f"migrating {source.objects.name}/{source.records.name}/{source.index.name} → "
                f"{target.objects.name}/{target.records.name}/{target.index.name}"
            )
            report = run_migration(source, target)
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

    run(body)
