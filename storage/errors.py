"""Errors of the storage layer (objects, records, index)."""

from __future__ import annotations

from core.errors import ArchiveError, Conflict, NotFound, Unavailable


class StorageError(Unavailable):
    """A store could not do what was asked (I/O error, server unreachable, refused)."""

    code = "storage_error"


class ObjectNotFound(NotFound):
    code = "object_not_found"


class ObjectExists(Conflict):
    """A write-once key already holds different bytes."""

    code = "object_exists"


class ObjectCorrupt(ArchiveError):
    """Bytes written or read do not match the digest they were promised to have."""

    code = "object_corrupt"
    http_status = 500


class ObjectLocked(Conflict):
    """The object is under retention or a legal hold and cannot be deleted."""

    code = "object_locked"


class StorageFull(StorageError):
    code = "storage_full"
    http_status = 507


class InvalidKey(ArchiveError):
    code = "invalid_object_key"
    http_status = 400


class LockingUnsupported(Conflict):
    """Retention and legal holds need a store that enforces them (S3 with Object Lock)."""

    code = "locking_unsupported"
