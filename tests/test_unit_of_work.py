"""One unit of work per facade change (issues 12 and 13): the record change, its access-log entry
and its next manifest version (row, evidence-ledger leaf; the sealed manifest written to the
object store before the commit) are one database transaction.

Each test runs on the embedded SQLite and on the real PostgreSQL (ARCHIVE_TEST_POSTGRES_URL).
Failures are real: the package's directory is made unwritable (immutable when the tests run as
root, for whom a mode of 0555 is no barrier), the access log refuses an entry through a trigger
in the database. Edits go the user's ways: the API with a token and the installed program as
ARCHIVE_USER. One data directory per database; tests run in file order. The commands that only
set up or check (making the administrator, verify, doctor, the chain checks) run in-process
(tests/cli_runner.py); the edits run as the installed program."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text

from search_api.app import create_app
from services.archive import Archive
from storage.records.access_base import LogFilter
from tests.access_helpers import auth_headers
from tests.cli_runner import invoke
from tests.conftest import corpus_files, make_settings
from tests.test_cli import PROGRAM

pytestmark = pytest.mark.slow  # each database ingests three contracts; six CLI processes race

PDFS = [
    *list(corpus_files("en-cuad", ".pdf"))[:2],
    next(p for p in corpus_files("zh", ".pdf") if "新疆" in p.name),
]


@dataclass
class World:
    data: Path
    url: str | None
    env: dict[str, str]
    ids: list[int]

    def archive(self) -> Archive:
        return Archive(make_settings(self.data, database_url=self.url), parser_workers=1).open()


@pytest.fixture(
    scope="module",
    params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)],
)
def world(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> World:
    url = request.getfixturevalue("postgres_url") if request.param == "postgresql" else None
    data = tmp_path_factory.mktemp(f"unit-{request.param}") / "var"
    env = {"ARCHIVE_DATABASE_URL": url} if url else {}
    first = invoke(data, "users", "list", env=env)  # makes the administrator the CLI acts as
    assert first.returncode == 0, first.stderr
    w = World(data, url, env, [])
    with w.archive() as archive:
        for path in PDFS:
            result = archive.ingest_path(path, display_name=path.name, customer="甲公司")
            assert result.status == "archived", result
            assert result.id is not None
            w.ids.append(result.id)
    return w


@contextlib.contextmanager
def api(world: World) -> Iterator[tuple[Archive, TestClient]]:
    archive = world.archive()
    client = TestClient(
        create_app(archive),
        headers=auth_headers(archive, "admin", username="clerk-api"),
        raise_server_exceptions=False,
    )
    with archive, client:
        yield archive, client


@dataclass(frozen=True)
class Snapshot:
    title: str
    customer: str | None
    owner: str | None
    versions: tuple[int, ...]
    stored: tuple[int, ...]
    leaves: int


def snapshot(archive: Archive, cid: int) -> Snapshot:
    record = archive.get(cid)
    return Snapshot(
        title=record.title,
        customer=record.customer,
        owner=archive.records.get_terms(cid).owner,
        versions=tuple(sorted(r.version for r in archive.seal.seals.manifests(cid))),
        stored=tuple(archive.seal.stored_manifest_versions(record.sha256)),
        leaves=archive.records.leaf_count(),
    )


def entries(archive: Archive, cid: int) -> list[tuple[str, str, dict]]:
    rows = archive.records.access_store().entries(LogFilter(contract_id=cid), limit=10_000)
    return [(e.action, e.outcome, dict(e.details)) for e in rows]


def verified(client: TestClient, cid: int) -> str:
    r = client.get(f"/api/v1/contracts/{cid}/verification")
    assert r.status_code == 200, r.text
    return str(r.json()["overall"])


@contextlib.contextmanager
def unwritable(path: Path) -> Iterator[None]:
    """``path`` refuses new files for real: mode 0555, and immutable for root (chattr +i)."""
    mode = path.stat().st_mode
    os.chmod(path, 0o555)
    immutable = os.geteuid() == 0
    try:
        if immutable:
            subprocess.run(["chattr", "+i", str(path)], check=True, capture_output=True)
        probe = path / "probe"
        try:
            probe.write_bytes(b"x")
        except OSError:
            pass
        else:
            probe.unlink()
            pytest.fail(f"{path} still takes new files")
        yield
    finally:
        if immutable:
            subprocess.run(["chattr", "-i", str(path)], check=True, capture_output=True)
        os.chmod(path, mode)


def package_dir(archive: Archive, cid: int) -> Path:
    sha = archive.get(cid).sha256
    return Path(archive.settings.objects_dir, "packages", sha[:2], sha)


def test_an_ordinary_edit_is_one_entry_and_one_version(world: World) -> None:
    cid = world.ids[0]
    with api(world) as (archive, client):
        before, log = snapshot(archive, cid), entries(archive, cid)
        r = client.patch(f"/api/v1/contracts/{cid}", json={"title": "Amended supply agreement"})
        assert r.status_code == 200, r.text
        after = snapshot(archive, cid)
        assert after.title == "Amended supply agreement"
        assert after.versions == (*before.versions, before.versions[-1] + 1)
        assert after.leaves == before.leaves + 1
        new = entries(archive, cid)[len(log) :]
        assert [(a, o) for a, o, _ in new] == [("contract.update", "ok")]
        assert verified(client, cid) == "PASSED"
    # The installed program, as ARCHIVE_USER.
    with world.archive() as archive:
        before, log = snapshot(archive, cid), entries(archive, cid)
    r = invoke(world.data, "contract", "set", str(cid), "owner=李四", env=world.env)
    assert r.returncode == 0, r.stderr
    with world.archive() as archive:
        after = snapshot(archive, cid)
        assert after.owner == "李四"
        assert after.versions == (*before.versions, before.versions[-1] + 1)
        new = entries(archive, cid)[len(log) :]
        assert [(a, o) for a, o, _ in new] == [("contract.terms.update", "ok")]
        assert new[0][2]["manifest_version"] == after.versions[-1]
    r = invoke(world.data, "verify", str(cid), env=world.env)
    assert r.returncode == 0, r.stdout + r.stderr


def test_a_change_whose_version_cannot_be_written_saves_nothing(world: World) -> None:
    cid = world.ids[1]
    with api(world) as (archive, client):
        before, log = snapshot(archive, cid), entries(archive, cid)
        with unwritable(package_dir(archive, cid)):
            r = client.patch(f"/api/v1/contracts/{cid}", json={"title": "Never saved"})
            assert r.status_code == 503, r.text
            error = r.json()["error"]
            assert error["code"] == "manifest_version_not_issued"
            assert "not saved" in error["message"] and error["hint"]
            cli = invoke(world.data, "contract", "set", str(cid), "owner=不保存", env=world.env)
            assert cli.returncode == 1
            assert "the change was not saved" in cli.stderr and "Traceback" not in cli.stderr
        assert snapshot(archive, cid) == before
        new = entries(archive, cid)[len(log) :]
        assert [(a, o) for a, o, _ in new] == [
            ("contract.update", "failed"),
            ("contract.terms.update", "failed"),
        ]
        for _, _, details in new:
            assert "could not be issued" in details["error"]
            assert details["code"] == "manifest_version_not_issued"
        # The search index was put back as the record is.
        hits = client.get("/api/v1/search", params={"q": '"Never saved"'})
        assert hits.status_code == 200 and hits.json()["total"] == 0, hits.text
        assert verified(client, cid) == "PASSED"
        # Writable again: the same edit goes through.
        r = client.patch(f"/api/v1/contracts/{cid}", json={"title": "Saved now"})
        assert r.status_code == 200, r.text
        assert snapshot(archive, cid).versions == (*before.versions, before.versions[-1] + 1)
        assert verified(client, cid) == "PASSED"


def _refuse_entries(url: str, action: str) -> None:
    engine = create_engine(url)
    with engine.begin() as conn:
        if engine.dialect.name == "sqlite":
            conn.execute(
                text(
                    "CREATE TRIGGER refuse_entry BEFORE INSERT ON access_log "
                    f"WHEN NEW.action = '{action}' "
                    "BEGIN SELECT RAISE(ABORT, 'the test refuses this entry'); END"
                )
            )
        else:
            conn.execute(
                text(
                    "CREATE FUNCTION refuse_entry() RETURNS trigger AS $$ BEGIN "
                    "RAISE EXCEPTION 'the test refuses this entry'; END $$ LANGUAGE plpgsql"
                )
            )
            conn.execute(
                text(
                    "CREATE TRIGGER refuse_entry BEFORE INSERT ON access_log FOR EACH ROW "
                    f"WHEN (NEW.action = '{action}') EXECUTE FUNCTION refuse_entry()"
                )
            )
    engine.dispose()


def _allow_entries(url: str) -> None:
    engine = create_engine(url)
    with engine.begin() as conn:
        if engine.dialect.name == "sqlite":
            conn.execute(text("DROP TRIGGER refuse_entry"))
        else:
            conn.execute(text("DROP TRIGGER refuse_entry ON access_log"))
            conn.execute(text("DROP FUNCTION refuse_entry()"))
    engine.dispose()


def test_a_change_whose_log_entry_cannot_be_written_leaves_nothing(world: World) -> None:
    cid = world.ids[2]
    with api(world) as (archive, client):
        url = archive.settings.effective_database_url
        before, log = snapshot(archive, cid), entries(archive, cid)
        # The terms' entry is written last in the unit, after the manifest went to the store.
        _refuse_entries(url, "contract.terms.update")
        try:
            r = client.patch(f"/api/v1/contracts/{cid}/terms", json={"owner": "王五"})
            assert r.status_code == 503, r.text
            assert r.json()["error"]["code"] == "access_log_unavailable"
            assert "not carried out" in r.json()["error"]["message"]
            cli = invoke(world.data, "contract", "set", str(cid), "owner=王五", env=world.env)
            assert cli.returncode == 1 and "access log" in cli.stderr, cli.stderr
        finally:
            _allow_entries(url)
        # Nothing: no change, no manifest row, no ledger leaf, no manifest object left behind.
        assert snapshot(archive, cid) == before
        assert entries(archive, cid) == log
        assert verified(client, cid) == "PASSED"
    r = invoke(world.data, "doctor", "--json", env=world.env)
    findings = json.loads(r.stdout)["findings"] if r.stdout.strip() else []
    assert not [f for f in findings if f.get("code") == "unrecorded_manifest"], findings


def test_concurrent_edits_keep_the_log_chain_and_the_ledger(world: World) -> None:
    """Four processes of the installed program edit two contracts at once (two each): every
    edit is saved with its entry and its version, the access log's chain and the evidence
    ledger verify. (The other tests run their commands in-process: their subject is the unit
    of work, which is the same code.)"""
    edited = world.ids[:2]
    with world.archive() as archive:
        before = {cid: snapshot(archive, cid) for cid in world.ids}
    environment = {**os.environ, "ARCHIVE_DATA_DIR": str(world.data), **world.env}
    procs = [
        subprocess.Popen(
            [PROGRAM, "contract", "set", str(cid), f"department=部门{cid}-{n}"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=environment,
        )
        for cid in edited
        for n in range(2)
    ]
    for p in procs:
        _, err = p.communicate(timeout=300)
        assert p.returncode == 0, err
    with world.archive() as archive:
        for cid in edited:
            after = snapshot(archive, cid)
            assert len(after.versions) == len(before[cid].versions) + 2
            assert after.stored == after.versions
        assert archive.records.leaf_count() == before[world.ids[0]].leaves + 4
    for args in (("audit", "verify"), ("ledger", "verify"), ("verify", "--all")):
        r = invoke(world.data, *args, env=world.env)
        assert r.returncode == 0, (args, r.stdout, r.stderr)
