"""The SQL half of :class:`~storage.records.seals_base.SealStore`.

It uses the record store's sessions (same engines, same error wrapping). A fixity run is taken
by one owner at a time: a live run held by another owner is a Conflict, a stale one is resumed.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select, update

from core.errors import ConfigurationError, Conflict
from storage.records.contracts_base import ContractRecord
from storage.records.models import Contract, utcnow
from storage.records.seal_models import (
    FixityFinding,
    FixityRun,
    IntegrityAlert,
    PackageManifest,
)
from storage.records.seals_base import AlertRow, Finding, ManifestRow, RunRow
from storage.records.sql_common import SqlPart, contract_record


def _row(r: PackageManifest) -> ManifestRow:
    return ManifestRow(
        contract_id=r.contract_id,
        version=r.version,
        manifest_key=r.manifest_key,
        manifest_sha256=r.manifest_sha256,
        state=r.state,
        reason=r.reason,
        seal_key=r.seal_key,
        key_id=r.key_id,
        attempts=r.attempts,
        issued_at=r.issued_at,
        sealed_at=r.sealed_at,
    )


def _run(r: FixityRun) -> RunRow:
    return RunRow(
        id=r.id,
        state=r.state,
        owner=r.owner,
        started_at=r.started_at,
        updated_at=r.updated_at,
        finished_at=r.finished_at,
        last_contract_id=r.last_contract_id,
        checked=r.checked,
        passed=r.passed,
        failed=r.failed,
        indeterminate=r.indeterminate,
        bytes_hashed=r.bytes_hashed,
    )


class SqlSeals(SqlPart):
    """Manifests, seals and fixity runs (a part of ``SqlRecordStore``)."""

    # -- manifests -------------------------------------------------------------------------
    def add_manifest(self, row: ManifestRow) -> None:
        with self._session(write=True) as s:
            s.add(
                PackageManifest(
                    contract_id=row.contract_id,
                    version=row.version,
                    manifest_key=row.manifest_key,
                    manifest_sha256=row.manifest_sha256,
                    state=row.state,
                    reason=row.reason,
                    seal_key=row.seal_key,
                    key_id=row.key_id,
                    attempts=row.attempts,
                    issued_at=row.issued_at or utcnow(),
                    sealed_at=row.sealed_at,
                )
            )

    def mark_sealed(
        self, contract_id: int, version: int, *, seal_key: str, key_id: str, sealed_at: datetime
    ) -> None:
        with self._session(write=True) as s:
            s.execute(
                update(PackageManifest)
                .where(
                    PackageManifest.contract_id == contract_id,
                    PackageManifest.version == version,
                )
                .values(
                    state="sealed",
                    reason=None,
                    seal_key=seal_key,
                    key_id=key_id,
                    sealed_at=sealed_at,
                    attempts=PackageManifest.attempts + 1,
                )
            )

    def mark_pending(self, contract_id: int, version: int, reason: str) -> None:
        with self._session(write=True) as s:
            s.execute(
                update(PackageManifest)
                .where(
                    PackageManifest.contract_id == contract_id,
                    PackageManifest.version == version,
                )
                .values(state="pending", reason=reason, attempts=PackageManifest.attempts + 1)
            )

    def delete_manifest(self, contract_id: int, version: int) -> None:
        with self._session(write=True) as s:
            s.execute(
                delete(PackageManifest).where(
                    PackageManifest.contract_id == contract_id,
                    PackageManifest.version == version,
                )
            )

    def latest_manifest(self, contract_id: int) -> ManifestRow | None:
        with self._session(write=False) as s:
            row = s.scalars(
                select(PackageManifest)
                .where(PackageManifest.contract_id == contract_id)
                .order_by(PackageManifest.version.desc())
                .limit(1)
            ).first()
            return _row(row) if row else None

    def manifests(self, contract_id: int) -> list[ManifestRow]:
        with self._session(write=False) as s:
            rows = s.scalars(
                select(PackageManifest)
                .where(PackageManifest.contract_id == contract_id)
                .order_by(PackageManifest.version)
            )
            return [_row(r) for r in rows]

    def pending(self, *, after: tuple[int, int] = (0, 0), limit: int = 100) -> list[ManifestRow]:
        cid, version = after
        with self._session(write=False) as s:
            rows = s.scalars(
                select(PackageManifest)
                .where(PackageManifest.state == "pending")
                .where(
                    (PackageManifest.contract_id > cid)
                    | ((PackageManifest.contract_id == cid) & (PackageManifest.version > version))
                )
                .order_by(PackageManifest.contract_id, PackageManifest.version)
                .limit(limit)
            )
            return [_row(r) for r in rows]

    def contracts_without_manifest(self, *, after: int = 0, limit: int = 100) -> list[int]:
        with self._session(write=False) as s:
            has = select(PackageManifest.contract_id).where(
                PackageManifest.contract_id == Contract.id
            )
            ids = s.scalars(
                select(Contract.id)
                .where(Contract.id > after, ~has.exists())
                .order_by(Contract.id)
                .limit(limit)
            )
            return list(ids)

    def seal_counts(self) -> dict[str, int]:
        with self._session(write=False) as s:
            # The latest version of each contract decides its state.
            latest = (
                select(
                    PackageManifest.contract_id,
                    func.max(PackageManifest.version).label("version"),
                )
                .group_by(PackageManifest.contract_id)
                .subquery()
            )
            rows = s.execute(
                select(PackageManifest.state, func.count())
                .join(
                    latest,
                    (PackageManifest.contract_id == latest.c.contract_id)
                    & (PackageManifest.version == latest.c.version),
                )
                .group_by(PackageManifest.state)
            )
            return {str(state): int(n) for state, n in rows}

    def contracts_after(self, after: int, limit: int) -> list[ContractRecord]:
        with self._session(write=False) as s:
            rows = s.scalars(
                select(Contract).where(Contract.id > after).order_by(Contract.id).limit(limit)
            )
            return [contract_record(r) for r in rows]

    # -- the fixity audit ------------------------------------------------------------------
    def start_run(self, owner: str, *, restart: bool, stale_after: timedelta) -> RunRow:
        now = utcnow()
        with self._session(write=True) as s:
            current = s.scalars(
                select(FixityRun)
                .where(FixityRun.state == "running")
                .order_by(FixityRun.id.desc())
                .limit(1)
            ).first()
            if current is not None:
                alive = current.owner != owner and current.updated_at > now - stale_after
                if alive:
                    raise Conflict(
                        f"a fixity audit is running in {current.owner} (run {current.id}, last "
                        f"progress {current.updated_at:%Y-%m-%d %H:%M:%S} UTC)",
                        hint="wait for it, or stop it; an interrupted audit resumes when "
                        "`contract-archive verify --all` runs again",
                    )
                if restart:
                    current.state = "abandoned"
                    current.finished_at = now
                else:
                    current.owner = owner
                    current.updated_at = now
                    s.flush()
                    return _run(current)
            run = FixityRun(state="running", owner=owner, started_at=now, updated_at=now)
            s.add(run)
            s.flush()
            return _run(run)

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
    ) -> None:
        with self._session(write=True) as s:
            s.execute(
                update(FixityRun)
                .where(FixityRun.id == run_id)
                .values(
                    last_contract_id=last_contract_id,
                    checked=FixityRun.checked + checked,
                    passed=FixityRun.passed + passed,
                    failed=FixityRun.failed + failed,
                    indeterminate=FixityRun.indeterminate + indeterminate,
                    bytes_hashed=FixityRun.bytes_hashed + bytes_hashed,
                    updated_at=utcnow(),
                )
            )
            for f in findings:
                s.merge(
                    FixityFinding(
                        run_id=run_id,
                        contract_id=f.contract_id,
                        overall=f.overall,
                        summary=f.summary[:4000],
                    )
                )

    def finish_run(self, run_id: int) -> RunRow:
        with self._session(write=True) as s:
            run = s.get(FixityRun, run_id)
            if run is None:
                raise ConfigurationError(f"fixity run {run_id} does not exist")
            run.state = "finished"
            run.finished_at = utcnow()
            run.updated_at = run.finished_at
            s.flush()
            return _run(run)

    def finished_runs(self) -> int:
        with self._session(write=False) as s:
            return int(
                s.scalar(
                    select(func.count()).select_from(FixityRun).where(FixityRun.state == "finished")
                )
                or 0
            )

    def get_run(self, run_id: int) -> RunRow:
        with self._session(write=False) as s:
            run = s.get(FixityRun, run_id)
            if run is None:
                raise ConfigurationError(f"fixity run {run_id} does not exist")
            return _run(run)

    def findings(self, run_id: int) -> list[Finding]:
        with self._session(write=False) as s:
            rows = s.scalars(
                select(FixityFinding)
                .where(FixityFinding.run_id == run_id)
                .order_by(FixityFinding.contract_id)
            )
            return [Finding(r.contract_id, r.overall, r.summary) for r in rows]

    # -- integrity alerts ------------------------------------------------------------------
    def raise_alert(
        self,
        contract_id: int,
        *,
        file: str,
        expected_sha256: str | None,
        problem: str,
        detected_by: str,
    ) -> None:
        with self._session(write=True) as s:
            row = s.get(IntegrityAlert, contract_id)
            if row is None:
                row = IntegrityAlert(contract_id=contract_id)
                s.add(row)
            row.file = file[:100]
            row.expected_sha256 = expected_sha256
            row.problem = problem
            row.detected_at = utcnow()
            row.detected_by = detected_by[:200]

    def alert_for(self, contract_id: int) -> AlertRow | None:
        with self._session(write=False) as s:
            row = s.get(IntegrityAlert, contract_id)
            return _alert(row) if row else None

    def alerts(self, *, limit: int = 1000) -> list[AlertRow]:
        with self._session(write=False) as s:
            rows = s.scalars(
                select(IntegrityAlert)
                .order_by(IntegrityAlert.detected_at.desc(), IntegrityAlert.contract_id)
                .limit(limit)
            ).all()
            return [_alert(r) for r in rows]

    def clear_alert(self, contract_id: int) -> bool:
        with self._session(write=True) as s:
            done = s.execute(
                delete(IntegrityAlert).where(IntegrityAlert.contract_id == contract_id)
            )
            return bool(getattr(done, "rowcount", 0))


def _alert(r: IntegrityAlert) -> AlertRow:
    return AlertRow(
        contract_id=r.contract_id,
        file=r.file,
        expected_sha256=r.expected_sha256,
        problem=r.problem,
        detected_at=r.detected_at,
        detected_by=r.detected_by,
    )
