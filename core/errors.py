"""The archive's one error root.

Every error the archive raises on purpose is an :class:`ArchiveError`: it carries a stable
machine-readable ``code``, the HTTP status the API answers with, a message written for the user
and, where there is one, a ``hint`` saying what to do. Packages subclass it (``storage.errors``,
``ingest.errors``, ...); third-party failures are wrapped in one of these and re-raised ``from``
the original so the cause is kept in logs but never shown as a traceback.

The API turns each of them into the one JSON envelope::

    {"error": {"code": "...", "message": "...", "hint": "...", "details": {...}}}
"""

from __future__ import annotations

from typing import Any, ClassVar


class ArchiveError(Exception):
    code: ClassVar[str] = "archive_error"
    http_status: ClassVar[int] = 500

    def __init__(
        self,
        message: str,
        *,
        hint: str | None = None,
        details: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.details = details or {}

    def __reduce__(self) -> tuple[Any, ...]:
        # Keep hint and details when the error crosses a process boundary (worker pools).
        return (_rebuild, (type(self), self.message, self.hint, self.details))

    def to_dict(self) -> dict[str, Any]:
        body: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.hint:
            body["hint"] = self.hint
        if self.details:
            body["details"] = self.details
        return body


def _rebuild(
    cls: type[ArchiveError], message: str, hint: str | None, details: dict[str, Any]
) -> ArchiveError:
    return cls(message, hint=hint, details=details)


class ConfigurationError(ArchiveError):
    """A setting is wrong or a required program is missing; raised at start-up."""

    code = "configuration_error"
    http_status = 500


class InvalidRequest(ArchiveError):
    code = "invalid_request"
    http_status = 400


class QuerySyntaxError(InvalidRequest):
    code = "invalid_query"


class NotFound(ArchiveError):
    code = "not_found"
    http_status = 404


class PayloadTooLarge(ArchiveError):
    code = "payload_too_large"
    http_status = 413


class IntegrityFailure(ArchiveError):
    """A stored file no longer matches the digest recorded when it was archived: it is damaged,
    and it is never served as the original."""

    code = "integrity_failure"
    http_status = 500


class Conflict(ArchiveError):
    code = "conflict"
    http_status = 409


class Unprocessable(ArchiveError):
    """Well-formed but refused by a rule of a workflow (a chain that selects no one, a
    borrowing of a contract that is not restricted, a duration out of bounds)."""

    code = "unprocessable"
    http_status = 422


class Unavailable(ArchiveError):
    """A backend (database, object store, index) cannot be reached or refused the operation."""

    code = "backend_unavailable"
    http_status = 503


class WorkerStopped(ArchiveError):
    """Work handed to a killable worker process (``ingest.isolation``) did not finish: it ran
    past its time and was killed (``timed_out``), or the worker died or could not start. The
    pool raises a subclass that is also the pipeline's rejection; a caller below the ingest
    layer (the fixity audit's seal checks) tells the two cases apart by this class alone."""

    timed_out: ClassVar[bool] = False


class FourPropsFailed(Conflict):
    """Filing refused: an item of the 四性检测 (four-properties check) FAILED; a filing forced
    with a reason goes on (issue 13)."""

    code = "fourprops_failed"
