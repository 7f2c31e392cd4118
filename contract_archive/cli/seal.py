"""`contract-archive verify`, `seal` and `export`: the archive seal and its verification."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from contract_archive.cli import EXIT_FAILED, EXIT_USAGE, acts, app, err, esc, out
from contract_archive.cli.times import when
from core.errors import InvalidRequest
from core.plural import count, counted
from services.facade import Facade
from services.facade.seals import AuditSummary, Status, VerificationReport

_COLOURS = {Status.PASSED: "green", Status.FAILED: "bold red", Status.INDETERMINATE: "yellow"}


def _show(report: VerificationReport) -> None:
    colour = _COLOURS[report.overall]
    head = f"contract {report.contract_id}: [{colour}]{report.overall.value}[/]"
    if report.manifest_version is not None:
        head += f"  (manifest v{report.manifest_version}, seal {report.seal_state}"
        if report.timestamp_time is not None:
            head += f", timestamp {when(report.timestamp_time, seconds=True)}"
        head += ")"
    out.print(head)
    for check in report.checks:
        c = _COLOURS[check.status]
        out.print(f"  [{c}]{check.status.value:<13}[/] {check.id:<20} {esc(check.reason)}")
    if report.key_id:
        out.print(f"  [dim]seal key {report.key_id}[/]")
    for warning in report.warnings:
        err.print(f"[bold yellow]warning:[/] {esc(warning)}")


def _exit_code(status: Status, strict: bool) -> int:
    if status is Status.FAILED or (strict and status is Status.INDETERMINATE):
        return EXIT_FAILED
    return 0


@app.command()
@acts
def verify(
    f: Facade,
    contract_id: Annotated[
        int | None, typer.Argument(metavar="ID", help="The contract to verify.")
    ] = None,
    all_contracts: Annotated[
        bool, typer.Option("--all", help="Audit the whole archive (resumes an interrupted one).")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="The report as JSON.")] = False,
    strict: Annotated[
        bool, typer.Option(help="Exit 1 on INDETERMINATE too, not only on FAILED.")
    ] = False,
    restart: Annotated[
        bool, typer.Option(help="With --all: start a new audit instead of resuming.")
    ] = False,
    workers: Annotated[
        int,
        typer.Option(
            min=1,
            max=16,
            help="With --all: contracts verified at once (twice this when their seals are "
            "checked in the parser processes, from 200 contracts).",
        ),
    ] = 2,
    full: Annotated[
        bool,
        typer.Option(
            "--full",
            help="With --all: compare the SM3 of every file too, not only of the contracts "
            "whose turn it is (ARCHIVE_FIXITY_SM3_EVERY).",
        ),
    ] = False,
) -> None:
    """Verify a contract's evidence package: digests, seal, timestamp, record, embedded
    signatures. Exit 1 when a check FAILED."""
    if all_contracts == (contract_id is not None):
        err.print("[bold red]error:[/] give a contract ID or --all")
        raise typer.Exit(EXIT_USAGE)
    if full and not all_contracts:
        err.print("[bold red]error:[/] --full goes with --all (`verify ID` compares SM3 always)")
        raise typer.Exit(EXIT_USAGE)

    if contract_id is not None:
        report = f.seals.verify(contract_id)
        if as_json:
            out.print(json.dumps(report.to_dict(), ensure_ascii=False, indent=2), markup=False)
            for warning in report.warnings:
                err.print(f"[bold yellow]warning:[/] {esc(warning)}")
        else:
            _show(report)
        code = _exit_code(report.overall, strict)
    else:
        code = _audit(
            f, restart=restart, workers=workers, full=full, as_json=as_json, strict=strict
        )
    if code:
        raise typer.Exit(code)


@app.command()
@acts
def manifests(
    f: Facade,
    contract_id: Annotated[int, typer.Argument(metavar="ID", help="The contract.")],
    as_json: Annotated[bool, typer.Option("--json", help="The history as JSON.")] = False,
) -> None:
    """A contract's manifest history: each version with its time, who issued it through
    which action, and which of the contract's fields changed."""
    versions = f.seals.manifests(contract_id)
    if as_json:
        data = [v.to_dict() for v in versions]
        out.print(json.dumps(data, ensure_ascii=False, indent=2, default=str), markup=False)
        return
    for v in versions:
        who = v.by or "-"
        what = v.action or "-"
        out.print(f"v{v.version}  {esc(v.issued_at)}  {esc(who)}  {esc(what)}  ({v.state})")
        for name, change in v.changed.items():
            out.print(
                f"    {esc(name)}: {esc(str(change.get('from')))} → {esc(str(change.get('to')))}"
            )
        if v.reason:
            out.print(f"    [dim]why: {esc(v.reason)}[/]")
        if v.problem:
            out.print(f"    [red]{esc(v.problem)}[/]")


def _audit(
    f: Facade, *, restart: bool, workers: int, full: bool, as_json: bool, strict: bool
) -> int:
    progress = Progress(
        TextColumn("verifying"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[rate]}"),
        TextColumn("[red]{task.fields[bad]}[/]"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=err,
        disable=not err.is_terminal,
    )
    started = time.monotonic()
    hashed = [0]
    failed = [0]
    with progress:
        task = progress.add_task("verify", total=None, rate="", bad="")

        def on_start(total: int, resumed_from: int, done: int) -> None:
            progress.update(task, total=total, completed=done)
            if resumed_from:
                err.print(f"resuming audit after contract {resumed_from} ({done} already checked)")

        def on_report(report: VerificationReport) -> None:
            hashed[0] += report.bytes_hashed
            elapsed = max(time.monotonic() - started, 1e-9)
            if report.overall is Status.FAILED:
                failed[0] += 1
            if report.overall is not Status.PASSED:
                line = esc(report.summary())
                if as_json:
                    out.print(json.dumps(report.to_dict(), ensure_ascii=False), markup=False)
                else:
                    progress.console.print(f"[{_COLOURS[report.overall]}]{line}[/]", markup=True)
            progress.update(
                task,
                advance=1,
                rate=f"{hashed[0] / elapsed / 1e6:.0f} MB/s",
                bad=f"{failed[0]} failed" if failed[0] else "",
            )

        summary = f.seals.audit(
            restart=restart, workers=workers, full=full, on_report=on_report, on_start=on_start
        )
    _print_summary(summary, time.monotonic() - started, hashed[0], as_json)
    warning = f.seals.key_warning()
    if warning:
        err.print(f"[bold yellow]warning:[/] {esc(warning)}")
    worst = (
        Status.FAILED
        if summary.run.failed
        else Status.INDETERMINATE
        if summary.run.indeterminate
        else Status.PASSED
    )
    return _exit_code(worst, strict)


def _print_summary(summary: AuditSummary, seconds: float, hashed: int, as_json: bool) -> None:
    r = summary.run
    if as_json:
        out.print(
            json.dumps(
                {
                    "summary": {
                        "run": r.id,
                        "checked": r.checked,
                        "passed": r.passed,
                        "failed": r.failed,
                        "indeterminate": r.indeterminate,
                        "bytes_hashed": r.bytes_hashed,
                        "resumed_from": summary.resumed_from,
                        "digests": summary.digests(),
                        "sm3_every": summary.cycle.every,
                        "sm3_checked": summary.sm3_now,
                        "checked_now": summary.checked_now,
                        "findings": [
                            {"id": f.contract_id, "overall": f.overall, "summary": f.summary}
                            for f in summary.findings
                        ],
                    }
                },
                ensure_ascii=False,
            ),
            markup=False,
        )
        return
    rate = hashed / seconds / 1e6 if seconds > 0 else 0.0
    colour = "bold red" if r.failed else "yellow" if r.indeterminate else "green"
    out.print(
        f"[{colour}]audit {r.id}: {count(r.checked, 'contracts')} checked, {r.passed} passed, "
        f"{r.failed} failed, {r.indeterminate} indeterminate[/]  "
        f"({r.bytes_hashed / 1e6:.1f} MB in all; this session {hashed / 1e6:.1f} MB at "
        f"{rate:.0f} MB/s)"
    )
    out.print(f"digests: {esc(summary.digests())}")
    failed = [f for f in summary.findings if f.overall == Status.FAILED.value]
    if failed:
        out.print("[bold red]failed:[/]")
        for f in failed:
            out.print(f"  {esc(f.summary)}")


@app.command()
@acts
def seal(
    f: Facade,
    pending: Annotated[
        bool,
        typer.Option(
            "--pending",
            help="Seal every manifest whose seal is pending, and issue manifests for "
            "contracts that have none.",
        ),
    ] = False,
) -> None:
    """Show the seal state of the archive; with --pending, seal what is waiting."""

    if not pending:
        state = f.seals.state()
        out.print(
            f"{state.sealed} sealed, {state.pending} pending, {state.missing} without a manifest "
            f"(seal key {state.key_id})"
        )
        if state.pending or state.missing:
            err.print("[dim]hint: run `contract-archive seal --pending`[/]")
        return
    summary = f.seals.seal_pending(progress=lambda line: err.print(esc(line)))
    out.print(
        counted(
            f"sealed {summary.sealed}, issued {summary.issued} new manifests, "
            f"{summary.still_pending} still pending"
        )
    )
    for failure in summary.failures:
        err.print(f"[yellow]pending:[/] {esc(failure)}")
    if summary.still_pending:
        raise typer.Exit(EXIT_FAILED)


@app.command()
@acts
def export(
    f: Facade,
    contract_id: Annotated[int, typer.Argument(metavar="ID", help="The contract to export.")],
    directory: Annotated[Path, typer.Argument(metavar="DIR", help="A new or empty folder.")],
    purpose: Annotated[
        str | None,
        typer.Option(help="Why (借阅目的); required for a contract of a restricted class."),
    ] = None,
    proof_only: Annotated[
        bool,
        typer.Option(
            "--proof-only",
            help="Only what proves integrity (seal, timestamps, ledger proof, digests, "
            "reports), without the original, text or searchable copy: for whoever may "
            "verify (an auditor); logged as an export, not a download.",
        ),
    ] = False,
) -> None:
    """Export a contract's evidence (original, text, manifest, seal, certificates, timestamp)
    for verification with OpenSSL, without the archive."""

    if proof_only:
        if purpose is not None:
            raise InvalidRequest(
                "--purpose is for the full package: a proof-only export holds no content",
                hint="leave out --purpose, or --proof-only",
            )
        result = f.seals.export_proof(contract_id, directory)
        what = "the proof (no content) of contract"
    else:
        result = f.seals.export(contract_id, directory, purpose=purpose)
        what = "contract"
    out.print(f"exported {what} {contract_id} to {esc(str(result.directory))}:")
    out.print("  " + ", ".join(result.files))
    out.print("[dim]check it: see README.txt in that folder[/]")


@app.command()
@acts
def restore(
    f: Facade,
    contract_id: Annotated[int, typer.Argument(metavar="ID", help="The contract to restore.")],
    file: Annotated[
        Path, typer.Argument(metavar="FILE", help="A good copy of the contract's original.")
    ],
) -> None:
    """Restore a damaged stored original from a good copy: accepted only when its SHA-256
    and size are the record's; clears the contract's integrity alert."""
    result = f.seals.restore(contract_id, file)
    if result.written:
        out.print(
            f"restored the original of contract {contract_id} (SHA-256 {result.sha256}, "
            f"{result.size} bytes); read back and verified"
        )
    else:
        out.print(
            f"the stored original of contract {contract_id} is intact (SHA-256 "
            f"{result.sha256}); nothing written"
        )
    if result.cleared is not None:
        out.print(
            f"integrity alert cleared (found {when(result.cleared.detected_at)} "
            f"by {esc(result.cleared.detected_by)})"
        )
    if result.remaining is not None:
        err.print(
            f"[bold yellow]warning:[/] the integrity alert on the stored "
            f"{esc(result.remaining.file)} remains; restoring the original does not repair it"
        )


@app.command()
@acts
def recover(f: Facade) -> None:
    """Rebuild lost contract records from the evidence packages' manifests (and then the
    search index); records still present are left alone."""
    summary = f.seals.recover()
    out.print(
        counted(
            f"{summary.packages} packages: {summary.recovered} contracts recovered "
            f"({summary.manifests} manifests), {summary.already_present} already present"
        )
    )
    for problem in summary.problems:
        err.print(f"[bold red]not recovered:[/] {esc(problem)}")
    if summary.recovered:
        err.print("[dim]hint: run `contract-archive verify --all` to check them[/]")
    if summary.problems:
        raise typer.Exit(EXIT_FAILED)
