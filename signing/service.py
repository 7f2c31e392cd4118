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
from typing import TYPE_CHECKING, Any

from core import __version__
from core.errors import ArchiveError, ConfigurationError, NotFound
from core.settings import Settings
from signing.canonical import digest_stream
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
    content_type_of,
    is_package_file,
    manifest_bytes,
    manifest_name,
    manifest_version_of,
    parse_manifest,
    same_content,
    seal_name,
)
from signing.report import VerificationReport
from storage.objects.base import ObjectStore, package_key, package_prefix
from storage.records.base import ContractRecord, RecordStore
from storage.records.seals import ManifestRow, SealStore

if TYPE_CHECKING:
    # pyHanko (the sealer, the TSAs, aiohttp) is imported where it is used: a command that only
    # reads or searches never loads it.
    from pyhanko.sign.timestamps.api import TimeStamper

    from signing.seal import Sealer

log = logging.getLogger(__name__)

SOFTWARE = f"contract-archive {__version__}"
SignatureChecker = Callable[[Path], EmbeddedReport]


@dataclass(frozen=True)
class PendingSummary:
    sealed: int
    still_pending: int
    issued: int
    """Contracts that had no manifest at all and got one."""
    failures: tuple[str, ...] = ()


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
    ) -> None:
        self.settings = settings
        self.objects = objects
        self.records = records
        self._seals = seals
        self.check_signatures = check_signatures
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

    def manifest_files(self, record: ContractRecord) -> list[ManifestFile]:
        """The files of ``record``'s package as a manifest lists them; a rendition carries
        how it was made (from ``rendition.json`` beside it)."""
        names = self.package_files(record.sha256)
        made_by = None
        if RENDITION in names and RENDITION_INFO in names:
            try:
                info = json.loads(self.read(package_key(record.sha256, RENDITION_INFO)))
            except ValueError:
                info = None
            made_by = info if isinstance(info, dict) else None
        return [
            ManifestFile(
                name=name,
                digest=self._digest(package_key(record.sha256, name)),
                content_type=content_type_of(name, record.content_type),
                made_by=made_by if name == RENDITION else None,
            )
            for name in names
        ]

    def _digest(self, key: str) -> Any:
        with self.objects.open(key) as fh:
            return digest_stream(fh)

    def read(self, key: str) -> bytes:
        with self.objects.open(key) as fh:
            return fh.read()

    # -- issuing ---------------------------------------------------------------------------
    def issue(
        self, record: ContractRecord, *, embedded: EmbeddedReport | dict[str, Any] | None
    ) -> IssuedManifest:
        """Write the next manifest version of ``record``'s package and try to seal it."""
        keys = self.keys
        latest = self.seals.latest_manifest(record.id)
        stored = self.stored_manifest_versions(record.sha256)
        version = max([latest.version if latest else 0, *stored]) + 1
        files = self.manifest_files(record)
        previous = None
        if version > 1 and (version - 1) in stored:
            prev_key = package_key(record.sha256, manifest_name(version - 1))
            previous = {
                "version": version - 1,
                "file": manifest_name(version - 1),
                "sha256": hashlib.sha256(self.read(prev_key)).hexdigest(),
            }
        report = embedded.to_dict() if isinstance(embedded, EmbeddedReport) else embedded
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
        )
        data = manifest_bytes(manifest)
        digest = hashlib.sha256(data).hexdigest()
        key = package_key(record.sha256, manifest_name(version))
        put = self.objects.put(
            key, io.BytesIO(data), sha256=digest, content_type="application/json"
        )
        created = [key] if put.created else []
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
        latest = self.latest_manifest(record)
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
                files=self.manifest_files(record),
                embedded_signatures=embedded if isinstance(embedded, dict) else None,
                key_id=self.keys.key_id,
                development_keys=self.keys.development,
                issued_at=_now(),
                previous=None,
                software=SOFTWARE,
            )
            if same_content(candidate, latest[1]):
                return
        self.issue(record, embedded=embedded)

    def embedded_report_for(self, record: ContractRecord) -> EmbeddedReport | None:
        """Validate the signatures of an archived original (in the worker), for contracts
        that have no manifest yet."""
        if self.check_signatures is None:
            return None
        if record.content_type != "application/pdf":  # an image: nothing to validate
            return EmbeddedReport(
                validated_at=_now().isoformat().replace("+00:00", "Z"),
                notes=(
                    f"the original is an image ({record.content_type}): it carries no "
                    "embedded signatures",
                ),
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

    # -- verification ----------------------------------------------------------------------
    def verify(self, contract_id: int) -> VerificationReport:
        from signing.verify import verify_contract

        return verify_contract(self, self.records.get_contract(contract_id))
