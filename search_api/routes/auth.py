"""Signing in and out, one's own password, and API tokens."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import JSONResponse

from core.access_errors import CsrfFailed
from core.roles import Caller
from schemas.access import (
    LoginRequest,
    LoginResponse,
    Me,
    PasswordChange,
    TokenCreate,
    TokenCreated,
    TokenPublic,
)
from search_api.auth import (
    SESSION_COOKIE,
    clear_session_cookies,
    client_of,
    same_site,
    set_session_cookies,
)
from search_api.deps import (
    AccessDep,
    AnyoneOrCaller,
    SettingsDep,
    SignedIn,
    SignedInPendingPassword,
)
from search_api.errors import ERROR_RESPONSES
from services.access.credentials import csrf_token

router = APIRouter(tags=["access"])


def _me(caller: Caller, session_token: str | None) -> Me:
    return Me(
        username=caller.username,
        roles=sorted(r.value for r in caller.roles),
        groups=sorted(caller.groups),
        permissions=sorted(p.value for p in caller.perms),
        via=caller.via,
        must_change_password=caller.must_change_password,
        csrf_token=csrf_token(session_token) if caller.via == "session" and session_token else None,
    )


@router.post(
    "/api/v1/auth/login",
    response_model=LoginResponse,
    responses={429: {"description": "too many failed log-ins"}, **ERROR_RESPONSES},
    summary="Log in (browser session)",
)
def login(
    body: LoginRequest,
    request: Request,
    access: AccessDep,
    settings: SettingsDep,
    _: AnyoneOrCaller,
) -> JSONResponse:
    """Checks the password (argon2id), refuses after too many failures, and sets the session
    cookie (HttpOnly, SameSite=Lax) and the CSRF cookie. The body must be JSON, so a form on
    another site cannot log a visitor in."""
    if not same_site(request):
        raise CsrfFailed("a cross-site log-in was refused")
    result = access.login(body.username, body.password, client_of(request))
    payload = LoginResponse(
        user=_me(result.caller, result.session_token),
        csrf_token=result.csrf_token,
        expires_at=result.expires_at,
    )
    response = JSONResponse(payload.model_dump(mode="json"))
    set_session_cookies(response, request, settings, result)
    return response


@router.post(
    "/api/v1/auth/logout",
    status_code=204,
    responses=ERROR_RESPONSES,
    summary="Log out (ends the browser session)",
)
def logout(request: Request, access: AccessDep, caller: SignedInPendingPassword) -> Response:
    if caller.via == "session":
        access.logout(caller, request.cookies.get(SESSION_COOKIE))
    response = Response(status_code=204)
    clear_session_cookies(response)
    return response


@router.get("/api/v1/auth/me", response_model=Me, responses=ERROR_RESPONSES, summary="Who am I")
def me(request: Request, caller: SignedInPendingPassword) -> Me:
    return _me(caller, request.cookies.get(SESSION_COOKIE))


@router.post(
    "/api/v1/auth/password",
    status_code=204,
    responses=ERROR_RESPONSES,
    summary="Change one's own password",
)
def change_password(
    body: PasswordChange, access: AccessDep, caller: SignedInPendingPassword
) -> Response:
    """At least 12 characters, not the user name. Ends every browser session of the user (this
    one too): log in again with the new password."""
    access.change_password(caller, body.current_password, body.new_password)
    return Response(status_code=204)


@router.get(
    "/api/v1/tokens",
    response_model=list[TokenPublic],
    responses=ERROR_RESPONSES,
    summary="API tokens (one's own; administrators: anyone's)",
)
def list_tokens(
    access: AccessDep,
    caller: SignedIn,
    user: Annotated[str | None, Query(max_length=100)] = None,
    all: Annotated[bool, Query(description="Every user's tokens (administrators).")] = False,
) -> list[TokenPublic]:
    now = datetime.now(UTC)
    tokens = access.list_tokens(caller, username=user, every=all)
    return [TokenPublic.from_record(t, now) for t in tokens]


@router.post(
    "/api/v1/tokens",
    response_model=TokenCreated,
    status_code=201,
    responses=ERROR_RESPONSES,
    summary="Create an API token (shown once)",
)
def create_token(body: TokenCreate, access: AccessDep, caller: SignedIn) -> TokenCreated:
    record, token = access.create_token(
        caller, name=body.name, days=body.expires_in_days, username=body.username
    )
    return TokenCreated(token=token, info=TokenPublic.from_record(record, datetime.now(UTC)))


@router.delete(
    "/api/v1/tokens/{token_id}",
    response_model=TokenPublic,
    responses=ERROR_RESPONSES,
    summary="Revoke an API token",
)
def revoke_token(token_id: str, access: AccessDep, caller: SignedIn) -> TokenPublic:
    record = access.revoke_token(caller, token_id)
    return TokenPublic.from_record(record, datetime.now(UTC))
