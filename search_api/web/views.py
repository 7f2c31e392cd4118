"""The pages of the web interface: home, search, upload, contract, customers.

Pages are rendered on the server from the same ``Archive`` operations the API uses; the only
script (``static/app.js``) adds drag and drop with per-file progress to the upload form, which
works without it too.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, File, Form, Query, Request, UploadFile
from fastapi.responses import FileResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from core.access_errors import CsrfFailed, Forbidden, TooManyAttempts, Unauthorized
from core.errors import ArchiveError, InvalidRequest, NotFound, QuerySyntaxError
from core.roles import Caller, Perm
from ingest.context import IngestResult
from schemas.verification import VerificationPublic
from search_api.auth import (
    SESSION_COOKIE,
    clear_session_cookies,
    client_of,
    same_site,
    set_session_cookies,
)
from search_api.deps import (
    PUBLIC,
    AccessDep,
    ArchiveDep,
    CanEditContracts,
    CanIngest,
    CanReadAudit,
    CanReadContracts,
    CanSearch,
    CanVerify,
    SettingsDep,
    SignedInPendingPassword,
)
from search_api.routes.contracts import safe_filename
from search_api.routes.ocr import ocr_status, wake_ocr
from search_api.web.page_images import RENDER_SCALE, PageCache, PageLayout, hit_rects, render_page
from search_api.web.render import STATIC, render
from services.access.service import AccessControl
from services.archive import Archive
from services.holds import contract_locks, set_legal_hold
from storage.index.analysis import normalize
from storage.index.highlight import Span, find_spans, mark
from storage.index.query import parse, positive_texts
from storage.records.access_base import LogEntry, LogFilter

router = APIRouter(include_in_schema=False, tags=["web"])

PAGE_SIZE = 10
LOG_PAGE_SIZE = 50
HISTORY_SIZE = 20
FACETS: tuple[str, ...] = ("classification", "status", "customer", "year")
DATE_FILTERS: tuple[str, ...] = ("from", "to")
"""Archived on or after / on or before a day (``YYYY-MM-DD``)."""
STATIC_TYPES = {
    ".css": "text/css; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".svg": "image/svg+xml",
    ".ico": "image/x-icon",
}


# --- helpers ----------------------------------------------------------------------------------
def _filter_clause(name: str, value: str) -> str:
    value = value.replace('"', " ").strip()
    if name in DATE_FILTERS:
        day = value if re.fullmatch(r"\d{4}-\d{2}-\d{2}", value) else f'"{value}"'
        return f"archived:[{day} TO *]" if name == "from" else f"archived:[* TO {day}]"
    if name == "customer":
        return f'customer:"{value}"'
    if re.fullmatch(r"[\w.-]+", value):
        return f"{name}:{value}"
    return f'{name}:"{value}"'


@dataclass(frozen=True)
class ActiveFilter:
    name: str
    value: str
    remove_url: str


def _filters(request: Request) -> list[tuple[str, str]]:
    out = []
    for name in (*FACETS, *DATE_FILTERS):
        for value in request.query_params.getlist(name):
            if value.strip() and (name, value) not in out:
                out.append((name, value.strip()))
    return out[:20]


def _patterns(q: str) -> list[tuple[str, ...]]:
    try:
        return [t.terms for t in positive_texts(parse(q))] if q.strip() else []
    except QuerySyntaxError:
        return []


def _try_instead(q: str) -> dict[str, str]:
    """Looser queries worth offering when a query found nothing."""
    out: dict[str, str] = {}
    words = q.replace("(", " ").replace(")", " ").split()
    plain = [w for w in words if w.upper() not in ("AND", "OR", "NOT") and ":" not in w]
    if '"' in q:
        unquoted = q.replace('"', " ")
        out["unquote"] = " ".join(unquoted.split())
    if len(plain) > 1 and " OR " not in q:
        out["or"] = " OR ".join(w.strip('"') for w in plain if w.strip('"'))
    return out


# --- static files -----------------------------------------------------------------------------
@router.get("/static/{name}", dependencies=[Depends(PUBLIC)])
def static_file(name: str) -> Response:
    path = (STATIC / name).resolve()
    if path.parent != STATIC.resolve() or not path.is_file() or path.suffix not in STATIC_TYPES:
        raise NotFound(f"no static file {name!r}")
    return FileResponse(
        path,
        media_type=STATIC_TYPES[path.suffix],
        headers={"Cache-Control": "public, max-age=31536000, immutable"},
    )


# --- search -----------------------------------------------------------------------------------
@router.get("/search")
def search_page(
    caller: CanSearch,
    access: AccessDep,
    request: Request,
    archive: ArchiveDep,
    q: Annotated[str, Query(max_length=2000)] = "",
    sort: Literal["relevance", "newest", "oldest"] = "relevance",
    page: Annotated[int, Query(ge=1, le=10_000)] = 1,
) -> Response:
    filters = _filters(request)
    clauses = [f"({q})" if q.strip() else "", *(_filter_clause(n, v) for n, v in filters)]
    effective = " ".join(clauses)
    offset = (page - 1) * PAGE_SIZE
    error: QuerySyntaxError | None = None
    result = None
    try:
        result = access.search(
            caller,
            effective.strip(),
            limit=PAGE_SIZE,
            offset=min(offset, 100_000),
            sort=sort,
            facets=True,
        )
    except QuerySyntaxError as exc:
        error = exc
    active = [
        ActiveFilter(
            name=n,
            value=v,
            remove_url=_search_url(q, sort, [f for f in filters if f != (n, v)]),
        )
        for n, v in filters
    ]
    pages = math.ceil(result.total / PAGE_SIZE) if result else 0
    context: dict[str, Any] = {
        "q": q,
        "sort": sort,
        "page": page,
        "pages": pages,
        "page_links": _page_window(page, pages),
        "result": result,
        "error": error,
        "filters": filters,
        "active": active,
        "facet_names": FACETS,
        "date_from": next((v for n, v in filters if n == "from"), ""),
        "date_to": next((v for n, v in filters if n == "to"), ""),
        "other_filters": [(n, v) for n, v in filters if n not in DATE_FILTERS],
        "facet_url": lambda name, value: _search_url(q, sort, [*filters, (name, value)]),
        "page_url": lambda n: _search_url(q, sort, filters, page=n),
        "sort_url": lambda s: _search_url(q, s, filters),
        "search_url": lambda query: _search_url(query, sort, []),
        "clear_url": _search_url(q, sort, []),
        "try_instead": _try_instead(q) if result is not None and result.total == 0 else {},
        "archive_empty": result is not None
        and access.store.count_visible_contracts(access.hidden_classes(caller)) == 0,
        "hl_query": q,
    }
    return render(request, "search.html", context, status_code=400 if error else 200)


def _search_url(
    q: str, sort: str, filters: list[tuple[str, str]], *, page: int | None = None
) -> str:
    from urllib.parse import urlencode

    params: list[tuple[str, str]] = []
    if q:
        params.append(("q", q))
    params.extend(filters)
    if sort != "relevance":
        params.append(("sort", sort))
    if page and page > 1:
        params.append(("page", str(page)))
    return "/search" + ("?" + urlencode(params) if params else "")


def _page_window(page: int, pages: int) -> list[int | None]:
    """Page numbers to link: the first, the last, and two around the current; None is a gap."""
    wanted = sorted({1, pages, *range(max(1, page - 2), min(pages, page + 2) + 1)} - {0})
    out: list[int | None] = []
    for n in wanted:
        last = out[-1] if out else None
        if last is not None and n - last > 1:
            out.append(None)
        out.append(n)
    return out


# --- upload -----------------------------------------------------------------------------------
@router.get("/upload")
def upload_page(
    caller: CanIngest, access: AccessDep, request: Request, archive: ArchiveDep
) -> Response:
    return render(
        request,
        "upload.html",
        {
            "max_mb": archive.settings.max_upload_bytes // (1024 * 1024),
            "results": None,
            "codes": archive.contracts.scheme().codes,
        },
    )


@router.post("/upload")
async def upload_form(
    caller: CanIngest,
    access: AccessDep,
    request: Request,
    archive: ArchiveDep,
    files: Annotated[list[UploadFile], File()],
    customer: Annotated[str, Form(max_length=500)] = "",
    classification: Annotated[str, Form(max_length=50)] = "",
) -> Response:
    """The form without JavaScript: every chosen file is archived in turn, one result each."""
    results: list[IngestResult] = []
    for upload in files:
        if not upload.filename:
            continue
        result = await run_in_threadpool(
            access.ingest,
            caller,
            upload.file,
            filename=safe_filename(upload.filename),
            customer=customer or None,
            classification=classification or None,
        )
        results.append(result)
    return render(
        request,
        "upload.html",
        {
            "max_mb": archive.settings.max_upload_bytes // (1024 * 1024),
            "results": results,
            "codes": archive.contracts.scheme().codes,
            "customer": customer,
            "classification": classification,
        },
    )


# --- contract ---------------------------------------------------------------------------------
@router.get("/contracts/{contract_id}")
def contract_page(
    caller: CanReadContracts,
    access: AccessDep,
    request: Request,
    archive: ArchiveDep,
    contract_id: int,
    q: Annotated[str, Query(max_length=2000)] = "",
    page: Annotated[int | None, Query(ge=1)] = None,
) -> Response:
    record = access.view(caller, contract_id)  # logged
    patterns = _patterns(q)
    text_error: str | None = None
    try:
        texts = archive.page_texts(record)
    except ArchiveError as exc:  # a damaged package: still show the record and its verification
        texts, text_error = [], exc.message
    hits_per_page: dict[int, int] = {}
    if patterns:
        for n, text in enumerate(texts, start=1):
            normalized = normalize(text)
            count = sum(sum(1 for _ in find_spans(normalized, terms)) for terms in patterns)
            if count:
                hits_per_page[n] = count
    if page is None:
        page = min(hits_per_page) if hits_per_page else 1
    page = max(1, min(page, record.page_count))
    layout: PageLayout | None = None
    render_error: str | None = None
    try:
        layout = page_layout(archive, record.sha256, contract_id, page)
    except ArchiveError as exc:
        render_error = exc.message
    rects = hit_rects(layout, patterns) if layout else []
    related = []
    if record.customer:
        found = archive.search(
            _filter_clause("customer", record.customer) + f" -id:{record.id}",
            limit=10,
            sort="newest",
            restrict=access.restriction(caller),
        )
        related = [h for h in found.hits if h.id != record.id]
    page_record = next((p for p in record.pages if p.page_no == page), None)
    page_text = normalize(texts[page - 1]) if page <= len(texts) else ""
    spans = [s for terms in patterns for s in find_spans(page_text, terms)]
    page_html = mark(page_text, _merge_spans(spans))
    locks = contract_locks(archive, contract_id)
    verification = VerificationPublic.from_report(archive.seal.verify(contract_id))
    terms = archive.contracts.view(contract_id)
    ocr = ocr_status(archive, contract_id)
    history = _history(access, caller, contract_id)
    return render(
        request,
        "contract.html",
        {
            "history": history,
            "c": record,
            "q": q,
            "page": page,
            "hits_per_page": hits_per_page,
            "layout": layout,
            "rects": rects,
            "render_error": render_error,
            "page_record": page_record,
            "related": related,
            "page_html": page_html,
            "text_error": text_error,
            "locks": locks,
            "verification": verification,
            "terms": terms,
            "ocr": ocr,
            "confirmed": {
                k: v for k, v in terms.confirmed.model_dump().items() if v not in (None, "")
            },
            "embedded": _embedded(verification),
            "page_url": lambda n: (
                f"/contracts/{record.id}?" + (f"q={_quote(q)}&" if q else "") + f"page={n}#viewer"
            ),
            "back_url": _search_url(q, "relevance", []) if q else None,
        },
    )


@dataclass(frozen=True)
class History:
    entries: list[LogEntry]
    total: int


def _history(access: AccessControl, caller: Caller, contract_id: int) -> History | None:
    """The contract's latest access-log entries, for callers who may read the log (the read
    is logged like the API's); None, and nothing read or shown, for everyone else."""
    if not caller.can(Perm.AUDIT_READ):
        return None
    entries, total = access.read_log(
        caller, LogFilter(contract_id=contract_id), limit=HISTORY_SIZE, newest_first=True
    )
    return History(entries, total)


def _embedded(report: VerificationPublic) -> dict[str, Any] | None:
    """The embedded-signature report the seal's manifest holds (validated at ingest)."""
    check = next((c for c in report.checks if c.id == "embedded_signatures"), None)
    if check is None:
        return None
    inner = check.details.get("report")
    return {
        "status": check.status,
        "reason": check.reason,
        "report": inner if isinstance(inner, dict) else None,
    }


@router.get("/contracts/{contract_id}/verification")
def verification_page(
    caller: CanVerify, access: AccessDep, request: Request, archive: ArchiveDep, contract_id: int
) -> Response:
    record = archive.get(contract_id)
    report = VerificationPublic.from_report(archive.seal.verify(contract_id))
    access.record(
        caller, "contract.verify", contract_id=contract_id, details={"overall": str(report.overall)}
    )
    return render(
        request,
        "verification.html",
        {"c": record, "v": report, "embedded": _embedded(report)},
    )


@router.post("/contracts/{contract_id}/ocr/retry")
def ocr_retry_form(
    caller: CanEditContracts,
    access: AccessDep,
    request: Request,
    archive: ArchiveDep,
    contract_id: int,
) -> Response:
    """Queue a contract's failed OCR pages again (the contract page's button)."""
    archive.get(contract_id)
    access.record(caller, "contract.ocr_retry", contract_id=contract_id)
    archive.records.retry_ocr(contract_id)
    wake_ocr(request)
    return RedirectResponse(f"/contracts/{contract_id}#ocr-h", status_code=303)


@router.post("/contracts/{contract_id}/legal-hold")
def legal_hold_form(
    caller: CanEditContracts,
    access: AccessDep,
    archive: ArchiveDep,
    contract_id: int,
    hold: Annotated[Literal["set", "release"], Form()],
) -> Response:
    """The contract page's legal-hold button; back to the page when done."""
    access.record(
        caller, "contract.legal_hold", contract_id=contract_id, details={"hold": hold == "set"}
    )
    set_legal_hold(archive, contract_id, hold == "set", user=caller.username)
    return RedirectResponse(f"/contracts/{contract_id}#locks-h", status_code=303)


def _merge_spans(spans: list[Span]) -> list[Span]:
    merged: list[Span] = []
    for span in sorted(spans, key=lambda s: (s.start, -s.end)):
        if merged and span.start <= merged[-1].end:
            merged[-1] = Span(merged[-1].start, max(merged[-1].end, span.end))
        else:
            merged.append(span)
    return merged


def _quote(value: str) -> str:
    from urllib.parse import quote

    return quote(value, safe="")


def _cache(archive: Archive) -> PageCache:
    return PageCache(archive.settings.data_dir / "cache" / "pages")


def page_layout(archive: Archive, sha256: str, contract_id: int, page: int) -> PageLayout:
    cached = _cache(archive).get(sha256, page, RENDER_SCALE)
    if cached is not None:
        return cached[1]
    return _render(archive, contract_id, page)[1]


def _render(archive: Archive, contract_id: int, page: int) -> tuple[bytes, PageLayout]:
    record = archive.get(contract_id)
    if not 1 <= page <= record.page_count:
        raise NotFound(f"contract {contract_id} has no page {page}")
    with archive.spooled_original(record) as path:
        png, layout = archive.run_isolated(
            render_page, str(path), page - 1, RENDER_SCALE, what=f"page {page}"
        )
    _cache(archive).put(record.sha256, page, RENDER_SCALE, png, layout)
    return png, layout


@router.get("/contracts/{contract_id}/pages/{page}.png")
def page_image(
    caller: CanReadContracts, access: AccessDep, archive: ArchiveDep, contract_id: int, page: int
) -> Response:
    record = archive.get(contract_id)
    if not 1 <= page <= record.page_count:
        raise NotFound(f"contract {contract_id} has no page {page}")
    headers = {"Cache-Control": "private, max-age=86400", "ETag": f'"{record.sha256}-{page}"'}
    cached = _cache(archive).get(record.sha256, page, RENDER_SCALE)
    if cached is not None:
        return FileResponse(cached[0], media_type="image/png", headers=headers)
    png, _ = _render(archive, contract_id, page)
    return Response(png, media_type="image/png", headers=headers)


# --- access log -------------------------------------------------------------------------------
def _day(name: str, value: str) -> date | None:
    value = value.strip()
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise InvalidRequest(f"{name} must be a day (YYYY-MM-DD), not {value!r}") from None


def _log_filter(user: str, action: str, contract: str, since: str, until: str) -> LogFilter:
    """The page's form fields as a filter: days in UTC, "until" inclusive of its day."""
    contract = contract.strip()
    if contract and not (contract.isdigit() and 1 <= int(contract) <= 2**63 - 1):
        raise InvalidRequest(f"the contract must be a contract number, not {contract!r}")
    first, last = _day("from", since), _day("to", until)
    start = datetime.combine(first, time(), UTC) if first else None
    end = datetime.combine(last, time(), UTC) + timedelta(days=1) if last else None
    if start and end and start >= end:
        raise InvalidRequest("the first day must not be after the last")
    return LogFilter(
        actor=user.strip() or None,
        action=action.strip() or None,
        contract_id=int(contract) if contract else None,
        since=start,
        until=end,
    )


def _log_params(flt: LogFilter) -> list[tuple[str, str]]:
    """The filter in the API's query parameters (for the export links)."""
    params: list[tuple[str, str]] = []
    if flt.actor:
        params.append(("user", flt.actor))
    if flt.action:
        params.append(("action", flt.action))
    if flt.contract_id:
        params.append(("contract", str(flt.contract_id)))
    if flt.since:
        params.append(("since", flt.since.isoformat()))
    if flt.until:
        params.append(("until", flt.until.isoformat()))
    return params


@router.get("/access-log")
def access_log_page(
    caller: CanReadAudit,
    access: AccessDep,
    request: Request,
    user: Annotated[str, Query(max_length=100)] = "",
    action: Annotated[str, Query(max_length=50)] = "",
    contract: Annotated[str, Query(max_length=20)] = "",
    since: Annotated[str, Query(max_length=10)] = "",
    until: Annotated[str, Query(max_length=10)] = "",
    cursor: Annotated[int | None, Query(ge=0)] = None,
) -> Response:
    """The access log for auditors: filtered, newest first, a page at a time; reading it is
    logged (``audit.read``) like the API's."""
    from urllib.parse import urlencode

    flt = _log_filter(user, action, contract, since, until)
    entries, total = access.read_log(
        caller, flt, cursor=cursor, limit=LOG_PAGE_SIZE, newest_first=True
    )
    form = {"user": user, "action": action, "contract": contract, "since": since, "until": until}
    kept = [(k, v) for k, v in form.items() if v.strip()]
    next_cursor = entries[-1].seq if len(entries) == LOG_PAGE_SIZE else None
    api = urlencode(_log_params(flt))
    return render(
        request,
        "access_log.html",
        {
            "form": form,
            "entries": entries,
            "total": total,
            "first_url": "/access-log" + ("?" + urlencode(kept) if kept else ""),
            "older_url": (
                "/access-log?" + urlencode([*kept, ("cursor", str(next_cursor))])
                if next_cursor is not None
                else None
            ),
            "paged": cursor is not None,
            "can_export": caller.can(Perm.AUDIT_EXPORT),
            "export_csv": "/api/v1/access-log/export?"
            + urlencode([*_log_params(flt), ("format", "csv")]),
            "export_jsonl": "/api/v1/access-log/export?"
            + urlencode([*_log_params(flt), ("format", "jsonl")]),
            "extract_url": "/api/v1/access-log/extract" + ("?" + api if api else ""),
        },
    )


# --- signing in ------------------------------------------------------------------------------
def _local(target: str | None) -> str:
    """Where to go after signing in: a path of this site only (no open redirect)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


@router.get("/login", dependencies=[Depends(PUBLIC)])
def login_page(request: Request, next: Annotated[str, Query(max_length=2000)] = "/") -> Response:
    return render(request, "login.html", {"next": _local(next), "error": None})


@router.post("/login", dependencies=[Depends(PUBLIC)])
def login_form(
    request: Request,
    access: AccessDep,
    settings: SettingsDep,
    username: Annotated[str, Form(max_length=100)],
    password: Annotated[str, Form(max_length=1024)],
    next: Annotated[str, Form(max_length=2000)] = "/",
) -> Response:
    """The browser log-in. Refused from another site (a form elsewhere cannot log anyone in)."""
    if not same_site(request):
        raise CsrfFailed("a cross-site log-in was refused")
    try:
        result = access.login(username, password, client_of(request))
    except (Unauthorized, TooManyAttempts) as exc:
        key = "login.locked" if isinstance(exc, TooManyAttempts) else "login.failed"
        return render(
            request,
            "login.html",
            {"next": _local(next), "error": key, "username": username},
            status_code=exc.http_status,
            headers=getattr(exc, "headers", None),
        )
    target = "/account/password" if result.caller.must_change_password else _local(next)
    response = RedirectResponse(target, status_code=303)
    set_session_cookies(response, request, settings, result)
    return response


@router.post("/logout")
def logout_form(request: Request, access: AccessDep, caller: SignedInPendingPassword) -> Response:
    if caller.via == "session":
        access.logout(caller, request.cookies.get(SESSION_COOKIE))
    response = RedirectResponse("/login", status_code=303)
    clear_session_cookies(response)
    return response


@router.get("/account/password")
def password_page(request: Request, caller: SignedInPendingPassword) -> Response:
    return render(request, "password.html", {"me": caller, "error": None})


@router.post("/account/password")
def password_form(
    request: Request,
    access: AccessDep,
    caller: SignedInPendingPassword,
    current_password: Annotated[str, Form(max_length=1024)],
    new_password: Annotated[str, Form(max_length=1024)],
) -> Response:
    """Every session of the user ends with the change: sign in again with the new password."""
    try:
        access.change_password(caller, current_password, new_password)
    except (InvalidRequest, Forbidden) as exc:
        return render(
            request,
            "password.html",
            {"me": caller, "error": exc.message},
            status_code=exc.http_status,
        )
    response = RedirectResponse("/login?changed=1", status_code=303)
    clear_session_cookies(response)
    return response
