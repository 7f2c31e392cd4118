"""The access log: read, export, extract, verify, checkpoint, prune.

Every one of these is logged by :class:`~services.access.service.AccessControl` itself, with
what only it knows (the filter, the head an export stops at, the verification's outcome), and
reading is logged *before* the entries are read so that the read shows in what it returns:
``logged="self"``.

**Redaction** (issue 12), here once for every front end (API, web, CLI): a reader who is not
cleared for a restricted class (:attr:`~services.facade.base.Acting.hidden`) reads the log as if
its contracts did not exist (:class:`LogView`). An entry about one of them keeps who, when, the
action and the outcome but not the contract, the purpose or the details (``details`` says
``{"redacted": "a contract you are not cleared for"}``); a refusal because of the class shows
the ``not_found`` the caller was answered; an entry about something else whose details or
purpose name such a contract (a list's returned ids, a filter, a title, a customer known only
through it) loses them the same way. Filters and totals count what the reader is shown
(:attr:`LogFilter.hidden_references`); the per-contract log of a hidden contract is a 404 like
the contract; an export and a signed extract leave out what they could not show unchanged
(every line they hold is an entry as logged, its hash verifies). A reader in the class's group
sees every entry in full.

Front ends also find here what they need to describe a filter (:class:`LogFilter`) and to check
a signed extract offline (:func:`verify_extract`, :class:`VerifierKey`), which needs no archive.
"""

from __future__ import annotations

import builtins
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, replace
from functools import cached_property
from typing import Any, Literal

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
from storage.records.access_base import LogEntry, LogFilter, is_class_refusal
from storage.records.listing_base import ContractFilter

__all__ = [
    "NOT_CLEARED",
    "AuditArea",
    "ExtractReport",
    "LogFilter",
    "LogView",
    "NoteError",
    "VerifierKey",
    "verify_extract",
]

Order = Literal["newest", "oldest"]
NOT_CLEARED = "a contract you are not cleared for"
_ALL = 2**31 - 1


@dataclass(frozen=True)
class LogView:
    """What one reader may not be shown of the log: the contracts they may not see (restricted
    classes they are not cleared for, less those they hold a live grant of), the customers known
    to them only through those, and those contracts' titles and customers' names."""

    contracts: frozenset[int] = frozenset()
    customers: frozenset[int] = frozenset()
    words: frozenset[str] = frozenset()

    def __bool__(self) -> bool:
        return bool(self.contracts)

    def __call__(self, entry: LogEntry) -> LogEntry:
        """The entry as this reader is shown it."""
        if entry.contract_id in self.contracts:
            if is_class_refusal(entry):  # the caller was answered 404, as for a missing one
                entry = replace(entry, outcome="not_found")
            return self._redacted(entry, contract_id=None)
        about = "customer" if entry.action.startswith("customer") else "contract"
        if self._names(entry.details, about=about) or self._says(entry.purpose):
            return self._redacted(entry, contract_id=entry.contract_id)
        return entry

    @staticmethod
    def _redacted(entry: LogEntry, *, contract_id: int | None) -> LogEntry:
        return replace(
            entry, contract_id=contract_id, purpose=None, details={"redacted": NOT_CLEARED}
        )

    def _says(self, text: str | None) -> bool:
        return bool(text) and any(word in str(text) for word in self.words)

    def _names(self, value: Any, key: str = "", *, about: str = "contract") -> bool:
        """Whether a value of the details names a hidden contract or customer: an id under an
        id-ish key (``contract_id``, ``returned``, ``master_id``, ``customer_id``...), or a
        hidden title or customer name in any text."""
        if isinstance(value, Mapping):
            return any(self._names(v, str(k), about=about) for k, v in value.items())
        if isinstance(value, list | tuple):
            return any(self._names(v, key, about=about) for v in value)
        if isinstance(value, bool):
            return False
        if isinstance(value, str):
            if self._says(value):
                return True
            if not value.isdigit():
                return False
        if isinstance(value, int | str):
            ref = int(value)
            idish = key == "id" or key.endswith(("_id", "_ids")) or key in ("returned", "hits")
            if not idish:
                return False
            if "contract" not in key and ("customer" in key or about == "customer"):
                return ref in self.customers
            return ref in self.contracts
        return False


class AuditArea(Area):
    """The access log: read, export, extract, verify, checkpoint, prune."""

    @cached_property
    def view(self) -> LogView:
        """What this reader may not be shown (empty for a reader cleared for every class)."""
        hidden = self.acting.hidden
        if not hidden:
            return LogView()
        _, rows = self.archive.records.query_contracts(
            ContractFilter(classifications=hidden), limit=_ALL
        )
        rows = [r for r in rows if self.acting.caller.grant_for(r.id) is None]
        customers = {r.customer_id for r in rows if r.customer_id is not None}
        if customers:
            _, seen = self.archive.records.query_contracts(
                ContractFilter(hidden_classifications=hidden), limit=_ALL
            )
            customers -= {r.customer_id for r in seen}
        names = {r.title for r in rows} | {
            r.customer for r in rows if r.customer and r.customer_id in customers
        }
        return LogView(
            contracts=frozenset(r.id for r in rows),
            customers=frozenset(customers),
            words=frozenset(n for n in names if len(n.strip()) >= 2),
        )

    def _seen(self, flt: LogFilter) -> LogFilter:
        return replace(flt, hidden_references=self.view.contracts)

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
        last page's ``next_cursor``), as this reader may see them."""
        entries, total = self.acting.access.read_log(
            self.acting.caller,
            self._seen(flt),
            cursor=cursor,
            limit=limit,
            newest_first=order == "newest",
            view=self.view or None,
        )
        return LogPage(
            total=total,
            limit=limit,
            order=order,
            items=[LogEntryPublic.from_entry(e) for e in entries],
            next_cursor=entries[-1].seq if len(entries) == limit else None,
        )

    @action("audit.history", Perm.AUDIT_READ, logged="self", contract="contract_id")
    def history(
        self,
        contract_id: int,
        *,
        cursor: int | None = None,
        limit: int = 100,
        order: Order = "newest",
    ) -> LogPage:
        """One contract's history; NotFound for a contract the reader may not see (or that
        does not exist), as the contract itself."""
        return self.read(
            LogFilter(contract_id=contract_id), cursor=cursor, limit=limit, order=order
        )

    @action("audit.export", Perm.AUDIT_EXPORT, logged="self")
    def export(self, flt: LogFilter, fmt: str = "jsonl") -> Iterator[bytes]:
        """The entries as CSV (UTF-8 with a byte order mark) or JSON Lines, up to the head the
        export was logged at; like :meth:`extract`, without the entries this reader would be
        shown redacted (each exported line is the entry as logged, its hash verifies)."""
        return self.acting.access.export_log(
            self.acting.caller, self._seen(flt), fmt, view=self.view or None
        )

    @action("audit.extract", Perm.AUDIT_EXPORT, logged="self")
    def extract(self, flt: LogFilter) -> bytes:
        """A signed extract (a ZIP) that verifies offline; it leaves out the entries this reader
        would be shown redacted (a changed entry would not verify)."""
        return self.acting.access.extract(
            self.acting.caller, self._seen(flt), view=self.view or None
        )

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
