"""The failed-jobs page for administrators: each job that failed for good, with the reason
(the traceback stays with the API and the CLI), and a retry button that goes through the OCR
retry."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from search_api.deps import ActsManagingSettings
from search_api.routes.ocr import wake_ocr
from search_api.web.render import render

router = APIRouter(include_in_schema=False, tags=["web"])


@router.get("/jobs")
def jobs_page(f: ActsManagingSettings, request: Request) -> Response:
    return render(request, "jobs.html", {"jobs": f.jobs.list_jobs("failed")})


@router.post("/jobs/retry")
def retry_form(
    f: ActsManagingSettings, request: Request, contract_id: Annotated[int, Form()]
) -> Response:
    f.ocr.retry(contract_id)
    wake_ocr(request)
    return RedirectResponse("/jobs?retried=" + str(contract_id), status_code=303)
