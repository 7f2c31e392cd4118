"""Jobs for administrators: the jobs list (OCR and background jobs), queueing a background job,
and the retry of a failed one."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request

from schemas.jobs import JobList, JobPublic, JobRequest
from search_api.deps import ActsManagingSettings
from search_api.errors import ERROR_RESPONSES

router = APIRouter(prefix="/api/v1/jobs", tags=["jobs"])


def wake_jobs(request: Request) -> None:
    """Tell the server's background-job worker (when it runs) that there is new work."""
    worker = getattr(request.app.state, "job_worker", None)
    if worker is not None:
        worker.wake()


@router.get("", response_model=JobList, responses=ERROR_RESPONSES, summary="Jobs")
def list_jobs(
    f: ActsManagingSettings,
    state: Annotated[
        str,
        Query(max_length=20, description="`failed` (the default) or `all`."),
    ] = "failed",
) -> JobList:
    """Jobs that failed for good (their attempts used up), or (`state=all`) every job: OCR of
    a page (`ocr_page`), finishing a contract's OCR (`ocr_finish`), and the background jobs
    (`reminders`, `fixity`, `reindex`, with their `id`), each with the reason, the attempts
    and, for operators, the traceback of an unexpected failure. Retry an OCR job with
    `POST /api/v1/contracts/{id}/ocr/retry`, a background job with
    `POST /api/v1/jobs/{id}/retry`. Contracts of classes hidden from the caller are left
    out."""
    return f.jobs.list_jobs(state)


@router.post(
    "",
    response_model=JobPublic,
    status_code=202,
    responses=ERROR_RESPONSES,
    summary="Queue a background job",
)
def queue_job(f: ActsManagingSettings, body: JobRequest, request: Request) -> JobPublic:
    """Queue `reindex`, `fixity` (an audit of every contract) or `reminders` for the
    background worker (the server's, or `contract-archive worker`). 400 for another kind."""
    job = f.jobs.queue(body.kind)
    wake_jobs(request)
    return job


@router.get(
    "/{job_id}", response_model=JobPublic, responses=ERROR_RESPONSES, summary="A background job"
)
def get_job(f: ActsManagingSettings, job_id: int) -> JobPublic:
    """One background job: its state, attempts, next attempt, lease, result or reason."""
    return f.jobs.get(job_id)


@router.post(
    "/{job_id}/retry",
    response_model=JobPublic,
    responses=ERROR_RESPONSES,
    summary="Retry a failed background job",
)
def retry_job(f: ActsManagingSettings, job_id: int, request: Request) -> JobPublic:
    """Queue a failed background job again with fresh attempts. 409 when it is not failed,
    404 when there is no such job."""
    job = f.jobs.retry(job_id)
    wake_jobs(request)
    return job
