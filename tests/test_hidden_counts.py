"""Counts and summaries hide what the caller may not see (issue 12): the health check, the seal
status, `verify --all`, `reindex` and `recover` count no contract of a restricted class for an
administrator outside its group (admins are subject to restrictions too), and count it for one
inside. Seeded in-process; the commands run as the installed program, as ARCHIVE_USER."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from search_api.app import create_app
from services.access.service import AccessControl
from services.archive import Archive
from tests.access_helpers import auth_headers, ensure_user
from tests.cli_runner import invoke
from tests.conftest import corpus_files, make_settings
from tests.test_cli import run

EN = [p for p in corpus_files("en-cuad", ".pdf") if p.stat().st_size < 200_000][:3]
CODE, GROUP = "LD", "vault"


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[int], int]:
    """Three contracts, the last of class LD restricted to the group vault; ``boss`` is an
    admin outside it, ``keeper`` an admin inside."""
    data = tmp_path_factory.mktemp("hidden-counts") / "var"
    with Archive(make_settings(data), parser_workers=1).open() as archive:
        root = ensure_user(archive, "root", ("admin",), groups=(GROUP,))
        ensure_user(archive, "boss", ("admin",))
        ensure_user(archive, "keeper", ("admin",), groups=(GROUP,))
        access = AccessControl.for_archive(archive)
        ids = []
        for path in EN:
            with open(path, "rb") as fh:
                made = access.ingest(root, fh, filename=path.name, customer="Acme")
            assert made.id is not None
            ids.append(made.id)
        access.update_contract(root, ids[-1], {"classification": CODE})
        access.set_restriction(root, CODE, [GROUP])
    return data, ids, ids[-1]


def as_user(name: str) -> dict[str, str]:
    return {"ARCHIVE_USER": name}


def test_health_counts_only_what_the_admin_may_see(seeded: tuple[Path, list[int], int]) -> None:
    data, ids, _ = seeded
    with Archive(make_settings(data), parser_workers=1).open() as archive:
        app = create_app(archive)
        counts = {}
        for name, groups in (("boss", ()), ("keeper", (GROUP,))):
            headers = auth_headers(archive, "admin", username=name, groups=groups)
            with TestClient(app, headers=headers) as client:
                body = client.get("/api/v1/health").json()
            counts[name] = (body["contracts"], body["indexed"])
    assert counts == {"boss": (len(ids) - 1, len(ids) - 1), "keeper": (len(ids), len(ids))}


def test_seal_status_and_verify_all_count_only_what_the_admin_may_see(
    seeded: tuple[Path, list[int], int],
) -> None:
    data, ids, secret = seeded
    n = len(ids)
    boss = run(data, "seal", env=as_user("boss"))
    keeper = invoke(data, "seal", env=as_user("keeper"))
    assert boss.returncode == keeper.returncode == 0, boss.stderr + keeper.stderr
    assert f"{n - 1} sealed, 0 pending, 0 without a manifest" in boss.stdout
    assert f"{n} sealed, 0 pending, 0 without a manifest" in keeper.stdout
    for name, expected in (("boss", n - 1), ("keeper", n)):
        # the control (keeper, cleared) in-process (tests/cli_runner.py), the admin as the program
        r = (run if name == "boss" else invoke)(
            data, "verify", "--all", "--restart", "--json", env=as_user(name)
        )
        assert r.returncode == 0, r.stdout + r.stderr
        summary = json.loads(r.stdout.strip().splitlines()[-1])["summary"]
        assert summary["checked"] == summary["passed"] == expected, (name, summary)
        assert str(secret) not in json.dumps(summary["findings"])


def test_reindex_and_recover_count_only_what_the_admin_may_see(
    seeded: tuple[Path, list[int], int],
) -> None:
    data, ids, _ = seeded
    n = len(ids)
    boss = run(data, "reindex", env=as_user("boss"))
    keeper = invoke(data, "reindex", env=as_user("keeper"))
    assert boss.returncode == keeper.returncode == 0, boss.stderr + keeper.stderr
    assert f"reindexed {n - 1} contracts" in boss.stdout
    assert f"reindexed {n} contracts" in keeper.stdout
    boss = run(data, "recover", env=as_user("boss"))
    keeper = invoke(data, "recover", env=as_user("keeper"))
    assert boss.returncode == keeper.returncode == 0, boss.stderr + keeper.stderr
    assert f"{n - 1} packages: 0 contracts recovered" in boss.stdout
    assert f"{n - 1} already present" in boss.stdout
    assert f"{n} packages: 0 contracts recovered" in keeper.stdout
    assert f"{n} already present" in keeper.stdout
