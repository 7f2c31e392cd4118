"""`contract-archive doctor`: check the stores and their agreement; repair crash leftovers."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from contract_archive.cli import EXIT_FAILED, app, esc, out, run
from core.plural import count
from core.settings import get_settings
from services.facade import Runtime
from services.facade.admin import DEFAULT_GRACE_SECONDS, Finding, Report


def _print_finding(finding: Finding) -> None:
    mark = "[yellow]![/]" if finding.severity == "warning" else "[red]✗[/]"
    if finding.repaired is not None:
        mark = "[green]✓[/]"
    out.print(f"{mark} [bold]{esc(finding.subject)}[/]: {esc(finding.problem)}")
    if finding.repaired is not None:
        out.print(f"    repaired: {esc(finding.repaired)}")
    else:
        out.print(f"    fix: {esc(finding.fix)}")
        if finding.repair_error:
            out.print(f"    [red]repair failed:[/] {esc(finding.repair_error)}")


def _print_report(report: Report) -> None:
    for finding in report.findings:
        _print_finding(finding)
    counts = ", ".join(f"{n} {what}" for what, n in report.counts.items())
    out.print(f"[dim]checked: {esc(counts) or 'nothing'} ({report.seconds:.1f} s)[/]")
    remaining = [f for f in report.findings if f.open and f.severity == "error"]
    if report.repaired:
        out.print(f"[green]repaired {count(len(report.repaired), 'problems')}[/]")
    if remaining:
        hint = "" if report.repair else "; `contract-archive doctor --repair` fixes what it can"
        out.print(f"[red]{count(len(remaining), 'problems')} remaining[/]{hint}")
    else:
        out.print("[green]the archive is healthy[/]")


@app.command()
def doctor(
    repair: Annotated[
        bool, typer.Option("--repair", help="Repair what can be repaired safely; say what.")
    ] = False,
    verify: Annotated[
        bool,
        typer.Option("--verify", help="Also re-hash every original and text file (slow)."),
    ] = False,
    grace: Annotated[
        float,
        typer.Option(
            min=0,
            help="Seconds after which leftovers of processes on other hosts count as abandoned.",
        ),
    ] = DEFAULT_GRACE_SECONDS,
    as_json: Annotated[bool, typer.Option("--json", help="The report as one JSON object.")] = False,
) -> None:
    """Check the object store, the records and the index, and that they agree; find what an
    interrupted ingest left. Exit status 0 when nothing is wrong (after --repair: nothing is
    left), 1 when a problem remains, 2 on a configuration error."""

    def body() -> Report:
        # As the operator, on an archive that is not opened: the records (with the users and
        # the access log) may be what is broken (see AdminArea.doctor).
        with Runtime.operator(get_settings()) as f:
            return f.admin.doctor(repair=repair, verify=verify, grace=grace)

    report = run(body)
    if as_json:
        out.print(json.dumps(report.to_dict(), ensure_ascii=False), markup=False)
    else:
        _print_report(report)
    if not report.ok:
        raise typer.Exit(EXIT_FAILED)
