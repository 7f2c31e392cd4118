"""Who is calling the API, may they, and the browser-facing protections.

* **Credentials.** ``Authorization: Bearer cat_...`` (an API token), or the ``archive_session``
  cookie set by ``POST /api/v1/auth/login`` (a browser session). A bad token is a 401; it
  never falls back to the cookie. Tokens in the URL are not accepted (URLs end up in logs).
* **Permissions.** Every route declares exactly one :class:`Require` (``search_api.deps`` has an
  alias per permission). :func:`declared_permission` reads it back for the route table, and the
  role × route matrix test fails for a route without one.
* **Fail closed.** :class:`AuthGate` refuses every request to a route that declares no
  permission (403 ``route_not_guarded``), whatever the method: a route added without one is
  closed to everyone until it declares one, and the matrix test names it.
* **Restricted classes.** A route with a ``{contract_id}`` path parameter and a contract
  permission (:data:`CONTRACT_ACTIONS`) answers 404 for a contract the caller may not see, as for
  a missing one, before the route runs: routes added later are covered too.
* **Early refusal.** FastAPI reads a request body before it runs dependencies, so
  :class:`AuthGate` refuses unauthenticated or unauthorised POST/PUT/PATCH/DELETE requests before
  their body (an upload) is received.
* **CSRF.** A state-changing request authenticated by the session cookie must carry the session's
  CSRF token (``X-CSRF-Token`` header, or a ``csrf_token`` form field) and must not come from
  another site (``Origin`` / ``Sec-Fetch-Site``). Token-authenticated requests carry no ambient
  credential and need none.
* **The access log** is the routes' business, declared per route: a route that acts through the
  facade (:class:`Acts`) is logged by the facade's actions; a change through a plain
  :class:`Require` route gets a generic ``api.<endpoint>`` entry here, unless the route declares
  ``guard_logs=False`` (it logs itself).
* **Security headers** on every response (:class:`SecurityHeaders`). ``Referrer-Policy:
  same-origin`` keeps the site's own ``Origin`` on its form posts (issue 15).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from fastapi import Request, Response
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import MutableHeaders
from starlette.routing import Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from core.access_errors import (
    CsrfFailed,
    PasswordChangeRequired,
    RouteNotGuarded,
    Unauthorized,
)
from core.errors import ArchiveError
from core.roles import Caller, Client, Perm
from core.settings import Settings
from services.facade import Facade, Runtime
from services.facade.base import GRANT_PERMS
from services.facade.helpers import csrf_token, same_secret
from services.facade.public import LoginResult, PublicArea

if TYPE_CHECKING:
    from services.access.service import AccessControl
    from services.archive import Archive

SESSION_COOKIE = "archive_session"
CSRF_COOKIE = "archive_csrf"
CSRF_HEADER = "x-csrf-token"
CSRF_FIELD = "csrf_token"
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
_FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")
_NOT_YET = object()


def get_access(request: Request) -> AccessControl:
    """The archive's access control, for the gate (authentication, the route's permission)."""
    return runtime_of(request).access


def public_of(request: Request) -> PublicArea:
    """What the gate may do before and around a caller (``services.facade.public``)."""
    return runtime_of(request).public


def client_of(request: Request) -> Client:
    return Client(
        ip=request.client.host if request.client else None,
        user_agent=request.headers.get("user-agent"),
    )


def authenticate(request: Request) -> Caller | None:
    """The caller of this request (cached on it), None without credentials, Unauthorized for
    bad ones."""
    cached = getattr(request.state, "caller", _NOT_YET)
    if cached is None or isinstance(cached, Caller):
        return cached
    public = public_of(request)
    caller: Caller | None = None
    header = request.headers.get("authorization")
    if header is not None:
        scheme, _, value = header.strip().partition(" ")
        if scheme.lower() != "bearer" or not value.strip():
            raise Unauthorized(
                "unsupported Authorization header", hint="send Authorization: Bearer <API token>"
            )
        caller = public.authenticate_token(value.strip(), client_of(request))
    else:
        cookie = request.cookies.get(SESSION_COOKIE)
        if cookie:
            caller = public.authenticate_session(cookie, client_of(request))
    request.state.caller = caller
    return caller


def set_session_cookies(
    response: Response, request: Request, settings: Settings, result: LoginResult
) -> None:
    """The session cookie (HttpOnly, SameSite=Lax) and the CSRF cookie of a log-in."""
    secure = (
        settings.session_cookie_secure
        if settings.session_cookie_secure is not None
        else request.url.scheme == "https"
    )
    max_age = settings.session_max_hours * 3600
    response.set_cookie(
        SESSION_COOKIE,
        result.session_token,
        max_age=max_age,
        httponly=True,
        secure=secure,
        samesite="lax",
        path="/",
    )
    response.set_cookie(
        CSRF_COOKIE,
        result.csrf_token,
        max_age=max_age,
        httponly=False,
        secure=secure,
        samesite="strict",
        path="/",
    )


def clear_session_cookies(response: Response) -> None:
    response.delete_cookie(SESSION_COOKIE, path="/")
    response.delete_cookie(CSRF_COOKIE, path="/")


def same_site(request: Request) -> bool:
    """False when the browser says the request comes from another site.

    ``Sec-Fetch-Site`` (sent by current browsers, and not settable by a page's script) must say
    ``same-origin`` (or ``none``: typed or bookmarked). An ``Origin`` header must name this host.
    ``Origin: null`` is what a browser sends when it hides the origin (a ``no-referrer`` policy,
    a sandboxed frame, a ``file:`` page, a redirect across sites): it proves nothing either
    way, so it passes only when the browser also says ``Sec-Fetch-Site: same-origin``."""
    fetch_site = request.headers.get("sec-fetch-site")
    if fetch_site is not None and fetch_site not in ("same-origin", "none"):
        return False
    origin = request.headers.get("origin")
    if origin is None:
        return True
    if origin.strip().lower() == "null":
        return fetch_site == "same-origin"
    return urlsplit(origin).netloc.lower() == request.headers.get("host", "").lower()


def check_csrf(request: Request, form_token: str | None) -> None:
    session = request.cookies.get(SESSION_COOKIE, "")
    given = request.headers.get(CSRF_HEADER) or form_token
    if not given or not same_secret(given, csrf_token(session)):
        raise CsrfFailed(
            "the CSRF token is missing or wrong",
            hint="send the X-CSRF-Token header with the csrf_token given at log-in",
        )
    if not same_site(request):
        raise CsrfFailed("a cross-site request was refused")


CONTRACT_ACTIONS: dict[Perm, str] = {
    Perm.CONTRACTS_VIEW: "contract.view",
    Perm.CONTRACTS_READ: "contract.text",
    Perm.CONTRACTS_DOWNLOAD: "contract.download",
    Perm.CONTRACTS_INGEST: "contract.update",
    Perm.CONTRACTS_EDIT: "contract.update",
    Perm.CONTRACTS_CLASSIFY: "contract.update",
    Perm.CONTRACTS_VERIFY: "contract.verify",
}
"""Permissions that act on a contract's content or record: a route with one of these and a
``{contract_id}`` path parameter only serves contracts the caller may see. (The access log's
routes are exempt: an auditor reads the history of every contract.)"""


def _contract_id(request: Request) -> int | None:
    raw = request.path_params.get("contract_id")
    try:
        return int(raw) if raw is not None else None
    except (TypeError, ValueError):
        return None


class Require:
    """The dependency of one permission. Returns the :class:`Caller`.

    Whether a route's work is logged is declared, never inferred from the module it lives in:
    a route that acts through the facade (:class:`Acts`) is logged by the facade's actions; a
    route that still takes a plain :class:`Require` gets a generic ``api.<endpoint>`` entry
    (``started``) for each change, written here before the route runs, unless it says
    ``guard_logs=False`` because it logs its changes itself."""

    acts_through_facade = False
    """True for :class:`Acts`: the route's actions log themselves (``services.facade``)."""

    def __init__(
        self, perm: Perm, *, allow_password_change: bool = False, guard_logs: bool = True
    ) -> None:
        self.perm = perm
        self.allow_password_change = allow_password_change
        self.guard_logs = guard_logs and not self.acts_through_facade

    def __repr__(self) -> str:
        return f"Require({self.perm.value})"

    async def __call__(self, request: Request) -> Caller:
        form_token: str | None = None
        if (
            request.method in UNSAFE_METHODS
            and CSRF_HEADER not in request.headers
            and request.headers.get("content-type", "").startswith(_FORM_TYPES)
        ):
            # FastAPI parsed the form already; this returns it from the request's cache.
            value = (await request.form()).get(CSRF_FIELD)
            form_token = value if isinstance(value, str) else None
        return await run_in_threadpool(self.check, request, form_token)

    def check(self, request: Request, form_token: str | None = None) -> Caller:
        caller = authenticate(request)
        if caller is None:
            raise Unauthorized(
                "sign in first",
                hint="send Authorization: Bearer <API token>, or log in (POST /api/v1/auth/login)",
            )
        if caller.via == "session" and request.method in UNSAFE_METHODS:
            check_csrf(request, form_token)
        if caller.must_change_password:
            if self.allow_password_change:
                return caller
            raise PasswordChangeRequired(
                "the one-time password must be changed before anything else",
                hint="POST /api/v1/auth/password with the current and a new password",
            )
        public = public_of(request)
        contract_id = _contract_id(request)
        public.require(
            caller,
            self.perm,
            contract_id=contract_id,
            details={"method": request.method, "path": request.url.path},
        )
        action = CONTRACT_ACTIONS.get(self.perm)
        if contract_id is not None and action is not None:
            # Every route on one contract, whoever added it: a contract of a restricted class
            # the caller is not cleared for is a 404 like a missing one (and logged). A read
            # is checked as the facade sees the caller, with their live borrowing grants
            # (``Acting.caller``: the one place grants are looked up); a change never is.
            seen_as = caller
            if self.perm in GRANT_PERMS and request.method not in UNSAFE_METHODS:
                seen_as = runtime_of(request).facade(caller).acting.caller
            public.check_visible(seen_as, contract_id, action)
        if request.method in UNSAFE_METHODS and self.guard_logs:
            # A change through a route that neither acts through the facade nor logs itself:
            # logged here, before it runs (an action whose entry cannot be written does not
            # happen).
            endpoint = request.scope.get("endpoint")
            public.record(
                caller,
                f"api.{getattr(endpoint, '__name__', 'request')}",
                outcome="started",
                contract_id=contract_id,
                details={"method": request.method, "path": request.url.path},
            )
        return caller


class Acts(Require):
    """The dependency of a route that acts through the facade: checks as :class:`Require` and
    returns the caller's :class:`~services.facade.Facade`. Whether the route's work is logged is
    declared by the facade's actions, not by the module the route lives in."""

    acts_through_facade = True

    def __repr__(self) -> str:
        return f"Acts({self.perm.value})"

    async def __call__(self, request: Request) -> Facade:  # type: ignore[override]
        caller = await super().__call__(request)
        return runtime_of(request).facade(caller)


def runtime_of(request: Request) -> Runtime:
    """The app's :class:`~services.facade.Runtime` (made on first use for the app's archive)."""
    runtime: Runtime | None = getattr(request.app.state, "runtime", None)
    archive: Archive = request.app.state.archive
    if runtime is None or runtime.archive is not archive:
        runtime = request.app.state.runtime = Runtime(archive)
    return runtime


class Public(Require):
    """The dependency of a route anyone may call. Returns the caller when there is a valid one,
    else None (a stale cookie or token does not stop a log-in)."""

    def __init__(self) -> None:
        super().__init__(Perm.PUBLIC)

    async def __call__(self, request: Request) -> Caller | None:  # type: ignore[override]
        try:
            return await run_in_threadpool(authenticate, request)
        except Unauthorized:
            return None


def declared_permission(route: APIRoute) -> Perm | None:
    """The permission a route declares through its :class:`Require` dependency."""

    def walk(dependant: Dependant) -> Perm | None:
        for dep in dependant.dependencies:
            if isinstance(dep.call, Require):
                return dep.call.perm
            found = walk(dep)
            if found is not None:
                return found
        return None

    return walk(route.dependant)


# --- ASGI middleware -------------------------------------------------------------------------
def _match(
    routes: Sequence[tuple[APIRoute, Perm | None]], scope: Scope
) -> tuple[APIRoute, Perm | None] | None:
    for route, perm in routes:
        match, _ = route.matches(scope)
        if match is Match.FULL:
            return route, perm
    return None


class AuthGate:
    """Refuse a body-carrying request without the right credentials before reading the body.

    ``routes`` are the app's APIRoutes (FastAPI keeps included routers nested, so the app's
    own route list cannot be matched against directly)."""

    def __init__(self, app: ASGIApp, routes: Sequence[APIRoute]) -> None:
        self.app = app
        self.routes = tuple((route, declared_permission(route)) for route in routes)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        found = _match(self.routes, scope)
        if found is None:  # documentation pages, or a 404/405 answered by the router
            await self.app(scope, receive, send)
            return
        route, perm = found
        if perm is Perm.PUBLIC or (perm is not None and scope.get("method") not in UNSAFE_METHODS):
            await self.app(scope, receive, send)  # the route's own dependency checks a read
            return
        try:
            if perm is None:
                raise RouteNotGuarded(
                    f"{scope.get('method')} {route.path} declares no access permission, so it "
                    "is closed",
                    hint="a developer must give the route a search_api.deps permission "
                    "dependency (see search_api/auth.py)",
                )
            await run_in_threadpool(self._check, Request(scope), route, perm)
        except ArchiveError as exc:
            from search_api.errors import error_response

            await error_response(exc, Request(scope))(scope, receive, send)
            return
        await self.app(scope, receive, send)

    @staticmethod
    def _check(request: Request, route: APIRoute, perm: Perm) -> None:
        _, child = route.matches(request.scope)
        request.scope.setdefault("path_params", child.get("path_params", {}))
        caller = authenticate(request)
        if caller is None:
            raise Unauthorized(
                "sign in first",
                hint="send Authorization: Bearer <API token>, or log in (POST /api/v1/auth/login)",
            )
        if caller.must_change_password:
            return  # the route's dependency answers (some routes allow it)
        public_of(request).require(
            caller,
            perm,
            contract_id=_contract_id(request),
            details={"method": request.method, "path": request.url.path},
        )
        request.state.authorized = perm


DOCS_CSP = (
    "default-src 'self'; script-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; "
    "style-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; "
    "img-src 'self' data: https://fastapi.tiangolo.com; frame-ancestors 'none'"
)
PAGE_CSP = (
    "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; "
    "frame-ancestors 'none'; form-action 'self'"
)
API_CSP = "default-src 'none'; frame-ancestors 'none'; sandbox"


class SecurityHeaders:
    """Headers every response carries; a route may set its own Content-Security-Policy."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope.get("path", "")
        https = scope.get("scheme") == "https"

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers.setdefault("X-Content-Type-Options", "nosniff")
                headers.setdefault("X-Frame-Options", "DENY")
                # same-origin: no Referer leaves the site (URLs carry queries), and the
                # browser keeps a real Origin on the site's own form posts (no-referrer
                # makes Chromium send "Origin: null", which a CSRF check cannot trust).
                headers.setdefault("Referrer-Policy", "same-origin")
                headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
                headers.setdefault("Cross-Origin-Resource-Policy", "same-origin")
                headers.setdefault(
                    "Permissions-Policy", "camera=(), microphone=(), geolocation=(), payment=()"
                )
                if path.startswith("/api/"):
                    headers.setdefault("Content-Security-Policy", API_CSP)
                    headers.setdefault("Cache-Control", "no-store")
                elif path in ("/docs", "/redoc") or path.startswith("/docs/"):
                    headers.setdefault("Content-Security-Policy", DOCS_CSP)
                else:
                    headers.setdefault("Content-Security-Policy", PAGE_CSP)
                if https:
                    headers.setdefault(
                        "Strict-Transport-Security", "max-age=31536000; includeSubDomains"
                    )
            await send(message)

        await self.app(scope, receive, send_with_headers)
