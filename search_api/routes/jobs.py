"""Background jobs for administrators: the failed-jobs list."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from schemas.jobs import JobList
from search_api.deps import ActsManagingSettings
from search_api.errors import ERROR_RESPONSES

router = APIRouter(prefix="/api/v1/jobs", tags=["jobs"])


@router.get("", response_model=JobList, responses=ERROR_RESPONSES, summary="Failed jobs")
def list_jobs(
    f: ActsManagingSettings,
    state: Annotated[str, Query(max_length=20, description="Only `failed` so far.")] = "failed",
) -> JobList:
    """Background jobs that failed for good (their attempts used up): OCR of a page
    (`ocr_page`) and finishing a contract's OCR (`ocr_finish`), each with the reason, the
    attempts and, for operators, the traceback of an unexpected failure. Retry with
    `POST /api/v1/contracts/{id}/ocr/retry`. Contracts of classes hidden from the caller are
    left out."""
    return f.jobs.list_jobs(state)
