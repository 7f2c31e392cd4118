"""One JSON error envelope for every error the API returns."""

from __future__ import annotations

import logging
import uuid
from typing import Any, Protocol

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from core.errors import ArchiveError
from schemas.errors import ErrorBody, ErrorEnvelope

log = logging.getLogger(__name__)

_HTTP_CODES = {
    400: "invalid_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "invalid_request",
    429: "too_many_requests",
}

# For the OpenAPI schema: every route documents the envelope for its error statuses.
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorEnvelope, "description": code.replace("_", " ")}
    for status, code in {
        400: "invalid request",
        401: "not signed in",
        403: "not allowed",
        404: "not found",
        409: "conflict",
        413: "payload too large",
        422: "rejected or invalid",
        503: "backend unavailable",
        507: "insufficient storage",
    }.items()
}


def envelope(
    status: int,
    code: str,
    message: str,
    *,
    hint: str | None = None,
    details: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    body = ErrorEnvelope(error=ErrorBody(code=code, message=message, hint=hint, details=details))
    return JSONResponse(
        status_code=status, content=body.model_dump(exclude_none=True), headers=headers
    )


def _validation_message(errors: list[dict[str, Any]]) -> str:
    parts = []
    for err in errors[:5]:
        loc = ".".join(str(x) for x in err.get("loc", ()) if x not in ("body", "query", "path"))
        parts.append(f"{loc or 'request'}: {err.get('msg', 'invalid')}")
    return "; ".join(parts)


def error_response(exc: ArchiveError, request: Request | None = None) -> Response:
    """The envelope for an archive error, with the headers it asks for (WWW-Authenticate,
    Retry-After); for a page a browser asked for (``request`` given), the error page."""
    if exc.http_status >= 500:
        log.error("%s: %s", exc.code, exc.message, exc_info=exc)
    headers = getattr(exc, "headers", None)
    if request is not None:
        return _respond(
            request,
            exc.http_status,
            exc.code,
            exc.message,
            hint=exc.hint,
            details=exc.details or None,
            headers=headers,
        )
    return envelope(
        exc.http_status,
        exc.code,
        exc.message,
        hint=exc.hint,
        details=exc.details or None,
        headers=headers,
    )


class HtmlErrors(Protocol):
    """Renders an error as a page for a browser (``search_api.web``); None: answer JSON."""

    def __call__(
        self,
        request: Request,
        status: int,
        code: str,
        message: str,
        hint: str | None,
        headers: dict[str, str] | None,
    ) -> Response | None: ...


def _respond(
    request: Request,
    status: int,
    code: str,
    message: str,
    *,
    hint: str | None = None,
    details: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
    """The envelope, or, for a page a browser asked for, the same error as a readable page."""
    html: HtmlErrors | None = getattr(request.app.state, "html_errors", None)
    if html is not None:
        page = html(request, status, code, message, hint, headers)
        if page is not None:
            return page
    return envelope(status, code, message, hint=hint, details=details, headers=headers)


def install_error_handlers(app: FastAPI, html: HtmlErrors | None = None) -> None:
    app.state.html_errors = html

    @app.exception_handler(ArchiveError)
    async def _archive_error(request: Request, exc: ArchiveError) -> Response:
        return error_response(exc, request)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> Response:
        errors = [
            {"loc": list(e.get("loc", ())), "msg": str(e.get("msg", "")), "type": e.get("type")}
            for e in exc.errors()
        ]
        return _respond(
            request,
            422,
            "invalid_request",
            _validation_message(errors),
            details={"errors": errors},
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        carried = getattr(exc, "error", None)  # search_api.limits.BodyTooLarge
        if isinstance(carried, ArchiveError):
            return error_response(carried, request)
        code = _HTTP_CODES.get(exc.status_code, "http_error")
        message = exc.detail if isinstance(exc.detail, str) else code.replace("_", " ")
        return _respond(
            request, exc.status_code, code, message, headers=getattr(exc, "headers", None)
        )

    @app.exception_handler(OverflowError)
    async def _overflow(_: Request, exc: OverflowError) -> JSONResponse:
        # A number past 64 bits (an id, an offset) reached the database: SQLite cannot bind
        # it. Every id is a signed 64-bit integer, so nothing can match it.
        return envelope(
            404,
            "not_found",
            "no such item: a number in the request is larger than any id (64 bits)",
        )

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> Response:
        incident = uuid.uuid4().hex[:12]
        log.error("unexpected error (incident %s)", incident, exc_info=exc)
        return _respond(
            request,
            500,
            "internal_error",
            f"an unexpected error occurred; it was logged as incident {incident}",
            hint="nothing was changed; retry, and report the incident id if it happens again",
        )
