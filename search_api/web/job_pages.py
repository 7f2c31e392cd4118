"""The jobs page for administrators: each OCR job that failed for good, with the reason (the
traceback stays with the API and the CLI), and a retry button that goes through the OCR retry;
the background jobs (reminders, fixity audits, reindexing) with a retry button for a failed one
and buttons that queue one."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from schemas.jobs import QUEUEABLE_KINDS
from search_api.deps import ActsManagingSettings
from search_api.routes.jobs import wake_jobs
from search_api.routes.ocr import wake_ocr
from search_api.web.render import render

router = APIRouter(include_in_schema=False, tags=["web"])


@router.get("/jobs")
def jobs_page(f: ActsManagingSettings, request: Request) -> Response:
    jobs = f.jobs.list_jobs("all")
    ocr = [j for j in jobs.items if j.id is None and j.state == "failed"]
    background = [j for j in jobs.items if j.id is not None]
    return render(
        request,
        "jobs.html",
        {
            "jobs": jobs.model_copy(update={"items": ocr, "total": len(ocr)}),
            "background": background,
            "background_failed": any(j.state == "failed" for j in background),
            "kinds": QUEUEABLE_KINDS,
        },
    )


@router.post("/jobs/retry")
def retry_form(
    f: ActsManagingSettings, request: Request, contract_id: Annotated[int, Form()]
) -> Response:
    f.ocr.retry(contract_id)
    wake_ocr(request)
    return RedirectResponse("/jobs?retried=" + str(contract_id), status_code=303)


@router.post("/jobs/{job_id}/retry")
def retry_job_form(f: ActsManagingSettings, request: Request, job_id: int) -> Response:
    job = f.jobs.retry(job_id)
    wake_jobs(request)
    return RedirectResponse(f"/jobs?retried_job={job.id}", status_code=303)


@router.post("/jobs/queue")
def queue_form(
    f: ActsManagingSettings, request: Request, kind: Annotated[str, Form(max_length=40)] = ""
) -> Response:
    job = f.jobs.queue(kind)
    wake_jobs(request)
    return RedirectResponse(f"/jobs?queued={job.id}", status_code=303)
