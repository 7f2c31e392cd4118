"""Restoring a damaged stored original from a good copy (issue 13).

A contract whose stored original was found damaged (an integrity alert) is repaired with a copy
an administrator supplies: accepted only when its SHA-256 and size are the record's, written
back to the original's key, re-read and hashed, and only then is the alert cleared."""

from __future__ import annotations

import hashlib
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING

from core.errors import ArchiveError, IntegrityFailure, InvalidRequest
from storage.records.seals_base import AlertRow

if TYPE_CHECKING:
    from services.archive import Archive

_CHUNK = 1 << 20


@dataclass(frozen=True)
class RestoreResult:
    contract_id: int
    sha256: str
    size: int
    written: bool
    """False when the stored original was already intact (nothing was written)."""
    cleared: AlertRow | None
    """The integrity alert cleared by the restore, if there was one on the original."""
    remaining: AlertRow | None
    """An alert on another file (the text, the searchable copy) that restoring the original
    does not repair."""


def _digest(path: Path) -> tuple[str, int]:
    digest, size = hashlib.sha256(), 0
    with open(path, "rb") as fh:
        while chunk := fh.read(_CHUNK):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size


def _stored_digest(archive: Archive, key: str) -> str | None:
    """The SHA-256 of the stored object's bytes, or None when it cannot be read at all."""
    digest = hashlib.sha256()
    try:
        with archive.objects.open(key) as src:
            while chunk := src.read(_CHUNK):
                digest.update(chunk)
    except (ArchiveError, OSError):  # missing, unreadable, or a store refusing damaged bytes
        return None
    return digest.hexdigest()


def restore_original(archive: Archive, contract_id: int, source: Path | IO[bytes]) -> RestoreResult:
    """:func:`restore_from_file` for a path, or for an uploaded stream (kept in a private
    temporary file while it is checked and written, removed after)."""
    if isinstance(source, Path):
        return restore_from_file(archive, contract_id, source, source)
    tmp_dir = archive.settings.tmp_dir
    tmp_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=tmp_dir, prefix="restore-", suffix=".part") as spool:
        shutil.copyfileobj(source, spool, _CHUNK)
        spool.flush()
        return restore_from_file(archive, contract_id, Path(spool.name), "the uploaded file")


def restore_from_file(
    archive: Archive, contract_id: int, source: Path, name: str | Path
) -> RestoreResult:
    """Write ``source`` back as the stored original of ``contract_id`` when its SHA-256 and
    size are the record's; nothing is written otherwise (:class:`InvalidRequest` naming the
    expected and the actual digest). Verified by re-reading; the alert is cleared after."""
    record = archive.records.get_contract(contract_id)
    try:
        if not source.is_file():
            raise InvalidRequest(
                f"restore file {source} does not exist or is not a file",
                hint="give the path of a copy of the contract's original file",
            )
        actual, size = _digest(source)
    except OSError as exc:
        raise InvalidRequest(
            f"restore file {source} cannot be read: {exc.strerror or exc}",
            hint="check the path and its permissions",
        ) from None
    if actual != record.sha256 or size != record.size:
        raise InvalidRequest(
            f"restore file {name} is not the original of contract {contract_id}: its SHA-256 "
            f"is {actual} ({size} bytes), expected {record.sha256} ({record.size} bytes); "
            "nothing was written",
            hint="supply an exact copy of the file as it was archived (compare with "
            f"`sha256sum`; the record's digest is shown by `contract-archive show {contract_id}`)",
            details={
                "contract_id": contract_id,
                "expected_sha256": record.sha256,
                "actual_sha256": actual,
                "expected_size": record.size,
                "actual_size": size,
            },
        )
    key = record.original_key
    written = False
    if _stored_digest(archive, key) != record.sha256:
        if archive.objects.exists(key):
            with open(source, "rb") as fh:
                archive.objects.replace(key, fh, sha256=record.sha256)
        else:  # lost rather than damaged: stored again, as at archiving
            with open(source, "rb") as fh:
                archive.objects.put(key, fh, sha256=record.sha256, content_type=record.content_type)
        written = True
        if _stored_digest(archive, key) != record.sha256:
            raise IntegrityFailure(
                f"the original of contract {contract_id} was written back but reading it again "
                "does not give the recorded SHA-256; the integrity alert stays",
                hint="check the object store (disk, permissions, `contract-archive doctor`) and "
                "retry the restore",
                details={"contract_id": contract_id, "expected_sha256": record.sha256},
            )
    alert = archive.records.alert_for(contract_id)
    cleared = remaining = None
    if alert is not None and alert.file == "original":
        archive.records.clear_alert(contract_id)
        cleared = alert
    elif alert is not None:
        remaining = alert
    return RestoreResult(contract_id, record.sha256, record.size, written, cleared, remaining)
