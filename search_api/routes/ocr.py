"""OCR of a contract: progress, retrying failed pages, the searchable copy."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Header, Query, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse

from ingest.ocr.errors import OcrNotReady
from schemas.errors import ErrorEnvelope
from schemas.ocr import OcrStatus
from search_api.deps import AccessDep, ArchiveDep, CanDownload, CanEditContracts, CanViewContracts
from search_api.errors import ERROR_RESPONSES
from services.archive import Archive
from storage.objects.base import iter_chunks

router = APIRouter(prefix="/api/v1/contracts", tags=["ocr"])

_NOT_READY: dict[int | str, dict[str, Any]] = {
    409: {"model": ErrorEnvelope, "description": "OCR not finished, or no copy"}
}


def ocr_status(archive: Archive, contract_id: int) -> OcrStatus:
    record = archive.get(contract_id)
    return OcrStatus.build(
        record,
        archive.records.ocr_batch(contract_id),
        archive.records.ocr_jobs(contract_id),
    )


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
def get_ocr(archive: ArchiveDep, contract_id: int, caller: CanViewContracts) -> OcrStatus:
    """Per page: queued, running, done (with the mean word confidence) or failed (with the
    reason). `state` is `done` or `incomplete` when OCR has finished."""
    return ocr_status(archive, contract_id)


@router.post(
    "/{contract_id}/ocr/retry",
    response_model=OcrStatus,
    status_code=202,
    responses=ERROR_RESPONSES,
    summary="OCR the failed pages of a contract again",
)
def retry_ocr(
    archive: ArchiveDep,
    access: AccessDep,
    caller: CanEditContracts,
    request: Request,
    contract_id: int,
) -> JSONResponse:
    archive.get(contract_id)
    access.record(caller, "contract.ocr_retry", contract_id=contract_id)
    archive.records.retry_ocr(contract_id)
    wake_ocr(request)
    status = ocr_status(archive, contract_id)
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
    archive: ArchiveDep,
    access: AccessDep,
    caller: CanDownload,
    contract_id: int,
    if_none_match: Annotated[str | None, Header()] = None,
    purpose: Annotated[
        str | None,
        Query(max_length=2000, description="Why (借阅目的); recorded in the access log."),
    ] = None,
) -> Response:
    record, purpose = access.may_download(caller, contract_id, purpose=purpose, file="searchable")
    batch = archive.records.ocr_batch(contract_id)
    if batch is None:
        raise OcrNotReady(
            f"contract {contract_id} has a text layer on every page: there is no searchable "
            "copy, the original is searchable as it is",
            hint=f"download /api/v1/contracts/{contract_id}/original",
        )
    if batch.state in ("pending", "finalizing"):
        status = ocr_status(archive, contract_id)
        raise OcrNotReady(
            f"OCR of contract {contract_id} is still running "
            f"({status.pages_done + len(status.pages_failed)} of {status.pages_total} pages)",
            hint=f"poll /api/v1/contracts/{contract_id}/ocr until its state is done",
        )
    if batch.searchable_key is None or batch.searchable_sha256 is None:
        reason = batch.error or "OCR read no page of it"
        raise OcrNotReady(
            f"contract {contract_id} has no searchable copy: {reason}",
            hint=f"contract-archive ocr --retry {contract_id}",
        )
    etag = f'"{batch.searchable_sha256}"'
    headers = {"ETag": etag, "Cache-Control": "private, max-age=0, must-revalidate"}
    not_modified = bool(if_none_match and etag in [t.strip() for t in if_none_match.split(",")])
    access.record(
        caller,
        "contract.download",
        outcome="not_modified" if not_modified else "ok",
        contract_id=contract_id,
        purpose=purpose,
        details={"file": "searchable", "sha256": batch.searchable_sha256},
    )
    if not_modified:
        return Response(status_code=304, headers=headers)
    info = archive.objects.stat(batch.searchable_key)
    stem = record.filename.rsplit(".", 1)[0] or "contract"
    name = f"{stem}.searchable.pdf"
    ascii_name = name.encode("ascii", "replace").decode().replace('"', "")
    headers["Content-Disposition"] = (
        f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(name)}"
    )
    headers["Content-Length"] = str(info.size)
    headers["X-Content-SHA256"] = batch.searchable_sha256
    stream = archive.read_stream(batch.searchable_key)
    return StreamingResponse(iter_chunks(stream), media_type="application/pdf", headers=headers)
