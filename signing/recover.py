"""Rebuild the metadata database from the evidence packages (``contract-archive recover``).

Every package holds its manifests (``manifest.v<N>.json``), and each manifest holds the
contract's record: its id, fields, per-page summary and the digests of its files. Recovery walks
the object store, reads the latest manifest of every package and puts back the contract record
(with its original id) and the rows of all its manifest versions. Contracts whose record is
still there are left alone, so recovery can run on an empty or on a partly lost database, and
again after an interruption. The search index is rebuilt from the records afterwards.

Recovery trusts nothing it reads: the digests of the manifest must be those of the stored file
it names as the text, and a recovered contract is verified like any other (``verify --all``).
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from core.errors import ArchiveError, NotFound
from signing.errors import ManifestError
from signing.manifest import manifest_version_of, parse_manifest, parse_time, seal_name
from storage.objects.base import ObjectStore, package_key
from storage.records.base import NewContract, PageRecord, RecordStore
from storage.records.seals import ManifestRow, SealStore

PACKAGES = "packages/"


@dataclass
class RecoverSummary:
    packages: int = 0
    recovered: int = 0
    already_present: int = 0
    manifests: int = 0
    problems: list[str] = field(default_factory=list)
    recovered_ids: list[int] = field(default_factory=list)


def manifest_versions(objects: ObjectStore) -> dict[str, list[int]]:
    """The manifest versions stored in each package, by the original's SHA-256."""
    found: dict[str, list[int]] = defaultdict(list)
    for key in objects.iter_keys(PACKAGES):
        parts = key.split("/")
        if len(parts) != 4:
            continue
        version = manifest_version_of(parts[3])
        if version is not None:
            found[parts[2]].append(version)
    return {sha: sorted(v) for sha, v in sorted(found.items())}


def _read(objects: ObjectStore, key: str) -> bytes:
    with objects.open(key) as fh:
        return fh.read()


def new_contract_from(manifest: dict[str, Any]) -> NewContract:
    """The contract record that ``manifest`` describes; ManifestError when it cannot."""
    try:
        c = manifest["contract"]
        files = {f["name"]: f for f in manifest["files"]}
        text_file = c["text_file"]
        if text_file not in files or "original" not in files:
            raise ManifestError("the manifest does not list the original and the text")
        if files["original"]["sha256"] != c["sha256"]:
            raise ManifestError("the manifest's original digest is not the contract's")
        return NewContract(
            id=int(c["id"]),
            sha256=c["sha256"],
            size=int(c["size"]),
            content_type=c["content_type"],
            filename=c["filename"],
            title=c["title"],
            customer=c["customer"],
            page_count=int(c["page_count"]),
            ingested_by=c["ingested_by"],
            original_key=package_key(c["sha256"], "original"),
            text_key=package_key(c["sha256"], text_file),
            text_sha256=files[text_file]["sha256"],
            created_at=parse_time(c["created_at"]),
            classification=c.get("classification"),
            warnings=list(c["warnings"]),
            pages=[
                PageRecord(
                    page_no=int(p["page"]),
                    text_source=p["text_source"],
                    chars=int(p["chars"]),
                    needs_ocr=bool(p["needs_ocr"]),
                    ocr_status=p["ocr_status"],
                    ocr_confidence=p["ocr_confidence"],
                    ocr_error=p["ocr_error"],
                )
                for p in c["pages"]
            ],
        )
    except (KeyError, TypeError, ValueError, ArchiveError) as exc:
        if isinstance(exc, ManifestError):
            raise
        raise ManifestError(f"the manifest cannot rebuild a record ({exc!r})") from exc


def _manifest_rows(
    objects: ObjectStore, sha256: str, contract_id: int, versions: list[int]
) -> Iterator[ManifestRow]:
    for version in versions:
        key = package_key(sha256, f"manifest.v{version}.json")
        data = _read(objects, key)
        manifest = parse_manifest(data)
        seal_key = package_key(sha256, seal_name(version))
        sealed = objects.exists(seal_key)
        issued = parse_time(manifest["issued_at"])
        yield ManifestRow(
            contract_id=contract_id,
            version=version,
            manifest_key=key,
            manifest_sha256=hashlib.sha256(data).hexdigest(),
            state="sealed" if sealed else "pending",
            reason=None if sealed else "recovered without a seal",
            seal_key=seal_key if sealed else None,
            key_id=(manifest.get("seal") or {}).get("key_id") if sealed else None,
            issued_at=issued,
            sealed_at=issued if sealed else None,
        )


def recover(
    objects: ObjectStore,
    records: RecordStore,
    seals: SealStore,
    *,
    progress: Callable[[int], None] | None = None,
) -> RecoverSummary:
    """Put back every contract record and manifest row that the packages describe."""
    summary = RecoverSummary()
    present = records.contract_ids()
    for sha256, versions in manifest_versions(objects).items():
        summary.packages += 1
        latest = versions[-1]
        try:
            manifest = parse_manifest(
                _read(objects, package_key(sha256, f"manifest.v{latest}.json"))
            )
            new = new_contract_from(manifest)
            if new.sha256 != sha256:
                raise ManifestError("the manifest describes another package")
            assert new.id is not None
            if new.id in present:
                summary.already_present += 1
                continue
            if records.find_by_sha256(sha256) is not None:
                raise ManifestError(
                    f"its contract id {new.id} is taken by another record of the same file"
                )
            rows = list(_manifest_rows(objects, sha256, new.id, versions))
            records.add_contract(new)
            try:
                for row in rows:
                    seals.add_manifest(row)
            except BaseException:
                records.delete_contract(new.id)
                raise
        except (ManifestError, NotFound) as exc:
            summary.problems.append(f"package {sha256}: {exc.message}")
            continue
        present.add(new.id)
        summary.recovered += 1
        summary.manifests += len(rows)
        summary.recovered_ids.append(new.id)
        if progress:
            progress(1)
    records.fix_sequences()
    return summary
