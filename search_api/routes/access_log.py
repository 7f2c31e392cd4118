"""Reading the access log: list with filters, export, signed extract, verify, per contract."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Path, Query
from fastapi.responses import Response, StreamingResponse

from core.errors import InvalidRequest
from schemas.access import (
    ChainReportPublic,
    CheckpointPublic,
    LogEntryPublic,
    LogKey,
    LogPage,
    checkpoint_time,
)
from search_api.deps import (
    PUBLIC,
    AccessDep,
    CanExportAudit,
    CanReadAudit,
    CanVerifyAudit,
)
from search_api.errors import ERROR_RESPONSES
from storage.records.access_base import LogFilter

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


def _page(
    access: AccessDep,
    caller: CanReadAudit,
    flt: LogFilter,
    cursor: int | None,
    limit: int,
    order: str,
) -> LogPage:
    newest = order == "newest"
    entries, total = access.read_log(caller, flt, cursor=cursor, limit=limit, newest_first=newest)
    return LogPage(
        total=total,
        limit=limit,
        order=order,
        items=[LogEntryPublic.from_entry(e) for e in entries],
        next_cursor=entries[-1].seq if len(entries) == limit else None,
    )


@router.get(
    "/api/v1/access-log",
    response_model=LogPage,
    responses=ERROR_RESPONSES,
    summary="The access log, filtered and paginated",
)
def read_log(
    access: AccessDep,
    caller: CanReadAudit,
    flt: Filter,
    cursor: Annotated[
        int | None, Query(ge=0, description="`next_cursor` of the last page.")
    ] = None,
    limit: Limit = 100,
    order: Literal["newest", "oldest"] = "newest",
) -> LogPage:
    """Reading the log is itself logged."""
    return _page(access, caller, flt, cursor, limit, order)


@router.get(
    "/api/v1/contracts/{contract_id}/access-log",
    response_model=LogPage,
    responses=ERROR_RESPONSES,
    summary="One contract's access history",
)
def contract_history(
    contract_id: Annotated[int, Path(ge=1, le=2**63 - 1)],
    access: AccessDep,
    caller: CanReadAudit,
    cursor: Annotated[int | None, Query(ge=0)] = None,
    limit: Limit = 100,
    order: Literal["newest", "oldest"] = "newest",
) -> LogPage:
    return _page(access, caller, LogFilter(contract_id=contract_id), cursor, limit, order)


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
    access: AccessDep,
    caller: CanExportAudit,
    flt: Filter,
    format: Literal["csv", "jsonl"] = "jsonl",
) -> StreamingResponse:
    """JSON Lines: one entry per line in its canonical form plus its hash (each line can be
    re-hashed). CSV: UTF-8 with a byte order mark, details as JSON."""
    lines = access.export_log(caller, flt, format)
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
def extract(access: AccessDep, caller: CanExportAudit, flt: Filter) -> Response:
    """A ZIP: the entries (JSON Lines), a signed note over their SHA-256 and the log head, the
    log's public key and VERIFY.txt (openssl and sha256sum steps)."""
    data = access.extract(caller, flt)
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
def verify(access: AccessDep, caller: CanVerifyAudit) -> ChainReportPublic:
    return ChainReportPublic.model_validate(access.verify_log(caller).to_dict())


@router.get(
    "/api/v1/access-log/checkpoints",
    response_model=list[CheckpointPublic],
    responses=ERROR_RESPONSES,
    summary="The signed checkpoints",
)
def checkpoints(access: AccessDep, caller: CanReadAudit) -> list[CheckpointPublic]:
    return [
        CheckpointPublic(
            key=c.key,
            count=c.checkpoint.count if c.checkpoint else None,
            head=c.checkpoint.head if c.checkpoint else None,
            time=checkpoint_time(c.checkpoint.time) if c.checkpoint else None,
            signed=c.signed,
            problem=c.problem,
        )
        for c in access.list_checkpoints(caller)
    ]


@router.get(
    "/api/v1/access-log/key",
    response_model=LogKey,
    dependencies=[Depends(PUBLIC)],
    summary="The public key that signs checkpoints and extracts",
)
def public_key(access: AccessDep) -> LogKey:
    key = access.public_key()
    return LogKey(
        name=key.name,
        key_id=key.id_hex,
        verifier_key=key.to_text(),
        public_key_pem=key.to_pem().decode(),
    )
