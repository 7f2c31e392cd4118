"""Contracts: upload, list, show, download the original, read the text."""

from __future__ import annotations

import shutil
from datetime import date
from decimal import Decimal
from pathlib import PurePosixPath
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, File, Form, Header, Query, Request, UploadFile
from fastapi.responses import (
    FileResponse,
    JSONResponse,
    RedirectResponse,
    Response,
    StreamingResponse,
)
from starlette.background import BackgroundTask

from core.errors import InvalidRequest
from schemas.contract_model import ContractListPage
from schemas.contracts import (
    ContractPublic,
    ContractText,
    IngestOutcome,
    PageText,
)
from schemas.table import BulkOutcome, BulkRequest
from search_api.deps import (
    ActsDownloading,
    ActsIngesting,
    ActsManagingSettings,
    ActsReading,
    ActsViewing,
)
from search_api.errors import ERROR_RESPONSES, envelope
from search_api.routes.ocr import wake_ocr
from services.facade import Facade
from services.facade.batches import is_batch_upload
from services.facade.contracts import IngestResult, RejectFile, iter_chunks, safe_filename
from services.facade.table import SORT_KEYS, VERIFICATION_STATES, TableQuery
from services.facade.watch import folder_rule

router = APIRouter(prefix="/api/v1/contracts", tags=["contracts"])

ContractId = Annotated[int, "contract id"]
Purpose = Annotated[
    str | None,
    Query(max_length=2000, description="Why (借阅目的); recorded in the access log."),
]


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
    f: ActsIngesting,
    request: Request,
    file: Annotated[
        UploadFile,
        File(
            description="The contract: a PDF, a PNG, JPEG or TIFF image, or an Office "
            "document (DOCX, DOC, XLSX, ODT, ODS)."
        ),
    ],
    title: Annotated[str | None, Form(max_length=1000)] = None,
    customer: Annotated[str | None, Form(max_length=500)] = None,
    classification: Annotated[
        str | None, Form(max_length=50, description="A short code such as `HR`.")
    ] = None,
    folder: Annotated[
        str | None,
        Form(
            max_length=1000,
            description="The file's place below a folder uploaded whole (the web's folder "
            "drop), e.g. `ACME Ltd/XS/2024/x.pdf`: its folders are read by the folder rule of "
            "`ingest FOLDER` and the watched folder (the first level names the customer, the "
            "second a classification code; `customer` and `classification` win). A folder "
            "that breaks the rule, and a PDF in a `batches` folder (a batch scan: "
            "`POST /api/v1/batches`), are refused with the reason.",
        ),
    ] = None,
) -> Any:
    """Archive a PDF, an image (PNG, JPEG, TIFF) or an Office document (DOCX, DOC, XLSX, ODT, ODS):
    an image or Office file is kept as the original, with a PDF rendition (img2pdf, LibreOffice)
    whose pages without text are OCR'd. 201 when archived, 202 when archived with scanned pages
    that OCR will read in the background (poll `ocr_status_url`), 200 with status `duplicate`
    when the same bytes are already archived, 422 with the reason when the file is rejected (a
    file of a format the archive does not take: `details.format` says what it is, `docx`, `ofd`,
    ...). A duplicate of a contract of a restricted class the caller is not cleared for says
    only that: no id, title or record."""
    if folder:
        customer, classification = _folder_place(f, folder, file, customer, classification)
    ingested = f.contracts.ingest(
        file.file,
        filename=safe_filename(file.filename),
        title=title,
        customer=customer,
        classification=classification,
    )
    result = ingested.result
    if result.status == "rejected":
        raise RejectFile(
            result.reason or "rejected",
            hint=result.hint,
            details={
                "file": result.file,
                "sha256": result.sha256,
                **({"format": result.format} if result.format else {}),
            },
        )
    if result.status == "failed":
        return envelope(
            507 if result.error_code == "storage_full" else 503,
            result.error_code or "ingest_failed",
            result.reason or "the archive could not store the file",
            hint=result.hint or "nothing was archived; retry later",
            details={"file": result.file},
        )
    outcome = IngestOutcome(**result.to_dict(), attachments=_attachments(result))
    if ingested.record is not None:
        outcome.contract = ContractPublic.from_record(ingested.record)
    status = 201 if result.status == "archived" else 200
    headers = {}
    if (
        result.status == "archived"
        and result.pages_needing_ocr
        and result.id is not None
        and ingested.record is not None
    ):
        status = 202
        outcome.ocr = f.ocr.status(result.id)
        outcome.ocr_status_url = headers["Location"] = f"/api/v1/contracts/{result.id}/ocr"
        wake_ocr(request)
    return JSONResponse(
        status_code=status, content=outcome.model_dump(mode="json"), headers=headers
    )


BATCH_IN_FOLDER = (
    "a PDF in a batches folder is a batch scan, split at its separator sheets",
    "upload it on the Batch scans page (/batches), or archive the folder with "
    "contract-archive ingest, which splits it",
)
"""The refusal of a batch scan uploaded from a folder (reason, hint; ``details.format`` is
``batch``)."""


def _folder_place(
    f: Facade,
    folder: str,
    file: UploadFile,
    customer: str | None,
    classification: str | None,
) -> tuple[str | None, str | None]:
    """The customer and classification of a file uploaded from a folder, by the folder rule
    (what is given wins); RejectFile for a folder that breaks the rule or a batch scan."""
    where = PurePosixPath(folder)
    if where.is_absolute() or ".." in where.parts:
        raise InvalidRequest(
            f"folder must be a relative place below the uploaded folder, not {folder!r}"
        )
    head = file.file.read(1024)
    file.file.seek(0)
    if is_batch_upload(where, head):
        reason, hint = BATCH_IN_FOLDER
        raise RejectFile(reason, hint=hint, details={"file": folder, "format": "batch"})
    place = folder_rule(
        where,
        f.watch.codes(),
        customer_given=customer is not None,
        classification_given=classification is not None,
    )
    if not place.ok:
        assert place.reason is not None
        raise RejectFile(place.reason, hint=place.hint, details={"file": folder})
    return (
        customer if customer is not None else place.customer,
        classification if classification is not None else place.classification,
    )


def _attachments(result: IngestResult) -> list[IngestOutcome]:
    return [IngestOutcome(**a.to_dict(), attachments=_attachments(a)) for a in result.attachments]


@router.get(
    "", response_model=ContractListPage, responses=ERROR_RESPONSES, summary="List contracts"
)
def list_contracts(
    f: ActsViewing,
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
    sort: Annotated[
        str,
        Query(
            max_length=40,
            description="A column, `-` before it for descending order: "
            + ", ".join(SORT_KEYS)
            + ". Empty values come last; ties in id order.",
        ),
    ] = "id",
    title: Annotated[
        str | None, Query(max_length=500, description="Text the title contains")
    ] = None,
    customer_contains: Annotated[
        str | None, Query(max_length=500, description="Text the customer's name contains")
    ] = None,
    archival_code: Annotated[
        str | None, Query(max_length=200, description="Text the 档号 contains")
    ] = None,
    filed: Annotated[
        bool | None, Query(description="Only contracts with (true) or without (false) a 档号")
    ] = None,
    signed_from: Annotated[date | None, Query(description="Signed on or after")] = None,
    signed_to: Annotated[date | None, Query(description="Signed on or before")] = None,
    expires_from: Annotated[date | None, Query(description="Expiring on or after")] = None,
    expires_to: Annotated[date | None, Query(description="Expiring on or before")] = None,
    amount_min: Annotated[Decimal | None, Query(description="Amount at least")] = None,
    amount_max: Annotated[Decimal | None, Query(description="Amount at most")] = None,
    currency: Annotated[
        str | None,
        Query(
            max_length=3,
            description="The amount's currency: alone, contracts whose amount is in it; "
            "required with amount_min/amount_max, whose bounds are in it (amounts in other "
            "currencies are not compared)",
        ),
    ] = None,
    outstanding: Annotated[
        bool | None, Query(description="With (true) or without (false) receivables unpaid")
    ] = None,
    verification: Annotated[
        str | None,
        Query(
            max_length=200, description="States, comma-separated: " + ", ".join(VERIFICATION_STATES)
        ),
    ] = None,
) -> ContractListPage:
    """Contracts in id order (or by ``sort``), each with its confirmed terms (customer, expiry,
    receivables, verification state). Filters use confirmed values first (classification: the
    suggestion until one is confirmed); the contract table's column filters (issue 15) are
    applied in SQL. Contracts of a restricted class the caller is not cleared for are left out
    (and the total does not count them)."""

    def text(value: object) -> str | None:
        return (
            None if value is None else str(value).lower() if isinstance(value, bool) else str(value)
        )

    table = TableQuery(
        title=title,
        customer=customer_contains,
        archival_code=archival_code,
        filed=text(filed),
        signed_from=text(signed_from),
        signed_to=text(signed_to),
        expires_from=text(expires_from),
        expires_to=text(expires_to),
        amount_min=text(amount_min),
        amount_max=text(amount_max),
        currency=currency,
        outstanding=text(outstanding),
        verification=verification,
        sort=sort or "id",
    )
    return f.contracts.list_contracts(
        offset=offset,
        limit=limit,
        customer=customer,
        status=status,
        classification=classification,
        expiring_within=expiring_within,
        overdue_payments=overdue_payments,
        expired_unrenewed=expired_unrenewed,
        table=table,
    )


@router.post(
    "/bulk",
    response_model=BulkOutcome,
    responses=ERROR_RESPONSES,
    summary="One action on many contracts: classify, set the customer, file, place a hold",
)
def bulk_action(f: ActsViewing, body: BulkRequest) -> BulkOutcome:
    """The contract table's bulk actions (the same facade action as the web's): each contract
    goes through its own single-contract action (`PATCH .../terms`, `POST .../filing`,
    `POST .../holds`), with its own permission check, manifest version, history and access-log
    entry, and its outcome is reported in `rows` (`ok`, or the refusal's `code` and `message`;
    a contract of a class the caller may not see is refused exactly as a missing one). A
    request that cannot apply to any contract (an unknown action, no code, no customer of that
    name, a hold without a reason, more than 500 contracts) is a 400 and changes nothing."""
    return f.table.bulk(body.action, body.ids, value=body.value, reason=body.reason)


@router.get(
    "/{contract_id}",
    response_model=ContractPublic,
    responses=ERROR_RESPONSES,
    summary="One contract's record",
)
def get_contract(
    f: ActsViewing, contract_id: ContractId, purpose: Purpose = None
) -> ContractPublic:
    return ContractPublic.from_record(f.contracts.view(contract_id, purpose=purpose))


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
    f: ActsDownloading,
    contract_id: ContractId,
    purpose: Purpose = None,
    if_none_match: Annotated[str | None, Header()] = None,
) -> Response:
    """A contract of a restricted class needs a `purpose` (借阅登记); every download is logged
    with who, when, from where and why."""
    tags = tuple(t.strip() for t in if_none_match.split(",")) if if_none_match else ()
    download = f.contracts.download(contract_id, purpose=purpose, etags=tags)
    record = download.record
    headers = {"ETag": f'"{record.sha256}"', "Cache-Control": "private, max-age=0, must-revalidate"}
    if download.url is not None:
        return RedirectResponse(download.url, status_code=307, headers=headers)
    if download.stream is None:
        return Response(status_code=304, headers=headers)
    headers["Content-Disposition"] = _content_disposition(record.filename)
    headers["Content-Length"] = str(record.size)
    headers["X-Content-SHA256"] = record.sha256
    return StreamingResponse(
        iter_chunks(download.stream), media_type=record.content_type, headers=headers
    )


@router.get(
    "/{contract_id}/evidence.zip",
    response_class=FileResponse,
    responses={
        200: {"content": {"application/zip": {}}, "description": "the evidence package"},
        **ERROR_RESPONSES,
    },
    summary="Download the evidence package, to verify without the archive",
)
def download_evidence(
    f: ActsDownloading, contract_id: ContractId, purpose: Purpose = None
) -> FileResponse:
    """The original, its text, every manifest version, the seal, certificates, timestamps and
    the ledger's inclusion proof, with a README.txt saying how to check each with OpenSSL and
    `sha256sum` (what `contract-archive export` writes), as one ZIP. A contract of a restricted
    class needs a `purpose`; the download is logged like the original's."""
    path = f.seals.export_zip(contract_id, purpose=purpose)
    return FileResponse(
        path,
        media_type="application/zip",
        filename=path.name,
        background=BackgroundTask(shutil.rmtree, path.parent, ignore_errors=True),
    )


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
    f: ActsReading,
    contract_id: ContractId,
    format: Annotated[str, Query(pattern="^(json|plain)$")] = "json",
    purpose: Purpose = None,
) -> Any:
    document = f.contracts.text(contract_id, purpose=purpose)
    pages = [
        PageText(page=int(p["page"]), source=str(p.get("source", "")), text=str(p.get("text", "")))
        for p in document.get("pages", [])
    ]
    if format == "plain":
        return Response("\f".join(p.text for p in pages), media_type="text/plain; charset=utf-8")
    if not isinstance(pages, list):
        raise InvalidRequest("damaged text file")
    return ContractText(id=contract_id, pages=pages)


@router.post(
    "/{contract_id}/restore",
    responses=ERROR_RESPONSES,
    summary="Restore a damaged stored original from a good copy",
)
def restore_original(
    f: ActsManagingSettings,
    contract_id: ContractId,
    file: Annotated[
        UploadFile, File(description="An exact copy of the contract's original as archived.")
    ],
) -> dict[str, Any]:
    """Write an exact copy back as the contract's stored original (administration,
    `settings:manage`): accepted only when its SHA-256 and size are the record's (else 400
    naming the expected and the actual digest, nothing written), read back and hashed, then
    the contract's integrity alert is cleared. The same as `contract-archive restore ID FILE`."""
    result = f.seals.restore(contract_id, file.file)
    cleared = result.cleared
    return {
        "contract_id": result.contract_id,
        "sha256": result.sha256,
        "size": result.size,
        "written": result.written,
        "alert_cleared": None
        if cleared is None
        else {
            "file": cleared.file,
            "detected_at": cleared.detected_at.isoformat(),
            "detected_by": cleared.detected_by,
        },
        "alert_remaining": None if result.remaining is None else result.remaining.file,
    }
