"""`contract-archive ingest`: archive files and folders."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from contract_archive.cli import EXIT_FAILED, acts, app, err, esc, out
from contract_archive.cli.ocr import OcrProgress
from core.errors import ArchiveError
from services.facade import Facade

if TYPE_CHECKING:
    from services.facade.contracts import IngestResult
    from services.facade.ocr import OcrService


def _expand(paths: list[Path]) -> Iterator[tuple[Path, str]]:
    """Files to ingest with the name to report them by. Directories are walked recursively
    and every file in them is taken: what a file is comes from its bytes, and a file of a
    format the archive does not take is reported as rejected with the reason, never skipped."""
    for path in paths:
        if path.is_dir():
            found = []
            for dirpath, dirnames, filenames in os.walk(path):
                dirnames.sort()
                for name in sorted(filenames):
                    found.append(Path(dirpath) / name)
            for f in found:
                yield f, str(f)
        else:
            yield path, str(path)


def _print_result(result: IngestResult, as_json: bool) -> None:
    if as_json:
        out.print(json.dumps(result.to_dict(), ensure_ascii=False), markup=False)
        out.file.flush()  # a line per file as it ends, even into a pipe that dies with us
        return
    name = esc(result.file)
    if result.status == "archived":
        extra = ""
        if result.pages_needing_ocr:
            pages = ", ".join(str(p) for p in result.pages_needing_ocr[:10])
            more = "…" if len(result.pages_needing_ocr) > 10 else ""
            extra = f" [yellow](pages awaiting OCR: {pages}{more})[/]"
        out.print(f"[green]archived[/]  #{result.id}  {name}  {result.pages} pages{extra}")
    elif result.status == "duplicate" and result.id is None:
        out.print(f"[cyan]duplicate[/]  {name}  ({esc(result.reason or 'already archived')})")
    elif result.status == "duplicate":
        out.print(f"[cyan]duplicate[/] #{result.id}  {name}  (already archived)")
    else:
        out.print(f"[red]{result.status}[/]  {name}: {esc(result.reason or '')}")
        if result.hint:
            out.print(f"          [dim]hint: {esc(result.hint)}[/]")


@app.command()
@acts
def ingest(
    f: Facade,
    paths: Annotated[list[Path], typer.Argument(help="Files and directories (recursive).")],
    customer: Annotated[str | None, typer.Option(help="Customer of these contracts.")] = None,
    title: Annotated[str | None, typer.Option(help="Title (default: the file name).")] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="One JSON object per file, one per line.")
    ] = False,
    jobs: Annotated[int, typer.Option(min=1, max=32, help="Files ingested at once.")] = 2,
    all_files: Annotated[
        bool,
        typer.Option(
            "--all-files",
            help="Kept for old scripts: directories are always read whole, every file is "
            "identified by its bytes and unsupported ones are listed as rejected.",
            hidden=True,
        ),
    ] = False,
    no_ocr: Annotated[
        bool,
        typer.Option(
            "--no-ocr",
            help="Leave scanned pages queued for the server or `contract-archive worker` "
            "instead of OCR-ing them now.",
        ),
    ] = False,
) -> None:
    """Archive PDF files and images (PNG, JPEG, TIFF). Every file is identified by its bytes;
    one the archive does not take is listed as rejected with the reason. A batch goes on past
    bad files; the exit status is 1 if any file was rejected."""
    missing = [p for p in paths if not p.exists()]
    for p in missing:
        err.print(f"[bold red]error:[/] {esc(str(p))} does not exist")
    del all_files  # every file is looked at now
    items = list(_expand([p for p in paths if p.exists()]))
    if not items and not missing:
        err.print("[yellow]no files found[/]")

    counts = {"archived": 0, "duplicate": 0, "rejected": 0, "failed": 0}
    # A missing tesseract or language pack stops us here, before anything is archived.
    service = None if no_ocr else f.ocr.service(only=set())
    scans: dict[int, IngestResult] = {}
    show_bar = err.is_terminal and len(items) > 1
    progress = Progress(
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TaskProgressColumn(),
        TextColumn("{task.fields[pages]} pages, {task.fields[rate]}"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=err,
        disable=not show_bar,
    )
    with progress, ThreadPoolExecutor(max_workers=jobs) as pool:
        task = progress.add_task("ingesting", total=len(items), pages=0, rate="")
        pages = 0
        futures = {
            pool.submit(
                f.contracts.ingest_path,
                path,
                display_name=name,
                title=title,
                customer=customer,
            ): name
            for path, name in items
        }
        for future in as_completed(futures):
            result = future.result().result
            counts[result.status] += 1
            if (
                service is not None
                and result.status == "archived"
                and result.id
                and (result.pages_needing_ocr)
            ):
                scans[result.id] = result
                _queue_for_ocr(service, result.id)
            pages += result.pages or 0
            elapsed = progress.tasks[0].elapsed or 0.0
            rate = f"{pages / elapsed:.1f} pages/s" if elapsed > 0 else ""
            progress.update(task, advance=1, pages=pages, rate=rate)
            if show_bar and not as_json:
                progress.console.print(_result_line(result), markup=True)
            elif not (as_json and result.id in scans):  # scans: after their OCR
                _print_result(result, as_json)
    ocr_incomplete = 0
    if service is not None and scans:
        try:
            with OcrProgress(enabled=err.is_terminal and not as_json) as bar:
                service.wait_for(list(scans), progress=bar.update)
        finally:
            service.stop()
        for cid, result in scans.items():
            status = f.ocr.status(cid)
            ocr_incomplete += bool(status.pages_failed)
            _print_ocr(result, status.model_dump(mode="json"), as_json)
    if counts["archived"]:
        # The batch's manifest versions under a signed, timestamped ledger checkpoint.
        try:
            f.ledger.after_batch()
        except ArchiveError as exc:
            err.print(f"[bold yellow]warning:[/] no ledger checkpoint: {esc(exc.message)}")
    summary = ", ".join(f"{n} {k}" for k, n in counts.items() if n)
    if not as_json and len(items) > 1:
        err.print(f"[bold]done:[/] {summary}")
    bad = counts["rejected"] + counts["failed"] + len(missing) + ocr_incomplete
    if bad:
        raise typer.Exit(EXIT_FAILED)


def _result_line(result: IngestResult) -> str:
    name = esc(result.file)
    if result.status == "archived":
        return f"[green]archived[/]  #{result.id}  {name}"
    if result.status == "duplicate":
        return (
            f"[cyan]duplicate[/] #{result.id}  {name}"
            if result.id
            else f"[cyan]duplicate[/]  {name}"
        )
    return f"[red]{result.status}[/]  {name}: {esc(result.reason or '')}"


def _queue_for_ocr(service: OcrService, contract_id: int) -> None:
    assert service.only is not None
    service.only.add(contract_id)
    if not service.running:
        service.start()
    service.wake()


def _print_ocr(result: IngestResult, status: dict[str, Any], as_json: bool) -> None:
    if as_json:
        line = {**result.to_dict(), "ocr": status}
        out.print(json.dumps(line, ensure_ascii=False), markup=False)
        return
    name = esc(result.file)
    if status["pages_failed"]:
        out.print(f"[red]ocr[/]       #{result.id}  {name}: {esc(status['message'] or '')}")
        out.print(f"          [dim]hint: contract-archive ocr --retry {result.id}[/]")
        return
    conf = status["mean_confidence"]
    shown = f", mean confidence {conf:.1f}" if conf is not None else ""
    out.print(f"[green]ocr[/]       #{result.id}  {name}  {status['pages_done']} pages{shown}")
