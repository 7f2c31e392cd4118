"""Seals and verification: verify, seal, evidence packages, recover."""

from __future__ import annotations

import shutil
import tempfile
import zipfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import IO

from core.roles import Perm
from services.facade.base import Area, action
from services.restore import RestoreResult, restore_original
from signing.audit import AuditSummary, run_audit
from signing.export import ExportResult, export_contract
from signing.recover import RecoverSummary
from signing.report import Status, VerificationReport
from signing.service import ManifestVersion, PendingSummary
from storage.records.seals_base import AlertRow, Finding, RunRow

__all__ = [
    "AuditSummary",
    "ManifestVersion",
    "RestoreResult",
    "SealState",
    "SealsArea",
    "Status",
    "VerificationReport",
]


@dataclass(frozen=True)
class SealState:
    sealed: int
    pending: int
    missing: int
    """Contracts without a manifest."""
    key_id: str


class SealsArea(Area):
    """Seals and verification: verify, seal, evidence packages, recover."""

    @action("contract.verify", Perm.CONTRACTS_VERIFY, logged="read", contract="contract_id")
    def verify(self, contract_id: int) -> VerificationReport:
        """Re-hash every file of the package and check seal, timestamp, record and embedded
        signatures (logged with the overall result)."""
        report = self.archive.seal.verify(contract_id)
        self.acting.note(overall=str(report.overall.value))
        return report

    @action("contract.seal_status", Perm.CONTRACTS_VIEW, logged="read", contract="contract_id")
    def status(self, contract_id: int) -> VerificationReport:
        """The verification report shown with a contract's record (its badge), for whoever may
        see the contract."""
        report = self.archive.seal.verify(contract_id)
        self.acting.note(overall=str(report.overall.value))
        return report

    @action("contract.manifests", Perm.CONTRACTS_VIEW, logged="read", contract="contract_id")
    def manifests(self, contract_id: int) -> list[ManifestVersion]:
        """The contract's manifest history: version, time, who, through which action, and
        what of the contract's own fields changed."""
        versions = self.archive.seal.history(contract_id)
        self.acting.note(versions=len(versions))
        return versions

    @action("contract.integrity_alert", Perm.CONTRACTS_VIEW, logged="no", contract="contract_id")
    def alert(self, contract_id: int) -> AlertRow | None:
        """The contract's integrity alert (a stored file found damaged when it was to be
        served), or None. Not logged: it is shown with the contract's page, which is."""
        return self.archive.records.alert_for(contract_id)

    @action("contract.restore", Perm.SETTINGS_MANAGE, logged="change", contract="contract_id")
    def restore(self, contract_id: int, source: Path | IO[bytes]) -> RestoreResult:
        """Write a good copy back as the contract's stored original (an administrator's task):
        accepted only when its SHA-256 and size are the record's, verified by re-reading, and
        then the contract's integrity alert is cleared. Logged with who, the digest, and the
        alert cleared (its problem, when and by whom it was found)."""
        self.acting.note(file=str(source) if isinstance(source, Path) else "upload")
        result = restore_original(self.archive, contract_id, source)
        cleared = result.cleared
        self.acting.note(
            sha256=result.sha256,
            written=result.written,
            alert_cleared=None
            if cleared is None
            else {
                "file": cleared.file,
                "problem": cleared.problem[:500],
                "detected_at": cleared.detected_at.isoformat(),
                "detected_by": cleared.detected_by,
            },
        )
        return result

    @action("archive.verify", Perm.CONTRACTS_VERIFY, logged="change", unit=False)
    def audit(
        self,
        *,
        restart: bool = False,
        workers: int = 2,
        full: bool = False,
        on_report: Callable[[VerificationReport], None] | None = None,
        on_start: Callable[[int, int, int], None] | None = None,
    ) -> AuditSummary:
        """Verify every contract (resuming an interrupted audit unless ``restart``); the SM3 of
        one contract in ``ARCHIVE_FIXITY_SM3_EVERY``, of every one when ``full``.
        ``on_start(total, resumed_from, already_checked)``; ``on_report`` gets the reports of
        the contracts the caller may see (the run's counts are of the whole archive)."""
        service = self.archive.seal
        hidden = self.acting.hidden_ids
        total = self.archive.records.count_contracts() - len(hidden)

        def started(run: object, resumed_from: int) -> None:
            if on_start is not None:
                done = service.seals.get_run(run.id).checked if resumed_from else 0  # type: ignore[attr-defined]
                on_start(total, resumed_from, done)

        def reported(report: VerificationReport) -> None:
            if on_report is not None and self.acting.may_see_id(report.contract_id):
                on_report(report)

        summary = run_audit(
            service,
            restart=restart,
            workers=workers,
            on_report=reported,
            on_start=started,
            max_mb_per_s=self.archive.settings.fixity_max_mb_per_s,
            sm3_every=self.archive.settings.fixity_sm3_every,
            full=full,
        )
        summary = replace(
            summary,
            findings=tuple(f for f in summary.findings if self.acting.may_see_id(f.contract_id)),
            run=_without(summary.run, summary.findings, hidden),
        )
        self.acting.note(
            run=summary.run.id, failed=summary.run.failed, indeterminate=summary.run.indeterminate
        )
        return summary

    @action("archive.key_warning", Perm.CONTRACTS_VERIFY, logged="no")
    def key_warning(self) -> str | None:
        """A warning about the seal key (development keys, expiry), if any."""
        return self.archive.seal.keys.warning

    @action("seal.status", Perm.SETTINGS_MANAGE, logged="read")
    def state(self) -> SealState:
        seals = self.archive.seal.seals
        counts = dict(seals.seal_counts())
        hidden = self.acting.hidden_ids
        for contract_id in hidden:  # counted as the caller may see: without hidden classes
            latest = seals.latest_manifest(contract_id)
            if latest is not None and latest.state in counts:
                counts[latest.state] -= 1
        total = self.archive.records.count_contracts() - len(hidden)
        sealed, pending = counts.get("sealed", 0), counts.get("pending", 0)
        return SealState(sealed, pending, total - sealed - pending, self.archive.seal.keys.key_id)

    @action("seal.pending", Perm.SETTINGS_MANAGE, logged="change", unit=False)
    def seal_pending(self, *, progress: Callable[[str], None] | None = None) -> PendingSummary:
        """Seal every manifest whose seal is pending; issue manifests for contracts without."""
        summary = self.archive.seal.seal_pending(progress=progress)
        self.acting.note(sealed=summary.sealed, issued=summary.issued)
        return summary

    @action("contract.download", Perm.CONTRACTS_DOWNLOAD, logged="self", contract="contract_id")
    def export(
        self, contract_id: int, directory: Path, *, purpose: str | None = None
    ) -> ExportResult:
        """The contract's evidence (original, text, manifest, seal, certificates, timestamp)
        in a folder, for verification without the archive; logged as a download."""
        self._may_export(contract_id, purpose, {"directory": str(directory)})
        return export_contract(self.archive.seal, contract_id, directory)

    @action("contract.download", Perm.CONTRACTS_DOWNLOAD, logged="self", contract="contract_id")
    def export_zip(self, contract_id: int, *, purpose: str | None = None) -> Path:
        """The same evidence as :meth:`export`, as one ZIP file (``contract-ID-evidence/``
        inside, with its README.txt saying how to check it with OpenSSL) in a folder of its own
        under the archive's temporary directory; the caller removes that folder once sent.
        Nothing is left behind when the export fails."""
        self._may_export(contract_id, purpose, {"format": "zip"})
        return self._zip(contract_id, f"contract-{contract_id}-evidence", content=True)

    @action("contract.export_proof", Perm.CONTRACTS_VERIFY, logged="read", contract="contract_id")
    def export_proof(self, contract_id: int, directory: Path) -> ExportResult:
        """The proof-only evidence package in a folder: what proves the contract's integrity
        (manifest, seal, certificates, timestamps, ledger proof, verification report, the sealed
        digests of its files) without its content (no original, text or searchable copy), for
        whoever may verify; logged as an export, not as a download of content."""
        self.acting.note(file="proof", directory=str(directory))
        return export_contract(self.archive.seal, contract_id, directory, content=False)

    @action("contract.export_proof", Perm.CONTRACTS_VERIFY, logged="read", contract="contract_id")
    def export_proof_zip(self, contract_id: int) -> Path:
        """:meth:`export_proof` as one ZIP (``contract-ID-proof/`` inside), like
        :meth:`export_zip`: the caller removes its folder once sent."""
        self.acting.note(file="proof", format="zip")
        return self._zip(contract_id, f"contract-{contract_id}-proof", content=False)

    def _zip(self, contract_id: int, name: str, *, content: bool) -> Path:
        work = Path(tempfile.mkdtemp(prefix="evidence-", dir=self.archive.settings.tmp_dir))
        try:
            result = export_contract(self.archive.seal, contract_id, work / name, content=content)
            target = work / f"{name}.zip"
            with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as zf:
                for file in result.files:
                    zf.write(result.directory / file, f"{name}/{file}")
            shutil.rmtree(result.directory)
        except BaseException:
            shutil.rmtree(work, ignore_errors=True)
            raise
        return target

    def _may_export(self, contract_id: int, purpose: str | None, details: dict[str, str]) -> None:
        access, caller = self.acting.access, self.acting.caller
        _, why = access.may_download(caller, contract_id, purpose=purpose, file="evidence")
        self.acting.log(
            "contract.download",
            contract_id=contract_id,
            purpose=why,
            details={"file": "evidence", **details},
        )

    @action("archive.recover", Perm.SETTINGS_MANAGE, logged="change", unit=False)
    def recover(self) -> RecoverSummary:
        """Rebuild lost contract records from the packages' manifests (then the index)."""
        summary = self.archive.recover()
        self.acting.note(recovered=summary.recovered, problems=len(summary.problems))
        hidden = self.acting.hidden_ids
        if not hidden:
            return summary
        mine = [i for i in summary.recovered_ids if i not in hidden]
        seen = len(hidden) - (len(summary.recovered_ids) - len(mine))  # hidden, already present
        return replace(
            summary,
            packages=max(summary.packages - len(hidden), 0),
            recovered=len(mine),
            recovered_ids=mine,
            already_present=max(summary.already_present - seen, 0),
        )


def _without(run: RunRow, findings: Iterable[Finding], hidden: frozenset[int]) -> RunRow:
    """A verification run's counts as a caller who may not see ``hidden`` is given them."""
    if not hidden:
        return run
    bad = {f.contract_id: f.overall for f in findings if f.contract_id in hidden}
    checked = sum(1 for i in hidden if i <= run.last_contract_id)
    failed = sum(1 for o in bad.values() if o == Status.FAILED.value)
    indeterminate = sum(1 for o in bad.values() if o == Status.INDETERMINATE.value)
    return replace(
        run,
        checked=max(run.checked - checked, 0),
        passed=max(run.passed - (checked - len(bad)), 0),
        failed=max(run.failed - failed, 0),
        indeterminate=max(run.indeterminate - indeterminate, 0),
    )
