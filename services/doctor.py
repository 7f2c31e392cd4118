"""``contract-archive doctor``: check that the stores work and agree, and repair what a crash left.

Each check is a function that looks at the archive and returns :class:`Finding` objects: the
problem, the fix in words, and (where the doctor can do it safely) a ``repair`` that does it.
``Doctor.run(repair=True)`` calls those repairs and records what each one did.

What a crash (SIGKILL, power loss) can leave, and what is done about it:

* temporary files (spooled uploads, object writes, CURRENT swaps) and half-built index
  generations of a dead process: removed;
* an ingest claim of a dead process: released, after the objects that process stored for
  that file (it never got a record) are deleted, so the file is absent and can be ingested
  again (ingest also takes over a dead process's claim by itself);
* a record without its index entry (killed between the two): indexed from the stored text;
* an index entry without a record: removed from the index.

Orphan packages that no interrupted ingest explains (a lost or restored records database) are
reported, never deleted: their originals may be the only copy.

Whether the owner of a leftover is alive is decided by its process id on this host
(:mod:`storage.maintenance`); leftovers of other hosts are judged by age (``grace_seconds``).
Other parts of the archive add checks with :func:`register_check`.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import socket
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Literal

from core.errors import ArchiveError, NotFound
from core.plural import count as plural
from ingest.stages import index_document
from services.archive import Archive
from signing.manifest import manifest_name, seal_name
from storage.maintenance import HasLeftovers, Leftover, claim_owner_alive, leftover_file
from storage.objects.base import CHUNK_SIZE, package_key
from storage.permissions import WidePath, narrow, wider_than_private
from storage.records.base import Claim, ContractRecord

log = logging.getLogger(__name__)

Severity = Literal["error", "warning"]
DEFAULT_GRACE_SECONDS = 3600.0


@dataclass
class Finding:
    check: str
    code: str
    subject: str
    problem: str
    fix: str
    severity: Severity = "error"
    repair: Callable[[], str] | None = field(default=None, repr=False, compare=False)
    """Does the fix and says what it did; None when a person must decide."""
    repaired: str | None = None
    repair_error: str | None = None

    @property
    def open(self) -> bool:
        """Still wrong after this run."""
        return self.repaired is None

    def to_dict(self) -> dict[str, Any]:
        return {
            "check": self.check,
            "code": self.code,
            "severity": self.severity,
            "subject": self.subject,
            "problem": self.problem,
            "fix": self.fix,
            "repairable": self.repair is not None,
            "repaired": self.repaired,
            "repair_error": self.repair_error,
        }


@dataclass
class DoctorState:
    """What the checks share: the archive, the options and what earlier checks learned."""

    archive: Archive
    grace_seconds: float
    verify: bool
    records_ok: bool = True
    index_ok: bool = True
    objects_ok: bool = True
    counts: dict[str, int] = field(default_factory=dict)

    def claim_stale(self, claim: Claim) -> bool:
        alive = claim_owner_alive(claim.owner)
        if alive is not None:
            return not alive
        age = (datetime.now(UTC) - claim.claimed_at).total_seconds()
        return age > self.grace_seconds


Check = Callable[[DoctorState], Iterable[Finding]]


@dataclass
class Report:
    findings: list[Finding]
    counts: dict[str, int]
    checks: list[str]
    repair: bool
    seconds: float

    @property
    def ok(self) -> bool:
        """Nothing wrong is left (warnings do not count)."""
        return not any(f.open and f.severity == "error" for f in self.findings)

    @property
    def repaired(self) -> list[Finding]:
        return [f for f in self.findings if f.repaired is not None]

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "repair": self.repair,
            "checks": self.checks,
            "counts": self.counts,
            "findings": [f.to_dict() for f in self.findings],
            "repaired": len(self.repaired),
            "seconds": round(self.seconds, 3),
        }


# --- the checks ---------------------------------------------------------------------------------
def check_stores(state: DoctorState) -> Iterable[Finding]:
    """Each store opens and answers (and the records database is at the newest migration)."""
    archive = state.archive
    try:
        archive.objects.check()
    except ArchiveError as exc:
        state.objects_ok = False
        yield _store_finding("object store", exc)
    try:
        archive.records.check()
    except ArchiveError as exc:
        state.records_ok = False
        finding = _store_finding("records database", exc)

        def migrate() -> str:
            archive.records.migrate()
            archive.records.check()
            state.records_ok = True
            return "migrated the records database to the newest schema"

        finding.repair = migrate
        yield finding
    try:
        archive.index.check()
    except ArchiveError as exc:
        state.index_ok = False
        finding = _store_finding("search index", exc)
        if state.records_ok and state.objects_ok:
            finding.fix = (
                "rebuild it from the records and the stored text: `contract-archive reindex`"
            )

            def rebuild() -> str:
                count = archive.reindex()
                state.index_ok = True
                return f"rebuilt the search index with {plural(count, 'contracts')}"

            finding.repair = rebuild
        yield finding


def _store_finding(what: str, exc: ArchiveError) -> Finding:
    return Finding(
        check="stores",
        code="store_unusable",
        subject=what,
        problem=exc.message,
        fix=exc.hint or "see the message",
    )


def _leftover_finding(leftover: Leftover, remove: Callable[[], None]) -> Finding:
    def repair() -> str:
        remove()
        return f"removed the {leftover.kind} {leftover.name}"

    owner = "its process is gone" if leftover.owner_alive is False else "older than the grace"
    return Finding(
        check="leftovers",
        code="leftover",
        subject=leftover.name,
        problem=f"{leftover.kind} left by an interrupted operation ({owner})",
        fix="remove it: `contract-archive doctor --repair`",
        repair=repair,
    )


def check_leftovers(state: DoctorState) -> Iterable[Finding]:
    """Temporary files and half-built index generations of processes that are gone."""
    archive = state.archive
    tmp_dir = archive.settings.tmp_dir
    live = 0
    if tmp_dir.is_dir():
        for path in sorted(tmp_dir.iterdir()):
            item = leftover_file("temporary file", path)
            if item is None:
                continue
            if not item.stale(state.grace_seconds):
                live += 1
                continue
            yield _leftover_finding(item, _remover(path))
    for store in (archive.objects, archive.index):
        if not isinstance(store, HasLeftovers):
            continue
        try:
            items = store.leftovers()
        except (ArchiveError, OSError) as exc:
            log.warning("cannot list the leftovers of %s: %s", store, exc)
            continue
        for item in items:
            if not item.stale(state.grace_seconds):
                live += 1
                continue
            yield _leftover_finding(item, _store_remover(store, item))
    state.counts["writes in progress"] = live


def _remover(path: Path) -> Callable[[], None]:
    def remove() -> None:
        if path.is_dir():
            import shutil

            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)

    return remove


def _store_remover(store: HasLeftovers, item: Leftover) -> Callable[[], None]:
    return lambda: store.remove_leftover(item)


def _package_keys(state: DoctorState) -> dict[str, set[str]]:
    """Every stored object of every package, by the SHA-256 of the package's original."""
    packages: dict[str, set[str]] = {}
    for key in state.archive.objects.iter_keys("packages/"):
        parts = key.split("/")
        if len(parts) >= 4:
            packages.setdefault(parts[2], set()).add(key)
    return packages


def check_packages(state: DoctorState) -> Iterable[Finding]:
    """Objects and records agree: each record's objects exist (and, with ``verify``, have the
    digests the record holds); each package belongs to a record or to a live ingest."""
    if not (state.records_ok and state.objects_ok):
        return
    archive = state.archive
    packages = _package_keys(state)
    state.counts["packages"] = len(packages)
    state.counts["objects"] = sum(len(keys) for keys in packages.values())
    contracts = 0
    seen: set[str] = set()
    for record in archive.records.iter_contracts():
        contracts += 1
        seen.add(record.sha256)
        stored = packages.get(record.sha256, set())
        for key, what in ((record.original_key, "original"), (record.text_key, "text")):
            if key not in stored:
                yield Finding(
                    check="packages",
                    code="missing_object",
                    subject=f"contract {record.id}",
                    problem=f"its {what} ({key}) is missing from the object store",
                    fix="restore the object from a backup of the object store",
                )
            elif state.verify:
                yield from _verify(state, record, key, what)
    state.counts["contracts"] = contracts
    claims = {c.sha256: c for c in archive.records.claims()}
    for sha256, keys in sorted(packages.items()):
        if sha256 in seen:
            continue
        claim = claims.get(sha256)
        if claim is not None and not state.claim_stale(claim):
            continue  # an ingest in progress
        # Look again: an ingest may have finished since the records were listed.
        if archive.records.find_by_sha256(sha256) is not None:
            continue
        if claim is not None:
            yield Finding(
                check="packages",
                code="orphan_object",
                subject=f"package {sha256}",
                problem=(
                    f"{plural(len(keys), 'objects')} stored by an ingest that was interrupted "
                    f"({claim.owner}, {claim.claimed_at:%Y-%m-%d %H:%M:%S} UTC) and has no record"
                ),
                fix="delete them so the file can be ingested again: `contract-archive doctor "
                "--repair`",
                repair=_delete_objects(state, sha256, sorted(keys)),
            )
        else:
            yield Finding(
                check="packages",
                code="unrecorded_package",
                subject=f"package {sha256}",
                problem=f"{plural(len(keys), 'objects')} with no record and no ingest that "
                "explains them",
                fix=(
                    "if the records database was lost or restored from an older backup, "
                    "rebuild it from the packages (`contract-archive recover`); otherwise ingest "
                    f"the original again ({sorted(keys)[0]})"
                ),
            )


def _verify(state: DoctorState, record: ContractRecord, key: str, what: str) -> Iterable[Finding]:
    expected = record.sha256 if what == "original" else record.text_sha256
    digest = hashlib.sha256()
    try:
        with state.archive.objects.open(key) as fh:
            while chunk := fh.read(CHUNK_SIZE):
                digest.update(chunk)
    except ArchiveError as exc:
        yield Finding(
            check="packages",
            code="unreadable_object",
            subject=f"contract {record.id}",
            problem=f"its {what} ({key}) cannot be read: {exc.message}",
            fix="check the object store; restore the object from a backup",
        )
        return
    if digest.hexdigest() != expected:
        yield Finding(
            check="packages",
            code="corrupt_object",
            subject=f"contract {record.id}",
            problem=f"its {what} ({key}) has SHA-256 {digest.hexdigest()}, the record says "
            f"{expected}",
            fix="restore the object from a backup of the object store",
        )


def _delete_objects(state: DoctorState, sha256: str, keys: list[str]) -> Callable[[], str]:
    def repair() -> str:
        if state.archive.records.find_by_sha256(sha256) is not None:
            return f"nothing to do: package {sha256} was archived meanwhile"
        for key in keys:
            try:
                state.archive.objects.delete(key)
            except NotFound:
                pass
        return f"deleted {plural(len(keys), 'objects')} of package {sha256}"

    return repair


def check_index(state: DoctorState) -> Iterable[Finding]:
    """The index holds exactly the recorded contracts."""
    if not (state.records_ok and state.index_ok):
        return
    archive = state.archive
    indexed = archive.index.ids()
    recorded = archive.records.contract_ids()
    state.counts["index entries"] = len(indexed)
    for contract_id in sorted(recorded - indexed):
        yield Finding(
            check="index",
            code="missing_index_entry",
            subject=f"contract {contract_id}",
            problem="recorded but not in the search index, so searches do not find it",
            fix="index it from the stored text: `contract-archive doctor --repair` "
            "(or `contract-archive reindex`)",
            repair=_index_one(state, contract_id),
        )
    for contract_id in sorted(indexed - recorded):
        yield Finding(
            check="index",
            code="orphan_index_entry",
            subject=f"index entry {contract_id}",
            problem="in the search index but there is no such contract",
            fix="remove it from the index: `contract-archive doctor --repair`",
            repair=_unindex_one(state, contract_id),
        )


def _index_one(state: DoctorState, contract_id: int) -> Callable[[], str]:
    def repair() -> str:
        archive = state.archive
        record = archive.get(contract_id)
        archive.index.add([index_document(record, archive.page_texts(record))])
        return f"indexed contract {contract_id}"

    return repair


def _unindex_one(state: DoctorState, contract_id: int) -> Callable[[], str]:
    def repair() -> str:
        try:
            state.archive.get(contract_id)
        except NotFound:
            state.archive.index.delete([contract_id])
            return f"removed index entry {contract_id}"
        return f"nothing to do: contract {contract_id} exists now"

    return repair


def check_claims(state: DoctorState) -> Iterable[Finding]:
    """Ingest claims of processes that are gone (runs after the package check, whose repair
    deletes what those processes stored)."""
    if not state.records_ok:
        return
    archive = state.archive
    claims = archive.records.claims()
    state.counts["ingests in progress"] = sum(1 for c in claims if not state.claim_stale(c))
    for claim in claims:
        if not state.claim_stale(claim):
            continue
        yield Finding(
            check="claims",
            code="stale_claim",
            subject=f"claim on {claim.sha256}",
            problem=f"held by {claim.owner} since {claim.claimed_at:%Y-%m-%d %H:%M:%S} UTC, "
            "an ingest that did not finish",
            fix="release it: `contract-archive doctor --repair`",
            repair=_release(state, claim),
        )


def _release(state: DoctorState, claim: Claim) -> Callable[[], str]:
    def repair() -> str:
        archive = state.archive
        if archive.records.find_by_sha256(claim.sha256) is None and any(
            True for _ in archive.objects.iter_keys(f"packages/{claim.sha256[:2]}/{claim.sha256}/")
        ):
            raise _Refused("objects of this ingest are still stored; they must go first")
        archive.records.release(claim.sha256)
        return f"released the ingest claim on {claim.sha256}"

    return repair


class _Refused(Exception):
    pass


def check_retention(state: DoctorState) -> Iterable[Finding]:
    """On a store that enforces retention, every original is under it (the retain stage runs
    last; a crash just before it leaves an original that could still be deleted)."""
    archive = state.archive
    days = archive.settings.default_retention_days
    if not (state.records_ok and state.objects_ok and archive.objects.supports_locks and days > 0):
        return
    for record in archive.records.iter_contracts():
        try:
            lock = archive.objects.lock_info(record.original_key)
        except NotFound:
            continue  # reported by the package check
        if lock.retain_until is not None:
            continue
        until = record.created_at + timedelta(days=days)
        yield Finding(
            check="retention",
            code="missing_retention",
            subject=f"contract {record.id}",
            problem="its original is not under retention (the ingest stopped before the last "
            "stage), so the object store would let it be deleted",
            fix=f"set COMPLIANCE retention until {until:%Y-%m-%d}: `contract-archive doctor "
            "--repair`",
            repair=_retain(state, record.original_key, until),
        )


def _retain(state: DoctorState, key: str, until: datetime) -> Callable[[], str]:
    def repair() -> str:
        state.archive.objects.set_retention(key, until)
        return f"set retention on {key} until {until:%Y-%m-%d}"

    return repair


def check_seal(state: DoctorState) -> Iterable[Finding]:
    """The seal keys load and are valid, the time-stamping authority answers, every contract
    has a manifest (an ingest killed between the record and the manifest has none) and every
    manifest is sealed (a seal waits while the TSA is unreachable)."""
    archive = state.archive
    seal = getattr(archive, "seal", None)
    if seal is None:
        return
    try:
        seal.open()
        keys = seal.keys
    except ArchiveError as exc:
        yield Finding(
            check="seal",
            code="seal_keys",
            subject="seal keys",
            problem=f"the seal keys cannot be used: {exc.message}",
            fix=exc.hint or "check ARCHIVE_SEAL_KEY_FILE and its certificates",
        )
        return
    now = datetime.now(UTC)
    expires = keys.seal_cert.not_valid_after_utc
    if expires <= now:
        yield Finding(
            check="seal",
            code="seal_certificate_expired",
            subject="seal certificate",
            problem=f"the seal certificate expired on {expires:%Y-%m-%d}: nothing can be sealed",
            fix="install a new seal key and certificate (ARCHIVE_SEAL_KEY_FILE, "
            "ARCHIVE_SEAL_CERT_FILE); then `contract-archive seal` seals what waits",
        )
    elif expires - now < timedelta(days=30):
        yield Finding(
            check="seal",
            code="seal_certificate_expiring",
            subject="seal certificate",
            problem=f"the seal certificate expires on {expires:%Y-%m-%d}",
            fix="renew it before then (ARCHIVE_SEAL_CERT_FILE)",
            severity="warning",
        )
    tsa_ok = True
    try:
        import asyncio

        asyncio.run(
            seal.sealer.timestamper.async_timestamp(hashlib.sha256(b"doctor").digest(), "sha256")
        )
    except Exception as exc:  # noqa: BLE001 - any failure of the TSA client is the finding
        tsa_ok = False
        yield Finding(
            check="seal",
            code="tsa_unreachable",
            subject="time-stamping authority",
            problem=f"no timestamp could be obtained: {type(exc).__name__}: {exc}"[:300],
            fix="check ARCHIVE_TSA_URL and the network; new manifests wait as `pending` and "
            "`contract-archive seal` seals them later",
        )
    if not state.records_ok or not state.objects_ok:
        return
    yield from _unrecorded_manifests(state)
    missing = seal.seals.contracts_without_manifest(after=0, limit=100_000)
    for contract_id in missing:
        yield Finding(
            check="seal",
            code="missing_manifest",
            subject=f"contract {contract_id}",
            problem="it has no manifest, so it is not sealed (the ingest stopped between the "
            "record and the manifest)",
            fix="issue and seal it: `contract-archive doctor --repair` (or `contract-archive "
            "seal`)",
            repair=_issue_manifest(state, contract_id),
        )
    pending = list(seal.iter_pending())
    state.counts["manifests awaiting a seal"] = len(pending)
    for row in pending:
        yield Finding(
            check="seal",
            code="pending_seal",
            subject=f"contract {row.contract_id}",
            problem=f"manifest v{row.version} awaits its seal ({row.reason or 'not sealed yet'})",
            fix="`contract-archive seal` once the TSA answers",
            severity="warning",
            repair=_seal_row(state, row) if tsa_ok else None,
        )


def _unrecorded_manifests(state: DoctorState) -> Iterable[Finding]:
    """Manifest versions stored after a contract's latest recorded one: written for a change
    whose unit of work did not commit (the process ended before it could take them back). No
    version refers to them; the next version of the contract would be numbered after them."""
    seal = state.archive.seal
    for record in state.archive.records.iter_contracts():
        latest = seal.seals.latest_manifest(record.id)
        recorded = latest.version if latest is not None else 0
        stored = [v for v in seal.stored_manifest_versions(record.sha256) if v > recorded]
        if latest is None or not stored:
            continue  # no manifest at all is `missing_manifest`'s (or an ingest's) to report
        keys = sorted(
            package_key(record.sha256, name)
            for v in stored
            for name in (manifest_name(v), seal_name(v))
            if state.archive.objects.exists(package_key(record.sha256, name))
        )
        yield Finding(
            check="seal",
            code="unrecorded_manifest",
            subject=f"contract {record.id}",
            problem=f"{plural(len(stored), 'manifest versions')} "
            f"({', '.join(f'v{v}' for v in stored)}) stored but not recorded (the latest "
            f"recorded is v{recorded}): left by a change that was not saved",
            fix="delete them: `contract-archive doctor --repair`",
            repair=_delete_unrecorded(state, record.id, recorded, keys),
        )


def _delete_unrecorded(
    state: DoctorState, contract_id: int, recorded: int, keys: list[str]
) -> Callable[[], str]:
    def repair() -> str:
        latest = state.archive.seal.seals.latest_manifest(contract_id)
        if latest is not None and latest.version != recorded:
            return f"nothing to do: contract {contract_id} got a new version meanwhile"
        for key in keys:
            with contextlib.suppress(NotFound):
                state.archive.objects.delete(key)
        deleted = plural(len(keys), "objects")
        return f"deleted {deleted} of unrecorded manifests of contract {contract_id}"

    return repair


def _issue_manifest(state: DoctorState, contract_id: int) -> Callable[[], str]:
    def repair() -> str:
        seal = state.archive.seal
        record = state.archive.get(contract_id)
        if seal.seals.latest_manifest(contract_id) is not None:
            return f"nothing to do: contract {contract_id} has a manifest now"
        issued = seal.issue(record, embedded=seal.embedded_report_for(record))
        return f"issued manifest v{issued.version} of contract {contract_id}: {issued.state}"

    return repair


def _seal_row(state: DoctorState, row: Any) -> Callable[[], str]:
    def repair() -> str:
        result = state.archive.seal.seal_one(row)
        return f"manifest v{row.version} of contract {row.contract_id}: {result.state}"

    return repair


def check_ocr(state: DoctorState) -> Iterable[Finding]:
    """tesseract and its languages are there; no OCR page is held by a process that is gone;
    every page that awaits OCR is queued; contracts whose OCR could not be finished, and pages
    whose OCR failed for good, are named with the reason."""
    archive = state.archive
    records = archive.records
    from services.ocr import OcrService

    service = OcrService(archive, only=set())
    try:
        service.check()
    except ArchiveError as exc:
        yield Finding(
            check="ocr",
            code="ocr_unavailable",
            subject="tesseract",
            problem=f"scanned pages cannot be read: {exc.message}",
            fix=exc.hint or "install tesseract-ocr and the language packs of ARCHIVE_OCR_LANGUAGES",
        )
    if not state.records_ok:
        return
    dead = sorted(owner for owner in records.ocr_owners() if _ocr_owner_alive(owner) is False)
    for owner in dead:
        yield Finding(
            check="ocr",
            code="ocr_pages_of_dead_worker",
            subject=f"OCR worker {owner}",
            problem="holds OCR pages but its process is gone (they would wait for the lease)",
            fix="queue them again: `contract-archive doctor --repair` (or start `contract-archive "
            "worker`)",
            repair=_requeue_ocr(state, owner),
        )
    for batch in records.failed_ocr():
        yield Finding(
            check="ocr",
            code="ocr_failed",
            subject=f"contract {batch.contract_id}",
            problem=f"finishing its OCR failed {plural(batch.attempts, 'times')}: "
            f"{batch.last_error} "
            "(the traceback is in the log and in `ocr_batches.traceback`)",
            fix=f"remove the cause, then `contract-archive ocr --retry {batch.contract_id}`",
            severity="warning",
        )
    by_contract: dict[int, list[Any]] = {}
    for job in records.failed_ocr_pages():
        by_contract.setdefault(job.contract_id, []).append(job)
    for contract_id, jobs in by_contract.items():
        shown = "; ".join(
            f"page {j.page_no} after {plural(j.attempts, 'attempts')}: "
            f"{j.error or 'unknown reason'}"
            for j in jobs[:5]
        )
        more = f"; and {len(jobs) - 5} more pages" if len(jobs) > 5 else ""
        yield Finding(
            check="ocr",
            code="ocr_page_failed",
            subject=f"contract {contract_id}",
            problem=f"OCR failed for good on {len(jobs)} page{'s' if len(jobs) > 1 else ''} "
            f"({shown}{more}); the contract is archived without their text",
            fix=f"see `contract-archive jobs list --failed`; remove the cause, then "
            f"`contract-archive ocr --retry {contract_id}`",
            severity="warning",
        )


def _ocr_owner_alive(owner: str) -> bool | None:
    parts = owner.split(":")
    if len(parts) < 3 or parts[0] != socket.gethostname() or not parts[1].isdigit():
        return None
    from storage.maintenance import pid_alive

    return pid_alive(int(parts[1]))


def _requeue_ocr(state: DoctorState, owner: str) -> Callable[[], str]:
    def repair() -> str:
        count = state.archive.records.requeue_ocr_owned_by([owner])
        return f"queued {plural(count, 'OCR pages')} of {owner} again"

    return repair


def check_permissions(state: DoctorState) -> Iterable[Finding]:
    """Folders and files of the data directory that other users may read or write, and stored
    originals their owner may write (issue 20: 0700 folders, 0400 objects, 0600 files)."""
    settings = state.archive.settings
    wide = list(wider_than_private(settings.data_dir, settings.objects_dir))
    state.counts["paths wider than private"] = len(wide)
    shown = wide[:50]
    for item in shown:
        yield Finding(
            check="permissions",
            code="wide_permissions",
            subject=str(item.path),
            problem=f"the {item.kind} has mode {item.mode:04o}: other users of the host can "
            "reach what it holds",
            fix=f"chmod {item.wanted:04o} it: `contract-archive doctor --repair`",
            repair=_narrower(item),
        )
    if len(wide) > len(shown):
        rest = wide[len(shown) :]

        def narrow_rest() -> str:
            for item in rest:
                narrow(item)
            return f"narrowed {len(rest)} more paths"

        yield Finding(
            check="permissions",
            code="wide_permissions",
            subject=f"{len(rest)} more paths under {settings.data_dir}",
            problem="they give other users of the host access",
            fix="`contract-archive doctor --repair`",
            repair=narrow_rest,
        )


def _narrower(item: WidePath) -> Callable[[], str]:
    def repair() -> str:
        narrow(item)
        return f"set the mode of {item.path} to {item.wanted:04o}"

    return repair


def check_integrity(state: DoctorState) -> Iterable[Finding]:
    """Contracts flagged because a stored file was found damaged when it was to be served
    (issue 13): each is an error until its file is restored and the alert cleared."""
    if not state.records_ok:
        return
    records = state.archive.records
    alerts = getattr(records, "alerts", None)
    if alerts is None:
        return
    for alert in alerts():
        yield Finding(
            check="integrity",
            code="integrity_alert",
            subject=f"contract {alert.contract_id}",
            problem=f"integrity alert: {alert.problem} (found {alert.detected_at:%Y-%m-%d %H:%M} "
            f"UTC by {alert.detected_by})",
            fix=f"run `contract-archive verify {alert.contract_id}` and restore the "
            f"{alert.file} from a copy"
            + (
                f" (`contract-archive restore {alert.contract_id} FILE`)"
                if alert.file == "original"
                else ""
            )
            + "; it is refused for download until then",
        )


def check_jobs(state: DoctorState) -> Iterable[Finding]:
    """Background jobs (reminders, fixity audits, reindexing) that failed for good, and
    orphaned ones: running, but their lease ran out and no worker took them again (none runs:
    the server with ARCHIVE_JOBS_BACKGROUND=false and no `contract-archive worker`)."""
    if not state.records_ok:
        return
    records = state.archive.records
    settings = state.archive.settings
    for job in records.list_jobs(("failed",)):
        yield Finding(
            check="jobs",
            code="job_failed",
            subject=f"background job {job.id} ({job.kind})",
            problem=f"failed after {plural(job.attempts, 'attempts')}: "
            f"{job.error or 'unknown reason'}",
            fix=f"see `contract-archive jobs list --failed --json` (the traceback); remove the "
            f"cause, then `contract-archive jobs retry {job.id}`",
            severity="warning",
        )
    # A live worker takes a job whose lease ran out at its next look (every poll interval).
    before = datetime.now(UTC) - timedelta(seconds=2 * settings.job_poll_seconds)
    for job in records.expired_jobs(before):
        yield Finding(
            check="jobs",
            code="job_orphaned",
            subject=f"background job {job.id} ({job.kind})",
            problem=f"held by {job.owner}, whose lease ran out at "
            f"{job.lease_until:%Y-%m-%d %H:%M:%S} UTC, and no worker took it again",
            fix="start the server (ARCHIVE_JOBS_BACKGROUND=true) or `contract-archive worker`; "
            "`contract-archive doctor --repair` queues it again",
            repair=_requeue_job(state, job.id),
        )


def _requeue_job(state: DoctorState, job_id: int) -> Callable[[], str]:
    def repair() -> str:
        if state.archive.records.requeue_job(job_id):
            return f"queued background job {job_id} again"
        return f"background job {job_id} was taken meanwhile"

    return repair


def check_watch(state: DoctorState) -> Iterable[Finding]:
    """The server's watched folder (ARCHIVE_WATCH_DIR): one it cannot work in, and files
    claimed by a watcher of this host that died (moved back by the repair, or by the next
    watcher that starts)."""
    from services.watch import folder_problem, release_claim, stale_claims

    folder = state.archive.settings.watch_dir
    if folder is None:
        return
    problem = folder_problem(folder)
    if problem is not None:
        yield Finding(
            check="watch",
            code="watch_folder_unusable",
            subject=str(folder),
            problem=problem + " (ARCHIVE_WATCH_DIR)",
            fix="create the folder and give the archive's user read and write access to it, "
            "or unset ARCHIVE_WATCH_DIR",
        )
        return
    for claim in stale_claims(folder):
        files = sum(1 for p in claim.rglob("*") if p.is_file())

        def repair(claim: Path = claim) -> str:
            moved = release_claim(folder, claim)
            return f"moved {plural(len(moved), 'files')} back into {folder} to be taken again"

        yield Finding(
            check="watch",
            code="watch_claim_of_dead_process",
            subject=str(claim),
            problem=f"{plural(files, 'files')} claimed by a watcher that died, never archived "
            "or placed",
            fix="`contract-archive doctor --repair` moves them back where they were dropped "
            "(a watcher that starts does the same)",
            repair=repair,
        )


CHECKS: list[tuple[str, Check]] = [
    ("stores", check_stores),
    ("leftovers", check_leftovers),
    ("index", check_index),
    ("packages", check_packages),
    ("claims", check_claims),
    ("retention", check_retention),
    ("seal", check_seal),
    ("integrity", check_integrity),
    ("ocr", check_ocr),
    ("permissions", check_permissions),
    ("jobs", check_jobs),
    ("watch", check_watch),
]


def register_check(name: str, check: Check) -> None:
    """Add a check (run after the built-in ones), e.g. for keys, the TSA or tesseract."""
    if all(existing != name for existing, _ in CHECKS):
        CHECKS.append((name, check))


class Doctor:
    def __init__(
        self,
        archive: Archive,
        *,
        grace_seconds: float = DEFAULT_GRACE_SECONDS,
        verify: bool = False,
    ) -> None:
        self.archive = archive
        self.grace_seconds = grace_seconds
        self.verify = verify

    def run(self, *, repair: bool = False) -> Report:
        started = time.monotonic()
        state = DoctorState(self.archive, grace_seconds=self.grace_seconds, verify=self.verify)
        findings: list[Finding] = []
        for name, check in CHECKS:
            try:
                found = list(check(state))
            except ArchiveError as exc:
                found = [
                    Finding(
                        check=name,
                        code="check_failed",
                        subject=name,
                        problem=f"the check could not run: {exc.message}",
                        fix=exc.hint or "fix the error above and run doctor again",
                    )
                ]
            if repair:
                for finding in found:
                    self._repair(finding)
            findings.extend(found)
        return Report(
            findings=findings,
            counts=state.counts,
            checks=[name for name, _ in CHECKS],
            repair=repair,
            seconds=time.monotonic() - started,
        )

    @staticmethod
    def _repair(finding: Finding) -> None:
        if finding.repair is None:
            return
        try:
            finding.repaired = finding.repair()
        except ArchiveError as exc:
            finding.repair_error = exc.message
        except (_Refused, OSError) as exc:
            finding.repair_error = str(exc)


__all__ = ["CHECKS", "Doctor", "DoctorState", "Finding", "Report", "register_check"]
