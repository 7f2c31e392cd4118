"""``contract-archive separator`` and the batch scans of ``ingest --split-batches``."""

from __future__ import annotations

import json
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from contract_archive.cli import EXIT_FAILED, acts, app, err, esc, out
from core.errors import ArchiveError
from core.plural import count
from services.facade import Facade
from services.facade.batches import BatchOutcome, IngestResult


class SheetCode(StrEnum):
    qr = "qr"
    code128 = "code128"


@app.command()
@acts
def separator(
    f: Facade,
    output: Annotated[
        Path, typer.Option("--output", "-o", help="Where to write the sheet (a PDF).")
    ],
    customer: Annotated[
        str | None, typer.Option(help="Customer of the contracts after the sheet.")
    ] = None,
    classification: Annotated[
        str | None, typer.Option(help="Classification code of the contracts after the sheet.")
    ] = None,
    sheet_code: Annotated[
        SheetCode,
        typer.Option(
            "--code",
            help="The sheet's code: a QR code (any payload), or a Code 128 barcode for "
            "scanning software that reads 1D barcodes only (at most about 29 characters: a "
            "classification, or a short Latin customer name).",
        ),
    ] = SheetCode.qr,
) -> None:
    """Write a printable separator sheet (PDF) for batch scans.

    Put one before each contract of a scanned batch; `ingest --split-batches` splits the
    batch at each sheet and gives the contracts after it the sheet's customer and
    classification. Sheets with a QR code and with a Code 128 barcode may be mixed in one
    batch."""
    data = f.batches.separator(customer, classification, sheet_code.value)
    try:
        output.write_bytes(data)
    except OSError as exc:
        err.print(f"[bold red]error:[/] cannot write {esc(str(output))}: {esc(str(exc))}")
        raise typer.Exit(EXIT_FAILED) from exc
    err.print(f"separator sheet written to {esc(str(output))}")


def split_batches(
    f: Facade,
    items: list[tuple[Path, str, str | None, str | None]],
    *,
    preview: bool,
    as_json: bool,
) -> tuple[list[IngestResult], int]:
    """``ingest --split-batches`` (and the PDFs of a ``batches`` folder): each file (with the
    name to report it by, and the customer and classification for the segments whose sheet
    gives none) is a batch scan, split at its separator sheets (``--preview``: the
    plan only, nothing archived). Returns the contracts' results and how many batches or
    contracts went wrong; a batch that cannot be read is reported and the next one goes on."""
    bad = 0
    results: list[IngestResult] = []
    for path, name, customer, classification in items:
        if not path.is_file():
            err.print(f"[bold red]error:[/] {esc(str(path))} is not a file")
            bad += 1
            continue
        try:
            if preview:
                outcome = f.batches.preview_path(
                    path, display_name=name, customer=customer, classification=classification
                )
            else:
                outcome = f.batches.ingest_path(
                    path, display_name=name, customer=customer, classification=classification
                )
        except ArchiveError as exc:
            bad += 1
            if as_json:
                line = {"file": str(path), "status": "rejected", "reason": exc.message}
                out.print(json.dumps(line, ensure_ascii=False), markup=False)
            else:
                out.print(f"[red]rejected[/]  {esc(str(path))}: {esc(exc.message)}")
                if exc.hint:
                    out.print(f"          [dim]hint: {esc(exc.hint)}[/]")
            continue
        bad += not outcome.ok
        results.extend(outcome.results)
        if as_json:
            out.print(json.dumps(outcome.to_dict(), ensure_ascii=False), markup=False)
        else:
            _print(outcome)
    return results, bad


def _print(outcome: BatchOutcome) -> None:
    plan = outcome.plan
    sheets = ", ".join(str(p) for p in plan.separators) or "none"
    head = "preview of" if outcome.preview else "batch"
    out.print(
        f"[bold]{head}[/] {esc(outcome.file)}: {count(plan.page_count, 'pages')}, "
        f"separator sheets on pages {sheets}"
    )
    if outcome.note:
        out.print(f"  [yellow]{esc(outcome.note)}[/]")
    if outcome.batch is not None:
        b = outcome.batch
        shown = f"#{b.id}" if b.id is not None else ""
        out.print(f"  {b.status:9} {shown} the batch file, kept as evidence")
        if not b.ok:
            out.print(f"  [red]{esc(b.reason or '')}[/]")
    for n, segment in enumerate(outcome.segments):
        who = esc(
            ", ".join(
                f"{k} {v}"
                for k, v in (
                    ("customer", segment.customer),
                    ("classification", segment.classification),
                )
                if v
            )
        )
        line = f"  pages {segment.pages:9} {who or '(no customer, no classification)'}"
        if n < len(outcome.results):
            r = outcome.results[n]
            shown = f"#{r.id}" if r.id is not None else ""
            colour = "green" if r.ok else "red"
            line = f"  [{colour}]{r.status:9}[/] {shown:6}" + line[1:]
            if not r.ok:
                line += f": {esc(r.reason or '')}"
        elif outcome.preview:
            line = "  contract " + line[1:]
        out.print(line)
    for skipped in plan.skipped:
        out.print(
            f"  [dim]skipped   sheet on page {skipped.separator_page}: {esc(skipped.reason)}[/]"
        )
