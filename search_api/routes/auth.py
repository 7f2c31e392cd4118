"""Signing in and out, one's own password, and API tokens."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import JSONResponse

from core.access_errors import CsrfFailed
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
    runtime_of,
    same_site,
    set_session_cookies,
)
from search_api.deps import ActsSelf, ActsSelfPendingPassword, AnyoneOrCaller, SettingsDep
from search_api.errors import ERROR_RESPONSES

router = APIRouter(tags=["access"])


@router.post(
    "/api/v1/auth/login",
    response_model=LoginResponse,
    responses={429: {"description": "too many failed log-ins"}, **ERROR_RESPONSES},
    summary="Log in (browser session)",
)
def login(
    body: LoginRequest,
    request: Request,
    settings: SettingsDep,
    _: AnyoneOrCaller,
) -> JSONResponse:
    """Checks the password (argon2id), refuses after too many failures, and sets the session
    cookie (HttpOnly, SameSite=Lax) and the CSRF cookie. The body must be JSON, so a form on
    another site cannot log a visitor in."""
    if not same_site(request):
        raise CsrfFailed("a cross-site log-in was refused")
    runtime = runtime_of(request)
    result = runtime.public.login(body.username, body.password, client_of(request))
    me = runtime.facade(result.caller).tokens.me(result.session_token)
    payload = LoginResponse(user=me, csrf_token=result.csrf_token, expires_at=result.expires_at)
    response = JSONResponse(payload.model_dump(mode="json"))
    set_session_cookies(response, request, settings, result)
    return response


@router.post(
    "/api/v1/auth/logout",
    status_code=204,
    responses=ERROR_RESPONSES,
    summary="Log out (ends the browser session)",
)
def logout(request: Request, f: ActsSelfPendingPassword) -> Response:
    f.tokens.logout(request.cookies.get(SESSION_COOKIE))
    response = Response(status_code=204)
    clear_session_cookies(response)
    return response


@router.get("/api/v1/auth/me", response_model=Me, responses=ERROR_RESPONSES, summary="Who am I")
def me(request: Request, f: ActsSelfPendingPassword) -> Me:
    return f.tokens.me(request.cookies.get(SESSION_COOKIE))


@router.post(
    "/api/v1/auth/password",
    status_code=204,
    responses=ERROR_RESPONSES,
    summary="Change one's own password",
)
def change_password(body: PasswordChange, f: ActsSelfPendingPassword) -> Response:
    """At least 12 characters, not the user name. Ends every browser session of the user (this
    one too): log in again with the new password."""
    f.tokens.change_password(body.current_password, body.new_password)
    return Response(status_code=204)


@router.get(
    "/api/v1/tokens",
    response_model=list[TokenPublic],
    responses=ERROR_RESPONSES,
    summary="API tokens (one's own; administrators: anyone's)",
)
def list_tokens(
    f: ActsSelf,
    user: Annotated[str | None, Query(max_length=100)] = None,
    all: Annotated[bool, Query(description="Every user's tokens (administrators).")] = False,
) -> list[TokenPublic]:
    return f.tokens.list(username=user, every=all)


@router.post(
    "/api/v1/tokens",
    response_model=TokenCreated,
    status_code=201,
    responses=ERROR_RESPONSES,
    summary="Create an API token (shown once)",
)
def create_token(body: TokenCreate, f: ActsSelf) -> TokenCreated:
    return f.tokens.create(body.name, days=body.expires_in_days, username=body.username)


@router.delete(
    "/api/v1/tokens/{token_id}",
    response_model=TokenPublic,
    responses=ERROR_RESPONSES,
    summary="Revoke an API token",
)
def revoke_token(token_id: str, f: ActsSelf) -> TokenPublic:
    return f.tokens.revoke(token_id)
