"""The pages of identity and the access log: log-in, log-out, one's password, the access log.

They act through the caller-bound facade (``f.tokens``, ``f.audit``); the log-in, before any
caller exists, through the app's :class:`~services.facade.Runtime` (``public.login``). What is
logged is the facade's actions' business: ``auth.login``, ``auth.password``, ``auth.logout`` and
``audit.read`` are written by the access control with the change or before the read.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import RedirectResponse, Response

from core.access_errors import CsrfFailed, Forbidden, TooManyAttempts, Unauthorized
from core.errors import InvalidRequest
from core.roles import Perm
from search_api.auth import (
    SESSION_COOKIE,
    clear_session_cookies,
    client_of,
    runtime_of,
    same_site,
    set_session_cookies,
)
from search_api.deps import PUBLIC, ActsReadingAudit, ActsSelfPendingPassword, SettingsDep
from search_api.web.render import page_zone, render
from services.facade.audit import LogFilter

router = APIRouter(include_in_schema=False, tags=["web"])

LOG_PAGE_SIZE = 50


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
    settings: SettingsDep,
    username: Annotated[str, Form(max_length=100)],
    password: Annotated[str, Form(max_length=1024)],
    next: Annotated[str, Form(max_length=2000)] = "/",
) -> Response:
    """The browser log-in. Refused from another site (a form elsewhere cannot log anyone in);
    the page's own form passes, also when the browser hides its origin (``same_site``)."""
    if not same_site(request):
        raise CsrfFailed("a cross-site log-in was refused")
    try:
        result = runtime_of(request).public.login(username, password, client_of(request))
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
def logout_form(request: Request, f: ActsSelfPendingPassword) -> Response:
    f.tokens.logout(request.cookies.get(SESSION_COOKIE))
    response = RedirectResponse("/login", status_code=303)
    clear_session_cookies(response)
    return response


@router.get("/account/password")
def password_page(request: Request, f: ActsSelfPendingPassword) -> Response:
    return render(request, "password.html", {"me": f.caller, "error": None})


@router.post("/account/password")
def password_form(
    request: Request,
    f: ActsSelfPendingPassword,
    current_password: Annotated[str, Form(max_length=1024)],
    new_password: Annotated[str, Form(max_length=1024)],
) -> Response:
    """Every session of the user ends with the change: sign in again with the new password."""
    try:
        f.tokens.change_password(current_password, new_password)
    except (InvalidRequest, Forbidden) as exc:
        return render(
            request,
            "password.html",
            {"me": f.caller, "error": exc.message},
            status_code=exc.http_status,
        )
    response = RedirectResponse("/login?changed=1", status_code=303)
    clear_session_cookies(response)
    return response


# --- the access log ---------------------------------------------------------------------------
def _day(name: str, value: str) -> date | None:
    value = value.strip()
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise InvalidRequest(f"{name} must be a day (YYYY-MM-DD), not {value!r}") from None


def _log_filter(
    user: str, action: str, contract: str, since: str, until: str, where: tzinfo = UTC
) -> LogFilter:
    """The page's form fields as a filter: days in the reader's zone (the one the page shows
    times in), "until" inclusive of its day."""
    contract = contract.strip()
    if contract and not (contract.isdigit() and 1 <= int(contract) <= 2**63 - 1):
        raise InvalidRequest(f"the contract must be a contract number, not {contract!r}")
    first, last = _day("from", since), _day("to", until)
    start = datetime.combine(first, time(), where).astimezone(UTC) if first else None
    end = (
        datetime.combine(last + timedelta(days=1), time(), where).astimezone(UTC) if last else None
    )
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
    f: ActsReadingAudit,
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
    flt = _log_filter(user, action, contract, since, until, page_zone(request))
    page = f.audit.read(flt, cursor=cursor, limit=LOG_PAGE_SIZE, order="newest")
    form = {"user": user, "action": action, "contract": contract, "since": since, "until": until}
    kept = [(k, v) for k, v in form.items() if v.strip()]
    api = urlencode(_log_params(flt))
    return render(
        request,
        "access_log.html",
        {
            "form": form,
            "entries": page.items,
            "total": page.total,
            "first_url": "/access-log" + ("?" + urlencode(kept) if kept else ""),
            "older_url": (
                "/access-log?" + urlencode([*kept, ("cursor", str(page.next_cursor))])
                if page.next_cursor is not None
                else None
            ),
            "paged": cursor is not None,
            "can_export": f.acting.can(Perm.AUDIT_EXPORT),
            "export_csv": "/api/v1/access-log/export?"
            + urlencode([*_log_params(flt), ("format", "csv")]),
            "export_jsonl": "/api/v1/access-log/export?"
            + urlencode([*_log_params(flt), ("format", "jsonl")]),
            "extract_url": "/api/v1/access-log/extract" + ("?" + api if api else ""),
        },
    )
