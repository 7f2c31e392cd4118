"""`contract-archive jobs`: jobs for administrators (the OCR queue's and the background jobs):
list them, retry a failed background job, queue one."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from contract_archive.cli import EXIT_USAGE, acts, app, err, esc, out
from core.plural import count
from schemas.jobs import JobPublic
from services.facade import Facade

jobs_app = typer.Typer(
    help="Jobs: list them (failed or all), retry a failed background job, queue one."
)
app.add_typer(jobs_app, name="jobs")

STATE_COLOUR = {"failed": "red", "queued": "yellow", "running": "cyan", "done": "green"}


def job_line(job: JobPublic) -> str:
    """One job in a line of text (rich markup)."""
    colour = STATE_COLOUR.get(job.state, "white")
    tries = (
        f"({job.attempts}/{job.max_attempts} attempts)"
        if job.max_attempts
        else (f"({count(job.attempts, 'attempts')})")
    )
    if job.id is None:  # an OCR job, by contract
        what = f"page {job.page}" if job.kind == "ocr_page" else "finishing OCR"
        head = f"#{job.contract_id}  {esc(job.title or '')}  {what}"
    else:
        head = f"job {job.id}  {job.kind}  queued by {esc(job.queued_by or '')}"
    tail = ""
    if job.reason:
        tail = f": {esc(job.reason)}"
    elif job.result:
        tail = f": {esc(job.result)}"
    if job.state == "queued" and job.next_attempt_at:
        tail += f" [dim](next attempt {job.next_attempt_at:%Y-%m-%d %H:%M:%S} UTC)[/]"
    return f"[{colour}]{job.state}[/]  {head}  {tries}{tail}"


@jobs_app.command("list")
@acts
def list_jobs(
    f: Facade,
    failed: Annotated[
        bool, typer.Option("--failed", help="Jobs that failed for good (the default).")
    ] = False,
    every: Annotated[
        bool,
        typer.Option(
            "--all",
            help="Every background job and the OCR pages queued or running, besides the failed.",
        ),
    ] = False,
    as_json: Annotated[
        bool,
        typer.Option("--json", help="One JSON object per job, with its traceback when it has one."),
    ] = False,
) -> None:
    """Jobs with their state and reason: OCR of a page, finishing a contract's OCR, and the
    background jobs (reminders, fixity, reindex). Retry OCR with `contract-archive ocr --retry
    ID`, a background job with `contract-archive jobs retry ID`. Needs settings:manage."""
    if failed and every:
        err.print("[bold red]error:[/] --failed and --all exclude each other")
        raise typer.Exit(EXIT_USAGE)
    jobs = f.jobs.list_jobs("all" if every else "failed")
    if as_json:
        for job in jobs.items:
            out.print(json.dumps(job.model_dump(mode="json"), ensure_ascii=False), markup=False)
        return
    if not jobs.items:
        err.print("no jobs" if every else "no failed jobs")
        return
    for job in jobs.items:
        out.print(job_line(job))
    ids = sorted({j.contract_id for j in jobs.items if j.state == "failed" and j.contract_id})
    if ids:
        err.print(f"[dim]hint: contract-archive ocr --retry {' '.join(map(str, ids))}[/]")
    if any(j.state == "failed" and j.id is not None for j in jobs.items):
        err.print("[dim]hint: contract-archive jobs retry ID[/]")


@jobs_app.command("retry")
@acts
def retry_job(
    f: Facade,
    job_id: Annotated[int, typer.Argument(help="The failed background job (see `jobs list`).")],
) -> None:
    """Queue a failed background job again, with fresh attempts. Needs settings:manage."""
    job = f.jobs.retry(job_id)
    out.print(job_line(job))


@jobs_app.command("queue")
@acts
def queue_job(
    f: Facade,
    kind: Annotated[str, typer.Argument(help="reindex, fixity or reminders.")],
) -> None:
    """Queue a background job for the worker (the server's or `contract-archive worker`).
    Needs settings:manage."""
    job = f.jobs.queue(kind)
    out.print(job_line(job))
    err.print("[dim]it runs in the server's worker or in `contract-archive worker`[/]")
