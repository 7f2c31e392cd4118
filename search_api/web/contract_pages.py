"""The web pages of contract content: search, upload, a contract and its pages, its
verification report, and the contract page's OCR-retry and legal-hold buttons; the static files.

Every page acts through the caller's :class:`~services.facade.Facade`. A contract's page text
and page images are its content: reading them is logged (``contract.page``), and for a contract
of a restricted class they need a purpose (借阅登记), asked for on the contract page and carried
in its links (the page images, the downloads) like a download's ``?purpose=``.
"""

from __future__ import annotations

import functools
import math
import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Depends, File, Form, Query, Request, UploadFile
from fastapi.responses import FileResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from core.access_errors import PurposeRequired
from core.errors import NotFound, QuerySyntaxError
from core.roles import Perm
from core.rules import CURRENCIES, FILABLE_STATES, PARTY_ROLES
from schemas.verification import VerificationPublic
from search_api.auth import runtime_of
from search_api.deps import (
    PUBLIC,
    ActsEditing,
    ActsIngesting,
    ActsReading,
    ActsSearching,
    ActsVerifying,
    ActsViewing,
)
from search_api.routes.contracts import BATCH_IN_FOLDER
from search_api.routes.ocr import wake_ocr
from search_api.web.i18n import localize, request_lang
from search_api.web.page_images import (
    RENDER_SCALE,
    PageCache,
    PageLayout,
    hit_rects,
    layout_from_words,
    render_page,
    text_runs,
)
from search_api.web.render import STATIC, render, term_value
from services.facade import Facade
from services.facade.audit import LogFilter
from services.facade.contracts import format_refusals, safe_filename
from services.facade.helpers import (
    Span,
    apply_corrections,
    find_spans,
    mark,
    normalize,
    parse,
    positive_texts,
)

router = APIRouter(include_in_schema=False, tags=["web"])

PAGE_SIZE = 10
HISTORY_SIZE = 20
FACETS: tuple[str, ...] = (
    "classification",
    "status",
    "customer",
    "governing_law",
    "signed",
    "expires",
    "year",
    "clause",
)
DATE_FILTERS: tuple[str, ...] = ("from", "to")
"""Archived on or after / on or before a day (``YYYY-MM-DD``)."""
STATIC_TYPES = {
    ".css": "text/css; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".svg": "image/svg+xml",
    ".ico": "image/x-icon",
}
Purpose = Annotated[str | None, Query(max_length=2000)]
SAVED = frozenset(
    {
        "record",
        "terms",
        "payment",
        "paid",
        "file",
        "transition",
        "hold",
        "release",
        "relation",
        "unlink",
        "unchanged",
        "parties",
    }
)
"""The result messages the contract page knows (``?saved=``); anything else is ignored."""


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


def _search_url(
    q: str, sort: str, filters: list[tuple[str, str]], *, page: int | None = None
) -> str:
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


def _merge_spans(spans: list[Span]) -> list[Span]:
    merged: list[Span] = []
    for span in sorted(spans, key=lambda s: (s.start, -s.end)):
        if merged and span.start <= merged[-1].end:
            merged[-1] = Span(merged[-1].start, max(merged[-1].end, span.end))
        else:
            merged.append(span)
    return merged


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


class _PageCache:
    """The disk cache of drawn pages (``DATA_DIR/cache/pages``) at the web's scale."""

    def __init__(self, request: Request) -> None:
        self.cache = PageCache(runtime_of(request).settings.data_dir / "cache" / "pages")

    def get(self, sha256: str, page: int) -> tuple[Path, PageLayout] | None:
        return self.cache.get(sha256, page, RENDER_SCALE)

    def put(self, sha256: str, page: int, png: bytes, layout: PageLayout) -> Path:
        return self.cache.put(sha256, page, RENDER_SCALE, png, layout)


DRAW = functools.partial(render_page, scale=RENDER_SCALE)
"""A page as PNG and its layout (picklable: it runs in the archive's worker pool)."""


def _with_purpose(url: str, purpose: str | None) -> str:
    if not purpose:
        return url
    return url + ("&" if "?" in url else "?") + "purpose=" + quote(purpose, safe="")


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
    f: ActsSearching,
    request: Request,
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
        result = f.contracts.search(
            effective.strip(),
            limit=PAGE_SIZE,
            offset=min(offset, 100_000),
            sort=sort,
            facets=True,
        )
    except QuerySyntaxError as exc:
        error = exc
        # The position of the error in what was typed, not in the query with the filters
        # around it (which starts with a parenthesis: it was one character too far).
        try:
            parse(q)
        except QuerySyntaxError as own:
            error = own
    active = [
        ActiveFilter(
            name=n,
            value=v,
            remove_url=_search_url(q, sort, [x for x in filters if x != (n, v)]),
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
        "query_url": lambda query: _search_url(query, sort, filters),
        "clear_url": _search_url(q, sort, []),
        "try_instead": _try_instead(q) if result is not None and result.total == 0 else {},
        "did_you_mean": (
            apply_corrections(q, result.corrections)
            if result is not None and result.corrections
            else None
        ),
        "archive_empty": result is not None
        and result.total == 0
        and f.caller.can(Perm.CONTRACTS_VIEW)
        and f.contracts.count() == 0,
        "hl_query": q,
    }
    return render(request, "search.html", context, status_code=400 if error else 200)


# --- upload -----------------------------------------------------------------------------------
def _upload_context(f: Facade, request: Request) -> dict[str, Any]:
    return {
        "max_mb": runtime_of(request).settings.max_upload_bytes // (1024 * 1024),
        "results": None,
        "codes": f.scheme.show().codes,
        "formats": _format_refusals(request),
    }


def _format_refusals(request: Request) -> dict[str, dict[str, str]]:
    """The server's refusal of each unsupported format in the page's language, for the script
    to show beside a refused upload (the API answers in English, with the format's key)."""
    lang = request_lang(request)[0]
    refusals = {**format_refusals(), "batch": BATCH_IN_FOLDER}
    return {
        key: {"message": localize(lang, reason) or reason, "hint": localize(lang, hint) or hint}
        for key, (reason, hint) in refusals.items()
    }


@router.get("/upload")
def upload_page(f: ActsIngesting, request: Request) -> Response:
    return render(request, "upload.html", _upload_context(f, request))


@router.post("/upload")
async def upload_form(
    f: ActsIngesting,
    request: Request,
    files: Annotated[list[UploadFile], File()],
    customer: Annotated[str, Form(max_length=500)] = "",
    classification: Annotated[str, Form(max_length=50)] = "",
) -> Response:
    """The form without JavaScript: every chosen file is archived in turn, one result each."""
    results = []
    for upload in files:
        if not upload.filename:
            continue
        ingested = await run_in_threadpool(
            f.contracts.ingest,
            upload.file,
            filename=safe_filename(upload.filename),
            customer=customer or None,
            classification=classification or None,
        )
        results.append(ingested.result)
    context = await run_in_threadpool(_upload_context, f, request)
    context.update(results=results, customer=customer, classification=classification)
    return render(request, "upload.html", context)


# --- contract ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class HistoryLine:
    at: datetime
    actor: str
    action: str
    outcome: str


@dataclass(frozen=True)
class History:
    entries: list[HistoryLine]
    total: int


def _history(f: Facade, contract_id: int) -> History | None:
    """The contract's latest access-log entries, for callers who may read the log (the read
    is logged like the API's); None, and nothing read or shown, for everyone else."""
    if not f.caller.can(Perm.AUDIT_READ):
        return None
    found = f.audit.read(LogFilter(contract_id=contract_id), limit=HISTORY_SIZE, order="newest")
    lines = [
        HistoryLine(datetime.fromisoformat(e.at), e.actor, e.action, e.outcome) for e in found.items
    ]
    return History(lines, found.total)


@router.get("/contracts/{contract_id}")
def contract_page(
    f: ActsViewing,
    request: Request,
    contract_id: int,
    q: Annotated[str, Query(max_length=2000)] = "",
    page: Annotated[int | None, Query(ge=1)] = None,
    purpose: Purpose = None,
) -> Response:
    """The contract: its pages (image with the hits marked, and text), record, terms,
    downloads, OCR, legal hold, verification, related contracts. A contract of a restricted
    class shows its pages once a purpose is given (the form on the page asks for it). A caller
    who may see records but not read content (the auditor) gets the record without the pages;
    what a caller may not do is not offered (the facade refuses it anyway)."""
    return show_contract(f, request, contract_id, q=q, page=page, purpose=purpose)


def show_contract(
    f: Facade,
    request: Request,
    contract_id: int,
    *,
    q: str = "",
    page: int | None = None,
    purpose: str | None = None,
    extra: dict[str, Any] | None = None,
    status_code: int = 200,
) -> Response:
    """The contract page; ``extra`` adds to its context (the edit forms' values and error,
    ``search_api.web.edit_pages``), ``status_code`` is the answer's (400 for a form refused)."""
    record = f.contracts.view(contract_id, purpose=purpose)  # logged
    purpose = (purpose or "").strip() or None
    patterns = _patterns(q)
    hits_per_page: dict[int, int] = {}

    def first_hit(texts: list[str]) -> int | None:
        if patterns:
            for n, text in enumerate(texts, start=1):
                normalized = normalize(text)
                count = sum(sum(1 for _ in find_spans(normalized, terms)) for terms in patterns)
                if count:
                    hits_per_page[n] = count
        return min(hits_per_page) if hits_per_page else None

    needs_purpose = False
    texts: list[str] = []
    text_error: str | None = None
    layout: PageLayout | None = None
    render_error: str | None = None
    shown = max(1, min(page or 1, max(record.page_count, 1)))
    can_read = f.caller.can(Perm.CONTRACTS_READ)
    if can_read:
        try:
            read = f.pages.read(
                contract_id,
                page,
                purpose=purpose,
                draw=DRAW,
                cache=_PageCache(request),
                hits_for=first_hit,
            )
        except PurposeRequired:
            needs_purpose = True
        else:
            texts, text_error, layout, render_error = (
                read.texts,
                read.text_error,
                read.layout,
                read.render_error,
            )
            shown = read.page
            if page is not None:  # a hit list's page= link: count the hits of every page too
                first_hit(texts)
            if layout is not None and read.words is not None:
                # an OCR'd page: its words are where OCR found them, not in the PDF
                layout = layout_from_words(read.words, layout.width, layout.height) or layout
    rects = hit_rects(layout, patterns) if layout else []
    runs = text_runs(layout) if layout else []
    page_record = next((p for p in record.pages if p.page_no == shown), None)
    page_text = normalize(texts[shown - 1]) if shown <= len(texts) else ""
    spans = [s for terms in patterns for s in find_spans(page_text, terms)]
    page_html = mark(page_text, _merge_spans(spans))
    verification = VerificationPublic.from_report(f.seals.status(contract_id))
    # the excerpts (clause sentences, evidence) with the purpose the page's text was read with
    excerpt_purpose = purpose if not needs_purpose else None
    terms = f.terms.view(contract_id, purpose=excerpt_purpose)
    clauses = f.terms.clauses(contract_id, purpose=excerpt_purpose)

    def page_url(n: int) -> str:
        params = [("q", q)] if q else []
        params += [("purpose", purpose)] if purpose else []
        params.append(("page", str(n)))
        return f"/contracts/{record.id}?{urlencode(params)}#viewer"

    return render(
        request,
        "contract.html",
        {
            "history": _history(f, contract_id),
            "c": record,
            "q": q,
            "page": shown,
            "hits_per_page": hits_per_page,
            "layout": layout,
            "rects": rects,
            "runs": runs,
            "render_error": render_error,
            "page_record": page_record,
            "related": f.contracts.related(contract_id),
            "page_html": page_html,
            "text_error": text_error,
            "locks": f.holds.locks(contract_id),
            "verification": verification,
            "manifests": f.seals.manifests(contract_id),
            "fourprops": (
                f.lifecycle.fourprops(contract_id) if terms.archival.archival_code else None
            ),
            "integrity_alert": f.seals.alert(contract_id),
            "terms": terms,
            "clauses": clauses,
            "ocr": f.ocr.status(contract_id),
            "confirmed": {
                k: v for k, v in terms.confirmed.model_dump().items() if v not in (None, "")
            },
            "embedded": _embedded(verification),
            "page_url": page_url,
            "back_url": _search_url(q, "relevance", []) if q else None,
            "purpose": purpose,
            "needs_purpose": needs_purpose,
            "can_read": can_read,
            "with_purpose": lambda url: _with_purpose(url, purpose),
            "term_value": lambda key, value: term_value(
                request, key, value, terms.confirmed.currency
            ),
            "edit": None,
            "saved": request.query_params.get("saved"),
            "scheme_codes": f.scheme.show().codes if f.caller.can(Perm.CONTRACTS_EDIT) else [],
            "default_fonds": runtime_of(request).settings.fonds_code,
            "currencies": CURRENCIES,
            "filable_states": FILABLE_STATES,
            "party_roles": PARTY_ROLES,
            "saved_messages": SAVED,
            **(extra or {}),
        },
        status_code=status_code,
    )


@router.get("/contracts/{contract_id}/pages/{page}.png")
def page_image(
    f: ActsReading, request: Request, contract_id: int, page: int, purpose: Purpose = None
) -> Response:
    """One page as an image: logged (``contract.page``); a restricted class needs a purpose."""
    image = f.pages.image(contract_id, page, purpose=purpose, draw=DRAW, cache=_PageCache(request))
    headers = {
        "Cache-Control": "private, max-age=86400",
        "ETag": f'"{image.record.sha256}-{page}"',
    }
    if image.path is not None:
        return FileResponse(image.path, media_type="image/png", headers=headers)
    return Response(image.png, media_type="image/png", headers=headers)


@router.get("/contracts/{contract_id}/verification")
def verification_page(f: ActsVerifying, request: Request, contract_id: int) -> Response:
    report = VerificationPublic.from_report(f.seals.verify(contract_id))
    record = f.contracts.view(contract_id)
    return render(
        request,
        "verification.html",
        {"c": record, "v": report, "embedded": _embedded(report)},
    )


@router.post("/contracts/{contract_id}/ocr/retry")
def ocr_retry_form(f: ActsEditing, request: Request, contract_id: int) -> Response:
    """Queue a contract's failed OCR pages again (the contract page's button)."""
    f.ocr.retry(contract_id)
    wake_ocr(request)
    return RedirectResponse(f"/contracts/{contract_id}#ocr-h", status_code=303)


@router.post("/contracts/{contract_id}/legal-hold")
def legal_hold_form(
    f: ActsEditing,
    contract_id: int,
    hold: Annotated[Literal["set", "release"], Form()],
) -> Response:
    """The contract page's legal-hold button; back to the page when done."""
    f.holds.set(contract_id, hold == "set")
    return RedirectResponse(f"/contracts/{contract_id}#locks-h", status_code=303)
