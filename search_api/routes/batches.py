"""Batch scans split by separator sheets: preview the split, or split and archive."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import JSONResponse

from schemas.batches import BatchOutcomeOut
from search_api.deps import ActsIngesting
from search_api.errors import ERROR_RESPONSES
from search_api.routes.ocr import wake_ocr
from services.facade.contracts import safe_filename

router = APIRouter(prefix="/api/v1/batches", tags=["batches"])


@router.post(
    "",
    response_model=BatchOutcomeOut,
    status_code=201,
    responses={200: {"model": BatchOutcomeOut, "description": "preview, or all duplicates"},
               **ERROR_RESPONSES},
    summary="Split a batch scan at its separator sheets",
)  # fmt: skip
def upload_batch(
    f: ActsIngesting,
    request: Request,
    file: Annotated[
        UploadFile,
        File(description="The batch scan: one PDF with a separator sheet before each contract."),
    ],
    preview: Annotated[
        bool, Form(description="true: the planned split only, nothing archived.")
    ] = True,
    customer: Annotated[
        str | None, Form(max_length=500, description="Where a separator sheet names none.")
    ] = None,
    classification: Annotated[
        str | None, Form(max_length=50, description="Where a separator sheet names none.")
    ] = None,
) -> Any:
    """Finds the separator sheets (`contract-archive separator`, or the web's
    `/batches/separator.pdf`) of a scanned batch and splits it: each run of pages between two
    sheets is one contract, with the customer and classification its sheet names (or those
    given here). `preview=true` (the default) answers the plan (200) and archives nothing;
    `preview=false` archives the batch file as evidence and each contract linked to it
    (relation `scan_batch`): 201, or 200 when everything was archived already. A batch without
    sheets is one contract (`note` says so); empty segments are `skipped` with the reason; a
    file that is not a readable PDF is refused (422) and nothing is archived."""
    outcome = f.batches.upload(
        file.file,
        filename=safe_filename(file.filename, "batch.pdf"),
        customer=customer,
        classification=classification,
        preview=preview,
    )
    body = BatchOutcomeOut.model_validate(outcome.to_dict())
    archived = [r for r in (outcome.batch, *outcome.results) if r and r.status == "archived"]
    if any(r.pages_needing_ocr for r in archived):
        wake_ocr(request)
    return JSONResponse(status_code=201 if archived else 200, content=body.model_dump(mode="json"))
