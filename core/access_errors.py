"""Errors of access control: who is asking, and may they."""

from __future__ import annotations

from typing import ClassVar

from core.errors import ArchiveError, InvalidRequest


class Unauthorized(ArchiveError):
    """No valid credentials: no token or session, or an expired, revoked or unknown one."""

    code = "unauthorized"
    http_status = 401
    headers: ClassVar[dict[str, str]] = {"WWW-Authenticate": 'Bearer realm="contract-archive"'}


class Forbidden(ArchiveError):
    """The caller is known but their roles do not allow this."""

    code = "forbidden"
    http_status = 403


class RouteNotGuarded(Forbidden):
    """A route that declares no permission is closed to everyone (fail closed): a route added
    without a ``search_api.auth.Require`` can never serve data unchecked."""

    code = "route_not_guarded"


class PasswordChangeRequired(Forbidden):
    code = "password_change_required"


class CsrfFailed(Forbidden):
    code = "csrf_failed"


class TooManyAttempts(ArchiveError):
    code = "too_many_attempts"
    http_status = 429

    def __init__(self, message: str, *, retry_after: int, hint: str | None = None) -> None:
        super().__init__(message, hint=hint, details={"retry_after_seconds": retry_after})
        self.headers = {"Retry-After": str(retry_after)}


class PurposeRequired(InvalidRequest):
    """Downloading a contract of a restricted class needs a stated purpose (借阅登记)."""

    code = "purpose_required"


class AuditLogUnavailable(ArchiveError):
    """The access log entry could not be written, so the action did not happen."""

    code = "access_log_unavailable"
    http_status = 503
