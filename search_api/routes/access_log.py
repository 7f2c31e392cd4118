"""Reading the access log: list with filters, export, signed extract, verify, per contract."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import Response, StreamingResponse

from core.errors import InvalidRequest
from schemas.access import ChainReportPublic, CheckpointPublic, LogKey, LogPage
from search_api.auth import runtime_of
from search_api.deps import (
    PUBLIC,
    ActsExportingAudit,
    ActsReadingAudit,
    ActsVerifyingAudit,
)
from search_api.errors import ERROR_RESPONSES
from services.facade.audit import LogFilter

router = APIRouter(tags=["access log"])


def log_filter(
    user: Annotated[str | None, Query(max_length=100, description="Who (user name).")] = None,
    contract: Annotated[int | None, Query(ge=1, le=2**63 - 1, description="Contract id.")] = None,
    action: Annotated[
        str | None,
        Query(
            max_length=50,
            description="An action (`contract.download`), or a prefix ending in a dot "
            "(`contract.`).",
        ),
    ] = None,
    outcome: Annotated[str | None, Query(max_length=30)] = None,
    since: Annotated[datetime | None, Query(description="From (inclusive), ISO 8601.")] = None,
    until: Annotated[datetime | None, Query(description="Until (exclusive), ISO 8601.")] = None,
) -> LogFilter:
    for name, value in (("since", since), ("until", until)):
        if value is not None and value.tzinfo is None:
            raise InvalidRequest(f"{name} needs a time zone, e.g. 2024-03-01T00:00:00Z")
    if since and until and since >= until:
        raise InvalidRequest("since must be before until")
    return LogFilter(
        actor=user, contract_id=contract, action=action, outcome=outcome, since=since, until=until
    )


Filter = Annotated[LogFilter, Depends(log_filter)]
Limit = Annotated[int, Query(ge=1, le=1000)]


@router.get(
    "/api/v1/access-log",
    response_model=LogPage,
    responses=ERROR_RESPONSES,
    summary="The access log, filtered and paginated",
)
def read_log(
    f: ActsReadingAudit,
    flt: Filter,
    cursor: Annotated[
        int | None, Query(ge=0, description="`next_cursor` of the last page.")
    ] = None,
    limit: Limit = 100,
    order: Literal["newest", "oldest"] = "newest",
) -> LogPage:
    """Reading the log is itself logged."""
    return f.audit.read(flt, cursor=cursor, limit=limit, order=order)


@router.get(
    "/api/v1/contracts/{contract_id}/access-log",
    response_model=LogPage,
    responses=ERROR_RESPONSES,
    summary="One contract's access history",
)
def contract_history(
    contract_id: Annotated[int, Path(ge=1, le=2**63 - 1)],
    f: ActsReadingAudit,
    cursor: Annotated[int | None, Query(ge=0)] = None,
    limit: Limit = 100,
    order: Literal["newest", "oldest"] = "newest",
) -> LogPage:
    """404 for a contract the reader may not see (a class they are not cleared for), as for a
    missing one; entries are redacted as in the whole log."""
    return f.audit.history(contract_id, cursor=cursor, limit=limit, order=order)


@router.get(
    "/api/v1/access-log/export",
    response_class=StreamingResponse,
    responses={
        200: {"content": {"text/csv": {}, "application/x-ndjson": {}}},
        **ERROR_RESPONSES,
    },
    summary="Export the access log as CSV or JSON Lines",
)
def export_log(
    f: ActsExportingAudit,
    flt: Filter,
    format: Literal["csv", "jsonl"] = "jsonl",
) -> StreamingResponse:
    """JSON Lines: one entry per line in its canonical form plus its hash (each line can be
    re-hashed). CSV: UTF-8 with a byte order mark, details as JSON."""
    lines = f.audit.export(flt, format)
    media = "text/csv; charset=utf-8" if format == "csv" else "application/x-ndjson"
    name = f"access-log.{format}"
    return StreamingResponse(
        lines, media_type=media, headers={"Content-Disposition": f'attachment; filename="{name}"'}
    )


@router.get(
    "/api/v1/access-log/extract",
    response_class=Response,
    responses={200: {"content": {"application/zip": {}}}, **ERROR_RESPONSES},
    summary="A signed extract of the access log that verifies offline",
)
def extract(f: ActsExportingAudit, flt: Filter) -> Response:
    """A ZIP: the entries (JSON Lines), a signed note over their SHA-256 and the log head, the
    log's public key and VERIFY.txt (openssl and sha256sum steps)."""
    data = f.audit.extract(flt)
    return Response(
        data,
        media_type="application/zip",
        headers={"Content-Disposition": 'attachment; filename="access-log-extract.zip"'},
    )


@router.get(
    "/api/v1/access-log/verify",
    response_model=ChainReportPublic,
    responses=ERROR_RESPONSES,
    summary="Walk the hash chain and check it against the signed checkpoints",
)
def verify(f: ActsVerifyingAudit) -> ChainReportPublic:
    return f.audit.verify()


@router.get(
    "/api/v1/access-log/checkpoints",
    response_model=list[CheckpointPublic],
    responses=ERROR_RESPONSES,
    summary="The signed checkpoints",
)
def checkpoints(f: ActsReadingAudit) -> list[CheckpointPublic]:
    return f.audit.checkpoints()


@router.get(
    "/api/v1/access-log/key",
    response_model=LogKey,
    dependencies=[Depends(PUBLIC)],
    summary="The public key that signs checkpoints and extracts",
)
def public_key(request: Request) -> LogKey:
    return runtime_of(request).public.log_key()
