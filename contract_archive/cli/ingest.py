"""`contract-archive ingest`: archive files and folders.

Exit status: 0 everything archived (or a duplicate) and OCR'd; 1 a file was rejected or a page
failed OCR (the reason is printed); 2 a usage or configuration error; 3 the wait for OCR ran
out (``--wait-seconds``, default ``ARCHIVE_OCR_WAIT_SECONDS``) while pages were still open: they
stay queued for the server or ``contract-archive worker``, and what was open is printed. A
rejection or a failed page (1) is reported before a wait that ran out (3).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor, as_completed
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NamedTuple

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
from contract_archive.cli.batches import split_batches as split_each_batch
from contract_archive.cli.ocr import EXIT_WAIT_RAN_OUT, OcrProgress
from core.errors import ArchiveError
from core.plural import count
from services.facade import Facade
from services.facade.batches import IngestResult, is_batch_scan
from services.facade.watch import Placement, folder_rule

if TYPE_CHECKING:
    from services.facade.contracts import Ingested
    from services.facade.ocr import OcrService


class _Found(NamedTuple):
    path: Path
    name: str
    """The name to report it by."""
    batch: bool
    place: Placement
    """What its folders below the folder given say (the watched folder's rule)."""


def _expand(
    paths: list[Path],
    *,
    split_all: bool,
    codes: frozenset[str] | None,
    customer_given: bool = False,
    classification_given: bool = False,
) -> Iterator[_Found]:
    """Files to ingest with the name to report them by, whether each is a batch scan, and the
    customer and classification their folders give. Directories are walked recursively and
    every file in them is taken: what a file is comes from its bytes, and a file of a format
    the archive does not take is reported as rejected with the reason, never skipped. In a
    directory a PDF is a batch scan when it is in a ``batches`` folder (or with ``split_all``:
    ``--split-batches``); a file given by name is one with ``split_all``. With ``codes`` (the
    scheme's), a file's folders below the directory given are read by the watched folder's
    rule (``folder_rule``: CUSTOMER/CODE/); without, they say nothing."""
    for path in paths:
        if path.is_dir():
            found = []
            for dirpath, dirnames, filenames in os.walk(path):
                dirnames.sort()
                for name in sorted(filenames):
                    found.append(Path(dirpath) / name)
            for f in found:
                place = (
                    Placement()
                    if codes is None
                    else folder_rule(
                        f.relative_to(path),
                        codes,
                        customer_given=customer_given,
                        classification_given=classification_given,
                    )
                )
                yield _Found(f, str(f), is_batch_scan(f, split_all=split_all), place)
        elif split_all:
            yield _Found(path, path.name, True, Placement())
        else:
            yield _Found(path, str(path), False, Placement())


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
        if result.attached_to is not None:
            extra += f" (attachment of #{result.attached_to})"
        out.print(
            f"[green]archived[/]  #{result.id}  {name}  {count(result.pages or 0, 'pages')}{extra}"
        )
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
    wait_seconds: Annotated[
        float | None,
        typer.Option(
            "--wait-seconds",
            min=0,
            help="Longest wait for OCR of the batch (default: ARCHIVE_OCR_WAIT_SECONDS); what "
            "is still open then stays queued, is listed, and the exit status is 3.",
        ),
    ] = None,
    no_wait: Annotated[
        bool,
        typer.Option(
            "--no-wait",
            help="Do not wait for OCR: scanned pages stay queued for the server or "
            "`contract-archive worker` and are listed (exit status 0).",
        ),
    ] = False,
    split_batches: Annotated[
        bool,
        typer.Option(
            "--split-batches",
            help="Each PDF given (and each PDF in the folders given) is a batch scan: split "
            "it at its separator sheets (`contract-archive separator`) into one contract per "
            "segment; the batch file is kept as evidence, linked to each. Without it, only "
            "the PDFs in a folder named `batches` are split.",
        ),
    ] = False,
    preview: Annotated[
        bool,
        typer.Option(
            "--preview",
            help="With --split-batches: print the planned split, archive nothing.",
        ),
    ] = False,
    classification: Annotated[
        str | None,
        typer.Option(help="Classification code (with --split-batches: where a sheet has none)."),
    ] = None,
    folder_rule_on: Annotated[
        bool,
        typer.Option(
            "--folder-rule/--no-folder-rule",
            help="In a folder given, a first-level subfolder names the customer and the one "
            "below it a classification code of the scheme, as in the watched folder "
            "(`watch`); --customer and --classification win over them. --no-folder-rule: "
            "folders say nothing.",
        ),
    ] = True,
) -> None:
    """Archive PDF files, images (PNG, JPEG, TIFF), Office documents (DOCX, DOC, XLSX,
    ODT, ODS), e-mail (.eml, each attachment too) and OFD. Every file is identified by
    its bytes; one the archive does not take is listed as rejected with the reason. A
    batch goes on past bad files. A PDF in a folder named `batches` is a batch scan,
    split at its separator sheets (see --split-batches). Exit status: 0 ok; 1 a file
    was rejected or a page failed OCR; 2 usage; 3 the wait for OCR ran out (pages still
    open)."""
    if preview and not split_batches:
        err.print("[bold red]error:[/] --preview goes with --split-batches")
        raise typer.Exit(2)
    no_ocr = no_ocr or no_wait
    missing = [p for p in paths if not p.exists()]
    for p in missing:
        err.print(f"[bold red]error:[/] {esc(str(p))} does not exist")
    del all_files  # every file is looked at now
    existing = [p for p in paths if p.exists()]
    codes = (
        frozenset(f.watch.codes()) if folder_rule_on and any(p.is_dir() for p in existing) else None
    )
    found = list(
        _expand(
            existing,
            split_all=split_batches,
            codes=codes,
            customer_given=customer is not None,
            classification_given=classification is not None,
        )
    )
    if not found and not missing:
        err.print("[yellow]no files found[/]")
    refused = [
        IngestResult(
            file=x.name,
            status="rejected",
            reason=x.place.reason,
            hint=f"{x.place.hint}; or, to archive the files without reading the folder names, "
            "give --no-folder-rule (or --customer/--classification)",
        )
        for x in found
        if not x.place.ok
    ]
    for result in refused:
        _print_result(result, as_json)
    found = [x for x in found if x.place.ok]

    def given(x: _Found) -> tuple[Path, str, str | None, str | None]:
        """The options win over what the folders say."""
        return (
            x.path,
            x.name,
            customer if customer is not None else x.place.customer,
            classification if classification is not None else x.place.classification,
        )

    batches = [given(x) for x in found if x.batch]
    items = [given(x) for x in found if not x.batch]
    for _path, name, _c, _k in items if preview else ():
        err.print(f"[dim]not a batch: {esc(name)} (not a PDF: archived as a file)[/]")
    # A missing tesseract or language pack stops us here, before anything is archived.
    service = None if no_ocr or preview else f.ocr.service(only=set())
    # Batches first, one at a time; their contracts' scans join the OCR below.
    batch_results, bad_batches = split_each_batch(f, batches, preview=preview, as_json=as_json)
    bad_batches += len(refused)
    if preview:
        if bad_batches or missing:
            raise typer.Exit(EXIT_FAILED)
        return
    counts = {"archived": 0, "duplicate": 0, "rejected": len(refused), "failed": 0}
    scans: dict[int, IngestResult] = {}
    queued_scans: list[IngestResult] = []  # --no-wait: left queued
    for result in batch_results:
        counts[result.status] += 1
        _track_ocr(result, service, scans, queued_scans, no_wait=no_wait)
    plain_bad = 0
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
                customer=file_customer,
                classification=file_classification,
            ): name
            for path, name, file_customer, file_classification in items
        }
        done = (r for future in as_completed(futures) for r in _with_attachments(future))
        for result in done:
            counts[result.status] += 1
            plain_bad += result.status in ("rejected", "failed")
            _track_ocr(result, service, scans, queued_scans, no_wait=no_wait)
            pages += result.pages or 0
            elapsed = progress.tasks[0].elapsed or 0.0
            rate = f"{pages / elapsed:.1f} pages/s" if elapsed > 0 else ""
            progress.update(task, advance=1, pages=pages, rate=rate)
            if show_bar and not as_json:
                progress.console.print(_result_line(result), markup=True)
            elif not (as_json and _deferred(result, scans, queued_scans)):
                _print_result(result, as_json)
    ocr_incomplete, still_open = _wait_for_ocr(
        f, service, scans, queued_scans, as_json=as_json, no_wait=no_wait, wait_seconds=wait_seconds
    )
    if counts["archived"]:
        # The batch's manifest versions under a signed, timestamped ledger checkpoint.
        try:
            f.ledger.after_batch()
        except ArchiveError as exc:
            err.print(f"[bold yellow]warning:[/] no ledger checkpoint: {esc(exc.message)}")
    summary = ", ".join(f"{n} {k}" for k, n in counts.items() if n)
    if not as_json and len(found) + len(refused) > 1:
        err.print(f"[bold]done:[/] {summary}")
    bad = plain_bad + bad_batches + len(missing) + ocr_incomplete
    if bad:
        raise typer.Exit(EXIT_FAILED)
    if still_open and not no_wait:
        raise typer.Exit(EXIT_WAIT_RAN_OUT)


def _wait_for_ocr(
    f: Facade,
    service: OcrService | None,
    scans: dict[int, IngestResult],
    queued_scans: list[IngestResult],
    *,
    as_json: bool,
    no_wait: bool,
    wait_seconds: float | None,
) -> tuple[int, list[tuple[IngestResult, dict[str, Any]]]]:
    """Wait for the OCR of ``scans`` (or list the ``queued_scans`` left for later), print each
    one's outcome: (contracts whose OCR failed, what is still open)."""
    ocr_incomplete = 0
    still_open: list[tuple[IngestResult, dict[str, Any]]] = []
    if service is not None and scans:
        try:
            with OcrProgress(enabled=err.is_terminal and not as_json) as bar:
                service.wait_for(list(scans), progress=bar.update, timeout=wait_seconds)
        finally:
            service.stop()  # pages being read go back to the queue
        for cid, result in scans.items():
            status = f.ocr.status(cid).model_dump(mode="json")
            ocr_incomplete += bool(status["pages_failed"])
            _print_ocr(result, status, as_json)
            if status["pages_open"]:
                still_open.append((result, status))
        if still_open:
            limit = f.ocr.wait_limit() if wait_seconds is None else wait_seconds
            _print_open(still_open, f"stopped waiting for OCR after {limit:g} s")
    elif no_wait:
        for result in queued_scans:
            assert result.id is not None
            status = f.ocr.status(result.id).model_dump(mode="json")
            if as_json:
                _print_ocr(result, status, as_json)
            still_open.append((result, status))
        if still_open:
            _print_open(still_open, "not waiting for OCR (--no-wait)")
    return ocr_incomplete, still_open


def _with_attachments(future: Future[Ingested]) -> list[IngestResult]:
    """A file's result, then those of its attachments (an e-mail's), each on its own line."""
    flat: list[IngestResult] = []
    pending = [future.result().result]
    while pending:
        result = pending.pop(0)
        flat.append(result)
        pending[0:0] = result.attachments
    return flat


def _print_open(still_open: list[tuple[IngestResult, dict[str, Any]]], why: str) -> None:
    """What is still open for OCR (on stderr): each contract with its open pages."""
    pages = sum(status["pages_open"] for _, status in still_open)
    err.print(
        f"[bold yellow]{esc(why)}:[/] {count(pages, 'pages')} of "
        f"{count(len(still_open), 'contracts')} still "
        "open; they stay queued for the server or `contract-archive worker`"
    )
    for result, status in still_open:
        open_pages = [p for p in status["pages"] if p["status"] in ("queued", "running")]
        shown = ", ".join(str(p["page"]) for p in open_pages[:20])
        more = "…" if len(open_pages) > 20 else ""
        word = "page" if len(open_pages) == 1 else "pages"
        err.print(f"  open      #{result.id}  {esc(result.file)}  {word} {shown}{more}")
    ids = " ".join(str(result.id) for result, _ in still_open)
    err.print(f"  [dim]hint: see progress with `contract-archive ocr {ids}`[/]")


def _deferred(
    result: IngestResult, scans: dict[int, IngestResult], queued: list[IngestResult]
) -> bool:
    """Whether the JSON line of this result waits for its OCR status: the scan itself, not a
    duplicate of it met in the same batch (which has the same id)."""
    return scans.get(result.id or 0) is result or any(r is result for r in queued)


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


def _track_ocr(
    result: IngestResult,
    service: OcrService | None,
    scans: dict[int, IngestResult],
    queued: list[IngestResult],
    *,
    no_wait: bool,
) -> None:
    """A contract archived with pages to OCR: queued for OCR now (then waited for), or with
    ``--no-wait`` listed as left queued."""
    if result.status == "archived" and result.id and result.pages_needing_ocr:
        if service is not None:
            scans[result.id] = result
            _queue_for_ocr(service, result.id)
        elif no_wait:
            queued.append(result)


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
        for page in status["pages"]:
            if page["status"] == "failed":
                out.print(f"          page {page['page']}: {esc(page['error'] or 'failed')}")
        out.print(f"          [dim]hint: contract-archive ocr --retry {result.id}[/]")
        return
    if status["pages_open"]:
        return  # listed with what is still open
    conf = status["mean_confidence"]
    shown = f", mean confidence {conf:.1f}" if conf is not None else ""
    out.print(
        f"[green]ocr[/]       #{result.id}  {name}  {count(status['pages_done'], 'pages')}{shown}"
    )
