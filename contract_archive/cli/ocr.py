"""`contract-archive ocr` and `worker`: OCR status, retries, and the queue worker."""

from __future__ import annotations

import json
import signal
import threading
import time
from collections.abc import Collection
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
)

from contract_archive.cli import EXIT_FAILED, acts, app, err, esc, out
from contract_archive.cli.jobs import job_line
from core.plural import count, counted
from core.roles import Perm
from core.settings import get_settings
from schemas.jobs import JobPublic
from schemas.ocr import OcrStatus
from services.facade import Facade

if TYPE_CHECKING:
    from services.facade.ocr import OcrCounts, OcrEvent
    from services.ocr import OcrWait

EXIT_WAIT_RAN_OUT = 3
"""The wait for OCR ran out while pages were still open (they stay queued): `ingest` and
`ocr --retry`."""


class OcrProgress:
    """A progress bar of OCR'd pages: done and total, pages per second since OCR started and
    the time left at that rate."""

    def __init__(self, *, enabled: bool, console: Console | None = None) -> None:
        self.progress = Progress(
            TextColumn("[progress.description]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("pages, {task.fields[rate]}"),
            TimeElapsedColumn(),
            TextColumn("ETA {task.fields[eta]}"),
            console=console or err,
            disable=not enabled,
        )
        self.task = self.progress.add_task("OCR", total=0, rate="", eta="-:--:--")
        self.started: float | None = None
        self.first_done: int | None = None

    def update(self, counts: OcrCounts) -> None:
        now = time.monotonic()
        if self.started is None and counts.total:
            self.started, self.first_done = now, counts.finished
        rate, eta = "", "-:--:--"
        if self.started is not None and now > self.started:
            per_second = (counts.finished - (self.first_done or 0)) / (now - self.started)
            rate = f"{per_second:.2f} pages/s"
            if per_second > 0:
                left = round((counts.total - counts.finished) / per_second)
                eta = f"{left // 3600}:{left // 60 % 60:02d}:{left % 60:02d}"
        self.progress.update(
            self.task, total=counts.total, completed=counts.finished, rate=rate, eta=eta
        )

    def __enter__(self) -> OcrProgress:
        self.progress.__enter__()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.progress.__exit__(None, None, None)


def ocr_in_foreground(
    f: Facade,
    contract_ids: Collection[int],
    *,
    workers: int | None = None,
    progress: OcrProgress | None = None,
) -> OcrWait:
    """OCR the queued pages of these contracts here and now, for at most
    ``ARCHIVE_OCR_WAIT_SECONDS``; the page counts at the end and what is still open."""
    with f.ocr.service(only=set(contract_ids), workers=workers) as service:
        return service.wait_for(contract_ids, progress=progress.update if progress else None)


def print_status(status: OcrStatus) -> None:
    head = f"[bold]#{status.id}[/]  OCR {status.state}"
    counts = counted(f"{status.pages_done} of {status.pages_total} pages done")
    if status.pages_failed:
        counts += f", {len(status.pages_failed)} failed"
    out.print(f"{head}  {counts}")
    for page in status.pages:
        conf = "" if page.confidence is None else f"  confidence {page.confidence:.1f}"
        turned = f"  turned {page.rotation}°" if page.rotation else ""
        error = f"  [red]{esc(page.error)}[/]" if page.error else ""
        out.print(f"  page {page.page:>4}  {page.status:<8}{conf}{turned}{error}")
    if status.message:
        out.print(f"  [yellow]{esc(status.message)}[/]")
    if status.searchable_error:
        out.print(f"  [yellow]searchable copy: {esc(status.searchable_error)}[/]")


@app.command()
@acts
def ocr(
    f: Facade,
    contract_ids: Annotated[list[int], typer.Argument(help="Contract ids.")],
    retry: Annotated[
        bool, typer.Option("--retry", help="OCR the failed pages of these contracts again.")
    ] = False,
    wait: Annotated[
        bool,
        typer.Option(
            "--wait/--no-wait",
            help="With --retry: do the work here and wait (default), or only queue it for the "
            "server or `contract-archive worker`.",
        ),
    ] = True,
    workers: Annotated[
        int | None, typer.Option(min=1, max=64, help="Default: ARCHIVE_OCR_WORKERS.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per contract.")] = False,
) -> None:
    """Show the OCR status of contracts, page by page; `--retry` redoes their failed pages."""

    statuses = [f.ocr.status(cid) for cid in contract_ids]  # NotFound before any work
    ran_out = False
    if retry:
        queued = {cid: f.ocr.retry(cid) for cid in contract_ids}
        for cid, pages in queued.items():
            if not as_json:
                shown = ", ".join(map(str, pages)) if pages else "none failed"
                err.print(f"#{cid}: queued pages {shown}")
        pending = [cid for cid, pages in queued.items() if pages]
        if wait and pending:
            with OcrProgress(enabled=err.is_terminal and not as_json) as bar:
                waited = ocr_in_foreground(f, pending, workers=workers, progress=bar)
            ran_out = bool(waited.open_contracts)
        statuses = [f.ocr.status(cid) for cid in contract_ids]
    for status in statuses:
        if as_json:
            out.print(json.dumps(status.model_dump(mode="json"), ensure_ascii=False), markup=False)
        else:
            print_status(status)
    if any(s.pages_failed for s in statuses):
        raise typer.Exit(EXIT_FAILED)
    if ran_out:
        still = " ".join(f"#{s.id}" for s in statuses if s.pages_open)
        err.print(
            f"[bold yellow]stopped waiting for OCR after {f.ocr.wait_limit():g} s:[/] "
            f"{esc(still)} still open; the pages stay queued for the server or "
            "`contract-archive worker`"
        )
        raise typer.Exit(EXIT_WAIT_RAN_OUT)


@app.command()
@acts
def worker(
    f: Facade,
    workers: Annotated[
        int | None, typer.Option(min=1, max=64, help="Default: ARCHIVE_OCR_WORKERS.")
    ] = None,
    until_idle: Annotated[
        bool, typer.Option("--until-idle", help="Stop when the queues are empty.")
    ] = False,
    jobs: Annotated[
        bool | None,
        typer.Option(
            "--jobs/--no-jobs",
            help="Also run the background jobs (scheduled reminders and fixity audits, queued "
            "reindexing). Default: when the user may manage settings.",
        ),
    ] = None,
    watch: Annotated[
        bool | None,
        typer.Option(
            "--watch/--no-watch",
            help="Also watch ARCHIVE_WATCH_DIR as the server does (acting as "
            "ARCHIVE_WATCH_USER, with the ARCHIVE_WATCH_* settings). Default: when it is set "
            "and the user may manage settings.",
        ),
    ] = None,
) -> None:
    """Work the OCR queue and the background jobs until stopped (beside a server run with
    ARCHIVE_OCR_BACKGROUND=false and ARCHIVE_JOBS_BACKGROUND=false, or on another
    machine sharing its database and object store).

    With ARCHIVE_WATCH_DIR set it also watches that folder, the same watcher as `serve`
    runs (`contract-archive watch` tells how): a folder it cannot work in, or a watch user
    who may not ingest, stops it at the start with the reason. Stopping (Ctrl-C, SIGTERM)
    finishes and places the file being archived first."""

    def on_event(event: OcrEvent) -> None:
        if event.page_no is None:
            note = f": {event.error}" if event.error else ""
            err.print(f"contract {event.contract_id}: OCR finished{esc(note)}")
        elif event.status == "done":
            err.print(
                f"contract {event.contract_id} page {event.page_no}: done ({event.seconds:.1f} s)"
            )
        else:
            err.print(
                f"contract {event.contract_id} page {event.page_no}: [red]failed[/] "
                f"{esc(event.error or '')}"
            )

    def on_job(job: JobPublic) -> None:
        err.print(job_line(job))

    stop = threading.Event()
    previous = signal.signal(signal.SIGTERM, lambda *_: stop.set())
    run_jobs = f.caller.can(Perm.SETTINGS_MANAGE) if jobs is None else jobs
    background = f.jobs.worker(on_event=on_job) if run_jobs else None
    settings = get_settings()
    watch_dir = settings.watch_dir
    if watch is None:
        watch = watch_dir is not None and f.caller.can(Perm.SETTINGS_MANAGE)
        if watch_dir is not None and not watch:
            err.print(
                f"[yellow]ARCHIVE_WATCH_DIR {esc(str(watch_dir))} is not watched[/]: "
                f"{esc(f.caller.username)} may not manage settings (ARCHIVE_USER); the server "
                "watches it"
            )
    watcher = None
    if watch:
        if watch_dir is None:
            err.print("[red]--watch: ARCHIVE_WATCH_DIR is not set[/]")
            raise typer.Exit(EXIT_FAILED)
        from contract_archive.cli.watch import report

        watcher = f.watch.configured(on_event=lambda event: report(event, False))
    try:
        with f.ocr.service(workers=workers, on_event=on_event) as service:
            err.print(
                f"[bold green]OCR worker running[/]: {count(service.workers, 'processes')}, "
                f"languages {f.ocr.languages()}, {service.engine_label}"
            )
            if background is not None:
                background.start()
                err.print("[bold green]background jobs running[/]: reminders, fixity, reindex")
            if watcher is not None:
                watcher.start(interval=settings.watch_interval_seconds)
                err.print(f"[bold green]watching[/] {esc(str(watch_dir))}")
            try:
                while not stop.wait(1.0):
                    if (
                        until_idle
                        and f.ocr.queue_empty()
                        and (background is None or background.idle())
                        and (watcher is None or watcher.idle())
                    ):
                        break
            except KeyboardInterrupt:
                pass
            finally:
                if watcher is not None:
                    watcher.stop()  # the file being archived is finished and placed first
                if background is not None:
                    background.stop()
        err.print("OCR worker stopped; unfinished pages and jobs stay queued")
    finally:
        signal.signal(signal.SIGTERM, previous)
