"""The access log: read, export, extract, verify, checkpoint, prune.

Every one of these is logged by :class:`~services.access.service.AccessControl` itself, with
what only it knows (the filter, the head an export stops at, the verification's outcome), and
reading is logged *before* the entries are read so that the read shows in what it returns:
``logged="self"``. An auditor reads the history of every contract, restricted classes included
(the log is the record of who saw them), so no action here takes a ``contract=`` parameter.

Front ends also find here what they need to describe a filter (:class:`LogFilter`) and to check
a signed extract offline (:func:`verify_extract`, :class:`VerifierKey`), which needs no archive.
"""

from __future__ import annotations

import builtins
from collections.abc import Iterator
from typing import Literal

from core.roles import Perm
from schemas.access import (
    ChainReportPublic,
    CheckpointPublic,
    LogEntryPublic,
    LogPage,
    checkpoint_time,
)
from services.access.auditlog import ExtractReport, verify_extract
from services.access.notes import NoteError, VerifierKey
from services.facade.base import Area, action
from storage.records.access_base import LogFilter

__all__ = [
    "AuditArea",
    "ExtractReport",
    "LogFilter",
    "NoteError",
    "VerifierKey",
    "verify_extract",
]

Order = Literal["newest", "oldest"]


class AuditArea(Area):
    """The access log: read, export, extract, verify, checkpoint, prune."""

    @action("audit.read", Perm.AUDIT_READ, logged="self")
    def read(
        self,
        flt: LogFilter,
        *,
        cursor: int | None = None,
        limit: int = 100,
        order: Order = "newest",
    ) -> LogPage:
        """A page of entries matching ``flt``, newest (or oldest) first, from ``cursor`` (the
        last page's ``next_cursor``)."""
        entries, total = self.acting.access.read_log(
            self.acting.caller, flt, cursor=cursor, limit=limit, newest_first=order == "newest"
        )
        return LogPage(
            total=total,
            limit=limit,
            order=order,
            items=[LogEntryPublic.from_entry(e) for e in entries],
            next_cursor=entries[-1].seq if len(entries) == limit else None,
        )

    @action("audit.export", Perm.AUDIT_EXPORT, logged="self")
    def export(self, flt: LogFilter, fmt: str = "jsonl") -> Iterator[bytes]:
        """The entries as CSV (UTF-8 with a byte order mark) or JSON Lines, up to the head the
        export was logged at."""
        return self.acting.access.export_log(self.acting.caller, flt, fmt)

    @action("audit.extract", Perm.AUDIT_EXPORT, logged="self")
    def extract(self, flt: LogFilter) -> bytes:
        """A signed extract (a ZIP) that verifies offline."""
        return self.acting.access.extract(self.acting.caller, flt)

    @action("audit.verify", Perm.AUDIT_VERIFY, logged="self")
    def verify(self) -> ChainReportPublic:
        """Walk the hash chain and check it against the signed checkpoints."""
        report = self.acting.access.verify_log(self.acting.caller)
        return ChainReportPublic.model_validate(report.to_dict())

    @action("audit.checkpoints", Perm.AUDIT_READ, logged="self")
    def checkpoints(self) -> builtins.list[CheckpointPublic]:
        return [
            CheckpointPublic(
                key=c.key,
                count=c.checkpoint.count if c.checkpoint else None,
                head=c.checkpoint.head if c.checkpoint else None,
                time=checkpoint_time(c.checkpoint.time) if c.checkpoint else None,
                signed=c.signed,
                problem=c.problem,
            )
            for c in self.acting.access.list_checkpoints(self.acting.caller)
        ]

    @action("audit.checkpoint", Perm.AUDIT_VERIFY, logged="self")
    def checkpoint(self) -> str | None:
        """Sign and store a checkpoint of the log's head now; its key (None: the log is
        empty)."""
        return self.acting.access.checkpoint(self.acting.caller)

    @action("audit.prune", Perm.SETTINGS_MANAGE, logged="self")
    def prune(self) -> int | None:
        """Remove entries older than ARCHIVE_ACCESS_LOG_RETENTION_DAYS; None when it is unset
        (the log is kept forever, nothing is done)."""
        if self.archive.settings.access_log_retention_days is None:
            return None
        return self.acting.access.prune_log(self.acting.caller)

    @action("audit.key", Perm.PUBLIC, logged="no")
    def public_key(self) -> VerifierKey:
        """The public key that signs checkpoints and extracts (anyone may have it)."""
        return self.acting.access.public_key()
