"""The seal service: issues and seals manifests, seals the pending ones, verifies packages.

The archive owns one :class:`SealService`. Ingest calls :meth:`SealService.issue` from its
``manifest`` stage (after the record exists, so the contract id is in the manifest); a package
change (OCR text, a searchable copy) calls :meth:`SealService.on_package_changed`, which issues
the next manifest version listing the current files.

Writing the manifest is part of archiving: if it fails, ingest fails and is undone. Sealing is
not: if the key or the TSA fails, the manifest stays ``pending`` with the reason, and
``contract-archive seal --pending`` seals it later. Nothing claims a seal it does not have.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import logging
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from core import __version__
from core.changes import CURRENT_CHANGE
from core.errors import ArchiveError, ConfigurationError, NotFound
from core.settings import Settings
from signing.canonical import FileDigest, digest_stream
from signing.embedded import EmbeddedReport
from signing.errors import ManifestError, SealFailed
from signing.keys import (
    SealKeys,
    load_or_create_development_keys,
    load_pem_bundle,
    load_production_keys,
)
from signing.ledger_service import LedgerService
from signing.manifest import (
    RENDITION,
    RENDITION_INFO,
    IssuedManifest,
    ManifestFile,
    build_manifest,
    changed_fields,
    content_type_of,
    is_package_file,
    iso,
    manifest_bytes,
    manifest_name,
    manifest_version_of,
    model_section,
    parse_manifest,
    same_content,
    seal_name,
)
from signing.report import VerificationReport
from storage.objects.base import ObjectStore, package_key, package_prefix
from storage.records.base import ContractRecord, RecordStore
from storage.records.seals import ManifestRow, SealStore
from storage.records.unit import on_rollback

if TYPE_CHECKING:
    # pyHanko (the sealer, the TSAs, aiohttp) is imported where it is used: a command that only
    # reads or searches never loads it.
    from pyhanko.sign.timestamps.api import TimeStamper

    from signing.seal import Sealer

log = logging.getLogger(__name__)

SOFTWARE = f"contract-archive {__version__}"
SignatureChecker = Callable[[Path], EmbeddedReport]
T = TypeVar("T")


class Isolator(Protocol):
    """Runs ``fn(*args)`` in a killable worker process and returns its result; raises a
    :class:`~core.errors.WorkerStopped` when the worker takes longer than ``timeout`` seconds (it
    is killed, ``timed_out``), dies or cannot start, and another :class:`ArchiveError` when the
    work itself fails. The archive's is its parser pool (:mod:`ingest.isolation`)."""

    def __call__(self, fn: Callable[..., T], /, *args: Any, what: str, timeout: float) -> T: ...


@dataclass(frozen=True)
class PendingSummary:
    sealed: int
    still_pending: int
    issued: int
    """Contracts that had no manifest at all and got one."""
    failures: tuple[str, ...] = ()


@dataclass(frozen=True)
class ManifestVersion:
    """One line of a contract's manifest history."""

    version: int
    issued_at: str
    by: str | None
    action: str | None
    reason: str | None
    changed: dict[str, Any]
    """``{field: {"from": old, "to": new}}``: the contract's own fields only."""
    state: str
    """``sealed`` or ``pending``."""
    manifest_sha256: str
    problem: str | None = None
    """Why the stored manifest could not be read (then nothing else is known of it)."""

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def _now() -> datetime:
    return datetime.now(UTC)


class SealService:
    def __init__(
        self,
        settings: Settings,
        objects: ObjectStore,
        records: RecordStore,
        *,
        seals: SealStore | None = None,
        check_signatures: SignatureChecker | None = None,
        timestamper: TimeStamper | None = None,
        isolate: Isolator | None = None,
    ) -> None:
        self.settings = settings
        self.objects = objects
        self.records = records
        self._seals = seals
        self.check_signatures = check_signatures
        self.isolate = isolate
        """Where the fixity audit checks seals (in both cores' worker processes); None: here."""
        self._timestamper_override = timestamper
        self._keys: SealKeys | None = None
        self._sealer: Sealer | None = None
        self._embedded_pem: bytes | None = None
        self.ledger = LedgerService(
            settings,
            records,
            timestamper=lambda: self.sealer.timestamper,  # the seal's TSA, made once
            anchors=lambda: self.keys.anchors,
        )
        """The evidence ledger: every manifest version issued here is appended to it."""

    # -- set-up ----------------------------------------------------------------------------
    @property
    def seals(self) -> SealStore:
        if self._seals is None:
            self._seals = self.records  # the record store includes the seal store
        return self._seals

    def open(self) -> None:
        """Load (or, in development, create) the keys; warn loudly about development keys."""
        s = self.settings
        extra = (
            load_pem_bundle(s.trust_anchors_file, "ARCHIVE_TRUST_ANCHORS_FILE")
            if s.trust_anchors_file
            else []
        )
        if s.seal_key_file is None:
            keys = load_or_create_development_keys(s.keys_dir, extra_anchors=extra)
        else:
            if not s.trust_anchors_file:
                raise ConfigurationError(
                    "ARCHIVE_TRUST_ANCHORS_FILE is required with ARCHIVE_SEAL_KEY_FILE",
                    hint="give a PEM file with the roots of the seal certificate and of the TSA",
                )
            if not s.tsa_url and self._timestamper_override is None:
                raise ConfigurationError(
                    "ARCHIVE_TSA_URL is required with ARCHIVE_SEAL_KEY_FILE",
                    hint="give the URL of an RFC 3161 time-stamping authority; the "
                    "development TSA is only used with development keys",
                )
            keys = load_production_keys(
                key_file=s.seal_key_file,
                cert_file=s.seal_cert_file,
                chain_file=s.seal_chain_file,
                passphrase=(
                    s.seal_key_passphrase.get_secret_value() if s.seal_key_passphrase else None
                ),
                anchors=extra,
            )
        if keys.warning:
            log.warning(keys.warning)
        self._keys = keys
        self._sealer = None  # made on first use: pyHanko is loaded by what seals, not by open
        if s.embedded_trust_anchors_file is not None:
            from signing.keys import pem

            self._embedded_pem = pem(
                load_pem_bundle(
                    s.embedded_trust_anchors_file, "ARCHIVE_EMBEDDED_TRUST_ANCHORS_FILE"
                )
            )
        else:
            self._embedded_pem = b""

    def _make_timestamper(self, keys: SealKeys) -> TimeStamper:
        from signing.timestamp import DevelopmentTimeStampAuthority, http_timestamper

        if self._timestamper_override is not None:
            return self._timestamper_override
        if self.settings.tsa_url:
            return http_timestamper(self.settings.tsa_url, self.settings.tsa_timeout_seconds)
        assert keys.tsa_cert is not None and keys.tsa_key is not None
        return DevelopmentTimeStampAuthority(keys.tsa_cert, keys.tsa_key, keys.tsa_chain)

    @property
    def keys(self) -> SealKeys:
        if self._keys is None:
            raise ConfigurationError("the seal service was not opened")
        return self._keys

    @property
    def sealer(self) -> Sealer:
        if self._sealer is None:
            from signing.seal import Sealer

            keys = self.keys  # ConfigurationError when not opened
            self._sealer = Sealer(keys, self._make_timestamper(keys))
        return self._sealer

    @property
    def embedded_trust_pem(self) -> bytes:
        return self._embedded_pem or b""

    # -- package files ---------------------------------------------------------------------
    def package_files(self, sha256: str) -> list[str]:
        prefix = package_prefix(sha256)
        return sorted(
            k[len(prefix) :]
            for k in self.objects.iter_keys(prefix)
            if "/" not in k[len(prefix) :] and is_package_file(k[len(prefix) :])
        )

    def stored_manifest_versions(self, sha256: str) -> list[int]:
        prefix = package_prefix(sha256)
        versions = []
        for key in self.objects.iter_keys(prefix):
            v = manifest_version_of(key[len(prefix) :])
            if v is not None:
                versions.append(v)
        return sorted(versions)

    def manifest_files(
        self, record: ContractRecord, sealed: dict[str, Any] | None = None
    ) -> list[ManifestFile]:
        """The files of ``record``'s package as a manifest lists them, with their digests:
        hashed now, or, for a file the ``sealed`` manifest already lists, its digests as sealed
        there (an edit never seals a file damaged since as good); a rendition carries how it was
        made (from ``rendition.json`` beside it)."""
        names = self.package_files(record.sha256)
        made_by = None
        if RENDITION in names and RENDITION_INFO in names:
            try:
                info = json.loads(self.read(package_key(record.sha256, RENDITION_INFO)))
            except ValueError:
                info = None
            made_by = info if isinstance(info, dict) else None
        listed = {
            str(f.get("name")): f for f in (sealed or {}).get("files") or [] if isinstance(f, dict)
        }
        out = []
        for name in names:
            entry = listed.get(name)
            if entry is not None and {"size", "sha256", "sm3"} <= set(entry):
                digest = FileDigest(
                    size=int(entry["size"]), sha256=str(entry["sha256"]), sm3=str(entry["sm3"])
                )
            else:
                digest = self._digest(package_key(record.sha256, name))
            out.append(
                ManifestFile(
                    name=name,
                    digest=digest,
                    content_type=content_type_of(name, record.content_type),
                    made_by=made_by if name == RENDITION else None,
                )
            )
        return out

    def _digest(self, key: str) -> Any:
        with self.objects.open(key) as fh:
            return digest_stream(fh)

    def read(self, key: str) -> bytes:
        with self.objects.open(key) as fh:
            return fh.read()

    def model_of(self, record: ContractRecord) -> dict[str, Any] | None:
        """The contract's own model as the manifest covers it (terms, filing, holds, approval
        rounds), or None when the contract has no terms row yet (a contract whose ingest is still
        being finished)."""
        try:
            terms = self.records.get_terms(record.id)
        except NotFound:
            return None
        rounds = self.records.list_rounds(contract_id=record.id)
        return model_section(terms, self.records.list_holds(record.id), rounds)

    # -- issuing ---------------------------------------------------------------------------
    def issue(
        self,
        record: ContractRecord,
        *,
        embedded: EmbeddedReport | dict[str, Any] | None,
        change: dict[str, Any] | None = None,
        sealed: dict[str, Any] | None = None,
    ) -> IssuedManifest:
        """Write the next manifest version of ``record``'s package and try to seal it.
        ``change``: who changed what through which action (a later version); ``sealed``: the
        latest manifest, whose file digests a change of the record carries over (see
        :meth:`_files`)."""
        keys = self.keys
        latest = self.seals.latest_manifest(record.id)
        stored = self.stored_manifest_versions(record.sha256)
        version = max([latest.version if latest else 0, *stored]) + 1
        files = self.manifest_files(record, sealed)
        previous = None
        previous_manifest: dict[str, Any] | None = None
        if version > 1 and (version - 1) in stored:
            prev_key = package_key(record.sha256, manifest_name(version - 1))
            prev_data = self.read(prev_key)
            previous = {
                "version": version - 1,
                "file": manifest_name(version - 1),
                "sha256": hashlib.sha256(prev_data).hexdigest(),
            }
            with contextlib.suppress(ManifestError):
                previous_manifest = parse_manifest(prev_data)
        report = embedded.to_dict() if isinstance(embedded, EmbeddedReport) else embedded
        model = self.model_of(record)
        if version > 1:
            change = {
                "by": (change or {}).get("by") or "system",
                "at": iso(_now()),
                "action": (change or {}).get("action") or "package.changed",
                "reason": (change or {}).get("reason"),
                "fields": {},
            }
        manifest = build_manifest(
            record=record,
            version=version,
            files=files,
            embedded_signatures=report,
            key_id=keys.key_id,
            development_keys=keys.development,
            issued_at=_now(),
            previous=previous,
            software=SOFTWARE,
            model=model,
            change=change,
        )
        if change is not None:
            change["fields"] = changed_fields(previous_manifest, manifest)
            manifest["change"] = change
        data = manifest_bytes(manifest)
        digest = hashlib.sha256(data).hexdigest()
        key = package_key(record.sha256, manifest_name(version))
        put = self.objects.put(
            key, io.BytesIO(data), sha256=digest, content_type="application/json"
        )
        created = [key] if put.created else []
        # Inside a change's unit of work the manifest is written before the commit; if the
        # unit rolls back, the object goes too (`doctor` reports one a crash left behind).
        on_rollback(lambda: self._take_back(created))
        try:
            self.seals.add_manifest(
                ManifestRow(
                    contract_id=record.id,
                    version=version,
                    manifest_key=key,
                    manifest_sha256=digest,
                    state="pending",
                    reason="not sealed yet",
                    issued_at=_now(),
                )
            )
        except BaseException:
            for k in created:
                with contextlib.suppress(ArchiveError):
                    self.objects.delete(k)
            raise
        try:
            # The evidence ledger: every version once (the same version and digest again is
            # the same leaf). A failure here fails the issue, as writing the manifest does.
            self.ledger.append(record.id, version, digest)
        except BaseException:
            self.seals.delete_manifest(record.id, version)
            for k in created:
                with contextlib.suppress(ArchiveError):
                    self.objects.delete(k)
            raise
        issued = IssuedManifest(
            contract_id=record.id,
            version=version,
            manifest_key=key,
            manifest_sha256=digest,
            state="pending",
            reason="not sealed yet",
            created_keys=tuple(created),
        )
        return self._seal(issued, data)

    def _seal(self, issued: IssuedManifest, data: bytes) -> IssuedManifest:
        seal_key = issued.manifest_key.rsplit("/", 1)[0] + "/" + seal_name(issued.version)
        try:
            result = self.sealer.seal(data)
            put = self.objects.put(
                seal_key,
                io.BytesIO(result.p7s),
                sha256=hashlib.sha256(result.p7s).hexdigest(),
                content_type="application/pkcs7-signature",
            )
        except ArchiveError as exc:
            reason = exc.message
            log.warning(
                "contract %s: manifest v%s archived but not sealed (%s); "
                "`contract-archive seal --pending` will seal it",
                issued.contract_id,
                issued.version,
                reason,
            )
            self.seals.mark_pending(issued.contract_id, issued.version, reason)
            return IssuedManifest(**{**issued.__dict__, "state": "pending", "reason": reason})
        created = issued.created_keys + ((seal_key,) if put.created else ())
        if put.created:
            on_rollback(lambda: self._take_back([seal_key]))
        try:
            self.seals.mark_sealed(
                issued.contract_id,
                issued.version,
                seal_key=seal_key,
                key_id=result.key_id,
                sealed_at=_now(),
            )
        except BaseException:
            if put.created:
                with contextlib.suppress(ArchiveError):
                    self.objects.delete(seal_key)
            raise
        return IssuedManifest(
            **{
                **issued.__dict__,
                "state": "sealed",
                "reason": None,
                "seal_key": seal_key,
                "created_keys": created,
            }
        )

    def _take_back(self, keys: list[str]) -> None:
        """Delete objects written for a unit of work that rolled back (already gone: fine)."""
        for k in keys:
            try:
                self.objects.delete(k)
            except NotFound:
                pass
            except ArchiveError as exc:
                log.error(
                    "%s was written for a change that was not saved and cannot be "
                    "deleted (%s): `contract-archive doctor --repair` removes it",
                    k,
                    exc.message,
                )

    def withdraw(self, issued: IssuedManifest) -> None:
        """Take back an issued manifest (ingest failed after it): its objects and its row."""
        for key in reversed(issued.created_keys):
            with contextlib.suppress(NotFound):
                self.objects.delete(key)
        self.seals.delete_manifest(issued.contract_id, issued.version)
        # Its ledger leaf goes too while nothing committed to it (it is the last leaf and no
        # checkpoint covers it); otherwise it stays, and `ledger verify` notes it as withdrawn.
        self.ledger.withdraw(issued.contract_id, issued.version, issued.manifest_sha256)

    # -- package changes -------------------------------------------------------------------
    def latest_manifest(self, record: ContractRecord) -> tuple[ManifestRow, dict[str, Any]] | None:
        row = self.seals.latest_manifest(record.id)
        if row is None:
            return None
        try:
            return row, parse_manifest(self.read(row.manifest_key))
        except (ManifestError, NotFound):
            return None

    def on_package_changed(self, record: ContractRecord) -> None:
        """A package listener: issue a new manifest version when the package changed."""
        self.refresh(record, rehash=True)

    def refresh(
        self,
        record: ContractRecord,
        *,
        change: dict[str, Any] | None = None,
        rehash: bool = False,
    ) -> IssuedManifest | None:
        """Issue the next manifest version when the package, the record or the contract's own
        model differ from the latest manifest (None when nothing changed). ``change``: who and
        through which action (``by``, ``action``, ``reason``; by default the facade's
        :data:`core.changes.CURRENT_CHANGE`)."""
        latest = self.latest_manifest(record)
        change = change or CURRENT_CHANGE.get() or {"by": "system", "action": "contract.refresh"}
        # A change of the record (title, terms, ...) does not touch the files: their sealed
        # digests carry over, so a file damaged meanwhile is never sealed as if it were good.
        # A package change (``rehash``: new OCR text) hashes every file again, as before.
        sealed = latest[1] if latest is not None and not rehash else None
        embedded: dict[str, Any] | EmbeddedReport | None
        if latest is not None:
            embedded = latest[1].get("embedded_signatures")
        else:
            embedded = self.embedded_report_for(record)
        if latest is not None:
            # Nothing to do when the package and the record are what the manifest says.
            candidate = build_manifest(
                record=record,
                version=latest[0].version,
                files=self.manifest_files(record, sealed),
                embedded_signatures=embedded if isinstance(embedded, dict) else None,
                key_id=self.keys.key_id,
                development_keys=self.keys.development,
                issued_at=_now(),
                previous=None,
                software=SOFTWARE,
                model=self.model_of(record),
            )
            if same_content(candidate, latest[1]):
                return None
        return self.issue(record, embedded=embedded, change=change, sealed=sealed)

    def embedded_report_for(self, record: ContractRecord) -> EmbeddedReport | None:
        """Validate the signatures of an archived original (in the worker), for contracts
        that have no manifest yet."""
        if self.check_signatures is None:
            return None
        if record.content_type != "application/pdf":
            note = (
                f"the original is an image ({record.content_type}): it carries no embedded "
                "signatures"
                if record.content_type.startswith("image/")
                else f"the original is not a PDF ({record.content_type}): the signatures inside "
                "it are reported at ingest only (an OFD's), or not checked"
            )
            return EmbeddedReport(
                validated_at=_now().isoformat().replace("+00:00", "Z"), notes=(note,)
            )
        self.settings.tmp_dir.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(prefix="signatures-", suffix=".pdf", dir=self.settings.tmp_dir)
        try:
            with os.fdopen(fd, "wb") as out, self.objects.open(record.original_key) as src:
                shutil.copyfileobj(src, out, 1 << 20)
            return self.check_signatures(Path(name))
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(name)

    # -- sealing later ---------------------------------------------------------------------
    def seal_one(self, row: ManifestRow) -> IssuedManifest:
        """Seal a pending manifest. The stored bytes must still be what was issued."""
        data = self.read(row.manifest_key)
        if hashlib.sha256(data).hexdigest() != row.manifest_sha256:
            reason = "the stored manifest no longer matches the digest recorded when it was issued"
            self.seals.mark_pending(row.contract_id, row.version, reason)
            raise SealFailed(
                f"contract {row.contract_id}: {reason}; it was not sealed",
                hint="run `contract-archive verify` on it",
            )
        issued = IssuedManifest(
            contract_id=row.contract_id,
            version=row.version,
            manifest_key=row.manifest_key,
            manifest_sha256=row.manifest_sha256,
            state="pending",
            reason=row.reason,
        )
        return self._seal(issued, data)

    def iter_pending(self) -> Iterator[ManifestRow]:
        after = (0, 0)
        while True:
            batch = self.seals.pending(after=after, limit=200)
            if not batch:
                return
            yield from batch
            after = (batch[-1].contract_id, batch[-1].version)

    def seal_pending(self, *, progress: Callable[[str], None] | None = None) -> PendingSummary:
        """Seal every pending manifest, and issue one for contracts that have none."""
        sealed = pending = issued = 0
        failures: list[str] = []
        after = 0
        while True:
            ids = self.seals.contracts_without_manifest(after=after, limit=200)
            if not ids:
                break
            for contract_id in ids:
                after = contract_id
                try:
                    record = self.records.get_contract(contract_id)
                    result = self.issue(record, embedded=self.embedded_report_for(record))
                except ArchiveError as exc:
                    failures.append(f"contract {contract_id}: {exc.message}")
                    continue
                issued += 1
                if result.state == "sealed":
                    sealed += 1
                else:
                    pending += 1
                    failures.append(f"contract {contract_id}: {result.reason}")
                if progress:
                    progress(f"contract {contract_id}: manifest v{result.version} {result.state}")
        for row in list(self.iter_pending()):
            try:
                result = self.seal_one(row)
            except ArchiveError as exc:
                pending += 1
                failures.append(exc.message)
                continue
            if result.state == "sealed":
                sealed += 1
            else:
                pending += 1
                failures.append(f"contract {row.contract_id}: {result.reason}")
            if progress:
                progress(f"contract {row.contract_id}: manifest v{row.version} {result.state}")
        return PendingSummary(
            sealed=sealed, still_pending=pending, issued=issued, failures=tuple(failures)
        )

    # -- history ---------------------------------------------------------------------------
    def history(self, contract_id: int) -> list[ManifestVersion]:
        """Every manifest version of the contract, oldest first: when, by whom, through which
        action, and which of the contract's own fields changed (from the manifests' ``change``
        sections; the first version is the ingest)."""
        out = []
        for row in sorted(self.seals.manifests(contract_id), key=lambda r: r.version):
            change: dict[str, Any] = {}
            issued_at = row.issued_at.isoformat() if row.issued_at else None
            problem = None
            try:
                manifest = parse_manifest(self.read(row.manifest_key))
            except (ManifestError, NotFound) as exc:
                manifest = {}
                problem = getattr(exc, "message", str(exc))
            change = manifest.get("change") or {}
            contract = manifest.get("contract") or {}
            if row.version == 1 or not change:
                by = contract.get("ingested_by") if row.version == 1 else None
                action = "contract.ingest" if row.version == 1 else None
            else:
                by, action = change.get("by"), change.get("action")
            out.append(
                ManifestVersion(
                    version=row.version,
                    issued_at=str(manifest.get("issued_at") or issued_at or ""),
                    by=by,
                    action=action,
                    reason=change.get("reason"),
                    changed=dict(change.get("fields") or {}),
                    state=row.state,
                    manifest_sha256=row.manifest_sha256,
                    problem=problem,
                )
            )
        return out

    # -- verification ----------------------------------------------------------------------
    def verify(self, contract_id: int) -> VerificationReport:
        from signing.verify import verify_contract

        return verify_contract(self, self.records.get_contract(contract_id))
