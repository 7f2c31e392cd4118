"""`contract-archive audit`: verify, checkpoint, export and extract the access log."""

from __future__ import annotations

import json
import os
import sys
from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer

from contract_archive.cli import EXIT_FAILED, EXIT_USAGE, acts, app, err, esc, out
from core.errors import InvalidRequest
from core.plural import counted
from services.facade import Facade
from services.facade.audit import LogFilter, NoteError, VerifierKey, verify_extract

audit_app = typer.Typer(help="The access log: verify, checkpoint, export, extract, prune.")
app.add_typer(audit_app, name="audit")


def _when(value: str | None, name: str) -> datetime | None:
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise InvalidRequest(f"--{name}: {value!r} is not an ISO 8601 time") from None
    if parsed.tzinfo is None:
        raise InvalidRequest(f"--{name} needs a time zone, e.g. 2024-03-01T00:00:00Z")
    return parsed


def _filter(
    user: str | None,
    contract: int | None,
    action: str | None,
    outcome: str | None,
    since: str | None,
    until: str | None,
) -> LogFilter:
    return LogFilter(
        actor=user,
        contract_id=contract,
        action=action,
        outcome=outcome,
        since=_when(since, "since"),
        until=_when(until, "until"),
    )


User = Annotated[str | None, typer.Option(help="Entries of this user.")]
Contract = Annotated[int | None, typer.Option(help="Entries about this contract.")]
Action = Annotated[str | None, typer.Option(help="An action, or a prefix ending in '.'.")]
Outcome = Annotated[str | None, typer.Option(help="ok, denied, failed, ...")]
Since = Annotated[str | None, typer.Option(help="From (ISO 8601, with time zone).")]
Until = Annotated[str | None, typer.Option(help="Until, exclusive (ISO 8601).")]


@audit_app.command("verify")
@acts
def audit_verify(f: Facade, as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Walk the whole chain; report the first broken link. Exit 1 when it is broken."""
    report = f.audit.verify()
    if as_json:
        out.print(json.dumps(report.model_dump(mode="json"), ensure_ascii=False), markup=False)
    else:
        style = "green" if report.status == "PASSED" else "bold red"
        out.print(f"[{style}]{esc(report.summary)}[/]")
        for problem in report.problems[1:]:
            out.print(f"  also: entry {problem.seq}: {esc(problem.message)}")
    if report.status != "PASSED":
        raise typer.Exit(EXIT_FAILED)


@audit_app.command("checkpoint")
@acts
def audit_checkpoint(f: Facade) -> None:
    """Sign and store a checkpoint of the log's head now (for cron; one a day is automatic)."""
    key = f.audit.checkpoint()
    out.print(f"checkpoint stored as {key}" if key else "the log is empty")


@audit_app.command("export")
@acts
def audit_export(
    f: Facade,
    format: Annotated[str, typer.Option("--format", "-f", help="csv or jsonl.")] = "jsonl",
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Default: stdout.")] = None,
    user: User = None,
    contract: Contract = None,
    action: Action = None,
    outcome: Outcome = None,
    since: Since = None,
    until: Until = None,
) -> None:
    """Export entries as CSV or JSON Lines."""
    flt = _filter(user, contract, action, outcome, since, until)
    lines = f.audit.export(flt, format)
    if output is None:
        try:
            for chunk in lines:
                sys.stdout.buffer.write(chunk)
            sys.stdout.flush()
        except BrokenPipeError:  # `| head`: the reader has what it wanted
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
    else:
        with open(output, "wb") as fh:
            for chunk in lines:
                fh.write(chunk)
        err.print(f"written to {esc(str(output))}")


@audit_app.command("extract")
@acts
def audit_extract(
    f: Facade,
    output: Annotated[Path, typer.Option("--output", "-o", help="The ZIP file to write.")],
    user: User = None,
    contract: Contract = None,
    action: Action = None,
    outcome: Outcome = None,
    since: Since = None,
    until: Until = None,
) -> None:
    """Write a signed extract (a ZIP) that verifies offline; VERIFY.txt inside says how."""
    flt = _filter(user, contract, action, outcome, since, until)
    data = f.audit.extract(flt)
    output.write_bytes(data)
    err.print(f"signed extract written to {esc(str(output))}")


@audit_app.command("verify-extract")
def audit_verify_extract(
    extract: Annotated[Path, typer.Argument(help="The extract ZIP.")],
    key: Annotated[
        Path | None,
        typer.Option(help="The log's verifier key (.vkey) or public key (.pem) to trust."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Check a signed extract offline (no data directory needed). Exit 1 when it fails."""
    try:
        data = extract.read_bytes()
        trusted = None
        if key is not None:
            raw = key.read_bytes()
            if b"BEGIN PUBLIC KEY" in raw:
                name = _note_name(data)
                trusted = VerifierKey.from_pem(name, raw)
            else:
                trusted = VerifierKey.from_text(raw.decode())
    except OSError as exc:
        err.print(f"[bold red]error:[/] {esc(str(exc))}")
        raise typer.Exit(EXIT_USAGE) from None
    except (NoteError, UnicodeDecodeError) as exc:
        err.print(f"[bold red]error:[/] the key is unusable: {esc(str(exc))}")
        raise typer.Exit(EXIT_USAGE) from None
    report = verify_extract(data, trusted)
    if as_json:
        out.print(json.dumps(report.to_dict(), ensure_ascii=False), markup=False)
    else:
        style = "green" if report.status == "PASSED" else "bold red"
        out.print(f"[{style}]{esc(report.summary())}[/]")
    if report.status != "PASSED":
        raise typer.Exit(EXIT_FAILED)


def _note_name(data: bytes) -> str:
    """The key name a PEM key is used under: the first line of the extract's note."""
    import io
    import zipfile

    try:
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            return z.read("extract.note").decode().split("\n", 1)[0]
    except (zipfile.BadZipFile, KeyError, UnicodeDecodeError):
        return "unknown"


@audit_app.command("key")
@acts
def audit_key(
    f: Facade,
    pem: Annotated[bool, typer.Option("--pem", help="Print the PEM public key instead.")] = False,
) -> None:
    """Print the public key that signs checkpoints and extracts (to publish and compare)."""
    verifier = f.audit.public_key()
    if pem:
        sys.stdout.write(verifier.to_pem().decode())
    else:
        out.print(verifier.to_text(), markup=False)


@audit_app.command("prune")
@acts
def audit_prune(f: Facade) -> None:
    """Remove entries older than ARCHIVE_ACCESS_LOG_RETENTION_DAYS (unset: keep forever)."""
    removed = f.audit.prune()
    if removed is None:
        out.print("ARCHIVE_ACCESS_LOG_RETENTION_DAYS is not set: the log is kept forever")
        return
    out.print(counted(f"removed {removed} entries (a signed checkpoint marks the new start)"))
