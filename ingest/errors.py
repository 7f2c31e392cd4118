"""Errors of the ingest pipeline."""

from __future__ import annotations

from core.errors import ArchiveError, WorkerStopped


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


class WorkerTimedOut(RejectFile, WorkerStopped):
    """The worker took longer than its time limit on the file and was killed."""

    timed_out = True


class WorkerDied(RejectFile, WorkerStopped):
    """The worker crashed on the file (a fault, out of memory) or could not be started."""


class WorkerCrashed(WorkerDied):
    """The worker process died while reading (a fault in C code such as pdfium's, or out of
    memory there): the file may be read again another way."""
