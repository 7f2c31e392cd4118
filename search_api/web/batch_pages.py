"""The batch-scan page: print a separator sheet, upload a scanned batch, see its split (page
thumbnails, page ranges, each segment's customer and classification), then commit it or
discard it."""

from __future__ import annotations

import base64
from typing import Annotated, Any, Literal

from fastapi import APIRouter, File, Form, Query, Request, UploadFile
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from core.errors import ArchiveError
from search_api.deps import ActsIngesting
from search_api.routes.ocr import wake_ocr
from search_api.web.render import render
from services.facade import Facade
from services.facade.batches import BatchOutcome
from services.facade.contracts import safe_filename

router = APIRouter(include_in_schema=False, tags=["web"])


def _view(outcome: BatchOutcome) -> dict[str, Any]:
    """What the template shows: each segment with its pages' thumbnails (data: URLs)."""
    thumbs = {
        page: "data:image/png;base64," + base64.b64encode(png).decode("ascii")
        for page, png in outcome.plan.thumbnails.items()
    }
    segments = []
    for n, segment in enumerate(outcome.segments):
        segments.append(
            {
                "segment": segment,
                "thumbs": [(p, thumbs.get(p)) for p in range(segment.first, segment.last + 1)],
                "sheet_thumb": thumbs.get(segment.separator_page or 0),
                "result": outcome.results[n] if n < len(outcome.results) else None,
            }
        )
    return {"outcome": outcome, "segments": segments}


def _page(f: Facade, request: Request, **context: Any) -> Response:
    return render(request, "batches.html", {"staged": None, "error": None, **context})


@router.get("/batches")
def batches_page(f: ActsIngesting, request: Request) -> Response:
    return _page(f, request)


@router.get("/batches/separator.pdf")
def separator_pdf(
    f: ActsIngesting,
    customer: Annotated[str | None, Query(max_length=500)] = None,
    classification: Annotated[str | None, Query(max_length=50)] = None,
    code: Annotated[Literal["qr", "code128"], Query()] = "qr",
) -> Response:
    data = f.batches.separator(customer or None, classification or None, code)
    return Response(
        data,
        media_type="application/pdf",
        headers={"Content-Disposition": 'attachment; filename="separator.pdf"'},
    )


@router.post("/batches")
async def batches_upload(
    f: ActsIngesting,
    request: Request,
    file: Annotated[UploadFile, File()],
    customer: Annotated[str | None, Form(max_length=500)] = None,
    classification: Annotated[str | None, Form(max_length=50)] = None,
) -> Response:
    try:
        staged = await run_in_threadpool(
            f.batches.stage,
            file.file,
            filename=safe_filename(file.filename, "batch.pdf"),
            customer=customer or None,
            classification=classification or None,
        )
    except ArchiveError as exc:
        return _page(f, request, error=exc)
    return RedirectResponse(f"/batches/staged/{staged.token}", status_code=303)


@router.get("/batches/staged/{token}")
def staged_page(f: ActsIngesting, request: Request, token: str) -> Response:
    staged = f.batches.staged(token)
    return _page(f, request, staged=staged, **_view(staged.outcome))


@router.post("/batches/staged/{token}/commit")
def commit_form(f: ActsIngesting, request: Request, token: str) -> Response:
    try:
        outcome = f.batches.commit(token)
    except ArchiveError as exc:
        return _page(f, request, error=exc)
    if any(r.pages_needing_ocr for r in outcome.results if r.status == "archived"):
        wake_ocr(request)
    return _page(f, request, committed=True, **_view(outcome))


@router.post("/batches/staged/{token}/discard")
def discard_form(f: ActsIngesting, token: str) -> Response:
    f.batches.discard(token)
    return RedirectResponse("/batches", status_code=303)
