"""The scale-out object store: MinIO or any S3 with versioning and Object Lock (``minio`` client).

Same promises as the local store, kept by the S3 server where it can:

* **Write-once.** A key that exists is never written again: the same bytes are a no-op, other
  bytes are refused (:class:`~storage.errors.ObjectExists`). The bucket is versioned, so even a
  racing writer could only add a version, never replace one.
* **Checksums.** Every object carries its SHA-256 in user metadata (``x-amz-meta-sha256``). A
  single-part upload also sends it as ``x-amz-checksum-sha256``, so the server refuses bytes
  that changed on the way; a multipart upload cannot carry it (the header would describe the
  parts), so the archive hashes what it sent and deletes the upload if it differs. Reads are
  hashed too and fail with ObjectCorrupt at the end of a stream whose bytes do not match.
* **Retention and legal hold** are S3 Object Lock: COMPLIANCE retention that nobody can shorten
  and legal holds; a delete of a locked version is refused with :class:`ObjectLocked`.
  ``delete`` removes versions, never hides them behind a delete marker.

Pitfalls seen (SeaweedFS 4.48 ``weed mini``, minio 7.2): a delete without a version id "works"
under retention by adding a delete marker; the minio client sends no Content-MD5 over http;
a missing retention is reported as ``ObjectLockConfigurationNotFoundError`` (AWS says
``NoSuchObjectLockConfiguration``); minio's default urllib3 pool retries a refused connection
for several seconds, so the store brings its own with short timeouts.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import io
import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import IO, Any, NoReturn
from urllib.parse import quote, urlsplit

import certifi
import urllib3
from minio import Minio
from minio.commonconfig import COMPLIANCE
from minio.error import MinioException, S3Error
from minio.retention import Retention

from core.errors import ConfigurationError
from storage.errors import ObjectCorrupt, ObjectExists, ObjectLocked, ObjectNotFound, StorageError
from storage.objects.base import (
    CHUNK_SIZE,
    ObjectInfo,
    ObjectLock,
    PutResult,
    validate_key,
    validate_sha256,
)

CREDENTIAL_ERRORS = frozenset(
    {"InvalidAccessKeyId", "SignatureDoesNotMatch", "AccessDenied", "InvalidToken"}
)
DIGEST_ERRORS = frozenset(
    {"BadDigest", "InvalidDigest", "XAmzContentSHA256Mismatch", "XAmzContentChecksumMismatch"}
)
NOT_FOUND = frozenset({"NoSuchKey", "NoSuchVersion", "ResourceNotFound"})
NO_LOCK = frozenset({"NoSuchObjectLockConfiguration", "ObjectLockConfigurationNotFoundError"})
META_SHA256 = "x-amz-meta-sha256"
CREDENTIALS_HINT = "check ARCHIVE_S3_ACCESS_KEY and ARCHIVE_S3_SECRET_KEY"


def parse_endpoint(endpoint: str) -> tuple[str, bool]:
    """``https://host:port`` → (``host:port``, secure)."""
    parts = urlsplit(endpoint)
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.path not in ("", "/"):
        raise ConfigurationError(
            f"ARCHIVE_S3_ENDPOINT must be a URL such as https://minio.example:9000, "
            f"not {endpoint!r}",
            hint="use http:// only on a trusted network; https:// means TLS",
        )
    return parts.netloc, parts.scheme == "https"


def _http_client(ca_bundle: Path | None) -> urllib3.PoolManager:
    return urllib3.PoolManager(
        timeout=urllib3.Timeout(connect=5.0, read=120.0),
        retries=urllib3.Retry(
            total=2, backoff_factor=0.2, status_forcelist=[500, 502, 503, 504], redirect=False
        ),
        cert_reqs="CERT_REQUIRED",
        ca_certs=str(ca_bundle) if ca_bundle else certifi.where(),
        maxsize=16,
    )


class _HashingReader:
    """Hands minio the bytes of ``source`` and hashes them on the way."""

    def __init__(self, source: IO[bytes]) -> None:
        self.source = source
        self.digest = hashlib.sha256()
        self.size = 0

    def read(self, n: int = -1) -> bytes:
        data = self.source.read(n)
        self.digest.update(data)
        self.size += len(data)
        return data


class _VerifyingReader(io.RawIOBase):
    """A streamed GET whose bytes are hashed; a mismatch at the end raises ObjectCorrupt."""

    def __init__(self, response: Any, key: str, expected: str | None) -> None:
        self._response = response
        self._key = key
        self._expected = expected
        self._digest = hashlib.sha256()
        self._checked = False

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        try:
            data = self._response.read(len(buffer))
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            raise StorageError(f"reading {self._key} from S3 failed: {exc}") from exc
        if not data:
            self._verify()
            return 0
        self._digest.update(data)
        n = len(data)
        buffer[:n] = data
        return n

    def _verify(self) -> None:
        if self._checked or self._expected is None:
            return
        self._checked = True
        actual = self._digest.hexdigest()
        if actual != self._expected:
            raise ObjectCorrupt(
                f"object {self._key} read back with SHA-256 {actual}, stored as {self._expected}",
                hint="the copy on the S3 server is damaged: restore it from a replica or backup",
            )

    def close(self) -> None:
        if not self.closed:
            with contextlib.suppress(Exception):
                self._response.close()
                self._response.release_conn()
        super().close()


def _seekable_size(source: IO[bytes]) -> int | None:
    """Bytes left in ``source`` if it can be rewound, else None."""
    try:
        if not source.seekable():
            return None
        here = source.tell()
        end = source.seek(0, io.SEEK_END)
        source.seek(here)
    except (OSError, ValueError, AttributeError):
        return None
    return end - here


class S3ObjectStore:
    name = "s3"
    supports_locks = True

    def __init__(
        self,
        *,
        endpoint: str,
        access_key: str,
        secret_key: str,
        bucket: str,
        region: str | None = None,
        ca_bundle: Path | None = None,
        part_size: int = 16 * 1024 * 1024,
        spool_dir: Path | None = None,
    ) -> None:
        self.endpoint = endpoint
        self.bucket = bucket
        self.part_size = part_size
        self.spool_dir = spool_dir
        host, secure = parse_endpoint(endpoint)
        try:
            self.client = Minio(
                host,
                access_key=access_key,
                secret_key=secret_key,
                secure=secure,
                region=region or None,
                http_client=_http_client(ca_bundle),
            )
        except ValueError as exc:
            raise ConfigurationError(
                f"invalid S3 settings: {exc}",
                hint="check ARCHIVE_S3_ENDPOINT and ARCHIVE_S3_REGION",
            ) from exc

    # -- errors ----------------------------------------------------------------------------
    def _fail(self, exc: Exception, what: str) -> NoReturn:
        """Turn a minio/urllib3 failure into the archive's error, naming what to check."""
        if isinstance(exc, S3Error):
            if exc.code in CREDENTIAL_ERRORS:
                raise StorageError(
                    f"the S3 server refused {what}: {exc.code} ({exc.message})",
                    hint=CREDENTIALS_HINT + " and the key's permissions on the bucket",
                ) from exc
            if exc.code == "NoSuchBucket":
                raise ConfigurationError(
                    f"the S3 bucket {self.bucket!r} does not exist",
                    hint="set ARCHIVE_S3_BUCKET to a bucket with versioning and Object Lock",
                ) from exc
            raise StorageError(f"S3 failed while {what}: {exc.code} ({exc.message})") from exc
        if isinstance(exc, urllib3.exceptions.SSLError):
            raise StorageError(
                f"TLS with the S3 server {self.endpoint} failed while {what}: {exc}",
                hint="check ARCHIVE_S3_ENDPOINT and ARCHIVE_S3_CA_BUNDLE",
            ) from exc
        raise StorageError(
            f"cannot reach the S3 server {self.endpoint} while {what}: {_reason(exc)}",
            hint="check ARCHIVE_S3_ENDPOINT and that the server is running",
        ) from exc

    # -- lifecycle -------------------------------------------------------------------------
    def check(self) -> None:
        """Fail fast, naming the setting: endpoint, credentials, bucket, versioning, lock."""
        try:
            exists = self.client.bucket_exists(self.bucket)
        except S3Error as exc:
            if exc.code in CREDENTIAL_ERRORS:
                raise ConfigurationError(
                    f"the S3 server {self.endpoint} refused the credentials: {exc.code}",
                    hint=CREDENTIALS_HINT,
                ) from exc
            raise ConfigurationError(
                f"the S3 server {self.endpoint} answered {exc.code}: {exc.message}",
                hint="check ARCHIVE_S3_ENDPOINT, ARCHIVE_S3_REGION and ARCHIVE_S3_BUCKET",
            ) from exc
        except urllib3.exceptions.SSLError as exc:
            raise ConfigurationError(
                f"TLS with the S3 server {self.endpoint} failed: {_reason(exc)}",
                hint="check ARCHIVE_S3_ENDPOINT and ARCHIVE_S3_CA_BUNDLE",
            ) from exc
        except (urllib3.exceptions.HTTPError, MinioException, OSError) as exc:
            raise ConfigurationError(
                f"cannot reach the S3 server at ARCHIVE_S3_ENDPOINT={self.endpoint}: "
                f"{_reason(exc)}",
                hint="check ARCHIVE_S3_ENDPOINT and that the server is running",
            ) from exc
        if not exists:
            raise ConfigurationError(
                f"the S3 bucket {self.bucket!r} (ARCHIVE_S3_BUCKET) does not exist",
                hint="create it with versioning and Object Lock (`mc mb --with-lock`), or set "
                "ARCHIVE_S3_BUCKET to one that has them",
            )
        try:
            versioning = self.client.get_bucket_versioning(self.bucket).status
            lock_error: S3Error | None = None
            try:
                self.client.get_object_lock_config(self.bucket)
            except S3Error as exc:
                if exc.code not in NO_LOCK:
                    raise
                lock_error = exc
        except (S3Error, urllib3.exceptions.HTTPError, MinioException) as exc:
            raise ConfigurationError(
                f"cannot read the settings of the S3 bucket {self.bucket!r}: {_reason(exc)}",
                hint=CREDENTIALS_HINT + ": the key needs s3:GetBucketVersioning and "
                "s3:GetBucketObjectLockConfiguration",
            ) from exc
        if lock_error is not None:
            raise ConfigurationError(
                f"the S3 bucket {self.bucket!r} (ARCHIVE_S3_BUCKET) has no Object Lock: "
                "originals could be deleted or overwritten",
                hint="Object Lock can only be enabled when a bucket is created: create a new "
                "bucket with it (`mc mb --with-lock`) and set ARCHIVE_S3_BUCKET",
            ) from lock_error
        if versioning != "Enabled":
            raise ConfigurationError(
                f"the S3 bucket {self.bucket!r} (ARCHIVE_S3_BUCKET) has versioning "
                f"{versioning or 'off'}",
                hint="enable versioning on the bucket (`mc version enable`)",
            )

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
        validate_key(key)
        if sha256 is not None:
            validate_sha256(sha256)
        with contextlib.ExitStack() as stack:
            size = _seekable_size(source)
            if size is None:
                # Not rewindable: spool to a private file first, hashing, so that the digest
                # is known before the upload and a failing source leaves nothing on S3.
                spool = stack.enter_context(tempfile.TemporaryFile(dir=self.spool_dir))
                actual, size = _copy_hashing(source, spool)
                spool.seek(0)
                source = spool
                if sha256 is not None and actual != sha256:
                    raise _corrupt(key, actual, sha256)
                sha256 = actual
            elif sha256 is None:
                start = source.tell()
                sha256 = _hash(source)
                source.seek(start)
            existing = self._current(key)
            if existing is not None:
                if existing.sha256 != sha256:
                    raise ObjectExists(
                        f"object {key} already exists with different content",
                        details={
                            "key": key,
                            "existing_sha256": existing.sha256,
                            "new_sha256": sha256,
                        },
                    )
                return PutResult(key=key, size=existing.size, sha256=sha256, created=False)
            return self._upload(key, source, size, sha256, content_type, retain_until)
        raise AssertionError("unreachable")  # an ExitStack could swallow errors, for mypy

    def _upload(
        self,
        key: str,
        source: IO[bytes],
        size: int,
        sha256: str,
        content_type: str,
        retain_until: datetime | None,
    ) -> PutResult:
        metadata: dict[str, str | list[str] | tuple[str]] = {"sha256": sha256}
        if size <= self.part_size:
            metadata["x-amz-checksum-sha256"] = base64.b64encode(bytes.fromhex(sha256)).decode()
        reader = _HashingReader(source)
        try:
            result = self.client.put_object(
                self.bucket,
                key,
                reader,  # type: ignore[arg-type]
                size,
                content_type=content_type,
                metadata=metadata,
                part_size=self.part_size,
                num_parallel_uploads=1,
            )
        except S3Error as exc:
            if exc.code in DIGEST_ERRORS:
                raise ObjectCorrupt(
                    f"the S3 server refused {key}: the bytes it received do not have "
                    f"SHA-256 {sha256}",
                    hint="the source changed while it was being stored; retry",
                ) from exc
            self._fail(exc, f"storing {key}")
        except (urllib3.exceptions.HTTPError, MinioException) as exc:
            self._fail(exc, f"storing {key}")
        actual = reader.digest.hexdigest()
        if actual != sha256 or reader.size != size:
            self._remove_version(key, result.version_id)
            raise _corrupt(key, actual, sha256)
        if retain_until is not None:
            try:
                self.set_retention(key, retain_until)
            except BaseException:
                self._remove_version(key, result.version_id)
                raise
        return PutResult(key=key, size=size, sha256=sha256, created=True)

    def replace(self, key: str, source: IO[bytes], *, sha256: str) -> PutResult:
        """Restore ``key`` from a good copy: the bucket is versioned and under Object Lock, so
        no version is ever overwritten; the good bytes become a new current version with the
        current one's retention and legal hold, and the damaged version stays (locked) beside
        it. When the server refuses the new version, ObjectLocked says so."""
        validate_key(key)
        validate_sha256(sha256)
        lock = self._lock_of(key)  # ObjectNotFound when absent
        with tempfile.TemporaryFile(dir=self.spool_dir) as spool:
            actual, size = _copy_hashing(source, spool)
            if actual != sha256:
                raise _corrupt(key, actual, sha256)
            spool.seek(0)
            try:
                result = self._upload(
                    key, spool, size, sha256, "application/octet-stream", lock.retain_until
                )
            except StorageError as exc:
                if not isinstance(exc.__cause__, S3Error):
                    raise  # the server could not be reached: said as such
                raise ObjectLocked(
                    f"object {key} cannot be overwritten: the S3 server refused a new version "
                    f"({exc.message})",
                    hint="the bucket's Object Lock or the key's permissions forbid it; ask the "
                    "storage administrator to allow new versions of this key, then retry",
                    details={"key": key, "legal_hold": lock.legal_hold},
                ) from exc
        if lock.legal_hold:
            self.set_legal_hold(key, True)
        return result

    def _remove_version(self, key: str, version_id: str | None) -> None:
        with contextlib.suppress(S3Error, urllib3.exceptions.HTTPError, MinioException):
            self.client.remove_object(self.bucket, key, version_id=version_id)

    def delete(self, key: str) -> None:
        """Remove every version of ``key``; refuse (ObjectLocked) while any is locked."""
        validate_key(key)
        try:
            versions = [
                v
                for v in self.client.list_objects(
                    self.bucket, prefix=key, recursive=True, include_version=True
                )
                if v.object_name == key
            ]
        except (S3Error, urllib3.exceptions.HTTPError, MinioException) as exc:
            self._fail(exc, f"listing the versions of {key}")
        live = [v for v in versions if not v.is_delete_marker]
        if not live or any(v.is_latest and v.is_delete_marker for v in versions):
            raise ObjectNotFound(f"object {key} does not exist")
        now = datetime.now(UTC)
        for version in live:
            lock = self._lock_of(key, version.version_id)
            if lock.locked(now):
                raise _locked(lock)
        for version in versions:
            try:
                self.client.remove_object(self.bucket, key, version_id=version.version_id)
            except S3Error as exc:
                if exc.code == "AccessDenied":
                    raise ObjectLocked(
                        f"the S3 server refused to delete {key} (version {version.version_id}): "
                        "it is under retention or legal hold, or the key may not delete",
                        hint="objects under COMPLIANCE retention can be deleted only after "
                        "their retention date, and never while a legal hold is set",
                    ) from exc
                self._fail(exc, f"deleting {key}")
            except (urllib3.exceptions.HTTPError, MinioException) as exc:
                self._fail(exc, f"deleting {key}")

    # -- reads -----------------------------------------------------------------------------
    def _stat(self, key: str, version_id: str | None = None) -> Any:
        validate_key(key)
        try:
            return self.client.stat_object(self.bucket, key, version_id=version_id)
        except S3Error as exc:
            if exc.code in NOT_FOUND:
                raise ObjectNotFound(f"object {key} does not exist") from None
            self._fail(exc, f"reading the metadata of {key}")
        except (urllib3.exceptions.HTTPError, MinioException) as exc:
            self._fail(exc, f"reading the metadata of {key}")

    def _current(self, key: str) -> ObjectInfo | None:
        try:
            return self.stat(key)
        except ObjectNotFound:
            return None

    def stat(self, key: str) -> ObjectInfo:
        st = self._stat(key)
        sha = st.metadata.get(META_SHA256) if st.metadata is not None else None
        return ObjectInfo(key=key, size=int(st.size or 0), sha256=sha)

    def exists(self, key: str) -> bool:
        return self._current(key) is not None

    def open(self, key: str) -> IO[bytes]:
        info = self.stat(key)
        try:
            response = self.client.get_object(self.bucket, key)
        except S3Error as exc:
            if exc.code in NOT_FOUND:
                raise ObjectNotFound(f"object {key} does not exist") from None
            self._fail(exc, f"reading {key}")
        except (urllib3.exceptions.HTTPError, MinioException) as exc:
            self._fail(exc, f"reading {key}")
        return io.BufferedReader(_VerifyingReader(response, key, info.sha256), CHUNK_SIZE)

    def iter_keys(self, prefix: str = "") -> Iterator[str]:
        try:
            for obj in self.client.list_objects(self.bucket, prefix=prefix or None, recursive=True):
                if obj.object_name and not obj.is_dir:
                    yield obj.object_name
        except (S3Error, urllib3.exceptions.HTTPError, MinioException) as exc:
            self._fail(exc, f"listing {prefix or 'the bucket'}")

    # -- locks -----------------------------------------------------------------------------
    def _lock_of(self, key: str, version_id: str | None = None) -> ObjectLock:
        headers = self._stat(key, version_id).metadata or {}
        until_text = headers.get("x-amz-object-lock-retain-until-date")
        until = None
        if until_text:
            try:
                until = datetime.fromisoformat(until_text.replace("Z", "+00:00"))
            except ValueError:
                until = parsedate_to_datetime(until_text)
        return ObjectLock(
            key=key,
            mode=headers.get("x-amz-object-lock-mode") or None,
            retain_until=until,
            legal_hold=(headers.get("x-amz-object-lock-legal-hold") or "OFF").upper() == "ON",
        )

    def lock_info(self, key: str) -> ObjectLock:
        return self._lock_of(key)

    def set_retention(self, key: str, until: datetime) -> None:
        if until.tzinfo is None:
            raise ValueError("retention dates must be timezone-aware")
        current = self._lock_of(key)
        if current.retain_until is not None and current.retain_until >= until:
            return  # retention is only ever extended
        try:
            self.client.set_object_retention(self.bucket, key, Retention(COMPLIANCE, until))
        except S3Error as exc:
            if exc.code == "AccessDenied":
                raise ObjectLocked(
                    f"the S3 server refused to change the retention of {key}",
                    hint="COMPLIANCE retention can be extended but never shortened",
                ) from exc
            self._fail(exc, f"setting the retention of {key}")
        except (urllib3.exceptions.HTTPError, MinioException) as exc:
            self._fail(exc, f"setting the retention of {key}")

    def set_legal_hold(self, key: str, on: bool) -> None:
        self._stat(key)
        try:
            if on:
                self.client.enable_object_legal_hold(self.bucket, key)
            else:
                self.client.disable_object_legal_hold(self.bucket, key)
        except (S3Error, urllib3.exceptions.HTTPError, MinioException) as exc:
            self._fail(exc, f"{'setting' if on else 'releasing'} the legal hold of {key}")

    def presigned_url(
        self,
        key: str,
        expires: timedelta,
        *,
        download_name: str | None = None,
        content_type: str | None = None,
    ) -> str | None:
        validate_key(key)
        response: dict[str, str | list[str] | tuple[str]] = {}
        if download_name:
            ascii_name = download_name.encode("ascii", "replace").decode().replace('"', "")
            response["response-content-disposition"] = (
                f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(download_name)}"
            )
        if content_type:
            response["response-content-type"] = content_type
        try:
            url = self.client.presigned_get_object(
                self.bucket, key, expires=expires, response_headers=response or None
            )
            return str(url)
        except (S3Error, urllib3.exceptions.HTTPError, MinioException) as exc:
            self._fail(exc, f"signing a download URL for {key}")


def _reason(exc: BaseException) -> str:
    """The innermost useful message of a urllib3 error chain."""
    if isinstance(exc, urllib3.exceptions.MaxRetryError) and exc.reason is not None:
        return _reason(exc.reason)
    if isinstance(exc, S3Error):
        return f"{exc.code} ({exc.message})"
    text = str(exc)
    if isinstance(exc, urllib3.exceptions.NewConnectionError) and ": " in text:
        text = text.rsplit(": ", 1)[-1]
    return text


def _hash(source: IO[bytes]) -> str:
    digest = hashlib.sha256()
    while chunk := source.read(CHUNK_SIZE):
        digest.update(chunk)
    return digest.hexdigest()


def _copy_hashing(source: IO[bytes], out: IO[bytes]) -> tuple[str, int]:
    digest = hashlib.sha256()
    size = 0
    while chunk := source.read(CHUNK_SIZE):
        digest.update(chunk)
        size += len(chunk)
        out.write(chunk)
    out.flush()
    return digest.hexdigest(), size


def _corrupt(key: str, actual: str, expected: str) -> ObjectCorrupt:
    return ObjectCorrupt(
        f"bytes for {key} have SHA-256 {actual}, expected {expected}",
        hint="the source changed while it was being stored; retry",
    )


def _locked(lock: ObjectLock) -> ObjectLocked:
    reasons = []
    if lock.legal_hold:
        reasons.append("a legal hold")
    if lock.retain_until is not None:
        reasons.append(f"{(lock.mode or 'COMPLIANCE').upper()} retention until {lock.retain_until}")
    return ObjectLocked(
        f"object {lock.key} is locked by {' and '.join(reasons)}; it cannot be deleted",
        hint="release the legal hold first (`contract-archive legal-hold release`); retention "
        "cannot be shortened",
        details={
            "key": lock.key,
            "legal_hold": lock.legal_hold,
            "retain_until": lock.retain_until.isoformat() if lock.retain_until else None,
        },
    )
