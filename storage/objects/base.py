"""The object store Protocol.

Objects are write-once byte strings under '/'-separated keys. Every write is streamed, hashed
with SHA-256 on the way in, and either lands completely or not at all. Writing a key that already
holds the same bytes is a no-op (``created=False``); writing different bytes is refused with
:class:`~storage.errors.ObjectExists`. Nothing is ever overwritten.

Evidence packages are addressed by the SHA-256 of their original (see :func:`package_key`).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import IO, Protocol, runtime_checkable

from storage.errors import InvalidKey

CHUNK_SIZE = 1024 * 1024

_KEY_PART = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,200}$")
_SHA256 = re.compile(r"^[0-9a-f]{64}$")


@dataclass(frozen=True)
class ObjectInfo:
    key: str
    size: int
    sha256: str | None = None
    """The SHA-256 the store keeps for the object, when the backend keeps one."""


@dataclass(frozen=True)
class PutResult:
    key: str
    size: int
    sha256: str
    created: bool
    """False when the key already held exactly these bytes (nothing was written)."""


@dataclass(frozen=True)
class ObjectLock:
    """What protects an object from deletion: S3 Object Lock retention and legal hold."""

    key: str
    mode: str | None
    """``COMPLIANCE`` or ``GOVERNANCE`` while a retention period is set, else None."""
    retain_until: datetime | None
    legal_hold: bool

    def locked(self, now: datetime) -> bool:
        return self.legal_hold or (self.retain_until is not None and self.retain_until > now)


@runtime_checkable
class ObjectStore(Protocol):
    """Write-once storage of byte streams."""

    name: str

    def check(self) -> None:
        """Raise a ConfigurationError/StorageError naming the setting if the store is unusable."""

    def put(
        self,
        key: str,
        source: IO[bytes],
        *,
        sha256: str | None = None,
        content_type: str = "application/octet-stream",
        retain_until: datetime | None = None,
    ) -> PutResult:
        """Stream ``source`` into ``key``. When ``sha256`` is given the bytes must match it."""

    def replace(self, key: str, source: IO[bytes], *, sha256: str) -> PutResult:
        """Write ``source`` over the existing ``key`` (a damaged object restored from a copy):
        the bytes must match ``sha256`` or nothing is written. ObjectNotFound if ``key`` is
        absent; ObjectLocked when the store's lock forbids overwriting it."""

    def open(self, key: str) -> IO[bytes]:
        """Open ``key`` for streaming reads. The caller closes it."""

    def stat(self, key: str) -> ObjectInfo: ...

    def exists(self, key: str) -> bool: ...

    def delete(self, key: str) -> None:
        """Remove ``key``; ObjectLocked if retention forbids it, ObjectNotFound if absent."""

    def iter_keys(self, prefix: str = "") -> Iterator[str]:
        """Every key starting with ``prefix``, in no particular order."""

    # -- locks: enforced by the store itself (S3 Object Lock), or refused with LockingUnsupported
    supports_locks: bool
    """True when the store itself refuses to delete objects under retention or legal hold."""

    def lock_info(self, key: str) -> ObjectLock:
        """The retention and legal hold of ``key`` (ObjectNotFound if absent)."""

    def set_retention(self, key: str, until: datetime) -> None:
        """COMPLIANCE retention until ``until``; a retention is only ever extended, never cut."""

    def set_legal_hold(self, key: str, on: bool) -> None:
        """Set or release the legal hold of ``key``."""

    def presigned_url(
        self,
        key: str,
        expires: timedelta,
        *,
        download_name: str | None = None,
        content_type: str | None = None,
    ) -> str | None:
        """A URL that reads ``key`` directly for ``expires``, or None when the store has none."""


def validate_key(key: str) -> str:
    parts = key.split("/")
    if not key or any(not _KEY_PART.match(p) for p in parts):
        raise InvalidKey(f"invalid object key {key!r}")
    return key


def validate_sha256(digest: str) -> str:
    if not _SHA256.match(digest):
        raise InvalidKey(f"not a lower-case hex SHA-256 digest: {digest!r}")
    return digest


def package_prefix(original_sha256: str) -> str:
    """The key prefix of the evidence package of the original with this SHA-256."""
    validate_sha256(original_sha256)
    return f"packages/{original_sha256[:2]}/{original_sha256}/"


def package_key(original_sha256: str, name: str) -> str:
    return validate_key(package_prefix(original_sha256) + name)


RENDITION_NAME = "rendition.pdf"
RENDITION_INFO_NAME = "rendition.json"
"""How the rendition was made (tool, version): the manifest lists it as the rendition's
``made_by``."""
FOURPROPS_NAME = "fourprops.json"
"""The 四性检测 report made when the contract was filed (services/fourprops.py)."""


def pdf_key(original_key: str, content_type: str) -> str:
    """The key of a contract's PDF: the original itself, or for an original that is not a PDF
    (an image) the PDF rendition made from it at ingest. Pages and OCR read this one."""
    if content_type == "application/pdf":
        return original_key
    return original_key.rsplit("/", 1)[0] + "/" + RENDITION_NAME


def iter_chunks(stream: IO[bytes], chunk_size: int = CHUNK_SIZE) -> Iterator[bytes]:
    """Yield a stream's bytes in chunks and close it afterwards."""
    try:
        while chunk := stream.read(chunk_size):
            yield chunk
    finally:
        stream.close()
