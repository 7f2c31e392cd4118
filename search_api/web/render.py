"""Rendering pages: the Jinja2 environment, the language of a request, HTML error pages."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import date, datetime, tzinfo
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from jinja2 import Environment, FileSystemLoader, pass_context, select_autoescape
from markupsafe import Markup
from starlette.requests import Request
from starlette.responses import HTMLResponse

from core import clock
from core.clauses import clause_label
from core.roles import Perm
from core.rules import STATE_NAMES_ZH
from search_api.auth import runtime_of
from search_api.web.i18n import (
    CATALOGS,
    LANG_COOKIE,
    Lang,
    localize_html,
    request_lang,
    translate,
)

# Pages load nothing but the app's own files: no inline script or style, no other origin.
PAGE_CSP = (
    "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; "
    "frame-ancestors 'none'; form-action 'self'"
)
HERE = Path(__file__).resolve().parent
TEMPLATES = HERE / "templates"
STATIC = HERE / "static"


@lru_cache(maxsize=1)
def environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(["html"]),
        extensions=["jinja2.ext.do"],
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["filesize"] = filesize
    env.filters["datetime"] = pass_context(
        lambda ctx, v: format_datetime(v, ctx.get("lang", "en"), ctx.get("zone"))
    )
    env.filters["date"] = pass_context(lambda ctx, v: format_date(v, ctx.get("lang", "en")))
    env.filters["num"] = format_number
    env.filters["clause"] = pass_context(lambda ctx, v: clause_label(v, ctx.get("lang", "en")))
    return env


@lru_cache(maxsize=32)
def static_version(name: str) -> str:
    """A short digest of a static file, appended to its URL so browsers may cache it forever."""
    try:
        return hashlib.sha256((STATIC / name).read_bytes()).hexdigest()[:10]
    except OSError:
        return "0"


def filesize(size: int) -> str:
    value = float(size)
    for unit in ("B", "KB", "MB", "GB"):
        if value < 1024 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{size} B"


def format_number(value: int | float | None) -> str:
    """Thousands separated by commas, as both languages write them: 12,345."""
    if value is None:
        return ""
    return f"{value:,}"


MONTHS_EN = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
CURRENCY_ZH = {
    "CNY": "元",
    "USD": "美元",
    "EUR": "欧元",
    "HKD": "港元",
    "GBP": "英镑",
    "JPY": "日元",
}


def _as_date(value: date | datetime | str | None) -> date | datetime | None:
    if value is None or value == "":
        return None
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value) if "T" in value else date.fromisoformat(value)
        except ValueError:
            return None
    return value


def format_date(value: date | datetime | str | None, lang: str = "en") -> str:
    """A day as each language writes it: 2026年3月5日 / 5 Mar 2026."""
    day = _as_date(value)
    if day is None:
        return str(value or "")
    if lang == "zh":
        return f"{day.year}年{day.month}月{day.day}日"
    return f"{day.day} {MONTHS_EN[day.month - 1]} {day.year}"


def format_datetime(
    value: datetime | str | None, lang: str = "en", where: tzinfo | None = None
) -> str:
    """A moment in the reader's zone (UTC without one), the offset named:
    2026年3月5日 22:05 UTC+8 / 5 Mar 2026 14:05 UTC."""
    moment = _as_date(value)
    if not isinstance(moment, datetime):
        return format_date(moment, lang) if moment else str(value or "")
    moment = clock.local(moment, where or clock.zone())
    return f"{format_date(moment, lang)} {moment:%H:%M} {clock.offset_label(moment)}"


ZONE_COOKIE = "archive_tz"
"""The reader's time zone, as the browser reports it (set by app.js; an IANA name)."""


def page_zone(request: Request) -> tzinfo:
    """The zone a page shows times in: the browser's own when it reported a known one, else
    the archive's (``ARCHIVE_TIMEZONE``)."""
    reported = request.cookies.get(ZONE_COOKIE, "")
    if 0 < len(reported) <= 64 and (where := clock.known_zone(reported)) is not None:
        return where
    return clock.zone(runtime_of(request).settings)


def format_amount(amount: Decimal | float | int, currency: str | None, lang: str = "en") -> str:
    """An amount with its currency: CNY 2,500,000.00 / 2,500,000.00 元."""
    number = f"{Decimal(str(amount)):,.2f}"
    if not currency:
        return number
    if lang == "zh":
        return f"{number} {CURRENCY_ZH.get(currency, currency)}"
    return f"{currency} {number}"


def url_with(request: Request, path: str | None = None, **changes: Any) -> str:
    """The current URL (or ``path``) with query parameters changed; None removes one."""
    params: list[tuple[str, str]] = []
    base = request.query_params.multi_items() if path is None else []
    for key, value in base:
        if key not in changes and key != "lang":
            params.append((key, value))
    for key, value in changes.items():
        if value is None:
            continue
        if isinstance(value, list | tuple):
            params.extend((key, str(v)) for v in value)
        else:
            params.append((key, str(value)))
    target = path if path is not None else request.url.path
    return f"{target}?{urlencode(params)}" if params else target


def csrf_token_for(request: Request) -> str | None:
    """The CSRF token forms and scripts of this page must send back: derived from the browser
    session (``search_api.auth``); None without one."""
    from search_api.auth import SESSION_COOKIE
    from services.facade.helpers import csrf_token

    session = request.cookies.get(SESSION_COOKIE)
    return csrf_token(session) if session else None


def status_label(lang: Lang, value: str | None) -> str:
    """A lifecycle state as people say it: 履行中 / active."""
    if not value:
        return ""
    if lang == "zh" and value in STATE_NAMES_ZH:
        return STATE_NAMES_ZH[value]
    return value.replace("_", " ")


def money_text(values: Any, lang: str = "en") -> str:
    """Per-currency amounts side by side, never added: ``CNY 12,000.00 · USD 300.00``
    (``12,000.00 元 · 300.00 美元``) from a list of MoneyPublic (or anything with ``currency``
    and ``amount``), one entry per currency (a "+" would read as a sum)."""
    return MONEY_SEPARATOR.join(format_amount(m.amount, m.currency, lang) for m in values or [])


MONEY_SEPARATOR = " · "


DATE_TERMS = ("sign_date", "effective_date", "expiry_date", "ended_on", "filed_on")


def term_value(request: Request, key: str, value: Any, currency: str | None = None) -> str:
    """A confirmed term as the page's language writes it: dates, amounts, renewal types."""
    lang, _ = request_lang(request)
    if key in DATE_TERMS:
        return format_date(value, lang)
    if key == "amount" and value is not None:
        if isinstance(value, str):  # as a manifest holds it
            try:
                value = Decimal(value)
            except ArithmeticError:
                return str(value)
        return format_amount(value, currency, lang)
    if key in ("renewal_type", "relation", "retention") and value:
        found = f"value.{key}.{value}"
        return translate(lang, found) if found in CATALOGS[lang] else str(value)
    return str(value)


def _can(request: Request, perm: Perm) -> bool:
    caller = getattr(request.state, "caller", None)
    return bool(caller is not None and caller.can(perm))


def render(
    request: Request,
    template: str,
    context: dict[str, Any] | None = None,
    *,
    status_code: int = 200,
    headers: dict[str, str] | None = None,
) -> HTMLResponse:
    lang, chosen = request_lang(request)
    t: Callable[..., str] = lambda key, **values: translate(lang, key, **values)  # noqa: E731
    token = csrf_token_for(request)
    ctx: dict[str, Any] = {
        "request": request,
        "me": getattr(request.state, "caller", None),
        "can_read_log": _can(request, Perm.AUDIT_READ),
        "can": lambda perm: _can(request, Perm(perm)),
        "csrf_token": token,
        "csrf_field": lambda: (
            Markup('<input type="hidden" name="csrf_token" value="{}">').format(token)
            if token
            else ""
        ),
        "lang": lang,
        "zone": page_zone(request),
        "t": t,
        "html_lang": "zh-CN" if lang == "zh" else "en",
        "static": lambda name: f"/static/{name}?v={static_version(name)}",
        "url_with": lambda path=None, **kw: url_with(request, path, **kw),
        "lang_url": lambda code: url_with(request, None, lang=code),
        "path": request.url.path,
        "status_label": lambda value: status_label(lang, value),
        "money": lambda values: money_text(values, lang),
        "amount": lambda value, currency=None: format_amount(value, currency, lang),
        "Markup": Markup,
        "msg": lambda text: localize_html(lang, text),
        "catalog": CATALOGS[lang],
    }
    ctx.update(context or {})
    body = environment().get_template(template).render(ctx)
    response = HTMLResponse(body, status_code=status_code, headers=headers)
    response.headers["Cache-Control"] = "no-store"
    response.headers["Content-Security-Policy"] = PAGE_CSP
    response.headers["Content-Language"] = ctx["html_lang"]
    response.headers.setdefault("Vary", "Accept-Language, Cookie")
    if chosen:
        remember_lang(response, lang)
    return response


def remember_lang(response: HTMLResponse, lang: Lang) -> None:
    response.set_cookie(LANG_COOKIE, lang, max_age=365 * 24 * 3600, samesite="lax", path="/")


def wants_html(request: Request) -> bool:
    """Pages (not the API, not the OpenAPI documents) answer errors as HTML to browsers."""
    path = request.url.path
    if path.startswith("/api/") or path in ("/docs", "/redoc", "/openapi.json"):
        return False
    return "text/html" in request.headers.get("accept", "")


def error_page(
    request: Request,
    status: int,
    code: str,
    message: str,
    hint: str | None = None,
    headers: dict[str, str] | None = None,
) -> HTMLResponse:
    lang, _ = request_lang(request)
    key = f"error.lead.{code}"
    lead: str | None = translate(lang, key) if key in CATALOGS[lang] else None
    detail: str | None = message
    if status == 404 and code == "not_found" and message in ("Not Found", "not found"):
        lead, detail = translate(lang, "error.404"), None
    return render(
        request,
        "error.html",
        {"status": status, "code": code, "lead": lead, "message": detail, "hint": hint},
        status_code=status,
        headers=headers,
    )
