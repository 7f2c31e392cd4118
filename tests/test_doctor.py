"""`contract-archive doctor`: what it finds, what --repair repairs, what it never touches.

The leftovers are made with the stores' own operations, owned by a process that really died
(a child that exited), exactly as a SIGKILL leaves them (``tests/test_crash.py`` kills real
ingests).
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from ingest.stages import index_document
from services.archive import Archive
from services.doctor import Doctor
from storage.maintenance import claim_owner, host_id
from storage.objects.base import package_key
from storage.records.base import NewContract, PageRecord
from tests.conftest import corpus_files, make_settings

PROGRAM = str(Path(sys.executable).parent / "contract-archive")
CUAD = corpus_files("en-cuad", ".pdf")
ONE = next(p for p in CUAD if "JOINT FILING" in p.name)
TWO = next(p for p in CUAD if "Hosting" in p.name)


def dead_pid() -> int:
    child = subprocess.Popen(["true"])
    child.wait()
    return child.pid


def doctor_cli(data_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "ARCHIVE_DATA_DIR": str(data_dir)}
    return subprocess.run(
        [PROGRAM, "doctor", *args], capture_output=True, text=True, env=env, timeout=300
    )


def codes(report) -> list[str]:  # type: ignore[no-untyped-def]
    return sorted(f.code for f in report.findings)


def crash_leftovers(archive: Archive) -> dict[str, object]:
    """What a SIGKILLed ingest and a SIGKILLed reindex can leave, owned by a dead process."""
    pid = dead_pid()
    tag = f"{host_id()}-{pid}-"
    owner = f"{claim_owner().rsplit(':', 1)[0]}:{pid}"
    # 1. an ingest killed after storing the original: claim + object, no record
    data = TWO.read_bytes()
    digest = hashlib.sha256(data).hexdigest()
    assert archive.records.claim(digest, owner)
    archive.objects.put(package_key(digest, "original"), io.BytesIO(data), sha256=digest)
    # 2. temporary files of the spool and of an object write, a half-built index generation
    archive.settings.tmp_dir.mkdir(parents=True, exist_ok=True)
    spool = archive.settings.tmp_dir / f"{tag}upload-0123.part"
    spool.write_bytes(b"%PDF-1.4 half")
    obj_tmp = archive.settings.objects_dir / ".tmp" / f"{tag}0456.part"
    obj_tmp.write_bytes(b"half")
    generation = archive.settings.index_dir / "gen-000099"
    generation.mkdir()
    (generation / "OWNER").write_text(tag)
    # 3. killed between record and index: a record without its index entry
    result = archive.ingest_path(ONE)
    assert result.status == "archived"
    archive.index.delete([result.id])  # type: ignore[list-item]
    # 4. an index entry without a record (a lost undo)
    record = archive.get(result.id)  # type: ignore[arg-type]
    ghost = index_document(record, ["ghost text"])
    archive.index.add([type(ghost)(**{**ghost.__dict__, "id": 999})])
    return {
        "digest": digest,
        "spool": spool,
        "obj_tmp": obj_tmp,
        "generation": generation,
        "record": result.id,
    }


def test_a_healthy_archive_has_no_findings(archive: Archive) -> None:
    assert archive.ingest_path(ONE).status == "archived"
    report = Doctor(archive).run()
    assert report.ok and report.findings == []
    # original, text, manifest and its seal
    assert report.counts["contracts"] == 1 and report.counts["objects"] == 4
    assert report.counts["index entries"] == 1


def test_finds_and_repairs_what_a_crash_leaves(archive: Archive) -> None:
    left = crash_leftovers(archive)
    report = Doctor(archive).run()
    assert not report.ok
    assert codes(report) == [
        "leftover",
        "leftover",
        "leftover",
        "missing_index_entry",
        "orphan_index_entry",
        "orphan_object",
        "stale_claim",
    ]
    assert all(f.repair is not None and f.fix for f in report.findings)
    assert left["spool"].exists()  # type: ignore[attr-defined]  # nothing changed without --repair

    repaired = Doctor(archive).run(repair=True)
    assert repaired.ok, [f.to_dict() for f in repaired.findings if f.open]
    said = " | ".join(f.repaired or "" for f in repaired.findings)
    assert f"released the ingest claim on {left['digest']}" in said
    assert f"deleted 1 object of package {left['digest']}" in said
    assert f"indexed contract {left['record']}" in said and "removed index entry 999" in said
    for path in ("spool", "obj_tmp", "generation"):
        assert not left[path].exists(), path  # type: ignore[attr-defined]

    after = Doctor(archive).run()
    assert after.ok and after.findings == []
    assert archive.search("joint filing").hits[0].id == left["record"]
    # The interrupted file is absent and can be ingested again.
    assert archive.ingest_path(TWO).status == "archived"


def test_leaves_the_work_of_live_processes_alone(archive: Archive) -> None:
    from storage.maintenance import owner_tag

    live = archive.settings.objects_dir / ".tmp" / f"{owner_tag()}0789.part"
    live.write_bytes(b"in progress")
    data = TWO.read_bytes()
    digest = hashlib.sha256(data).hexdigest()
    assert archive.records.claim(digest, claim_owner())
    archive.objects.put(package_key(digest, "original"), io.BytesIO(data), sha256=digest)
    report = Doctor(archive).run(repair=True)
    assert report.findings == []
    assert report.counts["writes in progress"] == 1
    assert report.counts["ingests in progress"] == 1
    assert live.exists() and archive.objects.exists(package_key(digest, "original"))


def test_other_hosts_are_judged_by_age(archive: Archive) -> None:
    data = TWO.read_bytes()
    digest = hashlib.sha256(data).hexdigest()
    assert archive.records.claim(digest, "some-other-host:1234")
    assert Doctor(archive).run().findings == []
    late = Doctor(archive, grace_seconds=0).run()
    assert codes(late) == ["stale_claim"]


def test_never_deletes_a_package_no_crash_explains(archive: Archive) -> None:
    """Objects with no record and no claim: the records database may have been lost, and the
    original may be the only copy. Reported with the fix, never deleted."""
    data = TWO.read_bytes()
    digest = hashlib.sha256(data).hexdigest()
    key = package_key(digest, "original")
    archive.objects.put(key, io.BytesIO(data), sha256=digest)
    report = Doctor(archive).run(repair=True)
    assert codes(report) == ["unrecorded_package"]
    assert not report.ok and report.findings[0].repair is None
    assert "contract-archive recover" in report.findings[0].fix
    assert archive.objects.exists(key)


def test_reports_missing_and_corrupt_objects(archive: Archive) -> None:
    result = archive.ingest_path(ONE)
    record = archive.get(result.id)  # type: ignore[arg-type]
    text_path = archive.settings.objects_dir / record.text_key
    original_path = archive.settings.objects_dir / record.original_key
    text_path.unlink()
    assert codes(Doctor(archive).run()) == ["missing_object"]
    os.chmod(original_path, 0o600)
    original_path.write_bytes(original_path.read_bytes() + b"tampered")
    os.chmod(original_path, 0o400)  # as stored: no wide_permissions finding
    assert codes(Doctor(archive).run()) == ["missing_object"]  # hashing only with --verify
    report = Doctor(archive, verify=True).run()
    assert codes(report) == ["corrupt_object", "missing_object"]
    assert "restore" in report.findings[0].fix


def test_repairs_an_index_of_another_layout_by_reindexing(archive: Archive) -> None:
    result = archive.ingest_path(ONE)
    archive.close()
    index_dir = archive.settings.index_dir
    current = (index_dir / "CURRENT").read_text().strip()
    (index_dir / current / "VERSION").write_text("0")
    fresh = Archive(archive.settings, parser_workers=1)
    try:
        report = Doctor(fresh).run(repair=True)
        assert codes(report) == ["store_unusable"]
        assert report.findings[0].repaired == "rebuilt the search index with 1 contract"
        assert report.ok
        assert fresh.search("joint filing").hits[0].id == result.id
    finally:
        fresh.close()


def test_migrates_a_fresh_database_on_repair(tmp_path: Path) -> None:
    archive = Archive(make_settings(tmp_path / "var"), parser_workers=1)
    try:
        report = Doctor(archive).run()
        assert codes(report) == ["store_unusable"] and not report.ok
        assert "migration" in report.findings[0].problem
        assert Doctor(archive).run(repair=True).ok
        assert Doctor(archive).run().findings == []
    finally:
        archive.close()


def test_ingest_takes_over_the_claim_of_a_dead_process(archive: Archive) -> None:
    data = TWO.read_bytes()
    digest = hashlib.sha256(data).hexdigest()
    owner = f"{claim_owner().rsplit(':', 1)[0]}:{dead_pid()}"
    assert archive.records.claim(digest, owner)
    archive.objects.put(package_key(digest, "original"), io.BytesIO(data), sha256=digest)
    result = archive.ingest_path(TWO)
    assert result.status == "archived", result.reason
    assert archive.records.claims() == []
    assert Doctor(archive).run().findings == []


def test_cli_exit_codes_and_json(tmp_path: Path) -> None:
    data = tmp_path / "var"
    with Archive(make_settings(data), parser_workers=1).open() as archive:
        left = crash_leftovers(archive)
    r = doctor_cli(data)
    assert r.returncode == 1, r.stderr
    assert "fix:" in r.stdout and "--repair" in r.stdout and "Traceback" not in r.stderr
    r = doctor_cli(data, "--repair", "--json")
    assert r.returncode == 0, r.stdout + r.stderr
    report = json.loads(r.stdout)
    assert report["ok"] and report["repaired"] == 7
    assert {f["code"] for f in report["findings"]} >= {"orphan_object", "stale_claim"}
    assert all(f["repaired"] for f in report["findings"])
    r = doctor_cli(data)
    assert r.returncode == 0 and "healthy" in r.stdout
    assert not left["spool"].exists()  # type: ignore[attr-defined]
    r = doctor_cli(data, "--grace", "-1")
    assert r.returncode == 2  # a usage error
    bad = {**os.environ, "ARCHIVE_DATA_DIR": str(data), "ARCHIVE_MAX_PAGES": "many"}
    r = subprocess.run([PROGRAM, "doctor"], capture_output=True, text=True, env=bad, timeout=60)
    assert r.returncode == 2 and "ARCHIVE_MAX_PAGES" in r.stderr


def test_records_without_pages_are_not_mistaken(archive: Archive) -> None:
    """A record added by another writer (``recover``) with both objects present is healthy."""
    data = ONE.read_bytes()
    digest = hashlib.sha256(data).hexdigest()
    original = archive.objects.put(package_key(digest, "original"), io.BytesIO(data))
    text = archive.objects.put(package_key(digest, "text.v1.json"), io.BytesIO(b"{}"))
    record = archive.records.add_contract(
        NewContract(
            sha256=digest,
            size=len(data),
            content_type="application/pdf",
            filename="x.pdf",
            title="x",
            customer=None,
            page_count=1,
            ingested_by="test",
            original_key=original.key,
            text_key=text.key,
            text_sha256=text.sha256,
            pages=[PageRecord(page_no=1, text_source="none", chars=0, needs_ocr=True)],
            created_at=datetime.now(UTC),
        )
    )
    archive.index.add([index_document(record, [""])])
    assert codes(Doctor(archive, verify=True).run()) == ["missing_manifest"]
    assert Doctor(archive).run(repair=True).ok
    shutil.rmtree(archive.settings.tmp_dir, ignore_errors=True)
    assert Doctor(archive).run().findings == []


def test_a_contract_without_manifest_is_sealed_on_repair(archive: Archive) -> None:
    """Killed between the record and the manifest stage: doctor issues and seals it."""
    from ingest.stages import ManifestStage, default_stages

    stages = [s for s in default_stages() if not isinstance(s, ManifestStage)]
    with Archive(archive.settings, parser_workers=1, stages=stages).open() as early:
        result = early.ingest_path(ONE)
    assert result.status == "archived"
    report = Doctor(archive).run()
    assert codes(report) == ["missing_manifest"] and not report.ok
    repaired = Doctor(archive).run(repair=True)
    assert repaired.ok
    assert repaired.findings[0].repaired == (f"issued manifest v1 of contract {result.id}: sealed")
    verified = archive.seal.verify(result.id)  # type: ignore[arg-type]
    assert verified.seal_state == "sealed" and verified.overall == "PASSED", verified.summary()
    assert Doctor(archive).run().findings == []


def test_an_unreachable_tsa_is_reported(tmp_path: Path) -> None:
    settings = make_settings(tmp_path / "var")
    with Archive(settings, parser_workers=1).open() as archive:
        assert archive.ingest_path(ONE).status == "archived"
    # The keys stay the development ones; only the TSA changes to a port nobody listens on.
    broken = make_settings(
        tmp_path / "var", tsa_url="http://127.0.0.1:9/tsa", tsa_timeout_seconds=2
    )
    archive = Archive(broken, parser_workers=1)
    try:
        report = Doctor(archive).run()
    finally:
        archive.close()
    assert "tsa_unreachable" in codes(report) and not report.ok
    assert "ARCHIVE_TSA_URL" in next(f.fix for f in report.findings if f.code == "tsa_unreachable")


def test_ocr_pages_of_a_dead_worker_are_queued_again(archive: Archive) -> None:
    """A worker killed during OCR holds its page until the lease runs out; doctor gives it
    back at once."""
    import socket

    scan = CUAD[0].parent.parent.parent / "zh/samr-model-contracts/青岛市木门买卖合同示范文本.pdf"
    result = archive.ingest_path(scan)
    assert result.status == "archived" and result.pages_needing_ocr
    archive.records.queue_ocr(result.id, list(result.pages_needing_ocr))  # type: ignore[arg-type]
    owner = f"{socket.gethostname()}:{dead_pid()}:token"
    assert archive.records.claim_ocr_page(owner, 600) is not None
    report = Doctor(archive).run()
    assert "ocr_pages_of_dead_worker" in codes(report)
    repaired = Doctor(archive).run(repair=True)
    assert f"queued 1 OCR page of {owner} again" in [f.repaired for f in repaired.findings]
    assert archive.records.ocr_owners() == set()
    # an OCR work directory of a dead process is a leftover too
    work = archive.settings.tmp_dir / f"ocr-{socket.gethostname()}-{dead_pid()}-tok"
    work.mkdir(parents=True)
    assert codes(Doctor(archive).run()) == ["leftover"]
    assert Doctor(archive).run(repair=True).ok and not work.exists()


@pytest.mark.parametrize("owner", ["no-colon", "host:notapid"])
def test_odd_claim_owners_fall_back_to_age(archive: Archive, owner: str) -> None:
    digest = hashlib.sha256(owner.encode()).hexdigest()
    assert archive.records.claim(digest, owner)
    assert Doctor(archive).run().findings == []
    assert codes(Doctor(archive, grace_seconds=0).run()) == ["stale_claim"]


# --- on the scale-out engines -------------------------------------------------------------------
@pytest.mark.postgres
@pytest.mark.s3
def test_on_s3_and_postgresql_repairs_crash_leftovers_and_missing_retention(
    tmp_path: Path, postgres_url: str, s3_server, s3_bucket: str
) -> None:
    from tests.conftest import s3_overrides

    settings = make_settings(
        tmp_path / "var", database_url=postgres_url, **s3_overrides(s3_server, s3_bucket)
    )
    with Archive(settings, parser_workers=1).open() as archive:
        pid = dead_pid()
        owner = f"{claim_owner().rsplit(':', 1)[0]}:{pid}"
        # An ingest killed after storing the original (not yet retained: retain runs last).
        data = TWO.read_bytes()
        digest = hashlib.sha256(data).hexdigest()
        assert archive.records.claim(digest, owner)
        archive.objects.put(package_key(digest, "original"), io.BytesIO(data), sha256=digest)
        # An ingest killed between the index and the retain stage (the stages without the last).
        from ingest.stages import default_stages

        with Archive(settings, parser_workers=1, stages=default_stages()[:-1]).open() as early:
            kept = early.ingest_path(ONE)
        assert kept.status == "archived"
        record = archive.get(kept.id)  # type: ignore[arg-type]
        assert archive.objects.lock_info(record.original_key).retain_until is None

        report = Doctor(archive).run()
        assert codes(report) == ["missing_retention", "orphan_object", "stale_claim"]
        repaired = Doctor(archive).run(repair=True)
        assert repaired.ok and len(repaired.repaired) == 3
        assert archive.objects.lock_info(record.original_key).retain_until is not None
        assert list(archive.objects.iter_keys(f"packages/{digest[:2]}/{digest}/")) == []
        assert archive.ingest_path(TWO).status == "archived"
        assert Doctor(archive).run().findings == []


def test_an_archive_killed_before_its_first_command_made_it_is_made_by_repair(
    tmp_path: Path,
) -> None:
    """A batch killed in its first second leaves no data directory: the doctor (as the operator,
    reading no users) says the records are not there, and --repair makes the empty archive,
    private, that the next command finds healthy."""
    data = tmp_path / "never-started"
    r = doctor_cli(data)
    assert r.returncode == 1, r.stdout + r.stderr
    assert "records database" in r.stdout and "Traceback" not in r.stdout + r.stderr
    r = doctor_cli(data, "--repair", "--json")
    assert r.returncode == 0, r.stdout + r.stderr
    report = json.loads(r.stdout)
    assert report["ok"] and report["repaired"] >= 1
    assert oct(data.stat().st_mode & 0o777) == oct(0o700)
    r = doctor_cli(data)
    assert r.returncode == 0 and "healthy" in r.stdout, r.stdout + r.stderr
