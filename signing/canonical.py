"""Canonical JSON (RFC 8785) and the digests the manifest records: SHA-256 and SM3.

RFC 8785 (JSON Canonicalization Scheme) fixes one byte sequence per JSON value: object keys
sorted by their UTF-16 code units, no whitespace, ECMAScript number formatting, minimal string
escaping. Anyone can recompute it with any JCS implementation, so the manifest that the seal
covers is the same bytes everywhere. The ``rfc8785`` package implements it; its failures (a
float that is not finite, an integer beyond 2**53, a key that is not a string) are wrapped.

SM3 (GB/T 32905-2016) comes from OpenSSL through ``hashlib``; :func:`sm3_available` tells
whether the linked OpenSSL has it (OpenSSL 1.1.1 and 3.x do, unless built without it).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import IO, Any

import rfc8785

from signing.errors import ManifestError

CHUNK = 1024 * 1024


def canonical_json(value: Any) -> bytes:
    """The RFC 8785 canonical UTF-8 bytes of ``value``."""
    try:
        return rfc8785.dumps(value)
    except (rfc8785.CanonicalizationError, TypeError, ValueError) as exc:
        raise ManifestError(f"the manifest cannot be put in canonical form: {exc}") from exc


def sm3_available() -> bool:
    try:
        hashlib.new("sm3")
    except ValueError:
        return False
    return True


@dataclass(frozen=True)
class FileDigest:
    size: int
    sha256: str
    sm3: str

    def to_dict(self) -> dict[str, Any]:
        return {"size": self.size, "sha256": self.sha256, "sm3": self.sm3}


@dataclass(frozen=True)
class FileCheck:
    """What a fixity check computed of a stored file: its size and SHA-256 always, its SM3
    only when asked (``None``: not computed this time, see :func:`check_stream`)."""

    size: int
    sha256: str
    sm3: str | None

    def to_dict(self) -> dict[str, Any]:
        return {"size": self.size, "sha256": self.sha256, "sm3": self.sm3}


class Hasher:
    """SHA-256 and SM3 of one byte stream, fed in chunks."""

    def __init__(self) -> None:
        self._sha = hashlib.sha256()
        try:
            self._sm3 = hashlib.new("sm3")
        except ValueError as exc:
            raise ManifestError(
                "this Python's OpenSSL has no SM3",
                hint="use a Python linked against OpenSSL 1.1.1 or 3.x with SM3 enabled",
            ) from exc
        self.size = 0

    def update(self, chunk: bytes | memoryview) -> None:
        self._sha.update(chunk)
        self._sm3.update(chunk)
        self.size += len(chunk)

    def result(self) -> FileDigest:
        return FileDigest(size=self.size, sha256=self._sha.hexdigest(), sm3=self._sm3.hexdigest())


def digest_bytes(data: bytes) -> FileDigest:
    h = Hasher()
    h.update(data)
    return h.result()


def digest_chunks(chunks: Iterable[bytes]) -> FileDigest:
    h = Hasher()
    for chunk in chunks:
        h.update(chunk)
    return h.result()


def digest_stream(stream: IO[bytes], chunk_size: int = CHUNK) -> FileDigest:
    """Digest a stream to its end (the caller closes it). hashlib releases the GIL on large
    chunks, so several streams can be hashed at once on several cores."""
    h = Hasher()
    _feed(stream, h.update, chunk_size)
    return h.result()


def check_stream(stream: IO[bytes], *, sm3: bool = True, chunk_size: int = CHUNK) -> FileCheck:
    """The size and SHA-256 of a stream, and its SM3 when ``sm3``: one read feeding both
    digests. The fixity audit leaves SM3 out on most cycles (it costs five times SHA-256)."""
    if sm3:
        d = digest_stream(stream, chunk_size)
        return FileCheck(d.size, d.sha256, d.sm3)
    sha = hashlib.sha256()
    size = _feed(stream, sha.update, chunk_size)
    return FileCheck(size, sha.hexdigest(), None)


def _feed(stream: IO[bytes], update: Callable[[memoryview | bytes], None], chunk_size: int) -> int:
    """Read ``stream`` to its end in chunks into ``update`` (one buffer, reused); the size."""
    size = 0
    readinto = getattr(stream, "readinto", None)
    if readinto is not None:
        buf = bytearray(chunk_size)
        view = memoryview(buf)
        while n := readinto(buf):
            update(view[:n])
            size += n
    else:
        while chunk := stream.read(chunk_size):
            update(chunk)
            size += len(chunk)
    return size
