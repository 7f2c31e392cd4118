"""The S3 object store against a real S3 server (SeaweedFS): Object Lock, checksums, fail-fast.

The store-independent promises are in tests/test_objects.py, run on both stores; here is what
only a store that enforces locks can do, and the archive on top of it (ingest, API, CLI).
"""

from __future__ import annotations

import hashlib
import io
import os
import urllib.request
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from minio.commonconfig import COMPLIANCE
from minio.retention import Retention
from typer.testing import CliRunner

from contract_archive.cli import app
from core.errors import ConfigurationError
from core.settings import reset_settings
from ingest.stages import default_stages
from search_api.app import create_app
from services.access.service import AccessControl
from services.archive import Archive
from storage.errors import ObjectCorrupt, ObjectLocked, StorageError
from storage.objects.base import package_key
from storage.objects.s3 import S3ObjectStore
from storage.records.access_base import LogFilter
from tests.access_helpers import auth_headers
from tests.conftest import make_settings, s3_overrides
from tests.servers import SeaweedS3, free_ports
from tests.test_ingest import ZH_CONTRACT, Boom, state

pytestmark = pytest.mark.s3


def make_store(server: SeaweedS3, bucket: str, **kw: object) -> S3ObjectStore:
    args: dict[str, object] = {
        "endpoint": server.endpoint,
        "access_key": server.access_key,
        "secret_key": server.secret_key,
        "bucket": bucket,
        "part_size": 5 * 1024 * 1024,
    }
    args.update(kw)
    return S3ObjectStore(**args)  # type: ignore[arg-type]


@pytest.fixture
def store(s3_server: SeaweedS3, s3_bucket: str) -> S3ObjectStore:
    s = make_store(s3_server, s3_bucket)
    s.check()
    return s


def versions(server: SeaweedS3, bucket: str, key: str) -> list[object]:
    client = server.client()
    return [
        v
        for v in client.list_objects(bucket, prefix=key, include_version=True)  # type: ignore[attr-defined]
        if v.object_name == key
    ]


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


# --- retention and legal hold -------------------------------------------------------------------
def test_retention_refuses_a_delete(store: S3ObjectStore, s3_server: SeaweedS3) -> None:
    until = datetime.now(UTC) + timedelta(days=1)
    store.put("p/original", io.BytesIO(b"%PDF original"), retain_until=until)
    lock = store.lock_info("p/original")
    assert lock.mode == "COMPLIANCE" and not lock.legal_hold
    assert lock.retain_until is not None and abs(lock.retain_until - until) < timedelta(seconds=2)
    with pytest.raises(ObjectLocked, match="COMPLIANCE retention until") as info:
        store.delete("p/original")
    assert info.value.details["retain_until"]
    # Refused, not hidden behind a delete marker: the object and its one version are there.
    with store.open("p/original") as fh:
        assert fh.read() == b"%PDF original"
    assert [v.is_delete_marker for v in versions(s3_server, store.bucket, "p/original")] == [False]  # type: ignore[attr-defined]


def test_the_server_itself_refuses_to_delete_a_retained_version(
    store: S3ObjectStore, s3_server: SeaweedS3
) -> None:
    """Not only the store's own check: the S3 server enforces COMPLIANCE retention."""
    store.put("p/x", io.BytesIO(b"x"), retain_until=datetime.now(UTC) + timedelta(days=1))
    version = versions(s3_server, store.bucket, "p/x")[0]
    with pytest.raises(Exception, match="AccessDenied"):
        s3_server.client().remove_object(store.bucket, "p/x", version_id=version.version_id)  # type: ignore[attr-defined]
    assert store.exists("p/x")


def test_retention_is_extended_never_shortened(store: S3ObjectStore) -> None:
    first = datetime.now(UTC) + timedelta(days=2)
    store.put("p/o", io.BytesIO(b"o"), retain_until=first)
    store.set_retention("p/o", first - timedelta(days=1))  # asks for less: nothing changes
    assert abs(store.lock_info("p/o").retain_until - first) < timedelta(seconds=2)  # type: ignore[operator]
    later = first + timedelta(days=30)
    store.set_retention("p/o", later)
    assert abs(store.lock_info("p/o").retain_until - later) < timedelta(seconds=2)  # type: ignore[operator]


def test_legal_hold_refuses_a_delete_until_released(
    store: S3ObjectStore, s3_server: SeaweedS3
) -> None:
    store.put("p/held", io.BytesIO(b"held"))
    store.set_legal_hold("p/held", True)
    assert store.lock_info("p/held").legal_hold
    with pytest.raises(ObjectLocked, match="legal hold"):
        store.delete("p/held")
    assert store.exists("p/held")
    store.set_legal_hold("p/held", False)
    assert not store.lock_info("p/held").legal_hold
    store.delete("p/held")
    assert not store.exists("p/held")
    assert versions(s3_server, store.bucket, "p/held") == []  # gone, not a delete marker


# --- checksums ----------------------------------------------------------------------------------
class ChangesAfterFirstRead(io.BytesIO):
    """A file whose bytes change once they were read through: what a concurrent writer does."""

    def __init__(self, first: bytes, then: bytes) -> None:
        super().__init__(first)
        self.then = then
        self.changed = False

    def read(self, n: int | None = -1) -> bytes:
        data = super().read(n)
        if not data and not self.changed:
            self.changed = True
            pos = self.tell()
            self.seek(0)
            self.write(self.then)
            self.seek(pos)
        return data


def test_a_wrong_checksum_is_refused_by_the_server(store: S3ObjectStore, s3_server) -> None:
    source = ChangesAfterFirstRead(b"A" * 1000, b"B" * 1000)
    with pytest.raises(ObjectCorrupt, match="the S3 server refused"):
        store.put("p/changing", source)
    assert source.changed
    assert not store.exists("p/changing")
    assert versions(s3_server, store.bucket, "p/changing") == []


def test_a_multipart_upload_is_checked_by_the_archive(store: S3ObjectStore, s3_server) -> None:
    """Multipart uploads carry no server-checked digest: the archive compares and cleans up."""
    size = 6 * 1024 * 1024  # more than one 5 MiB part
    source = ChangesAfterFirstRead(b"A" * size, b"B" * size)
    with pytest.raises(ObjectCorrupt, match="expected"):
        store.put("p/big-changing", source)
    assert versions(s3_server, store.bucket, "p/big-changing") == []


def test_multipart_keeps_the_sha256_in_metadata(store: S3ObjectStore) -> None:
    data = os.urandom(12 * 1024 * 1024)
    result = store.put("p/big", io.BytesIO(data), sha256=sha(data))
    assert result.created and store.stat("p/big").sha256 == sha(data)
    with store.open("p/big") as fh:
        assert fh.read() == data


def test_reads_are_verified_against_the_stored_sha256(store: S3ObjectStore, s3_server) -> None:
    """An object whose bytes do not match its recorded digest fails at the end of the read."""
    client = s3_server.client()
    client.put_object(store.bucket, "p/bad", io.BytesIO(b"bytes"), 5, metadata={"sha256": "0" * 64})
    with store.open("p/bad") as fh, pytest.raises(ObjectCorrupt, match="read back"):
        fh.read()


def test_presigned_url_downloads_the_object(store: S3ObjectStore) -> None:
    store.put("p/doc", io.BytesIO(b"%PDF presigned"))
    url = store.presigned_url("p/doc", timedelta(minutes=1), download_name="合同.pdf")
    assert url is not None
    with urllib.request.urlopen(url) as response:
        assert response.read() == b"%PDF presigned"
        assert "filename*=UTF-8''%E5%90%88%E5%90%8C.pdf" in response.headers["Content-Disposition"]


# --- failing fast, naming the setting -----------------------------------------------------------
def test_wrong_credentials(s3_server: SeaweedS3, s3_bucket: str) -> None:
    with pytest.raises(ConfigurationError, match="refused the credentials") as info:
        make_store(s3_server, s3_bucket, secret_key="not-the-secret").check()
    assert "ARCHIVE_S3_ACCESS_KEY" in (info.value.hint or "")
    assert "ARCHIVE_S3_SECRET_KEY" in (info.value.hint or "")


def test_unreachable_endpoint(s3_server: SeaweedS3) -> None:
    (port,) = free_ports(1)
    store = make_store(s3_server, "any-bucket", endpoint=f"http://127.0.0.1:{port}")
    with pytest.raises(ConfigurationError, match="ARCHIVE_S3_ENDPOINT=http://127.0.0.1"):
        store.check()


def test_bucket_without_object_lock(s3_server: SeaweedS3) -> None:
    bucket = s3_server.make_bucket(object_lock=False, versioning=True)
    with pytest.raises(ConfigurationError, match=r"\(ARCHIVE_S3_BUCKET\) has no Object Lock"):
        make_store(s3_server, bucket).check()


def test_missing_bucket_and_bad_endpoint(s3_server: SeaweedS3) -> None:
    with pytest.raises(ConfigurationError, match=r"\(ARCHIVE_S3_BUCKET\) does not exist"):
        make_store(s3_server, "no-such-bucket-here").check()
    with pytest.raises(ConfigurationError, match="ARCHIVE_S3_ENDPOINT must be a URL"):
        make_store(s3_server, "b", endpoint="127.0.0.1:9000")


def test_the_archive_fails_at_start_up_naming_the_setting(
    s3_server: SeaweedS3, s3_bucket: str, tmp_path: Path
) -> None:
    overrides = s3_overrides(s3_server, s3_bucket) | {"s3_secret_key": "wrong"}
    settings = make_settings(tmp_path / "var", **overrides)
    with pytest.raises(ConfigurationError) as info:
        Archive(settings).open()
    assert "ARCHIVE_S3_SECRET_KEY" in (info.value.hint or "")
    missing = make_settings(tmp_path / "var", object_store="s3")
    with pytest.raises(ConfigurationError, match="ARCHIVE_S3_ENDPOINT, ARCHIVE_S3_ACCESS_KEY"):
        Archive(missing)


def test_errors_after_start_up_name_the_setting(s3_server: SeaweedS3, s3_bucket: str) -> None:
    store = make_store(s3_server, s3_bucket, secret_key="not-the-secret")
    with pytest.raises(StorageError) as info:
        store.put("k", io.BytesIO(b"x"))
    assert "ARCHIVE_S3_SECRET_KEY" in (info.value.hint or "")


# --- the archive on S3 --------------------------------------------------------------------------
@pytest.fixture
def s3_archive(s3_server: SeaweedS3, s3_bucket: str, tmp_path: Path) -> Iterator[Archive]:
    settings = make_settings(
        tmp_path / "var", **s3_overrides(s3_server, s3_bucket), default_retention_days=1
    )
    with Archive(settings, parser_workers=1).open() as archive:
        yield archive


def test_ingest_retains_the_original_and_holds_through_the_api(s3_archive: Archive) -> None:
    result = s3_archive.ingest_path(ZH_CONTRACT)
    assert result.status == "archived"
    record = s3_archive.get(result.id)  # type: ignore[arg-type]
    original = s3_archive.objects.lock_info(record.original_key)
    assert original.mode == "COMPLIANCE" and original.retain_until is not None
    assert timedelta(hours=23) < original.retain_until - datetime.now(UTC) < timedelta(days=1)
    assert s3_archive.objects.lock_info(record.text_key).retain_until is None
    with pytest.raises(ObjectLocked):
        s3_archive.objects.delete(record.original_key)

    with TestClient(
        create_app(s3_archive), headers=auth_headers(s3_archive), raise_server_exceptions=False
    ) as client:
        locks = client.get(f"/api/v1/contracts/{record.id}/locks").json()
        assert locks["enforced"] and not locks["legal_hold"] and not locks["deletable"]
        sealed = {package_key(record.sha256, n) for n in ("manifest.v1.json", "manifest.v1.p7s")}
        assert {o["key"] for o in locks["objects"]} == {
            record.original_key,
            record.text_key,
        } | sealed
        held = client.put(f"/api/v1/contracts/{record.id}/legal-hold")
        assert held.status_code == 200 and held.json()["legal_hold"]
        assert all(o["legal_hold"] for o in held.json()["objects"])
        with pytest.raises(ObjectLocked, match="legal hold"):
            s3_archive.objects.delete(record.text_key)
        released = client.delete(f"/api/v1/contracts/{record.id}/legal-hold")
        assert released.status_code == 200 and not released.json()["legal_hold"]
        missing = client.put("/api/v1/contracts/99999/legal-hold")
        assert missing.status_code == 404

        download = client.get(f"/api/v1/contracts/{record.id}/original")
        assert download.content == ZH_CONTRACT.read_bytes()


def test_presigned_downloads_redirect(s3_archive: Archive) -> None:
    result = s3_archive.ingest_path(ZH_CONTRACT)
    settings = s3_archive.settings.model_copy(update={"s3_presigned_downloads": True})
    s3_archive.settings = settings
    with TestClient(
        create_app(s3_archive), headers=auth_headers(s3_archive), follow_redirects=False
    ) as client:
        r = client.get(f"/api/v1/contracts/{result.id}/original")
    assert r.status_code == 307 and r.headers["ETag"] == f'"{result.sha256}"'
    # The download is logged before the client is sent to the object store.
    logged = AccessControl.for_archive(s3_archive).store.entries(
        LogFilter(action="contract.download", contract_id=result.id), limit=5
    )
    assert [e.outcome for e in logged] == ["ok"]
    with urllib.request.urlopen(r.headers["Location"]) as response:
        assert response.read() == ZH_CONTRACT.read_bytes()


def test_legal_hold_from_the_cli(s3_archive: Archive, monkeypatch: pytest.MonkeyPatch) -> None:
    result = s3_archive.ingest_path(ZH_CONTRACT)
    for name, value in s3_archive.settings.model_dump().items():
        if value is not None and name != "s3_secret_key":
            monkeypatch.setenv(f"ARCHIVE_{name.upper()}", str(value))
    monkeypatch.setenv(
        "ARCHIVE_S3_SECRET_KEY", s3_archive.settings.s3_secret_key.get_secret_value()
    )  # type: ignore[union-attr]
    reset_settings()
    runner = CliRunner()
    r = runner.invoke(app, ["legal-hold", "set", str(result.id)])
    assert r.exit_code == 0 and "under legal hold" in r.output, r.output
    r = runner.invoke(app, ["legal-hold", "show", str(result.id), "--json"])
    assert r.exit_code == 0 and '"legal_hold": true' in r.output
    r = runner.invoke(app, ["legal-hold", "release", str(result.id)])
    assert r.exit_code == 0 and "no legal hold" in r.output
    assert not s3_archive.objects.lock_info(s3_archive.get(result.id).original_key).legal_hold  # type: ignore[arg-type]


def test_legal_hold_is_refused_on_the_local_store(archive: Archive) -> None:
    result = archive.ingest_path(ZH_CONTRACT)
    with TestClient(
        create_app(archive), headers=auth_headers(archive), raise_server_exceptions=False
    ) as client:
        r = client.put(f"/api/v1/contracts/{result.id}/legal-hold")
        assert r.status_code == 409 and r.json()["error"]["code"] == "locking_unsupported"
        assert "ARCHIVE_OBJECT_STORE=s3" in r.json()["error"]["hint"]
        locks = client.get(f"/api/v1/contracts/{result.id}/locks").json()
        assert not locks["enforced"] and locks["deletable"]


@pytest.mark.parametrize("when", ["before", "after"])
def test_a_failing_retention_leaves_nothing_or_a_complete_contract(
    s3_server: SeaweedS3, s3_bucket: str, tmp_path: Path, when: str
) -> None:
    settings = make_settings(
        tmp_path / "var", **s3_overrides(s3_server, s3_bucket), default_retention_days=1
    )
    stages = [
        Boom(s, when, StorageError("retain broke")) if s.name == "retain" else s
        for s in default_stages()
    ]
    with Archive(settings, stages=stages, parser_workers=1).open() as broken:  # type: ignore[arg-type]
        result = broken.ingest_path(ZH_CONTRACT)
        assert result.status == "failed" and result.reason == "retain broke"
        keys, contracts, indexed, tmp = state(broken)
        assert (contracts, indexed, tmp) == (0, 0, [])
        if when == "before":
            assert keys == []  # nothing was locked yet, so everything was undone
        else:
            # Locked objects cannot be undone: the locked original stays, and is reported.
            assert len(keys) == 1 and keys[0].endswith("/original")
    with Archive(settings, parser_workers=1).open() as fixed:
        retry = fixed.ingest_path(ZH_CONTRACT)
        assert retry.status == "archived"
        record = fixed.get(retry.id)  # type: ignore[arg-type]
        assert fixed.objects.lock_info(record.original_key).mode == COMPLIANCE


def test_retention_on_an_object_uploaded_elsewhere(store: S3ObjectStore, s3_server) -> None:
    """An object already under retention from another client still reports it."""
    until = datetime.now(UTC).replace(microsecond=0) + timedelta(days=3)
    s3_server.client().put_object(
        store.bucket,
        "p/other",
        io.BytesIO(b"x"),
        1,
        metadata={"sha256": sha(b"x")},
        retention=Retention(COMPLIANCE, until),
    )
    assert store.lock_info("p/other").retain_until == until
    assert store.put("p/other", io.BytesIO(b"x")).created is False


def test_filing_and_record_holds_reach_the_object_lock(
    s3_server: SeaweedS3, s3_bucket: str, tmp_path: Path
) -> None:
    """The record's disposal date becomes the original's retention; its holds a legal hold."""
    settings = make_settings(
        tmp_path / "var",
        **s3_overrides(s3_server, s3_bucket),
        default_retention_days=1,
        fonds_code="Z001",
    )
    with Archive(settings, parser_workers=1).open() as archive:
        result = archive.ingest_path(ZH_CONTRACT)
        assert result.status == "archived" and result.id is not None
        record = archive.get(result.id)
        archive.contracts.confirm(
            record.id,
            {"classification": "XS", "sign_date": date(2025, 3, 1)},
            actor="local:a",
        )
        terms = archive.contracts.file(record.id, actor="local:a")
        # not ended yet: no disposal date, but D30 protects it until 2025 + 1 + 30 at least
        assert terms.retention == "D30" and terms.disposal_due is None
        lock = archive.objects.lock_info(record.original_key)
        assert lock.mode == "COMPLIANCE" and lock.retain_until is not None
        assert lock.retain_until.date() == date(2056, 1, 2)
        # an appraisal makes it permanent: the lock is carried a century on
        terms = archive.contracts.confirm(
            record.id, {"retention": "Y"}, actor="local:a", reason="鉴定：永久保存"
        )
        lock = archive.objects.lock_info(record.original_key)
        assert lock.retain_until is not None and lock.retain_until.year >= 2120

        first = archive.contracts.place_hold(record.id, "诉讼保全", actor="local:legal")
        second = archive.contracts.place_hold(record.id, "审计", actor="local:auditor")
        keys = list(archive.objects.iter_keys(record.original_key.rsplit("/", 1)[0]))
        assert keys and all(archive.objects.lock_info(k).legal_hold for k in keys)
        # a file the package gains while held (as OCR adds text and a searchable copy, and the
        # seal a new manifest) joins the hold
        added = package_key(record.sha256, "text.v2.json")
        archive.objects.put(added, io.BytesIO(b'{"pages": []}'))
        archive.package_changed(record.id)
        keys = list(archive.objects.iter_keys(record.original_key.rsplit("/", 1)[0]))
        assert added in keys and all(archive.objects.lock_info(k).legal_hold for k in keys)
        archive.contracts.release_hold(record.id, first.id, "结案", actor="local:legal")
        # one hold is still active: the package stays held
        assert all(archive.objects.lock_info(k).legal_hold for k in keys)
        archive.contracts.release_hold(record.id, second.id, "审计完", actor="local:auditor")
        assert not any(archive.objects.lock_info(k).legal_hold for k in keys)
        with pytest.raises(ObjectLocked):  # retention still protects the original
            archive.objects.delete(record.original_key)
