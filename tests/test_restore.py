"""Restoring a damaged stored original (issue 13): `contract-archive restore ID FILE` takes a
good copy only when its SHA-256 and size are the record's, writes it back, checks it by reading
it again and clears the contract's integrity alert, so the original is served again."""

from __future__ import annotations

import hashlib
import io
import json
import shutil
import sqlite3
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from search_api.app import create_app
from services.archive import Archive
from storage.errors import ObjectCorrupt, ObjectNotFound
from storage.objects.local import LocalObjectStore
from tests.access_helpers import auth_headers
from tests.cli_runner import invoke
from tests.conftest import corpus_files, make_settings
from tests.servers import SeaweedS3
from tests.test_cli import run
from tests.test_download_integrity import flip_one_byte, package_file
from tests.test_s3 import make_store, sha, versions

PDFS = corpus_files("en-cuad", ".pdf")
EN_PDF = next(p for p in PDFS if "JOINT FILING" in p.name)
OTHER_PDF = next(p for p in PDFS if p != EN_PDF)
KEEPER = {"ARCHIVE_USER": "keeper"}


@contextmanager
def opened(data: Path) -> Iterator[Archive]:
    with Archive(make_settings(data), parser_workers=1).open() as archive:
        yield archive


def restore_log(data: Path, contract_id: int) -> list[tuple[str, str, str]]:
    with sqlite3.connect(data / "archive.db") as db:
        rows = db.execute(
            "SELECT actor, outcome, details FROM access_log WHERE action = 'contract.restore' "
            "AND contract_id = ? ORDER BY seq",
            (contract_id,),
        ).fetchall()
    return [(str(a), str(o), str(d)) for a, o, d in rows]


def test_restore_repairs_a_damaged_original_only_from_an_exact_copy(tmp_path: Path) -> None:
    data = tmp_path / "var"
    for user, role in (("keeper", "admin"), ("clerk", "archivist")):
        made = invoke(data, "users", "create", user, "--role", role, "--no-password")
        assert made.returncode == 0, made.stderr
    good = tmp_path / "good.pdf"
    shutil.copy(EN_PDF, good)
    ingested = run(data, "ingest", str(good), "--json", env=KEEPER)
    assert ingested.returncode == 0, ingested.stderr
    cid = int(json.loads(ingested.stdout)["id"])
    original = EN_PDF.read_bytes()
    expected = hashlib.sha256(original).hexdigest()

    # Damage the stored original: the download is refused and the contract flagged.
    with opened(data) as archive:
        stored = package_file(archive, cid, "original")
        flip_one_byte(stored, len(original) // 2)
        damaged = stored.read_bytes()
        with TestClient(
            create_app(archive), headers=auth_headers(archive), raise_server_exceptions=False
        ) as client:
            bad = client.get(f"/api/v1/contracts/{cid}/original")
        assert bad.status_code == 500
        assert bad.json()["error"]["code"] == "integrity_failure"
        assert f"contract-archive restore {cid} FILE" in bad.json()["error"]["hint"]
        assert archive.records.alert_for(cid) is not None

    # A copy that is not the original (here: the damaged bytes, the same size) is refused,
    # naming both digests; nothing is written and the contract stays flagged.
    wrong = tmp_path / "wrong.pdf"
    wrong.write_bytes(damaged)
    actual = hashlib.sha256(damaged).hexdigest()
    refused = invoke(data, "restore", str(cid), str(wrong), env=KEEPER)
    assert refused.returncode == 1, refused.stdout
    message = " ".join(refused.stderr.split())
    assert f"is not the original of contract {cid}" in message
    assert expected in message and actual in message and "nothing was written" in message
    assert "Traceback" not in refused.stderr
    other = tmp_path / "other.pdf"
    shutil.copy(OTHER_PDF, other)
    assert invoke(data, "restore", str(cid), str(other), env=KEEPER).returncode == 1
    missing = invoke(data, "restore", str(cid), str(tmp_path / "nope.pdf"), env=KEEPER)
    assert missing.returncode == 1 and "does not exist" in missing.stderr
    assert "Traceback" not in missing.stderr
    # An archivist may not restore (administration): refused, and logged as denied.
    denied = run(data, "restore", str(cid), str(good), env={"ARCHIVE_USER": "clerk"})
    assert denied.returncode == 1 and "clerk may not do this" in denied.stderr
    with opened(data) as archive:
        assert package_file(archive, cid, "original").read_bytes() == damaged
        assert archive.records.alert_for(cid) is not None
    log = restore_log(data, cid)
    assert [o for _, o, _ in log].count("failed") == 3
    assert ("clerk", "denied") in {(a, o) for a, o, _ in log}

    # The exact copy is accepted: written back read-only, the alert cleared and logged.
    restored = run(data, "restore", str(cid), str(good), env=KEEPER)
    assert restored.returncode == 0, restored.stderr
    assert f"restored the original of contract {cid}" in restored.stdout
    assert "integrity alert cleared" in restored.stdout and "by admin" in restored.stdout
    actor, outcome, details = restore_log(data, cid)[-1]
    assert (actor, outcome) == ("keeper", "ok")
    assert json.loads(details)["alert_cleared"]["detected_by"] == "admin"
    assert json.loads(details)["sha256"] == expected

    with opened(data) as archive:
        stored = package_file(archive, cid, "original")
        assert stat.S_IMODE(stored.stat().st_mode) == 0o400
        assert archive.records.alert_for(cid) is None
        with TestClient(
            create_app(archive), headers=auth_headers(archive), raise_server_exceptions=False
        ) as client:
            again = client.get(f"/api/v1/contracts/{cid}/original")
            page = client.get(f"/contracts/{cid}", headers={"accept": "text/html"})
        assert again.status_code == 200 and again.content == original
        assert again.headers["ETag"].strip('"') == expected
        assert page.status_code == 200 and 'id="integrity-alert"' not in page.text
        assert 'id="download-original"' in page.text

    verified = invoke(data, "verify", str(cid), env=KEEPER)
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert "PASSED" in verified.stdout
    doctor = invoke(data, "doctor", "--json", env=KEEPER)
    findings = json.loads(doctor.stdout)["findings"]
    assert [f for f in findings if f["check"] == "integrity"] == []

    # Restoring an intact original again writes nothing and still succeeds.
    twice = invoke(data, "restore", str(cid), str(good), env=KEEPER)
    assert twice.returncode == 0, twice.stderr
    assert "is intact" in twice.stdout and "nothing written" in twice.stdout


# --- the stores' replace: a damaged object written over, as the restore does ---------------------
def test_the_local_store_replaces_only_with_the_expected_bytes(tmp_path: Path) -> None:
    store = LocalObjectStore(tmp_path / "objects")
    good = b"%PDF good bytes"
    store.put("p/doc", io.BytesIO(good))
    path = tmp_path / "objects" / "p" / "doc"
    flip_one_byte(path, 3)  # leaves it 0644, as damage by hand would
    with pytest.raises(ObjectCorrupt, match="expected"):
        store.replace("p/doc", io.BytesIO(b"%PDF other bytes"), sha256=sha(good))
    assert path.read_bytes() != good  # nothing written
    store.replace("p/doc", io.BytesIO(good), sha256=sha(good))
    assert path.read_bytes() == good and stat.S_IMODE(path.stat().st_mode) == 0o400
    assert list((tmp_path / "objects" / ".tmp").iterdir()) == []  # no temporary file left
    with pytest.raises(ObjectNotFound):
        store.replace("p/none", io.BytesIO(good), sha256=sha(good))


@pytest.mark.s3
def test_s3_keeps_the_damaged_version_locked_and_serves_the_restored_one(
    s3_server: SeaweedS3, s3_bucket: str
) -> None:
    store = make_store(s3_server, s3_bucket)
    store.check()
    good = b"%PDF good bytes for s3"
    until = datetime.now(UTC) + timedelta(days=1)
    store.put("p/doc", io.BytesIO(good), retain_until=until)
    # Damage: other bytes under the key, claiming the good digest (what bit rot looks like),
    # retained and held as the archived version was.
    bad = b"%PDF BAD bytes for s3"
    s3_server.client().put_object(
        s3_bucket, "p/doc", io.BytesIO(bad), len(bad), metadata={"sha256": sha(good)}
    )
    store.set_retention("p/doc", until)
    store.set_legal_hold("p/doc", True)
    with store.open("p/doc") as fh, pytest.raises(ObjectCorrupt):
        fh.read()
    with pytest.raises(ObjectCorrupt):
        store.replace("p/doc", io.BytesIO(bad), sha256=sha(good))
    store.replace("p/doc", io.BytesIO(good), sha256=sha(good))
    with store.open("p/doc") as fh:
        assert fh.read() == good
    lock = store.lock_info("p/doc")
    assert lock.legal_hold and lock.retain_until is not None
    assert len(versions(s3_server, s3_bucket, "p/doc")) == 3  # nothing deleted


def test_restore_through_the_api_takes_an_upload(archive: Archive) -> None:
    result = archive.ingest_path(EN_PDF, display_name=EN_PDF.name)
    assert result.id is not None
    cid = result.id
    original = EN_PDF.read_bytes()
    stored = package_file(archive, cid, "original")
    with TestClient(
        create_app(archive), headers=auth_headers(archive), raise_server_exceptions=False
    ) as client:
        flip_one_byte(stored, 1000)
        assert client.get(f"/api/v1/contracts/{cid}/original").status_code == 500
        url = f"/api/v1/contracts/{cid}/restore"
        wrong = client.post(url, files={"file": ("x.pdf", OTHER_PDF.read_bytes())})
        assert wrong.status_code == 400, wrong.text
        error = wrong.json()["error"]
        assert error["code"] == "invalid_request" and "nothing was written" in error["message"]
        assert error["details"]["expected_sha256"] == sha(original)
        assert archive.records.alert_for(cid) is not None
        # Administration: an archivist is refused.
        clerk = auth_headers(archive, "archivist")
        refused = client.post(url, files={"file": ("x.pdf", original)}, headers=clerk)
        assert refused.status_code == 403, refused.text
        done = client.post(url, files={"file": ("x.pdf", original)})
        assert done.status_code == 200, done.text
        body = done.json()
        assert body["written"] and body["sha256"] == sha(original)
        assert body["alert_cleared"]["file"] == "original"
        again = client.get(f"/api/v1/contracts/{cid}/original")
    assert again.status_code == 200 and again.content == original
    assert archive.records.alert_for(cid) is None
    assert list(archive.settings.tmp_dir.glob("restore-*")) == []  # the upload's copy is gone
