"""OCR of a contract: progress, retrying failed pages, the searchable copy."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Header, Query, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse

from schemas.errors import ErrorEnvelope
from schemas.ocr import OcrStatus
from search_api.deps import ActsDownloading, ActsEditing, ActsViewing
from search_api.errors import ERROR_RESPONSES
from services.facade.contracts import iter_chunks

router = APIRouter(prefix="/api/v1/contracts", tags=["ocr"])

_NOT_READY: dict[int | str, dict[str, Any]] = {
    409: {"model": ErrorEnvelope, "description": "OCR not finished, or no copy"}
}


def wake_ocr(request: Request) -> None:
    """Tell the server's background OCR (when it runs) that there is new work."""
    service = getattr(request.app.state, "ocr_service", None)
    if service is not None:
        service.wake()


@router.get(
    "/{contract_id}/ocr",
    response_model=OcrStatus,
    responses=ERROR_RESPONSES,
    summary="OCR progress of a contract",
)
def get_ocr(f: ActsViewing, contract_id: int) -> OcrStatus:
    """Per page: queued, running, done (with the mean word confidence) or failed (with the
    reason). `state` is `done` or `incomplete` when OCR has finished."""
    return f.ocr.status(contract_id)


@router.post(
    "/{contract_id}/ocr/retry",
    response_model=OcrStatus,
    status_code=202,
    responses=ERROR_RESPONSES,
    summary="OCR the failed pages of a contract again",
)
def retry_ocr(f: ActsEditing, request: Request, contract_id: int) -> JSONResponse:
    f.ocr.retry(contract_id)
    wake_ocr(request)
    status = f.ocr.status(contract_id)
    return JSONResponse(
        status_code=202,
        content=status.model_dump(mode="json"),
        headers={"Location": f"/api/v1/contracts/{contract_id}/ocr"},
    )


@router.get(
    "/{contract_id}/searchable",
    response_class=StreamingResponse,
    responses={
        200: {"content": {"application/pdf": {}}, "description": "the searchable copy"},
        304: {"description": "not modified (If-None-Match)"},
        **ERROR_RESPONSES,
        **_NOT_READY,
    },
    summary="Download the searchable copy (the original with an invisible OCR text layer)",
)
def download_searchable(
    f: ActsDownloading,
    contract_id: int,
    if_none_match: Annotated[str | None, Header()] = None,
    purpose: Annotated[
        str | None,
        Query(max_length=2000, description="Why (借阅目的); recorded in the access log."),
    ] = None,
) -> Response:
    tags = tuple(t.strip() for t in if_none_match.split(",")) if if_none_match else ()
    copy = f.ocr.searchable(contract_id, purpose=purpose, etags=tags)
    headers = {"ETag": f'"{copy.sha256}"', "Cache-Control": "private, max-age=0, must-revalidate"}
    if copy.stream is None:
        return Response(status_code=304, headers=headers)
    stem = copy.record.filename.rsplit(".", 1)[0] or "contract"
    name = f"{stem}.searchable.pdf"
    ascii_name = name.encode("ascii", "replace").decode().replace('"', "")
    headers["Content-Disposition"] = (
        f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(name)}"
    )
    headers["Content-Length"] = str(copy.size)
    headers["X-Content-SHA256"] = copy.sha256
    return StreamingResponse(
        iter_chunks(copy.stream), media_type="application/pdf", headers=headers
    )
