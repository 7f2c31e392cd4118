"""Legal holds and retention of a contract's evidence package, shared by the API and the CLI.

A legal hold freezes every object of the package (the original and everything derived from it)
until it is released; retention protects the original until its date. Both are enforced by the
object store itself (S3 Object Lock); a store that cannot enforce them refuses with
:class:`~storage.errors.LockingUnsupported` rather than pretending.
"""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime, time, timedelta

from schemas.locks import ContractLocks, ObjectLockPublic
from services.archive import Archive
from storage.errors import LockingUnsupported
from storage.objects.base import package_prefix
from storage.records.base import ContractRecord

log = logging.getLogger(__name__)


def _package_keys(archive: Archive, contract_id: int) -> list[str]:
    record = archive.get(contract_id)
    keys = set(archive.objects.iter_keys(package_prefix(record.sha256)))
    keys.update((record.original_key, record.text_key))
    return sorted(keys)


def contract_locks(archive: Archive, contract_id: int) -> ContractLocks:
    """The retention and legal hold of every object of the contract's package."""
    record = archive.get(contract_id)
    objects = []
    for key in _package_keys(archive, contract_id):
        lock = archive.objects.lock_info(key)
        objects.append(
            ObjectLockPublic(
                key=key,
                mode=lock.mode,
                retain_until=lock.retain_until,
                legal_hold=lock.legal_hold,
            )
        )
    now = datetime.now(UTC)
    original = next(o for o in objects if o.key == record.original_key)
    return ContractLocks(
        id=contract_id,
        enforced=archive.objects.supports_locks,
        legal_hold=bool(objects) and all(o.legal_hold for o in objects),
        retain_until=original.retain_until,
        deletable=not any(
            o.legal_hold or (o.retain_until is not None and o.retain_until > now) for o in objects
        ),
        objects=objects,
    )


def set_legal_hold(archive: Archive, contract_id: int, on: bool, *, user: str) -> ContractLocks:
    """Set or release the legal hold on every object of the package."""
    keys = _package_keys(archive, contract_id)  # NotFound first
    if not archive.objects.supports_locks:
        raise LockingUnsupported(
            f"the {archive.objects.name} object store cannot enforce legal holds",
            hint="set ARCHIVE_OBJECT_STORE=s3 with a bucket that has Object Lock "
            "(see 'Running at scale' in the README)",
        )
    for key in keys:
        archive.objects.set_legal_hold(key, on)
    log.warning(
        "legal hold %s on contract %s by %s", "set" if on else "released", contract_id, user
    )
    return contract_locks(archive, contract_id)


PERMANENT_RETENTION_YEARS = 100
"""How far a permanent (Y) contract's retention is carried on a store that needs a date."""


def protect_until(archive: Archive, contract_id: int, due: date | None, *, permanent: bool) -> None:
    """Carry the record's disposal date into the store's retention of the original.

    Filing, and every appraisal that moves the disposal date, call this. Retention is only ever
    extended (the store refuses to shorten it), so a later, earlier date changes nothing on the
    store: the object stays protected until the date it was once given. A permanent contract
    is retained for PERMANENT_RETENTION_YEARS from today. Stores that cannot enforce retention
    (the local directory) are left alone: the record's disposal date and its holds still stop a
    disposal there.
    """
    if not archive.objects.supports_locks:
        return
    if permanent:
        until = datetime.now(UTC) + timedelta(days=365 * PERMANENT_RETENTION_YEARS)
    elif due is not None:
        until = datetime.combine(due + timedelta(days=1), time.min, tzinfo=UTC)
    else:
        return
    record = archive.get(contract_id)
    current = archive.objects.lock_info(record.original_key).retain_until
    if current is not None and current >= until:
        return
    archive.objects.set_retention(record.original_key, until)
    log.info("retention of contract %s extended to %s", contract_id, until.isoformat())


def sync_record_hold(archive: Archive, contract_id: int, active: bool) -> None:
    """Mirror the record's holds on the store: an active hold puts a legal hold on the package.

    Released only when the record has no active hold left. Stores without locking are left
    alone: the record's holds still block disposal there.
    """
    if not archive.objects.supports_locks:
        return
    for key in _package_keys(archive, contract_id):
        archive.objects.set_legal_hold(key, active)


def cover_new_objects(archive: Archive, record: ContractRecord) -> None:
    """A package listener: files added after a legal hold was set (OCR text, a searchable copy,
    a new manifest and seal) come under the same hold, so a hold always covers the whole
    package. The original's legal hold says whether the package is held."""
    if not archive.objects.supports_locks:
        return
    if not archive.objects.lock_info(record.original_key).legal_hold:
        return
    for key in _package_keys(archive, record.id):
        if not archive.objects.lock_info(key).legal_hold:
            archive.objects.set_legal_hold(key, True)
