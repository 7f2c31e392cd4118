"""``contract-archive watch``: archive what is dropped into a folder."""

from __future__ import annotations

import json
import os
import socket
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import typer

from contract_archive.cli import EXIT_FAILED, acts, app, err, esc, out
from core.errors import ArchiveError
from services.facade import Facade
from services.facade.batches import BATCH_FOLDER, IngestResult, is_batch_scan

ARCHIVED = "archived"
REJECTED = "rejected"
WORKING = ".processing"
DONE_SUFFIX = ".done"
REASON_SUFFIX = ".reason.txt"
_SKIP = {ARCHIVED, REJECTED, WORKING}


@dataclass
class _Seen:
    size: int
    mtime_ns: int
    since: float


def _candidates(folder: Path) -> list[tuple[Path, str | None]]:
    """Files waiting in ``folder`` with the customer their first-level subfolder names (None
    at the top, and in the top ``batches`` folder). A ``batches`` folder at the top or in a
    customer's folder is looked into as well. Hidden files, ``.done`` markers and the
    watcher's own folders are skipped."""
    found: list[tuple[Path, str | None]] = []

    def files(where: Path, customer: str | None, *, deeper: bool) -> None:
        for entry in sorted(where.iterdir()):
            if entry.name.startswith(".") or entry.name in _SKIP:
                continue
            if entry.is_file() and not entry.name.endswith(DONE_SUFFIX):
                found.append((entry, customer))
            elif entry.is_dir() and entry.name == BATCH_FOLDER and deeper:
                files(entry, customer, deeper=False)
            elif entry.is_dir() and customer is None and deeper:
                files(entry, entry.name, deeper=True)

    files(folder, None, deeper=True)
    return found


def _ready(path: Path, seen: dict[Path, _Seen], stable: float, now: float) -> bool:
    """Complete: a ``NAME.done`` marker beside it, or size and time unchanged for ``stable``
    seconds across scans."""
    if path.with_name(path.name + DONE_SUFFIX).exists():
        return True
    try:
        st = path.stat()
    except FileNotFoundError:
        return False
    last = seen.get(path)
    if last is None or (last.size, last.mtime_ns) != (st.st_size, st.st_mtime_ns):
        seen[path] = _Seen(st.st_size, st.st_mtime_ns, now)
        return False
    return now - last.since >= stable


def _claim(folder: Path, path: Path) -> Path | None:
    """Move the file into the working folder under a name of this process: a rename, so of
    two watchers on one folder exactly one gets it (None: another one did)."""
    working = folder / WORKING
    working.mkdir(exist_ok=True)
    mine = working / f"{socket.gethostname()}-{os.getpid()}-{time.time_ns()}-{path.name}"
    try:
        os.rename(path, mine)
    except FileNotFoundError:
        return None
    return mine


def _place(folder: Path, claimed: Path, relative: Path, result: IngestResult) -> Path:
    """Move a processed file to ``archived/`` or ``rejected/`` (keeping its subfolder), with
    ``NAME.reason.txt`` beside a rejected one; a name already there gets a number."""
    return _move(
        folder, claimed, relative, result.ok, [result.reason or result.status], result.hint
    )


def _move(
    folder: Path, claimed: Path, relative: Path, kept: bool, reasons: list[str], hint: str | None
) -> Path:
    target = folder / (ARCHIVED if kept else REJECTED) / relative
    target.parent.mkdir(parents=True, exist_ok=True)
    final = target
    n = 1
    while final.exists():
        final = target.with_name(f"{target.stem}.{n}{target.suffix}")
        n += 1
    os.rename(claimed, final)
    if not kept:
        lines = list(reasons)
        if hint:
            lines.append(f"hint: {hint}")
        final.with_name(final.name + REASON_SUFFIX).write_text("\n".join(lines) + "\n")
    return final


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
    rejected/ (with NAME.reason.txt beside it); a subfolder names the customer.

    Complete: a NAME.done marker beside the file, or its size and time unchanged for
    --stable-seconds. Each file is first renamed into FOLDER/.processing, so two watchers on
    one folder never take the same file. With --once it stops when the folder is empty.

    A PDF in a `batches` folder (FOLDER/batches or FOLDER/CUSTOMER/batches), or any PDF with
    --split-batches, is a batch scan split at its separator sheets as `ingest --split-batches`
    does; a batch that cannot be split is rejected whole."""
    seen: dict[Path, _Seen] = {}
    bad = 0
    while True:
        now = time.monotonic()
        for path, customer in _candidates(folder):
            if not _ready(path, seen, stable_seconds, now):
                continue
            seen.pop(path, None)
            relative = path.relative_to(folder)
            batch = is_batch_scan(path, split_all=split_batches)  # by its bytes, before the move
            claimed = _claim(folder, path)
            if claimed is None:
                continue  # another watcher took it
            try:
                if batch:
                    bad += not _split(f, folder, claimed, relative, customer, as_json)
                    path.with_name(path.name + DONE_SUFFIX).unlink(missing_ok=True)
                    continue
                result = f.contracts.ingest_path(
                    claimed, display_name=str(relative), customer=customer
                ).result
            except BaseException:
                if claimed.exists():
                    os.rename(claimed, path)  # back where it was: taken again next time
                raise
            placed = _place(folder, claimed, relative, result)
            path.with_name(path.name + DONE_SUFFIX).unlink(missing_ok=True)
            bad += result.status in ("rejected", "failed")
            for r in (result, *result.attachments):
                _report(r, placed.relative_to(folder), as_json)
        if once and not _candidates(folder):
            break
        time.sleep(interval)
    if bad:
        err.print(f"[yellow]{bad} file(s) rejected: see rejected/*{REASON_SUFFIX}[/]")
        raise typer.Exit(EXIT_FAILED)


def _split(
    f: Facade,
    folder: Path,
    claimed: Path,
    relative: Path,
    customer: str | None,
    as_json: bool,
) -> bool:
    """Split and archive a batch scan through the facade (as ``ingest --split-batches``), then
    move it to ``archived/``, or to ``rejected/`` with the reason: a batch that cannot be split
    (found before anything is archived), or one of whose parts was refused. Whether it went
    well."""
    try:
        outcome = f.batches.ingest_path(claimed, display_name=str(relative), customer=customer)
    except ArchiveError as exc:
        placed = _move(folder, claimed, relative, False, [exc.message], exc.hint)
        refused = IngestResult(
            file=str(relative), status="rejected", reason=exc.message, hint=exc.hint
        )
        _report(refused, placed.relative_to(folder), as_json)
        return False
    parts = [r for r in (outcome.batch, *outcome.results) if r is not None]
    reasons = [f"{r.file}: {r.reason or r.status}" for r in parts if not r.ok]
    hint = next((r.hint for r in parts if not r.ok and r.hint), None)
    placed = _move(folder, claimed, relative, outcome.ok, reasons, hint)
    moved_to = placed.relative_to(folder)
    if as_json:
        line = {**outcome.to_dict(), "moved_to": str(moved_to)}
        out.print(json.dumps(line, ensure_ascii=False), markup=False)
        out.file.flush()
        return outcome.ok
    for r in parts:
        _report(r, moved_to, as_json)
    return outcome.ok


def _report(result: IngestResult, moved_to: Path, as_json: bool) -> None:
    if as_json:
        line = {**result.to_dict(), "moved_to": str(moved_to)}
        out.print(json.dumps(line, ensure_ascii=False), markup=False)
        out.file.flush()
        return
    reason = f": {esc(result.reason or '')}" if result.status in ("rejected", "failed") else ""
    out.print(f"{result.status:9} {esc(result.file)}{reason}  → {esc(str(moved_to))}")
