"""Reading, exporting, verifying and pruning the access log."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

from core.errors import (
    InvalidRequest,
)
from core.roles import Caller, Perm
from services.access.auditlog import (
    ChainReport,
    StoredCheckpoint,
    csv_lines,
    jsonl_lines,
)
from services.access.core import (
    AccessCore,
    LogView,
)
from services.access.notes import VerifierKey
from storage.records.access_base import (
    LogEntry,
    LogFilter,
)


class LogAccess(AccessCore):
    # -- the access log --------------------------------------------------------------------
    def read_log(
        self,
        caller: Caller,
        flt: LogFilter,
        *,
        cursor: int | None = None,
        limit: int = 100,
        newest_first: bool = True,
        view: LogView | None = None,
    ) -> tuple[list[LogEntry], int]:
        """A page of entries and the total matching ``flt``; ``view``: how the reader is shown
        each entry (None: left out), see :class:`services.facade.audit.AuditArea`."""
        self.require(caller, Perm.AUDIT_READ, action="audit.read")
        # The read itself is logged first, so that it shows in what it returns.
        self.record(caller, "audit.read", details={"filter": flt.as_dict(), "cursor": cursor})
        entries = self.store.entries(
            flt,
            before=cursor if newest_first else None,
            after=cursor if not newest_first else None,
            limit=limit,
            descending=newest_first,
        )
        shown = [v for v in (view(e) for e in entries) if v is not None] if view else entries
        return shown, self.store.count_entries(flt)

    def export_log(
        self, caller: Caller, flt: LogFilter, fmt: str, *, view: LogView | None = None
    ) -> Iterator[bytes]:
        self.require(caller, Perm.AUDIT_EXPORT, action="audit.export")
        if fmt not in ("csv", "jsonl"):
            raise InvalidRequest(f"unknown export format {fmt!r}: csv or jsonl")
        head = self.store.head()
        self.record(
            caller, "audit.export", details={"format": fmt, "filter": flt.as_dict(), "to": head.seq}
        )
        entries: Iterator[LogEntry] = (e for e in self.store.iter_entries(flt) if e.seq <= head.seq)
        if view is not None:  # only what the reader is shown unchanged: every line verifies
            entries = (e for e in entries if view(e) == e)
        return csv_lines(entries) if fmt == "csv" else jsonl_lines(entries)

    def extract(self, caller: Caller, flt: LogFilter, *, view: LogView | None = None) -> bytes:
        """A signed extract; ``view`` returns an entry unchanged to include it, anything else
        leaves it out (a changed entry would no longer verify)."""
        self.require(caller, Perm.AUDIT_EXPORT, action="audit.extract")
        self.record(caller, "audit.extract", details={"filter": flt.as_dict()})
        entries: Iterator[LogEntry] = self.store.iter_entries(flt)
        if view is not None:
            entries = (e for e in entries if view(e) == e)
        return self.audit.extract(entries, flt=flt, created_by=caller.username)

    def verify_log(self, caller: Caller) -> ChainReport:
        self.require(caller, Perm.AUDIT_VERIFY, action="audit.verify")
        report = self.audit.verify()
        self.record(
            caller,
            "audit.verify",
            outcome="passed" if report.status == "PASSED" else "failed",
            details={
                "entries": report.entries_checked,
                "head": report.head_seq,
                "first_broken": report.first_broken,
                "reason": report.reason,
            },
        )
        return report

    def list_checkpoints(self, caller: Caller) -> list[StoredCheckpoint]:
        self.require(caller, Perm.AUDIT_READ, action="audit.checkpoints")
        self.record(caller, "audit.checkpoints")
        return self.audit.checkpoints()

    def checkpoint(self, caller: Caller) -> str | None:
        self.require(caller, Perm.AUDIT_VERIFY, action="audit.checkpoint")
        self.record(caller, "audit.checkpoint")
        written = self.audit.write_checkpoint()
        return written[0] if written else None

    def prune_log(self, caller: Caller, *, now: datetime | None = None) -> int:
        """Apply ARCHIVE_ACCESS_LOG_RETENTION_DAYS (nothing is removed when it is unset)."""
        self.require(caller, Perm.SETTINGS_MANAGE, action="audit.prune")
        days = self.settings.access_log_retention_days
        if days is None:
            return 0
        cutoff = (now or datetime.now(UTC)) - timedelta(days=days)
        removed = self.audit.prune(cutoff)
        self.store.prune_login_failures(cutoff)
        self.record(
            caller, "audit.prune", details={"before": cutoff.isoformat(), "removed": removed}
        )
        return removed

    def public_key(self) -> VerifierKey:
        return self.signer.verifier
