"""Contracts: upload, list, show, download the original, read the text."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import timedelta
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, File, Form, Header, Query, Request, UploadFile
from fastapi.responses import JSONResponse, RedirectResponse, Response, StreamingResponse

from core.errors import InvalidRequest
from ingest.errors import RejectFile
from schemas.contract_model import ContractListItem, ContractListPage
from schemas.contracts import (
    ContractPublic,
    ContractText,
    IngestOutcome,
    PageText,
)
from search_api.deps import (
    AccessDep,
    ArchiveDep,
    CanDownload,
    CanIngest,
    CanReadContracts,
    CanViewContracts,
)
from search_api.errors import ERROR_RESPONSES, envelope
from search_api.routes.ocr import ocr_status, wake_ocr
from storage.objects.base import iter_chunks

router = APIRouter(prefix="/api/v1/contracts", tags=["contracts"])

ContractId = Annotated[int, "contract id"]
Purpose = Annotated[
    str | None,
    Query(max_length=2000, description="Why (借阅目的); recorded in the access log."),
]


_UNSAFE_NAME = re.compile(r'[\x00-\x1f\x7f"\\/:*?<>|;\u202a-\u202e\u2066-\u2069]')


def safe_filename(name: str | None, default: str = "upload.pdf") -> str:
    """A file name fit to store and to send back: the last path component only, without
    control characters, quotes, separators or bidirectional overrides (``evil\u202efdp.exe``)."""
    base = (name or "").replace("\\", "/").rsplit("/", 1)[-1]
    cleaned = _UNSAFE_NAME.sub("_", base).strip(" .")
    return cleaned[:255] or default


def _content_disposition(filename: str) -> str:
    name = safe_filename(filename, "contract.pdf")
    ascii_name = name.encode("ascii", "replace").decode().replace("?", "_")
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(name, safe='')}"


@router.post(
    "",
    response_model=IngestOutcome,
    status_code=201,
    responses={
        200: {"model": IngestOutcome, "description": "duplicate"},
        202: {"model": IngestOutcome, "description": "archived; its scanned pages await OCR"},
        **ERROR_RESPONSES,
    },
    summary="Archive one uploaded contract",
)
def upload_contract(
    archive: ArchiveDep,
    request: Request,
    access: AccessDep,
    caller: CanIngest,
    file: Annotated[UploadFile, File(description="The contract, as a PDF.")],
    title: Annotated[str | None, Form(max_length=1000)] = None,
    customer: Annotated[str | None, Form(max_length=500)] = None,
    classification: Annotated[
        str | None, Form(max_length=50, description="A short code such as `HR`.")
    ] = None,
) -> Any:
    """Archive a PDF. 201 when archived, 202 when archived with scanned pages that OCR will
    read in the background (poll `ocr_status_url`), 200 with status `duplicate` when the same
    bytes are already archived, 422 with the reason when the file is rejected."""
    result = access.ingest(
        caller,
        file.file,
        filename=safe_filename(file.filename),
        title=title,
        customer=customer,
        classification=classification,
    )
    if result.status == "rejected":
        raise RejectFile(
            result.reason or "rejected",
            hint=result.hint,
            details={"file": result.file, "sha256": result.sha256},
        )
    if result.status == "failed":
        return envelope(
            507 if result.error_code == "storage_full" else 503,
            result.error_code or "ingest_failed",
            result.reason or "the archive could not store the file",
            hint=result.hint or "nothing was archived; retry later",
            details={"file": result.file},
        )
    outcome = IngestOutcome(**result.to_dict())
    if result.id is not None:
        record = archive.get(result.id)
        if access.may_see(caller, record):  # a duplicate of a hidden contract stays hidden
            outcome.contract = ContractPublic.from_record(record)
    status = 201 if result.status == "archived" else 200
    headers = {}
    if result.status == "archived" and result.pages_needing_ocr and result.id is not None:
        status = 202
        outcome.ocr = ocr_status(archive, result.id)
        outcome.ocr_status_url = headers["Location"] = f"/api/v1/contracts/{result.id}/ocr"
        wake_ocr(request)
    return JSONResponse(
        status_code=status, content=outcome.model_dump(mode="json"), headers=headers
    )


@router.get(
    "", response_model=ContractListPage, responses=ERROR_RESPONSES, summary="List contracts"
)
def list_contracts(
    archive: ArchiveDep,
    access: AccessDep,
    caller: CanViewContracts,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    customer: Annotated[
        str | None, Query(max_length=500, description="Customer id, name or alias")
    ] = None,
    status: Annotated[
        str | None, Query(max_length=500, description="Lifecycle states, comma-separated")
    ] = None,
    classification: Annotated[
        str | None, Query(max_length=200, description="Codes, comma-separated (XS,CG)")
    ] = None,
    expiring_within: Annotated[
        str | None,
        Query(max_length=10, description="Live contracts expiring within e.g. 90d, 12w, 3m"),
    ] = None,
    overdue_payments: Annotated[
        bool, Query(description="Only contracts with payment items past due and unpaid")
    ] = False,
    expired_unrenewed: Annotated[
        bool, Query(description="Only expired contracts no renewal names as master (到期未续签)")
    ] = False,
) -> ContractListPage:
    """Contracts in id order, each with its confirmed terms (customer, expiry, receivables).
    Filters use confirmed values first (classification: the suggestion until one is
    confirmed)."""
    flt = archive.contracts.contract_filter(
        customer=customer,
        status=status,
        classification=classification,
        expiring_within=expiring_within,
        overdue_payments=overdue_payments,
        expired_unrenewed=expired_unrenewed,
    )
    # Contracts of a restricted class the caller is not cleared for are left out (and the
    # total does not count them).
    flt = replace(flt, hidden_classifications=tuple(sorted(access.hidden_classes(caller))))
    page = archive.contracts.list_contracts(flt, offset=offset, limit=limit)
    access.record(
        caller,
        "contract.list",
        details={"offset": offset, "limit": limit, "returned": [line.id for line in page.items]},
    )
    return ContractListPage(
        total=page.total,
        offset=offset,
        limit=limit,
        items=[
            ContractListItem(
                **ContractPublic.from_record(archive.get(line.id)).model_dump(), terms=line
            )
            for line in page.items
        ],
    )


@router.get(
    "/{contract_id}",
    response_model=ContractPublic,
    responses=ERROR_RESPONSES,
    summary="One contract's record",
)
def get_contract(
    access: AccessDep,
    caller: CanViewContracts,
    contract_id: ContractId,
    purpose: Purpose = None,
) -> ContractPublic:
    return ContractPublic.from_record(access.view(caller, contract_id, purpose=purpose))


@router.get(
    "/{contract_id}/original",
    response_class=StreamingResponse,
    responses={
        200: {"content": {"application/pdf": {}}, "description": "the original, byte-identical"},
        304: {"description": "not modified (If-None-Match)"},
        307: {"description": "a presigned S3 URL (ARCHIVE_S3_PRESIGNED_DOWNLOADS)"},
        **ERROR_RESPONSES,
    },
    summary="Download the original, byte-identical",
)
def download_original(
    archive: ArchiveDep,
    access: AccessDep,
    caller: CanDownload,
    contract_id: ContractId,
    purpose: Purpose = None,
    if_none_match: Annotated[str | None, Header()] = None,
) -> Response:
    """A contract of a restricted class needs a `purpose` (借阅登记); every download is logged
    with who, when, from where and why."""
    tags = [t.strip() for t in if_none_match.split(",")] if if_none_match else []
    peek = archive.get(contract_id) if tags else None
    conditional = peek is not None and f'"{peek.sha256}"' in tags
    record, stream = access.download(caller, contract_id, purpose=purpose, conditional=conditional)
    etag = f'"{record.sha256}"'
    headers = {"ETag": etag, "Cache-Control": "private, max-age=0, must-revalidate"}
    if stream is None:
        return Response(status_code=304, headers=headers)
    if archive.settings.s3_presigned_downloads:
        url = archive.objects.presigned_url(
            record.original_key,
            timedelta(seconds=archive.settings.s3_presign_seconds),
            download_name=record.filename,
            content_type=record.content_type,
        )
        if url is not None:
            stream.close()  # the download is logged; the bytes come from the object store
            return RedirectResponse(url, status_code=307, headers=headers)
    headers["Content-Disposition"] = _content_disposition(record.filename)
    headers["Content-Length"] = str(record.size)
    headers["X-Content-SHA256"] = record.sha256
    return StreamingResponse(iter_chunks(stream), media_type=record.content_type, headers=headers)


@router.get(
    "/{contract_id}/text",
    response_model=ContractText,
    responses={
        200: {
            "content": {"text/plain": {}},
            "description": "JSON, or plain text with format=plain",
        },
        **ERROR_RESPONSES,
    },
    summary="The extracted text, page by page",
)
def get_text(
    access: AccessDep,
    caller: CanReadContracts,
    contract_id: ContractId,
    format: Annotated[str, Query(pattern="^(json|plain)$")] = "json",
    purpose: Purpose = None,
) -> Any:
    document = access.read_text(caller, contract_id, purpose=purpose)
    pages = [
        PageText(page=int(p["page"]), source=str(p.get("source", "")), text=str(p.get("text", "")))
        for p in document.get("pages", [])
    ]
    if format == "plain":
        return Response("\f".join(p.text for p in pages), media_type="text/plain; charset=utf-8")
    if not isinstance(pages, list):
        raise InvalidRequest("damaged text file")
    return ContractText(id=contract_id, pages=pages)
