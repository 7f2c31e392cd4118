"""The evidence ledger in an archive: every manifest version a leaf, signed and timestamped
checkpoints, proofs over the CLI and the API, the export's ``verify_proof.py`` run by a bare
Python, and the tamper twins: each kind of damage named by ``contract-archive ledger verify``.

One archive is made for the module (two contracts, a second manifest version of each, a
checkpoint after the first two leaves and one after all four); a test that damages it works on a
copy, directly in the database as an attacker with write access would.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import sqlite3
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from typer.testing import CliRunner

from contract_archive.cli import app as cli_app
from core.settings import Settings, reset_settings
from services.archive import Archive
from signing.ledger import CheckpointBody, leaf_data, leaf_hash, root_of, verify_inclusion
from signing.notes import NoteSigner
from tests.access_helpers import client_as
from tests.conftest import corpus_files, make_settings

PROGRAM = str(Path(sys.executable).parent / "contract-archive")
CUAD = corpus_files("en-cuad", ".pdf")
SHORT = sorted(CUAD, key=lambda p: p.stat().st_size)[:2]
BARE_PYTHON = Path(sys.base_prefix) / "bin" / "python3"


def cli(data_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """The installed program, as a user runs it."""
    env = {**os.environ, "ARCHIVE_DATA_DIR": str(data_dir), "ARCHIVE_LOG_LEVEL": "error"}
    return subprocess.run(
        [PROGRAM, *args], capture_output=True, text=True, env=env, timeout=300, check=False
    )


@dataclass
class Ran:
    returncode: int
    stdout: str
    stderr: str


def run(data_dir: Path, *args: str) -> Ran:
    """The same Typer app in this process (no interpreter start-up: the tamper twins and the
    bad files run many commands); stdout and stderr are both in ``stdout`` and ``stderr``."""
    saved = os.environ.get("ARCHIVE_DATA_DIR")
    os.environ["ARCHIVE_DATA_DIR"] = str(data_dir)
    reset_settings()
    try:
        result = CliRunner().invoke(cli_app, list(args), catch_exceptions=False)
    finally:
        if saved is None:
            os.environ.pop("ARCHIVE_DATA_DIR", None)
        else:
            os.environ["ARCHIVE_DATA_DIR"] = saved
        reset_settings()
    return Ran(result.exit_code, result.stdout, result.output)


@pytest.fixture(scope="module")
def ledgered(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    settings = make_settings(tmp_path_factory.mktemp("ledger") / "var")
    with Archive(settings, parser_workers=1).open() as archive:
        ids = []
        for path in SHORT:
            result = archive.ingest_path(path)
            assert result.status == "archived", result
            assert result.id is not None
            ids.append(result.id)
        archive.seal.ledger.checkpoint()
        for cid in ids:
            archive.seal.issue(archive.get(cid), embedded=None)  # manifest v2
        archive.seal.ledger.checkpoint()
    return settings


@pytest.fixture
def copy(ledgered: Settings, tmp_path: Path) -> Path:
    target = tmp_path / "var"
    shutil.copytree(ledgered.data_dir, target, symlinks=True)
    return target


def db(data_dir: Path) -> sqlite3.Connection:
    return sqlite3.connect(data_dir / "archive.db", isolation_level=None)


def real_signer(data_dir: Path) -> NoteSigner:
    key = serialization.load_pem_private_key(
        (data_dir / "keys" / "ledger-ed25519.pem").read_bytes(), None
    )
    assert isinstance(key, Ed25519PrivateKey)
    return NoteSigner("contract-archive/ledger", key)


def add_checkpoint(data_dir: Path, size: int, root: bytes, note: str) -> None:
    with db(data_dir) as conn:
        conn.execute(
            "INSERT INTO ledger_checkpoints (tree_size, root_hash, note, issued_at) "
            "SELECT ?, ?, ?, issued_at FROM ledger_checkpoints ORDER BY id DESC LIMIT 1",
            (size, root.hex(), note),
        )


def leaf_hashes(data_dir: Path) -> list[bytes]:
    with db(data_dir) as conn:
        rows = conn.execute("SELECT data FROM ledger_leaves ORDER BY idx").fetchall()
    return [leaf_hash(r[0].encode()) for r in rows]


# --- appending --------------------------------------------------------------------------------
def test_every_manifest_version_is_one_leaf_in_issue_order(ledgered: Settings) -> None:
    with db(ledgered.data_dir) as conn:
        leaves = conn.execute(
            "SELECT idx, contract_id, version, manifest_sha256, data FROM ledger_leaves "
            "ORDER BY idx"
        ).fetchall()
        manifests = conn.execute(
            "SELECT contract_id, version, manifest_sha256 FROM package_manifests"
        ).fetchall()
        checkpoints = conn.execute(
            "SELECT tree_size, timestamp_token IS NOT NULL FROM ledger_checkpoints ORDER BY id"
        ).fetchall()
    assert [r[0] for r in leaves] == [0, 1, 2, 3]
    assert sorted(r[1:4] for r in leaves) == sorted(manifests)
    assert [r[2] for r in leaves] == [1, 1, 2, 2]
    for _, cid, version, digest, data in leaves:
        assert data.encode() == leaf_data(cid, version, digest)
    assert checkpoints == [(2, 1), (4, 1)]  # both signed and timestamped


def test_append_is_idempotent_and_withdraw_takes_back_only_an_uncommitted_last_leaf(
    copy: Path,
) -> None:
    with Archive(make_settings(copy), parser_workers=1).open() as archive:
        ledger = archive.seal.ledger
        first = ledger.append(1, 1, leaf_data_digest(copy, 0))
        assert first.idx == 0  # the same version and digest: the leaf already there
        assert not ledger.withdraw(1, 1, first.manifest_sha256)  # covered: it stays
        new = ledger.append(99, 1, "cd" * 32)
        assert new.idx == 4 and ledger.append(99, 1, "cd" * 32).idx == 4
        assert ledger.withdraw(99, 1, "cd" * 32)
        assert archive.records.leaf_count() == 4


def leaf_data_digest(data_dir: Path, idx: int) -> str:
    with db(data_dir) as conn:
        return str(
            conn.execute(
                "SELECT manifest_sha256 FROM ledger_leaves WHERE idx = ?", (idx,)
            ).fetchone()[0]
        )


# --- the CLI and the API ----------------------------------------------------------------------
def test_verify_prove_and_consistency_on_the_command_line(copy: Path) -> None:
    r = cli(copy, "ledger", "verify")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "PASSED" in r.stdout and "4 leaves, 2 checkpoints" in r.stdout

    r = cli(copy, "ledger", "prove", "1", "--json")
    assert r.returncode == 0, r.stderr
    proof = json.loads(r.stdout)
    body = CheckpointBody.from_text(proof["checkpoint"].split("\n\n")[0] + "\n")
    assert proof["leaf"]["version"] == 2 and proof["tree_size"] == body.size == 4
    path = [base64.b64decode(p) for p in proof["inclusion_path"]]
    leaf = leaf_hash(proof["leaf"]["data"].encode())
    assert verify_inclusion(leaf, proof["leaf_index"], 4, path, body.root)

    (copy / "proof.json").write_text(r.stdout)
    r = run(copy, "ledger", "check-proof", str(copy / "proof.json"))
    assert r.returncode == 0, r.stdout + r.stderr
    assert "is in the tree of the checkpoint" in r.stdout

    r = run(copy, "ledger", "consistency", "2", "4", "--json")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["verified"] is True
    r = run(copy, "ledger", "consistency", "2", "9")
    assert r.returncode == 1 and "not 9" in r.stderr


def test_api_lists_checkpoints_and_gives_a_contracts_proof(copy: Path) -> None:
    with (
        Archive(make_settings(copy), parser_workers=1).open() as archive,
        client_as(archive, "auditor") as c,
    ):
        r = c.get("/api/v1/ledger/checkpoints")
        assert r.status_code == 200, r.text
        doc = r.json()
        assert doc["key"].startswith("contract-archive/ledger+")
        assert [cp["tree_size"] for cp in doc["checkpoints"]] == [2, 4]
        assert all(cp["timestamp_time"] for cp in doc["checkpoints"])

        proof = c.get("/api/v1/contracts/2/proof").json()
        root = CheckpointBody.from_text(proof["checkpoint"].split("\n\n")[0] + "\n").root
        path = [base64.b64decode(p) for p in proof["inclusion_path"]]
        assert verify_inclusion(
            base64.b64decode(proof["leaf"]["hash"]), proof["leaf_index"], 4, path, root
        )
        assert c.get("/api/v1/contracts/424242/proof").status_code == 404
        r = c.get("/api/v1/ledger/consistency", params={"old": 2, "new": 4})
        assert r.json()["verified"] is True
        assert c.get("/api/v1/ledger/verification").json()["status"] == "PASSED"


# --- the export, checked with nothing of ours ---------------------------------------------------
def test_the_exports_script_checks_the_proof_with_a_bare_python(copy: Path, tmp_path: Path) -> None:
    out = tmp_path / "export"
    r = cli(copy, "export", "1", str(out))
    assert r.returncode == 0, r.stderr
    for name in ("ledger-proof.json", "ledger-checkpoint.txt", "ledger-key.txt", "verify_proof.py"):
        assert (out / name).is_file(), name

    def check(folder: Path) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(BARE_PYTHON), "-I", "verify_proof.py"],
            cwd=folder,
            capture_output=True,
            text=True,
            env={"PATH": "/usr/bin:/bin"},
            timeout=60,
            check=False,
        )

    r = check(out)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "All checks PASSED" in r.stdout
    assert "the checkpoint's Ed25519 signature verifies" in r.stdout

    twins = {
        "manifest.json": lambda b: b.replace(b'"manifest_version":2', b'"manifest_version":3'),
        "ledger-checkpoint.txt": lambda b: b.replace(b"\n4\n", b"\n5\n", 1),
        "ledger-key.txt": lambda _b: (
            NoteSigner("contract-archive/ledger", Ed25519PrivateKey.generate()).verifier.to_text()
        ).encode(),
        "original.pdf": lambda b: b[:-1] + bytes([b[-1] ^ 1]),
    }
    for name, change in twins.items():
        twin = tmp_path / f"twin-{name}"
        shutil.copytree(out, twin)
        (twin / name).write_bytes(change((twin / name).read_bytes()))
        r = check(twin)
        assert r.returncode == 1, (name, r.stdout)
        assert "FAILED" in r.stdout, name


# --- tamper twins -------------------------------------------------------------------------------
def _remove(d: Path) -> None:
    with db(d) as conn:
        conn.execute("DELETE FROM ledger_leaves WHERE idx = 1")


def _reorder(d: Path) -> None:
    with db(d) as conn:  # contract 1's v1 and v2 change places
        conn.execute("UPDATE ledger_leaves SET idx = -1 WHERE idx = 0")
        conn.execute("UPDATE ledger_leaves SET idx = 0 WHERE idx = 2")
        conn.execute("UPDATE ledger_leaves SET idx = 2 WHERE idx = -1")


def _alter(d: Path) -> None:
    with db(d) as conn:  # a leaf rewritten consistently for another manifest digest
        cid, version = conn.execute(
            "SELECT contract_id, version FROM ledger_leaves WHERE idx = 1"
        ).fetchone()
        data = leaf_data(cid, version, "ee" * 32)
        conn.execute(
            "UPDATE ledger_leaves SET manifest_sha256 = ?, data = ?, leaf_hash = ? WHERE idx = 1",
            ("ee" * 32, data.decode(), leaf_hash(data).hex()),
        )


def _alter_data(d: Path) -> None:
    with db(d) as conn:
        conn.execute(
            "UPDATE ledger_leaves SET data = replace(data, '\"version\":1', '\"version\":7') WHERE idx = 0"
        )


def _forge(d: Path) -> None:
    with db(d) as conn:
        note = conn.execute("SELECT note FROM ledger_checkpoints WHERE id = 2").fetchone()[0]
    text, _, sig = note.rstrip("\n").rpartition("\n\n")
    name, _, b64sig = sig[2:].partition(" ")
    raw = bytearray(base64.b64decode(b64sig))
    raw[-1] ^= 1
    forged = f"{text}\n\n\u2014 {name} {base64.b64encode(bytes(raw)).decode()}\n"
    body = CheckpointBody.from_text(text + "\n")
    add_checkpoint(d, body.size, body.root, forged)


def _wrong_key(d: Path) -> None:
    hashes = leaf_hashes(d)
    body = CheckpointBody("contract-archive/ledger", 4, root_of(hashes))
    other = NoteSigner("contract-archive/ledger", Ed25519PrivateKey.generate())
    add_checkpoint(d, 4, body.root, other.sign(body.text()))


def _truncate(d: Path) -> None:
    with db(d) as conn:
        conn.execute("DELETE FROM ledger_leaves WHERE idx = 3")


def _smaller_checkpoint(d: Path) -> None:
    hashes = leaf_hashes(d)
    body = CheckpointBody("contract-archive/ledger", 3, root_of(hashes[:3]))
    add_checkpoint(d, 3, body.root, real_signer(d).sign(body.text()))


def _fork(d: Path) -> None:
    hashes = leaf_hashes(d)
    other = root_of([*hashes[:3], leaf_hash(b"another history")])
    body = CheckpointBody("contract-archive/ledger", 4, other)
    add_checkpoint(d, 4, other, real_signer(d).sign(body.text()))


def _timestamp(d: Path) -> None:
    with db(d) as conn:
        token = bytearray(
            conn.execute("SELECT timestamp_token FROM ledger_checkpoints WHERE id = 1").fetchone()[
                0
            ]
        )
        token[-10] ^= 1
        conn.execute(
            "UPDATE ledger_checkpoints SET timestamp_token = ? WHERE id = 1", (bytes(token),)
        )


TWINS = {
    "leaf removed": (_remove, {"leaf_removed", "checkpoint_mismatch"}, "leaf 1 is missing"),
    "leaves reordered": (_reorder, {"leaf_reordered", "checkpoint_mismatch"}, "leaf 2"),
    "leaf altered": (_alter, {"leaf_altered", "checkpoint_mismatch"}, "leaf 1"),
    "leaf data altered": (_alter_data, {"leaf_altered", "checkpoint_mismatch"}, "leaf 0"),
    "checkpoint forged": (_forge, {"checkpoint_forged"}, "checkpoint #3"),
    "checkpoint of another key": (_wrong_key, {"checkpoint_wrong_key"}, "checkpoint #3"),
    "tree cut off": (_truncate, {"tree_rolled_back"}, "covers 4"),
    "later checkpoint smaller": (_smaller_checkpoint, {"tree_rolled_back"}, "fewer than"),
    "two roots for one size": (
        _fork,
        {"tree_rolled_back", "checkpoint_mismatch"},
        "different roots",
    ),
    "timestamp damaged": (_timestamp, {"timestamp_invalid"}, "checkpoint #1"),
}


@pytest.mark.parametrize("twin", list(TWINS))
def test_tamper_twin_is_detected_and_named(copy: Path, twin: str) -> None:
    damage, kinds, words = TWINS[twin]
    damage(copy)
    r = run(copy, "ledger", "verify", "--json")
    assert r.returncode == 1, (twin, r.stdout, r.stderr)
    report = json.loads(r.stdout)
    assert report["status"] == "FAILED"
    found = {p["kind"] for p in report["problems"]}
    assert kinds <= found, (twin, report["problems"])
    assert any(words in p["message"] for p in report["problems"]), report["problems"]
    r = run(copy, "ledger", "verify")  # the plain output names it too
    assert r.returncode == 1 and all(k in r.stdout for k in kinds), r.stdout


# --- bad input ----------------------------------------------------------------------------------
def test_bad_checkpoint_and_proof_files_get_an_error_naming_them(
    copy: Path, tmp_path: Path
) -> None:
    with db(copy) as conn:
        note = conn.execute("SELECT note FROM ledger_checkpoints WHERE id = 2").fetchone()[0]
        before = conn.execute("SELECT count(*) FROM ledger_checkpoints").fetchone()[0]
    good = tmp_path / "good.txt"
    good.write_text(note)
    r = run(copy, "ledger", "verify", "--checkpoint", str(good))
    assert r.returncode == 0, r.stdout + r.stderr
    assert "3 checkpoints" in r.stdout

    foreign_body = CheckpointBody("other.example/ledger", 4, bytes(32))
    other = NoteSigner("other.example/ledger", Ed25519PrivateKey.generate())
    body = CheckpointBody.from_text(note.split("\n\n")[0] + "\n")
    files = {
        "truncated.txt": (note[: len(note) // 2], "not a signed checkpoint"),
        "binary.txt": (None, "is not text"),
        "empty.txt": ("", "not a signed checkpoint"),
        "foreign.txt": (other.sign(foreign_body.text()), "another ledger"),
        "other-key.txt": (
            NoteSigner("contract-archive/ledger", Ed25519PrivateKey.generate()).sign(body.text()),
            "not signed by this archive's ledger key",
        ),
    }
    for name, (text, words) in files.items():
        path = tmp_path / name
        if text is None:
            path.write_bytes(b"\x89PNG\r\n\x1a\n\xff\xfe" * 10)
        else:
            path.write_text(text)
        r = run(copy, "ledger", "verify", "--checkpoint", str(path))
        assert r.returncode == 1, (name, r.stdout)
        # the console may wrap a long path anywhere, even inside a word
        assert str(path) in "".join(r.stderr.split()), (name, r.stderr)
        assert words in " ".join(r.stderr.split()), (name, r.stderr)
        assert "Traceback" not in r.stderr

    r = run(copy, "ledger", "prove", "1", "--json")
    proof = json.loads(r.stdout)
    bad_proofs = {
        "cut.json": (r.stdout[: len(r.stdout) // 3], "not JSON"),
        "other.json": (json.dumps({"format": "something else"}), "not a contract-archive"),
        "bent.json": (
            json.dumps({**proof, "leaf_index": (proof["leaf_index"] + 1) % 4}),
            "does not lead to the checkpoint's root",
        ),
        "foreign.json": (
            json.dumps({**proof, "checkpoint": other.sign(foreign_body.text())}),
            "another ledger",
        ),
    }
    for name, (text, words) in bad_proofs.items():
        path = tmp_path / name
        path.write_text(text)
        r = run(copy, "ledger", "check-proof", str(path))
        assert r.returncode == 1, (name, r.stdout, r.stderr)
        assert words in " ".join((r.stdout + r.stderr).split()), (name, r.stdout, r.stderr)
        assert "Traceback" not in r.stderr
    with db(copy) as conn:  # nothing was written by any of them
        assert conn.execute("SELECT count(*) FROM ledger_checkpoints").fetchone()[0] == before


def test_the_servers_schedule_checkpoints_after_a_batch_and_when_the_last_is_old(
    copy: Path,
) -> None:
    from services.ledger import LedgerSchedule

    with Archive(make_settings(copy), parser_workers=1).open() as archive:
        schedule = LedgerSchedule(archive.seal.ledger, interval=60)
        assert not schedule.tick()  # nothing new, the last checkpoint is recent
        archive.seal.issue(archive.get(1), embedded=None)  # a batch of one: manifest v3
        assert schedule.tick()
        assert archive.records.latest_checkpoint().tree_size == 5  # type: ignore[union-attr]
        assert not schedule.tick()
    with Archive(
        make_settings(copy, ledger_checkpoint_hours=1e-9), parser_workers=1
    ).open() as archive:
        assert LedgerSchedule(archive.seal.ledger, interval=60).tick()  # "at least daily"
        assert len(archive.records.checkpoints()) == 4


def test_a_tsa_that_fails_leaves_the_checkpoint_signed_with_the_reason(copy: Path) -> None:
    class DownTsa:
        async def async_timestamp(self, digest: bytes, algorithm: str) -> object:
            raise OSError("connection refused by tsa.example")

    with Archive(make_settings(copy), parser_workers=1).open() as archive:
        ledger = archive.seal.ledger
        ledger._timestamper = DownTsa  # type: ignore[assignment]
        row = ledger.checkpoint()
        assert row is not None and row.timestamp_token is None
        assert "connection refused by tsa.example" in (row.timestamp_error or "")
        report = ledger.verify()
        assert report.status == "PASSED", report.problems
        assert any("has no timestamp" in w for w in report.warnings)
