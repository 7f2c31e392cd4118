"""The embedded object store: a local directory.

A write streams into a temporary file in ``<root>/.tmp`` (same file system), hashing as it goes,
is fsync'd, made read-only, then linked into place with ``os.link`` (which fails rather than
overwrite) and the directory is fsync'd. A crash leaves at worst a temporary file, named after
its owner process, which ``doctor`` finds with :meth:`LocalObjectStore.leftovers` and removes
once that process is gone.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import stat as stat_mod
import time
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import IO

from core.errors import ConfigurationError
from storage.errors import (
    LockingUnsupported,
    ObjectCorrupt,
    ObjectExists,
    ObjectNotFound,
    StorageError,
    StorageFull,
)
from storage.maintenance import Leftover, leftover_file, owner_tag
from storage.objects.base import CHUNK_SIZE, ObjectInfo, ObjectLock, PutResult, validate_key

_TMP = ".tmp"


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _os_error(exc: OSError, what: str) -> StorageError:
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return StorageFull(
            f"no space left on the device while {what}",
            hint="free disk space under ARCHIVE_DATA_DIR, then retry: nothing was archived",
        )
    return StorageError(f"I/O error while {what}: {exc.strerror or exc}")


class _SourceFailed(Exception):
    """The stream being stored failed: its error is the caller's, not the store's."""

    def __init__(self, cause: OSError) -> None:
        self.cause = cause


def _read(source: IO[bytes]) -> bytes:
    try:
        return source.read(CHUNK_SIZE)
    except OSError as exc:
        raise _SourceFailed(exc) from exc


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(CHUNK_SIZE):
            digest.update(chunk)
    return digest.hexdigest()


class LocalObjectStore:
    name = "local"
    supports_locks = False

    def __init__(self, root: Path) -> None:
        self.root = root

    # -- lifecycle -------------------------------------------------------------------------
    def check(self) -> None:
        try:
            (self.root / _TMP).mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ConfigurationError(
                f"object directory {self.root} cannot be created: {exc.strerror}",
                hint="set ARCHIVE_DATA_DIR to a writable directory",
            ) from exc
        if not os.access(self.root, os.W_OK):
            raise ConfigurationError(
                f"object directory {self.root} is not writable",
                hint="set ARCHIVE_DATA_DIR to a writable directory",
            )

    def _path(self, key: str) -> Path:
        return self.root / validate_key(key)

    # -- writes ----------------------------------------------------------------------------
    def put(
        self,
        key: str,
        source: IO[bytes],
        *,
        sha256: str | None = None,
        content_type: str = "application/octet-stream",
        retain_until: datetime | None = None,
    ) -> PutResult:
        final = self._path(key)
        tmp_dir = self.root / _TMP
        tmp = tmp_dir / f"{owner_tag()}{uuid.uuid4().hex}.part"
        try:
            actual, size = _spool(source, tmp)
            if sha256 is not None and actual != sha256:
                raise ObjectCorrupt(
                    f"bytes for {key} have SHA-256 {actual}, expected {sha256}",
                    hint="the source changed while it was being stored; retry",
                )
            os.chmod(tmp, stat_mod.S_IRUSR)  # 0400: the archive's user only (issue 20)
            final.parent.mkdir(parents=True, exist_ok=True)
            try:
                os.link(tmp, final)
            except FileExistsError:
                existing = file_sha256(final)
                if existing != actual:
                    raise ObjectExists(
                        f"object {key} already exists with different content",
                        details={"key": key, "existing_sha256": existing, "new_sha256": actual},
                    ) from None
                return PutResult(key=key, size=size, sha256=actual, created=False)
            _fsync_dir(final.parent)
            return PutResult(key=key, size=size, sha256=actual, created=True)
        except _SourceFailed as exc:
            raise exc.cause from None
        except OSError as exc:
            raise _os_error(exc, f"storing {key}") from exc
        finally:
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()

    def replace(self, key: str, source: IO[bytes], *, sha256: str) -> PutResult:
        """Write ``source`` over ``key`` (restoring a damaged object): hashed into a private
        temporary file, made read-only (0400) like every object, then renamed over the old
        file in one step, so the key holds either the old bytes or the new, never a part."""
        final = self._path(key)
        if not final.is_file():
            raise ObjectNotFound(f"object {key} does not exist")
        tmp_dir = self.root / _TMP
        tmp = tmp_dir / f"{owner_tag()}{uuid.uuid4().hex}.part"
        try:
            actual, size = _spool(source, tmp)
            if actual != sha256:
                raise ObjectCorrupt(
                    f"bytes for {key} have SHA-256 {actual}, expected {sha256}",
                    hint="the source changed while it was being stored; retry",
                )
            os.chmod(tmp, stat_mod.S_IRUSR)  # 0400: the archive's user only (issue 20)
            os.replace(tmp, final)  # a read-only file is replaced by renaming over it
            _fsync_dir(final.parent)
            return PutResult(key=key, size=size, sha256=actual, created=False)
        except _SourceFailed as exc:
            raise exc.cause from None
        except OSError as exc:
            raise _os_error(exc, f"restoring {key}") from exc
        finally:
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()

    def delete(self, key: str) -> None:
        path = self._path(key)
        try:
            path.unlink()
        except FileNotFoundError:
            raise ObjectNotFound(f"object {key} does not exist") from None
        except OSError as exc:
            raise _os_error(exc, f"deleting {key}") from exc
        # Tidy empty package directories, never the root itself.
        parent = path.parent
        while parent != self.root and parent.is_relative_to(self.root):
            try:
                parent.rmdir()
            except OSError:
                break
            parent = parent.parent

    # -- reads -----------------------------------------------------------------------------
    def open(self, key: str) -> IO[bytes]:
        try:
            return open(self._path(key), "rb")
        except FileNotFoundError:
            raise ObjectNotFound(f"object {key} does not exist") from None
        except OSError as exc:
            raise _os_error(exc, f"reading {key}") from exc

    def stat(self, key: str) -> ObjectInfo:
        try:
            st = self._path(key).stat()
        except FileNotFoundError:
            raise ObjectNotFound(f"object {key} does not exist") from None
        return ObjectInfo(key=key, size=st.st_size)

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()

    def iter_keys(self, prefix: str = "") -> Iterator[str]:
        # Walk only the directory the prefix names (up to its last "/"): a package's listing
        # reads its own folder, not the whole store (the fixity audit lists every package, so a
        # walk of the whole store per package made it quadratic in the number of contracts).
        base = prefix.rpartition("/")[0]
        start = self._path(base) if base else self.root
        if not start.is_dir():
            return
        for dirpath, dirnames, filenames in os.walk(start):
            rel_dir = os.path.relpath(dirpath, self.root)
            if rel_dir == ".":
                dirnames[:] = [d for d in dirnames if d != _TMP]
                rel_dir = ""
            for name in filenames:
                key = f"{rel_dir}/{name}" if rel_dir else name
                if key.startswith(prefix):
                    yield key

    # -- maintenance -----------------------------------------------------------------------
    def leftovers(self) -> list[Leftover]:
        """Temporary files of writes in progress or interrupted (named ``<owner>-<uuid>.part``)."""
        tmp_dir = self.root / _TMP
        if not tmp_dir.is_dir():
            return []
        found = (leftover_file("temporary file", item) for item in tmp_dir.iterdir())
        return [item for item in found if item is not None]

    def remove_leftover(self, leftover: Leftover) -> None:
        path = Path(leftover.name)
        if path.parent != self.root / _TMP:
            raise StorageError(f"{path} is not a temporary file of the object store")
        with contextlib.suppress(FileNotFoundError):
            path.unlink()

    def sweep_temporary(self, older_than_seconds: float = 3600.0) -> list[str]:
        """Remove temporary files left by interrupted writes; return their names.

        Only files older than ``older_than_seconds`` go, so a write in progress in another
        process is left alone.
        """
        removed: list[str] = []
        tmp_dir = self.root / _TMP
        if not tmp_dir.is_dir():
            return removed
        horizon = time.time() - older_than_seconds
        for item in tmp_dir.iterdir():
            with contextlib.suppress(FileNotFoundError):
                if item.stat().st_mtime < horizon:
                    item.unlink()
                    removed.append(item.name)
        return removed

    # -- locks -----------------------------------------------------------------------------
    # A directory cannot enforce retention against its owner: say so instead of pretending.
    def lock_info(self, key: str) -> ObjectLock:
        self.stat(key)
        return ObjectLock(key=key, mode=None, retain_until=None, legal_hold=False)

    def _unsupported(self, what: str) -> LockingUnsupported:
        return LockingUnsupported(
            f"the local object store cannot enforce {what}",
            hint="set ARCHIVE_OBJECT_STORE=s3 with a bucket that has Object Lock "
            "(see 'Running at scale' in the README)",
        )

    def set_retention(self, key: str, until: datetime) -> None:
        raise self._unsupported("retention")

    def set_legal_hold(self, key: str, on: bool) -> None:
        raise self._unsupported("legal holds")

    def presigned_url(
        self,
        key: str,
        expires: timedelta,
        *,
        download_name: str | None = None,
        content_type: str | None = None,
    ) -> str | None:
        return None


def _spool(source: IO[bytes], tmp: Path) -> tuple[str, int]:
    """Copy ``source`` into the new file ``tmp`` (its folder made if missing), synced to disk;
    its SHA-256 and size."""
    tmp.parent.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256()
    size = 0
    with open(tmp, "xb") as out:
        while chunk := _read(source):
            digest.update(chunk)
            size += len(chunk)
            out.write(chunk)
        out.flush()
        os.fsync(out.fileno())
    return digest.hexdigest(), size
