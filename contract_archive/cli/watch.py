"""``contract-archive watch``: archive what is dropped into a folder (the watcher itself is
:mod:`services.watch`, shared with the server's ``ARCHIVE_WATCH_DIR``)."""

from __future__ import annotations

import json
from pathlib import Path, PurePath
from typing import Annotated

import typer

from contract_archive.cli import EXIT_FAILED, acts, app, err, esc, out
from core.plural import count
from services.facade import Facade
from services.facade.batches import IngestResult
from services.facade.watch import REASON_SUFFIX, WatchEvent


@app.command()
@acts
def watch(
    f: Facade,
    folder: Annotated[
        Path,
        typer.Argument(exists=True, file_okay=False, dir_okay=True, help="The folder to watch."),
    ],
    once: Annotated[
        bool,
        typer.Option("--once", help="Archive what is complete now, then stop."),
    ] = False,
    interval: Annotated[
        float, typer.Option("--interval", min=0.1, help="Seconds between two looks.")
    ] = 2.0,
    stable_seconds: Annotated[
        float,
        typer.Option(
            "--stable-seconds",
            min=0,
            help="A file without a NAME.done marker is taken once its size and time have "
            "not changed for this long.",
        ),
    ] = 5.0,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON line per file.")] = False,
    split_batches: Annotated[
        bool,
        typer.Option(
            "--split-batches",
            help="Every PDF is a batch scan, split at its separator sheets (without it: only "
            "the PDFs in a `batches` folder).",
        ),
    ] = False,
) -> None:
    """Archive the files dropped into FOLDER once complete, moving each to archived/ or
    rejected/ (with NAME.reason.txt beside it); a subfolder names the customer, the one
    below it the classification.

    Complete: a NAME.done marker beside the file, or its size and time unchanged for
    --stable-seconds. Each file is first renamed into FOLDER/.processing, so two watchers on
    one folder never take the same file. With --once it stops when the folder is empty.

    Folders: FOLDER/CUSTOMER/x.pdf gets the customer CUSTOMER; FOLDER/CUSTOMER/CODE/x.pdf
    (or deeper) also the classification CODE, which must be a code of the current scheme
    (else the file is rejected, the codes listed in its reason file). A first-level folder
    named like a code is refused too: the first level is always the customer.

    A PDF in a `batches` folder (FOLDER/batches, FOLDER/CUSTOMER/batches, ...), or any PDF
    with --split-batches, is a batch scan split at its separator sheets as `ingest
    --split-batches` does; a batch that cannot be split is rejected whole."""
    bad = 0

    def on_event(event: WatchEvent) -> None:
        nonlocal bad
        bad += not event.ok
        report(event, as_json)

    watcher = f.watch.watcher(
        folder, stable_seconds=stable_seconds, split_batches=split_batches, on_event=on_event
    )
    for place in watcher.recover():
        err.print(f"[yellow]taken again[/] {esc(str(place))} (claimed by a process that died)")
    watcher.run(interval=interval, once=once)  # Ctrl-C: the file being archived goes back
    if bad:
        err.print(f"[yellow]{count(bad, 'files')} rejected: see rejected/*{REASON_SUFFIX}[/]")
        raise typer.Exit(EXIT_FAILED)


def report(event: WatchEvent, as_json: bool) -> None:
    """One file taken, as a line per result (``as_json``: a JSON line) on stdout."""
    if as_json and event.batch is not None:
        line = {**event.batch.to_dict(), "moved_to": str(event.moved_to)}
        out.print(json.dumps(line, ensure_ascii=False), markup=False)
        out.file.flush()
        return
    for result in event.results:
        _line(result, event.moved_to, as_json)


def _line(result: IngestResult, moved_to: PurePath, as_json: bool) -> None:
    if as_json:
        line = {**result.to_dict(), "moved_to": str(moved_to)}
        out.print(json.dumps(line, ensure_ascii=False), markup=False)
        out.file.flush()
        return
    reason = f": {esc(result.reason or '')}" if result.status in ("rejected", "failed") else ""
    out.print(f"{result.status:9} {esc(result.file)}{reason}  → {esc(str(moved_to))}")
