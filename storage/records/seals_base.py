"""The seals area of the record store: manifest versions and their seal state, the fixity audit.

The Protocol :class:`SealStore` and the plain rows it returns. Its SQL implementation,
:class:`~storage.records.seals_sql.SqlSeals`, is a part of ``SqlRecordStore`` (the tables of
``seal_models``, in the same database, so a contract's delete cascades to its manifest rows);
:class:`~storage.records.base.RecordStore` includes the Protocol.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol, runtime_checkable

from storage.records.contracts_base import ContractRecord


@dataclass(frozen=True)
class AlertRow:
    """A contract flagged because a stored file of it was found damaged."""

    contract_id: int
    file: str
    expected_sha256: str | None
    problem: str
    detected_at: datetime
    detected_by: str


@dataclass(frozen=True)
class ManifestRow:
    contract_id: int
    version: int
    manifest_key: str
    manifest_sha256: str
    state: str
    reason: str | None = None
    seal_key: str | None = None
    key_id: str | None = None
    attempts: int = 0
    issued_at: datetime | None = None
    sealed_at: datetime | None = None


@dataclass(frozen=True)
class RunRow:
    id: int
    state: str
    owner: str
    started_at: datetime
    updated_at: datetime
    finished_at: datetime | None
    last_contract_id: int
    checked: int
    passed: int
    failed: int
    indeterminate: int
    bytes_hashed: int


@dataclass(frozen=True)
class Finding:
    contract_id: int
    overall: str
    summary: str


@runtime_checkable
class SealStore(Protocol):
    # manifests
    def add_manifest(self, row: ManifestRow) -> None: ...

    def mark_sealed(
        self, contract_id: int, version: int, *, seal_key: str, key_id: str, sealed_at: datetime
    ) -> None: ...

    def mark_pending(self, contract_id: int, version: int, reason: str) -> None: ...

    def delete_manifest(self, contract_id: int, version: int) -> None: ...

    def latest_manifest(self, contract_id: int) -> ManifestRow | None: ...

    def manifests(self, contract_id: int) -> list[ManifestRow]: ...

    def pending(self, *, after: tuple[int, int] = (0, 0), limit: int = 100) -> list[ManifestRow]:
        """Pending seals in (contract id, version) order, after the given pair."""

    def contracts_without_manifest(self, *, after: int = 0, limit: int = 100) -> list[int]: ...

    def seal_counts(self) -> dict[str, int]: ...

    def contracts_after(self, after: int, limit: int) -> list[ContractRecord]:
        """Contracts with an id above ``after``, in id order (the audit's resumable walk)."""

    # the fixity audit
    def start_run(self, owner: str, *, restart: bool, stale_after: timedelta) -> RunRow:
        """Resume the unfinished run, or start one. Conflict when a live run holds it."""

    def save_progress(
        self,
        run_id: int,
        *,
        last_contract_id: int,
        checked: int,
        passed: int,
        failed: int,
        indeterminate: int,
        bytes_hashed: int,
        findings: Sequence[Finding],
    ) -> None: ...

    def finish_run(self, run_id: int) -> RunRow: ...

    def finished_runs(self) -> int:
        """How many audits have finished (the audit's slower SM3 cycle turns with it)."""

    def get_run(self, run_id: int) -> RunRow: ...

    def findings(self, run_id: int) -> list[Finding]: ...

    # integrity alerts
    def raise_alert(
        self,
        contract_id: int,
        *,
        file: str,
        expected_sha256: str | None,
        problem: str,
        detected_by: str,
    ) -> None:
        """Flag the contract (the latest finding replaces an earlier one)."""

    def alert_for(self, contract_id: int) -> AlertRow | None: ...

    def alerts(self, *, limit: int = 1000) -> list[AlertRow]:
        """The flagged contracts, newest first."""

    def clear_alert(self, contract_id: int) -> bool: ...
