"""Contract content through the facade (issue 12): what an ingest says about a duplicate the
caller may not see, page images and page text read with a purpose and logged, and the command
line acting as ARCHIVE_USER (hiding what the API hides, its history under that user)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from core.settings import reset_settings
from search_api.app import create_app
from services.access.service import AccessControl
from services.archive import Archive
from storage.records.access_base import LogFilter
from tests.access_helpers import auth_headers, ensure_user
from tests.conftest import corpus_files, make_settings

ZH = next(p for p in corpus_files("zh", ".pdf") if "新疆" in p.name)
EN = next(p for p in corpus_files("en-cuad", ".pdf") if "JOINT FILING" in p.name)
HTML = {"Accept": "text/html"}
PASSWORD = "a long new passphrase 42"
SECRET_TITLE = "劳动合同 机密"


def restricted_world(archive: Archive) -> dict[str, int]:
    """Two contracts: one of the class LD, restricted to the group hr, and one open."""
    root = ensure_user(archive, "root", ("admin",))
    access = AccessControl.for_archive(archive)
    ids = {}
    for key, path, cls, title in (("labour", ZH, "LD", SECRET_TITLE), ("en", EN, None, None)):
        with open(path, "rb") as fh:
            result = access.ingest(root, fh, filename=path.name, classification=cls, title=title)
        assert result.status == "archived" and result.id
        ids[key] = result.id
    access.set_restriction(root, "LD", ["hr"])
    return ids


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Archive, dict[str, int]]]:
    settings = make_settings(tmp_path_factory.mktemp("content") / "var")
    with Archive(settings, parser_workers=1).open() as archive:
        yield archive, restricted_world(archive)


def entries(archive: Archive, **flt: Any) -> list[Any]:
    return AccessControl.for_archive(archive).store.entries(LogFilter(**flt), limit=100)


# --- 1. a duplicate of a hidden contract ------------------------------------------------------
def test_a_duplicate_upload_does_not_reveal_a_hidden_contract(world: Any) -> None:
    archive, ids = world
    labour = ids["labour"]
    outsider = auth_headers(archive, "archivist", username="ada")
    cleared = auth_headers(archive, "archivist", username="ida", groups=("hr",))
    app = create_app(archive)
    with TestClient(app, raise_server_exceptions=False, headers=outsider) as client:
        r = client.post(
            "/api/v1/contracts", files={"file": (ZH.name, ZH.read_bytes(), "application/pdf")}
        )
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["status"] == "duplicate"
        assert body["id"] is None and body["title"] is None and body["contract"] is None
        assert body["pages"] is None
        assert SECRET_TITLE not in r.text and f"contract {labour}" not in r.text
        assert "may not see" in body["reason"]
        # the web's upload form says the same
        page = client.post(
            "/upload",
            headers=HTML,
            files={"files": (ZH.name, ZH.read_bytes(), "application/pdf")},
        )
        assert page.status_code == 200, page.text
        assert f"/contracts/{labour}" not in page.text and SECRET_TITLE not in page.text
    with TestClient(app, raise_server_exceptions=False, headers=cleared) as client:
        r = client.post(
            "/api/v1/contracts", files={"file": (ZH.name, ZH.read_bytes(), "application/pdf")}
        )
        assert r.status_code == 200
        assert r.json()["id"] == labour and r.json()["contract"]["title"] == SECRET_TITLE
    # the log keeps which contract it was, for the auditors
    ada = entries(archive, actor="ada", action="contract.ingest")
    assert ada and {e.outcome for e in ada} == {"duplicate"}
    assert {e.contract_id for e in ada} == {labour}


# --- 2. page images and page text --------------------------------------------------------------
def log_in(client: TestClient, archive: Archive, username: str, groups: tuple[str, ...]) -> None:
    """A user made with a one-time password, signed in through the log-in form."""
    root = ensure_user(archive, "root", ("admin",))
    _, one_time = AccessControl.for_archive(archive).create_user(
        root, username, roles=["legal"], groups=list(groups)
    )
    assert one_time
    r = client.post("/login", data={"username": username, "password": one_time, "next": "/"})
    form = client.get("/account/password")
    token = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
    assert token, form.text
    r = client.post(
        "/account/password",
        data={"current_password": one_time, "new_password": PASSWORD, "csrf_token": token[1]},
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    r = client.post(
        "/login",
        data={"username": username, "password": PASSWORD, "next": "/"},
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text


def test_page_images_and_text_are_read_with_a_purpose_and_logged(world: Any) -> None:
    archive, ids = world
    labour, en = ids["labour"], ids["en"]
    with TestClient(create_app(archive), raise_server_exceptions=False, headers=HTML) as client:
        log_in(client, archive, "hanna", ("hr",))
        # A restricted contract: the record shows, its pages wait for a purpose.
        page = client.get(f"/contracts/{labour}")
        assert page.status_code == 200, page.text
        assert 'id="purpose-form"' in page.text and 'name="purpose"' in page.text
        assert f"/contracts/{labour}/pages/1.png" not in page.text
        assert 'class="page-text-body"' not in page.text
        image = client.get(f"/contracts/{labour}/pages/1.png")
        assert image.status_code == 400 and "purpose" in image.text
        refused = entries(archive, actor="hanna", action="contract.page", contract_id=labour)
        assert refused and {e.outcome for e in refused} == {"refused"}
        # With a purpose: the pages show, their links carry it, and each read is logged with it.
        page = client.get(f"/contracts/{labour}", params={"purpose": "case 17"})
        assert page.status_code == 200
        assert f"/contracts/{labour}/pages/1.png?purpose=case%2017" in page.text
        assert 'class="page-text-body"' in page.text and 'id="purpose-form"' not in page.text
        image = client.get(f"/contracts/{labour}/pages/1.png", params={"purpose": "case 17"})
        assert image.status_code == 200 and image.content.startswith(b"\x89PNG")
        read = [
            e
            for e in entries(archive, actor="hanna", action="contract.page", contract_id=labour)
            if e.outcome == "ok"
        ]
        assert {e.details["file"] for e in read} == {"text", "image"}
        assert {e.purpose for e in read} == {"case 17"}
        # An open contract needs no purpose, and its page reads are logged all the same.
        assert client.get(f"/contracts/{en}").status_code == 200
        assert client.get(f"/contracts/{en}/pages/1.png").status_code == 200
        open_reads = entries(archive, actor="hanna", action="contract.page", contract_id=en)
        assert {(e.outcome, e.details["file"]) for e in open_reads} == {
            ("ok", "text"),
            ("ok", "image"),
        }
    # The whole text is the same content: through the API too it needs the purpose.
    cleared = auth_headers(archive, "legal", username="hugo", groups=("hr",))
    with TestClient(create_app(archive), raise_server_exceptions=False, headers=cleared) as c:
        r = c.get(f"/api/v1/contracts/{labour}/text")
        assert r.status_code == 400 and r.json()["error"]["code"] == "purpose_required"
        r = c.get(f"/api/v1/contracts/{labour}/text", params={"purpose": "case 17"})
        assert r.status_code == 200 and r.json()["pages"]
    texts = entries(archive, actor="hugo", action="contract.text", contract_id=labour)
    assert {(e.outcome, e.purpose) for e in texts} == {("refused", None), ("ok", "case 17")}
    # Someone not cleared for the class does not learn that it exists.
    outsider = {**HTML, **auth_headers(archive, "legal", username="otto")}
    with TestClient(create_app(archive), raise_server_exceptions=False, headers=outsider) as c:
        r = c.get(f"/contracts/{labour}/pages/1.png", params={"purpose": "curious"})
        assert r.status_code == 404


# --- 3. the command line acts as ARCHIVE_USER ----------------------------------------------------
@pytest.fixture
def cli_data(tmp_path: Path) -> Iterator[tuple[Path, dict[str, int]]]:
    data = tmp_path / "var"
    with Archive(make_settings(data), parser_workers=1).open() as archive:
        ids = restricted_world(archive)
        ensure_user(archive, "ada", ("archivist",))
        ensure_user(archive, "lin", ("legal",))
    yield data, ids
    reset_settings()


def cli(monkeypatch: pytest.MonkeyPatch, data: Path, user: str, *args: str) -> Any:
    from contract_archive.cli import app

    monkeypatch.setenv("ARCHIVE_DATA_DIR", str(data))
    monkeypatch.setenv("ARCHIVE_USER", user)
    reset_settings()
    return CliRunner().invoke(app, list(args))


def test_cli_commands_act_as_archive_user_and_hide_what_the_api_hides(
    cli_data: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    data, ids = cli_data
    labour, en = ids["labour"], ids["en"]
    # ingest: a duplicate of the hidden contract is not named
    r = cli(monkeypatch, data, "ada", "ingest", str(ZH), "--json", "--no-ocr")
    assert r.exit_code == 0, r.output
    line = json.loads(r.stdout.strip().splitlines()[-1])
    assert line["status"] == "duplicate" and line["id"] is None and line["title"] is None
    assert SECRET_TITLE not in r.output
    # reads: what the API hides is missing here too
    r = cli(monkeypatch, data, "lin", "search", "合同 OR agreement", "--json")
    assert r.exit_code == 0, r.output
    assert labour not in [h["id"] for h in json.loads(r.stdout)["hits"]]
    for args in (["show", str(labour)], ["text", str(labour)], ["ocr", str(labour)]):
        r = cli(monkeypatch, data, "ada" if args[0] == "ocr" else "lin", *args)
        assert r.exit_code == 1 and "does not exist" in r.output, (args, r.output)
        assert SECRET_TITLE not in r.output
    r = cli(monkeypatch, data, "ada", "legal-hold", "show", str(labour))
    assert r.exit_code == 1 and "does not exist" in r.output
    # what the commands did is logged under ARCHIVE_USER, as the facade's actions
    r = cli(monkeypatch, data, "ada", "ocr", str(en), "--retry", "--no-wait", "--json")
    assert r.exit_code == 0, r.output
    with Archive(make_settings(data), parser_workers=1).open() as archive:
        ada = {(e.action, e.outcome, e.contract_id) for e in entries(archive, actor="ada")}
        lin = {(e.action, e.outcome, e.contract_id) for e in entries(archive, actor="lin")}
        assert ("contract.ingest", "duplicate", labour) in ada
        assert ("contract.ocr", "ok", en) in ada
        assert ("contract.ocr_retry", "ok", en) in ada
        assert ("contract.locks", "not_found", labour) in ada or (
            "contract.locks",
            "denied",
            labour,
        ) in ada
        assert ("contract.view", "denied", labour) in lin
        assert ("contract.text", "denied", labour) in lin
        assert not [e for e in entries(archive) if e.action.startswith("cli.")]
