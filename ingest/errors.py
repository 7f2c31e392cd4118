"""Errors of the ingest pipeline."""

from __future__ import annotations

from core.errors import ArchiveError


class IngestError(ArchiveError):
    code = "ingest_error"
    http_status = 500


class RejectFile(IngestError):
    """The file is not archived: it is not what the archive accepts. The reason says why."""

    code = "rejected"
    http_status = 422


class FileTooLarge(RejectFile):
    code = "payload_too_large"
    http_status = 413
