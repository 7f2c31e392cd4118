"""The access log: one hash chain, signed checkpoints, tamper detection, extracts, retention.

Runs on SQLite and, when ARCHIVE_TEST_POSTGRES_URL is set, on PostgreSQL (a fresh schema per
test). Every tamper test changes the database directly, as someone with database access would.
"""

from __future__ import annotations

import io
import itertools
import json
import shutil
import subprocess
import threading
import time
import uuid
import zipfile
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import create_engine, text

from core.access_errors import AuditLogUnavailable
from services.access.auditlog import Checkpoint, verify_extract
from services.access.notes import Note, NoteError, NoteSigner, VerifierKey
from services.access.service import AccessControl
from services.archive import Archive
from storage.records.access_base import (
    GENESIS_HASH,
    LogFilter,
    NewLogEntry,
    canonical_bytes,
)
from tests.access_helpers import ensure_user
from tests.conftest import POSTGRES_URL, corpus_files, make_settings, postgres_schema_url

ZH = next(p for p in corpus_files("zh", ".pdf") if "新疆" in p.name)


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def archive(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Archive]:
    overrides: dict[str, object] = {}
    schema = None
    if request.param == "postgresql":
        if not POSTGRES_URL:
            pytest.skip("PostgreSQL tests need ARCHIVE_TEST_POSTGRES_URL (set by .ci/run)")
        schema = f"t_{uuid.uuid4().hex[:12]}"
        engine = create_engine(POSTGRES_URL)
        with engine.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        overrides["database_url"] = postgres_schema_url(POSTGRES_URL, schema)
    settings_ = make_settings(tmp_path / "var", **overrides)
    try:
        with Archive(settings_, parser_workers=1).open() as a:
            yield a
    finally:
        if schema is not None:
            with engine.begin() as conn:
                conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
            engine.dispose()


def sql(archive: Archive, statement: str, **params: object) -> list[tuple]:
    with archive.records.engine.begin() as conn:  # type: ignore[attr-defined]
        result = conn.execute(text(statement), params)
        return [tuple(r) for r in result] if result.returns_rows else []


def entry(n: int, **kw: object) -> NewLogEntry:
    values: dict[str, object] = {
        "actor": "alice",
        "via": "token:cat_00000000",
        "action": "contract.view",
        "contract_id": n,
        "ip": "10.0.0.7",
        "user_agent": "pytest",
        "details": {"n": n, "名": "合同"},
    }
    values.update(kw)
    return NewLogEntry(**values)  # type: ignore[arg-type]


def fill(access: AccessControl, count: int) -> None:
    for n in range(1, count + 1):
        access.store.append(entry(n))


def test_entries_form_one_chain_of_canonical_forms(archive: Archive) -> None:
    access = AccessControl.for_archive(archive)
    fill(access, 5)
    entries = access.store.entries(limit=10)
    assert [e.seq for e in entries] == [1, 2, 3, 4, 5]
    assert entries[0].prev_hash == GENESIS_HASH
    for before, after in itertools.pairwise(entries):
        assert after.prev_hash == before.entry_hash == before.computed_hash()
    first = json.loads(entries[0].canonical())
    assert set(first) == {
        "v",
        "seq",
        "at",
        "actor",
        "via",
        "ip",
        "user_agent",
        "action",
        "contract_id",
        "outcome",
        "purpose",
        "details",
        "prev",
    }
    assert first["at"].endswith("Z") and first["details"] == {"n": 1, "名": "合同"}
    head = access.store.head()
    assert (head.seq, head.entry_hash) == (5, entries[-1].entry_hash)
    report = access.audit.verify()
    assert report.status == "PASSED", report.summary()
    assert report.entries_checked == 5


def test_concurrent_appends_make_one_gapless_chain(archive: Archive) -> None:
    access = AccessControl.for_archive(archive)
    errors: list[BaseException] = []

    def work(worker: int) -> None:
        try:
            for n in range(15):
                access.store.append(entry(n, actor=f"worker{worker}"))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(w,)) for w in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert [e.seq for e in access.store.iter_entries()] == list(range(1, 61))
    assert access.audit.verify().status == "PASSED"


def test_entries_that_wait_together_share_one_commit(archive: Archive) -> None:
    """Group commit (issue 19): while another transaction holds the log's head, the entries of
    eight threads wait; once it ends they are written in at most two transactions (the first
    writer's own, then everything that queued behind it), each returned only once committed,
    in one gapless chain."""
    from sqlalchemy import event

    access = AccessControl.for_archive(archive)
    access.store.append(entry(0))
    records = archive.records
    commits: list[int] = []
    engine = records._write_engine  # type: ignore[attr-defined]

    def count(conn: object) -> None:
        if conn is not blocker:  # (on PostgreSQL the blocker shares the engine)
            commits.append(1)

    event.listen(engine, "commit", count)
    results: dict[int, int] = {}
    errors: list[BaseException] = []

    def work(n: int) -> None:
        try:
            results[n] = access.store.append(entry(n)).seq
        except BaseException as exc:
            errors.append(exc)

    store = access.store
    handed: list[int] = []  # the size of each batch a writer took
    write_batch = store._write_batch  # type: ignore[attr-defined]

    def spy(batch: list) -> None:
        handed.append(len(batch))
        write_batch(batch)

    store._write_batch = spy  # type: ignore[attr-defined]

    def queued() -> int:  # entries taken by a (blocked) writer or waiting for the next one
        return sum(handed) + len(store._waiting)  # type: ignore[attr-defined]

    blocker = records.engine.connect()  # type: ignore[attr-defined]
    try:
        blocker.begin()
        blocker.execute(text("UPDATE access_log_head SET seq = seq"))  # holds the head
        threads = [threading.Thread(target=work, args=(n,)) for n in range(1, 9)]
        for t in threads:
            t.start()
        deadline = time.monotonic() + 30
        while queued() < 8 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert queued() == 8
        assert not results  # nothing returns before its entry is committed
        blocker.commit()
    finally:
        blocker.close()
    for t in threads:
        t.join()
    event.remove(engine, "commit", count)
    assert not errors
    assert sorted(results.values()) == list(range(2, 10))
    assert len(commits) <= 2
    assert [e.seq for e in access.store.iter_entries()] == list(range(1, 10))
    assert access.audit.verify().status == "PASSED"


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    text_value=st.text(max_size=60),
    number=st.integers(min_value=-(2**53), max_value=2**53),
    purpose=st.one_of(st.none(), st.text(max_size=30)),
)
def test_any_values_round_trip_to_the_same_hash(
    archive: Archive, text_value: str, number: int, purpose: str | None
) -> None:
    """Control characters, NULs, astral characters, big integers: what is stored re-hashes to
    what was written, on every database."""
    access = AccessControl.for_archive(archive)
    written = access.store.append(
        entry(
            1,
            details={"q": text_value, "n": number, "list": [text_value, None, True]},
            purpose=purpose,
            user_agent=text_value,
        )
    )
    stored = access.store.get_entry(written.seq)
    assert stored is not None
    assert stored.computed_hash() == written.entry_hash == stored.entry_hash


def test_an_edited_entry_is_reported_as_the_first_broken_link(archive: Archive) -> None:
    access = AccessControl.for_archive(archive)
    fill(access, 8)
    sql(archive, "UPDATE access_log SET actor = 'mallory' WHERE seq = 4")
    report = access.audit.verify()
    assert report.status == "FAILED"
    assert report.first_broken == 4
    assert "entry 4 was changed" in (report.reason or "")


def test_an_edit_with_its_hash_recomputed_breaks_the_next_link(archive: Archive) -> None:
    access = AccessControl.for_archive(archive)
    fill(access, 6)
    target = access.store.get_entry(3)
    assert target is not None
    forged = json.loads(target.canonical())
    forged["actor"] = "mallory"
    digest = __import__("hashlib").sha256(canonical_bytes(forged)).hexdigest()
    sql(
        archive,
        "UPDATE access_log SET actor = 'mallory', entry_hash = :h WHERE seq = 3",
        h=digest,
    )
    report = access.audit.verify()
    assert report.status == "FAILED" and report.first_broken == 4
    assert "does not link to entry 3" in (report.reason or "")


def test_a_deleted_entry_is_reported(archive: Archive) -> None:
    access = AccessControl.for_archive(archive)
    fill(access, 6)
    sql(archive, "DELETE FROM access_log WHERE seq = 2")
    report = access.audit.verify()
    assert report.status == "FAILED" and report.first_broken == 2
    assert "entry 2 is missing" in (report.reason or "")


def test_deleting_the_newest_entries_and_the_head_is_caught_by_the_checkpoint(
    archive: Archive,
) -> None:
    access = AccessControl.for_archive(archive)
    fill(access, 6)
    access.audit.write_checkpoint()
    fill(access, 2)
    # Someone removes entries 5-8 and makes the head row agree: the chain itself is intact.
    fourth = access.store.get_entry(4)
    assert fourth is not None
    sql(archive, "DELETE FROM access_log WHERE seq > 4")
    sql(
        archive,
        "UPDATE access_log_head SET seq = 4, entry_hash = :h",
        h=fourth.entry_hash,
    )
    report = access.audit.verify()
    assert report.status == "FAILED"
    assert "covers 6 entries, the log has 4" in (report.reason or "")


def test_rewriting_the_whole_chain_is_caught_by_the_checkpoint(archive: Archive) -> None:
    """An attacker with database access rewrites entry 2 and recomputes every hash after it,
    head row included: only the signed checkpoint can tell, and it does."""
    access = AccessControl.for_archive(archive)
    fill(access, 5)
    access.audit.write_checkpoint()
    entries = access.store.entries(limit=10)
    prev = entries[0].entry_hash
    for e in entries[1:]:
        fields = json.loads(e.canonical())
        if e.seq == 2:
            fields["actor"] = "mallory"
        fields["prev"] = prev
        digest = __import__("hashlib").sha256(canonical_bytes(fields)).hexdigest()
        sql(
            archive,
            "UPDATE access_log SET actor = :a, prev_hash = :p, entry_hash = :h WHERE seq = :s",
            a=fields["actor"],
            p=prev,
            h=digest,
            s=e.seq,
        )
        prev = digest
    sql(archive, "UPDATE access_log_head SET entry_hash = :h", h=prev)
    report = access.audit.verify()
    assert report.status == "FAILED"
    assert "differs from the signed checkpoint" in (report.reason or "")


def test_a_removed_head_row_is_rebuilt_from_the_entries(archive: Archive) -> None:
    access = AccessControl.for_archive(archive)
    fill(access, 3)
    sql(archive, "DELETE FROM access_log_head")
    access.store.append(entry(4))
    assert [e.seq for e in access.store.iter_entries()] == [1, 2, 3, 4]
    assert access.audit.verify().status == "PASSED"


def test_a_forged_checkpoint_is_reported(archive: Archive, tmp_path: Path) -> None:
    access = AccessControl.for_archive(archive)
    fill(access, 3)
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    forger = NoteSigner(access.signer.name, Ed25519PrivateKey.generate())
    forged = Checkpoint(access.signer.name, 3, "ab" * 32, None)
    archive.objects.put(
        "audit/checkpoints/2020-01-01/000000000003.note",
        io.BytesIO(forger.sign(forged.text()).encode()),
    )
    report = access.audit.verify()
    assert report.status == "FAILED"
    assert "not signed by a known access log key" in (report.reason or "")


def test_the_first_entry_of_a_new_day_checkpoints_the_day_before(archive: Archive) -> None:
    access = AccessControl.for_archive(archive)
    fill(access, 3)
    yesterday = datetime.now(UTC) - timedelta(days=1)
    # Make the head look like the log was last written yesterday (the clock moved on).
    sql(archive, "UPDATE access_log_head SET at = :t", t=yesterday)
    access.store.append(entry(4))
    day = yesterday.date().isoformat()
    keys = sorted(archive.objects.iter_keys("audit/checkpoints/"))
    # The signed note, and its seal with the archive key.
    name = f"audit/checkpoints/{day}/000000000003.note"
    assert keys == [name, name + ".p7s"]
    with archive.objects.open(keys[0]) as fh:
        note = Note.from_text(fh.read().decode())
    assert note.verified_by(access.signer.verifier)
    cp = Checkpoint.from_text(note.text)
    assert cp.count == 3 and cp.head == access.store.get_entry(3).entry_hash  # type: ignore[union-attr]
    assert access.audit.verify().status == "PASSED"


def test_checkpoints_are_sealed_with_the_archive_key_once_there_is_one(
    archive: Archive, tmp_path: Path
) -> None:
    """With an archive seal (a detached CMS signature, here made with a fresh EC key), each
    checkpoint's body is sealed beside its note and checks with `openssl cms -verify`."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.hazmat.primitives.serialization import pkcs7
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "test archive seal")])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=1))
        .sign(key, hashes.SHA256())
    )

    def seal(data: bytes) -> bytes:
        options = [pkcs7.PKCS7Options.DetachedSignature, pkcs7.PKCS7Options.Binary]
        builder = pkcs7.PKCS7SignatureBuilder().set_data(data)
        return builder.add_signer(cert, key, hashes.SHA256()).sign(
            serialization.Encoding.DER, options
        )

    access = AccessControl.for_archive(archive)
    access.audit.seal = seal
    fill(access, 3)
    written = access.audit.write_checkpoint()
    assert written is not None
    note_key, checkpoint = written
    assert archive.objects.exists(note_key + ".p7s")
    with archive.objects.open(note_key + ".p7s") as fh:
        (tmp_path / "cp.p7s").write_bytes(fh.read())
    (tmp_path / "cp.txt").write_bytes(checkpoint.body())
    (tmp_path / "ca.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    command = ["openssl", "cms", "-verify", "-binary", "-inform", "DER", "-purpose", "any"]
    command += ["-in", str(tmp_path / "cp.p7s"), "-CAfile", str(tmp_path / "ca.pem")]
    good = subprocess.run([*command, "-content", str(tmp_path / "cp.txt")], capture_output=True)
    assert good.returncode == 0, good.stderr
    (tmp_path / "cp.txt").write_bytes(checkpoint.body().replace(b"count 3", b"count 2"))
    bad = subprocess.run([*command, "-content", str(tmp_path / "cp.txt")], capture_output=True)
    assert bad.returncode != 0
    # The seal sits beside the checkpoints without disturbing their verification.
    assert len(access.audit.checkpoints()) == 1
    assert access.audit.verify().status == "PASSED"


def test_checkpoints_are_sealed_with_the_archive_seal(archive: Archive, tmp_path: Path) -> None:
    """With the archive's own seal (issue 4: CAdES-B-T, development keys here) every checkpoint
    is sealed beside its note, and the seal checks with OpenSSL against the archive's root."""
    from cryptography.hazmat.primitives import serialization

    access = AccessControl.for_archive(archive)
    assert access.audit.seal is not None
    fill(access, 2)
    written = access.audit.write_checkpoint()
    assert written is not None
    note_key, checkpoint = written
    with archive.objects.open(note_key + ".p7s") as fh:
        (tmp_path / "cp.p7s").write_bytes(fh.read())
    (tmp_path / "cp.txt").write_bytes(checkpoint.body())
    roots = b"".join(c.public_bytes(serialization.Encoding.PEM) for c in archive.seal.keys.anchors)
    (tmp_path / "roots.pem").write_bytes(roots)
    command = ["openssl", "cms", "-verify", "-binary", "-inform", "DER", "-purpose", "any"]
    command += ["-in", str(tmp_path / "cp.p7s"), "-content", str(tmp_path / "cp.txt")]
    command += ["-CAfile", str(tmp_path / "roots.pem")]
    checked = subprocess.run(command, capture_output=True)
    assert checked.returncode == 0, checked.stderr
    assert access.audit.verify().status == "PASSED"


def test_the_log_key_is_private_to_the_archive(archive: Archive) -> None:
    access = AccessControl.for_archive(archive)
    key_file = archive.settings.data_dir / "keys" / "access-log-ed25519.pem"
    assert access.public_key().name == "contract-archive/access-log"
    assert key_file.stat().st_mode & 0o777 == 0o600
    assert (key_file.parent.stat().st_mode & 0o077) == 0


def test_a_change_whose_entry_cannot_be_written_does_not_happen(archive: Archive) -> None:
    """A real database refusal (a trigger), not a mock: the contract change rolls back, the
    download is not served, the ingest leaves nothing behind."""
    access = AccessControl.for_archive(archive)
    admin = ensure_user(archive, "root", ("admin",))
    done = access.ingest(admin, open(ZH, "rb"), filename=ZH.name)  # noqa: SIM115
    assert done.status == "archived" and done.id is not None
    entries_before = access.store.count_entries()
    if archive.records.dialect == "sqlite":  # type: ignore[attr-defined]
        sql(
            archive,
            "CREATE TRIGGER refuse BEFORE INSERT ON access_log "
            "BEGIN SELECT RAISE(ABORT, 'the log disk is full'); END",
        )
    else:
        sql(
            archive,
            "CREATE FUNCTION refuse() RETURNS trigger AS $$ BEGIN "
            "RAISE EXCEPTION 'the log disk is full'; END $$ LANGUAGE plpgsql",
        )
        sql(
            archive,
            "CREATE TRIGGER refuse BEFORE INSERT ON access_log "
            "FOR EACH ROW EXECUTE FUNCTION refuse()",
        )
    with pytest.raises(AuditLogUnavailable, match="log disk is full"):
        access.update_contract(admin, done.id, {"title": "changed", "classification": "LD"})
    record = archive.get(done.id)
    assert record.title != "changed" and record.classification != "LD"  # (the model's suggestion)
    hits = archive.search("classification:LD")
    assert hits.total == 0

    with pytest.raises(AuditLogUnavailable):
        access.download(admin, done.id)
    with pytest.raises(AuditLogUnavailable):
        access.search(admin, "汽车")

    other = corpus_files("en-cuad", ".pdf")[0]
    with pytest.raises(AuditLogUnavailable):
        access.ingest(admin, open(other, "rb"), filename=other.name)  # noqa: SIM115
    assert archive.records.count_contracts() == 1
    assert archive.index.count() == 1
    packages = {k.split("/")[2] for k in archive.objects.iter_keys("packages/")}
    assert packages == {record.sha256}
    assert access.store.count_entries() == entries_before


def test_retention_prunes_old_entries_behind_a_signed_anchor(
    archive: Archive, tmp_path: Path
) -> None:
    access = AccessControl.for_archive(archive)
    fill(access, 4)
    time.sleep(0.01)
    cutoff = datetime.now(UTC)
    time.sleep(0.01)
    fill(access, 2)
    removed = access.audit.prune(cutoff)
    assert removed == 4
    head = access.store.head()
    assert head.base_seq == 4
    assert [e.seq for e in access.store.iter_entries()] == [5, 6]
    anchor_keys = [
        k for k in archive.objects.iter_keys("audit/checkpoints/") if k.endswith("04.note")
    ]
    assert len(anchor_keys) == 1
    report = access.audit.verify()
    assert report.status == "PASSED", report.summary()

    # Removing more from the start without a signed anchor is detected.
    sql(archive, "DELETE FROM access_log WHERE seq = 5")
    sql(archive, "UPDATE access_log_head SET base_seq = 5, base_hash = :h", h="0" * 64)
    report = access.audit.verify()
    assert report.status == "FAILED"


def test_prune_keeps_everything_without_a_retention_setting(archive: Archive) -> None:
    access = AccessControl.for_archive(archive)
    admin = ensure_user(archive, "root", ("admin",))
    fill(access, 3)
    assert access.prune_log(admin, now=datetime.now(UTC) + timedelta(days=10_000)) == 0
    assert access.store.count_entries() == 3


def test_extract_verifies_offline_and_its_tamper_twins_fail(
    archive: Archive, tmp_path: Path
) -> None:
    access = AccessControl.for_archive(archive)
    auditor = ensure_user(archive, "audit", ("auditor",))
    for n in range(1, 7):
        access.store.append(entry(n, contract_id=7 if n % 2 else 8))
    data = access.extract(auditor, LogFilter(contract_id=7))
    report = verify_extract(data, access.public_key())
    assert report.status == "PASSED", report.summary()
    assert report.entries == 3 and not report.key_from_extract

    # With the key shipped inside, it passes but says so.
    shipped = verify_extract(data)
    assert shipped.status == "PASSED" and shipped.key_from_extract

    # Offline, with openssl and sha256sum, as VERIFY.txt says.
    folder = tmp_path / "x"
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        z.extractall(folder)
    if shutil.which("openssl"):
        r = subprocess.run(
            [
                "openssl",
                "pkeyutl",
                "-verify",
                "-pubin",
                "-inkey",
                "log-key.pem",
                "-rawin",
                "-in",
                "extract.txt",
                "-sigfile",
                "extract.sig",
            ],
            cwd=folder,
            capture_output=True,
            text=True,
        )
        assert r.returncode == 0 and "Signature Verified Successfully" in r.stdout, r.stderr
    digest = __import__("hashlib").sha256((folder / "entries.jsonl").read_bytes()).hexdigest()
    assert f"entries-sha256 {digest}\n" in (folder / "extract.txt").read_text()

    def rezip(change: dict[str, bytes]) -> bytes:
        out = io.BytesIO()
        with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w") as dst:
            for item in src.infolist():
                dst.writestr(item.filename, change.get(item.filename, src.read(item.filename)))
        return out.getvalue()

    lines = (folder / "entries.jsonl").read_bytes().splitlines(keepends=True)
    tampered = lines[0].replace(b'"alice"', b'"bob"')
    assert (
        verify_extract(
            rezip({"entries.jsonl": b"".join([tampered, *lines[1:]])}), access.public_key()
        ).status
        == "FAILED"
    )
    assert (
        verify_extract(rezip({"entries.jsonl": b"".join(lines[1:])}), access.public_key()).status
        == "FAILED"
    )
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    stranger = NoteSigner(access.signer.name, Ed25519PrivateKey.generate()).verifier
    assert verify_extract(data, stranger).status == "FAILED"
    assert verify_extract(b"not a zip").status == "FAILED"
    if shutil.which("openssl"):
        (folder / "extract.txt").write_text(
            (folder / "extract.txt").read_text().replace("entries 3", "entries 4")
        )
        r = subprocess.run(
            [
                "openssl",
                "pkeyutl",
                "-verify",
                "-pubin",
                "-inkey",
                "log-key.pem",
                "-rawin",
                "-in",
                "extract.txt",
                "-sigfile",
                "extract.sig",
            ],
            cwd=folder,
            capture_output=True,
            text=True,
        )
        assert r.returncode != 0


# --- signed notes -----------------------------------------------------------------------------
def _signer() -> NoteSigner:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    return NoteSigner("archive.example/access-log", Ed25519PrivateKey.generate())


def test_note_format_and_verifier_key_round_trip() -> None:
    signer = _signer()
    note = signer.sign("hello\nworld\n")
    assert note.startswith("hello\nworld\n\n\u2014 archive.example/access-log ")
    parsed = Note.from_text(note)
    assert parsed.text == "hello\nworld\n" and parsed.verified_by(signer.verifier)
    vkey = signer.verifier.to_text()
    assert VerifierKey.from_text(vkey) == signer.verifier
    name, key_id, _ = vkey.split("+", 2)
    assert name == "archive.example/access-log" and len(key_id) == 8
    with pytest.raises(NoteError):
        VerifierKey.from_text(vkey.replace(key_id, "00000000"))


@settings(max_examples=60, deadline=None)
@given(
    position=st.integers(min_value=0, max_value=10_000), bit=st.integers(min_value=0, max_value=7)
)
def test_any_flipped_bit_in_a_checkpoint_note_is_refused(position: int, bit: int) -> None:
    signer = _signer()
    checkpoint = Checkpoint(signer.name, 42, "ab" * 32, datetime(2026, 1, 2, tzinfo=UTC))
    raw = bytearray(signer.sign(checkpoint.text()).encode())
    raw[position % len(raw)] ^= 1 << bit
    try:
        note = Note.from_text(raw.decode("utf-8"))
        assert not note.verified_by(signer.verifier)
    except (NoteError, UnicodeDecodeError):
        pass


def test_checkpoint_text_is_stable_and_round_trips() -> None:
    cp = Checkpoint("o/x", 12, "cd" * 32, datetime(2026, 3, 4, 5, 6, 7, 8, tzinfo=UTC))
    assert cp.body() == (
        b"o/x\ncontract-archive access-log checkpoint v1\ncount 12\nhead "
        + b"cd" * 32
        + b"\ntime 2026-03-04T05:06:07.000008Z\n"
    )
    assert Checkpoint.from_text(cp.text()) == cp
    assert cp.key() == "audit/checkpoints/2026-03-04/000000000012.note"
    for bad in ("", "o/x\nsomething else\n", cp.text().replace("count 12", "count x")):
        with pytest.raises(NoteError):
            Checkpoint.from_text(bad)
