"""`contract-archive jobs`: background jobs for administrators (the failed-jobs list)."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from contract_archive.cli import acts, app, err, esc, out
from services.facade import Facade

jobs_app = typer.Typer(help="Background jobs: list those that failed for good.")
app.add_typer(jobs_app, name="jobs")


@jobs_app.command("list")
@acts
def list_jobs(
    f: Facade,
    failed: Annotated[
        bool,
        typer.Option(
            "--failed", help="Jobs that failed for good (the default: the only list so far)."
        ),
    ] = False,
    as_json: Annotated[
        bool,
        typer.Option("--json", help="One JSON object per job, with its traceback when it has one."),
    ] = False,
) -> None:
    """Failed jobs (OCR of a page, finishing a contract's OCR) with the reason; retry with
    `contract-archive ocr --retry ID`. Needs settings:manage."""
    jobs = f.jobs.list_jobs("failed")
    if as_json:
        for job in jobs.items:
            out.print(json.dumps(job.model_dump(mode="json"), ensure_ascii=False), markup=False)
        return
    if not jobs.items:
        err.print("no failed jobs")
        return
    for job in jobs.items:
        what = f"page {job.page}" if job.kind == "ocr_page" else "finishing OCR"
        out.print(
            f"[red]failed[/]  #{job.contract_id}  {esc(job.title)}  {what}  "
            f"({job.attempts} attempts): {esc(job.reason)}"
        )
    ids = sorted({job.contract_id for job in jobs.items})
    err.print(f"[dim]hint: contract-archive ocr --retry {' '.join(map(str, ids))}[/]")
