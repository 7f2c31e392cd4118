"""Refuse oversized request bodies while they stream in, before anything is parsed.

Two classes of route (issue 20): an *upload* route (one that takes a file, ``File()``) may
receive up to ARCHIVE_MAX_UPLOAD_BYTES (plus room for the multipart framing); every other
route (JSON and form bodies: log-in, edits, settings) at most ARCHIVE_MAX_BODY_BYTES. The
limit is checked twice: on ``Content-Length`` before any byte is read, and on the bytes counted
as they arrive (a chunked body declares no length), so a body past the limit is never buffered
whole nor handed to a parser. The answer is the one error envelope, 413 ``payload_too_large``.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from fastapi import params
from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException
from starlette.routing import Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from core.errors import PayloadTooLarge

# Room for the multipart framing and the small form fields around the file.
MULTIPART_OVERHEAD = 64 * 1024


def is_upload_route(route: APIRoute) -> bool:
    """A route whose body takes a file (``File()``): the upload limit applies to it."""
    return any(isinstance(f.field_info, params.File) for f in route.dependant.body_params)


class BodyTooLarge(HTTPException):
    """Raised from ``receive``; FastAPI re-raises HTTPExceptions met while parsing a body."""

    def __init__(self, error: PayloadTooLarge) -> None:
        super().__init__(413, error.message)
        self.error = error


class BodySizeLimit:
    """ASGI middleware: 413 when Content-Length or the streamed body exceeds the route's limit."""

    def __init__(
        self,
        app: ASGIApp,
        max_bytes: int,
        *,
        max_body_bytes: int = 64 * 1024,
        routes: Sequence[APIRoute] = (),
    ) -> None:
        self.app = app
        self.file_limit = max_bytes
        self.upload_limit = max_bytes + MULTIPART_OVERHEAD
        self.body_limit = max_body_bytes
        self.upload_routes = tuple(r for r in routes if is_upload_route(r))

    def _limit(self, scope: Scope) -> tuple[int, PayloadTooLarge]:
        for route in self.upload_routes:
            if route.matches(scope)[0] is Match.FULL:
                return self.upload_limit, PayloadTooLarge(
                    f"the upload is larger than ARCHIVE_MAX_UPLOAD_BYTES ({self.file_limit} bytes)",
                    hint="split the document or ask an administrator to raise "
                    "ARCHIVE_MAX_UPLOAD_BYTES",
                    details={"limit": self.file_limit},
                )
        return self.body_limit, PayloadTooLarge(
            f"the request body is larger than ARCHIVE_MAX_BODY_BYTES ({self.body_limit} bytes)",
            hint="only uploads may be large; send a smaller request",
            details={"limit": self.body_limit},
        )

    @staticmethod
    async def _reject(send: Send, error: PayloadTooLarge) -> None:
        body = json.dumps({"error": error.to_dict()}).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                    (b"connection", b"close"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit, error = self._limit(scope)
        for name, value in scope.get("headers", []):
            if name == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    declared = 0
                if declared > limit:
                    await self._reject(send, error)
                    return
        received = 0
        started = False

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge(error)
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except BodyTooLarge:
            if not started:
                await self._reject(send, error)
