"""Manifest versions (issue 13): every change to what the manifest covers issues the next
version, sealed and chained to the one before, with who, when and what changed; verification
compares the record with the latest version and checks the chain back to the first.

Edits go the user's ways: the API with a token, a web form, and the installed program as
ARCHIVE_USER. One data directory for the module; tests run in file order."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from search_api.app import create_app
from services.archive import Archive
from signing.manifest import manifest_name
from tests.access_helpers import auth_headers
from tests.cli_runner import invoke
from tests.conftest import corpus_files, make_settings
from tests.test_cli import run

ZH_PDF = next(p for p in corpus_files("zh", ".pdf") if "新疆" in p.name)
EN_PDF = next(p for p in corpus_files("en-cuad", ".pdf") if "JOINT FILING" in p.name)
HTML = {"accept": "text/html,application/xhtml+xml"}


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, int]]:
    data = tmp_path_factory.mktemp("versions") / "var"
    # The first command makes the administrator the CLI acts as (ARCHIVE_USER=admin).
    first = invoke(data, "users", "list")
    assert first.returncode == 0, first.stderr
    with Archive(make_settings(data), parser_workers=1).open() as archive:
        ids = {}
        for key, path in (("zh", ZH_PDF), ("en", EN_PDF)):
            result = archive.ingest_path(path, display_name=path.name, customer="甲公司")
            assert result.status == "archived", result
            ids[key] = result.id
    return data, ids


def open_client(data: Path) -> tuple[Archive, TestClient]:
    archive = Archive(make_settings(data), parser_workers=1).open()
    client = TestClient(
        create_app(archive),
        headers=auth_headers(archive, "admin", username="clerk-api"),
        raise_server_exceptions=False,
    )
    return archive, client


def history(client: TestClient, cid: int) -> list[dict]:
    r = client.get(f"/api/v1/contracts/{cid}/manifests")
    assert r.status_code == 200, r.text
    assert r.json()["id"] == cid
    return r.json()["versions"]


def verification(client: TestClient, cid: int) -> dict:
    r = client.get(f"/api/v1/contracts/{cid}/verification")
    assert r.status_code == 200, r.text
    return r.json()


def test_ingest_issues_version_one_and_verifies(data) -> None:
    folder, ids = data
    archive, client = open_client(folder)
    with archive, client:
        versions = history(client, ids["zh"])
        assert [v["version"] for v in versions] == [1]
        assert versions[0]["action"] == "contract.ingest" and versions[0]["changed"] == {}
        report = verification(client, ids["zh"])
        assert report["overall"] == "PASSED", report["summary"]
        chain = next(c for c in report["checks"] if c["id"] == "manifest_chain")
        assert chain["status"] == "PASSED" and chain["details"]["versions"] == [1]


def test_every_editable_field_through_the_api_issues_a_version(data) -> None:
    folder, ids = data
    cid = ids["zh"]
    archive, client = open_client(folder)
    with archive, client:
        code = "CG" if archive.get(cid).classification != "CG" else "FW"
        edits = [
            ("PATCH", f"/api/v1/contracts/{cid}", {"title": "新疆汽车买卖合同（修订）"}, "title"),
            ("PATCH", f"/api/v1/contracts/{cid}", {"customer": "乙公司"}, "customer"),
            ("PATCH", f"/api/v1/contracts/{cid}", {"classification": code}, "classification"),
            (
                "PATCH",
                f"/api/v1/contracts/{cid}/terms",
                {
                    "contract_no": "HT-2026-001",
                    "amount": "120000.00",
                    "currency": "CNY",
                    "sign_date": "2026-01-05",
                    "expiry_date": "2027-01-04",
                    "governing_law": "中华人民共和国法律",
                    "owner": "王五",
                    "department": "法务部",
                    "paper_location": "A柜3层",
                    "notice_days": 30,
                    "renewal_type": "manual",
                    "reason": "按原件核对",
                },
                "contract_no",
            ),
            (
                "PATCH",
                f"/api/v1/contracts/{cid}/terms",
                {"master_id": ids["en"], "relation": "supplement"},
                "relation",
            ),
            ("POST", f"/api/v1/contracts/{cid}/holds", {"reason": "诉讼保全"}, "holds"),
            (
                "POST",
                f"/api/v1/contracts/{cid}/filing",
                {"fonds_code": "X001", "retention": "D30"},
                "archival_code",
            ),
        ]
        seen = len(history(client, cid))
        for method, url, body, field in edits:
            r = client.request(method, url, json=body)
            assert r.status_code in (200, 201), (url, r.status_code, r.text)
            versions = history(client, cid)
            assert len(versions) == seen + 1, (field, versions[-1])
            seen = len(versions)
            last = versions[-1]
            assert last["by"] == "clerk-api" and field in last["changed"], last
            assert last["state"] == "sealed"
            report = verification(client, cid)
            assert report["overall"] == "PASSED", (field, report["summary"])
            assert report["manifest_version"] == seen
        # What the history says of the title: from, to, and why for the terms.
        titled = history(client, cid)[1]
        assert titled["changed"]["title"] == {"from": ZH_PDF.stem, "to": "新疆汽车买卖合同（修订）"}
        assert titled["action"] == "contract.update"
        assert any(v["reason"] == "按原件核对" for v in history(client, cid))
        # The relation is the contract's own kind of link; the master's id is never sealed here.
        manifest = json.loads(
            Path(
                archive.settings.objects_dir,
                "packages",
                archive.get(cid).sha256[:2],
                archive.get(cid).sha256,
                manifest_name(seen),
            ).read_bytes()
        )
        assert manifest["model"]["relation"] == "supplement"
        assert manifest["model"]["has_master"] is True
        assert "master_id" not in json.dumps(manifest)
        # A change that touches nothing the manifest covers issues no version.
        r = client.patch(f"/api/v1/contracts/{cid}", json={"title": "新疆汽车买卖合同（修订）"})
        assert r.status_code == 200
        assert len(history(client, cid)) == seen


def test_a_web_form_issues_a_version(data) -> None:
    folder, ids = data
    cid = ids["en"]
    archive, client = open_client(folder)
    with archive, client:
        view = archive.contracts.view(cid)
        suggestion = next(
            s for items in view.suggested.values() for s in items if s.field != "customer_id"
        )
        before = len(history(client, cid))
        r = client.post(
            f"/contracts/{cid}/suggestions/{suggestion.id}",
            data={"decision": "accept"},
            headers=HTML,
            follow_redirects=False,
        )
        assert r.status_code == 303, r.text
        versions = history(client, cid)
        assert len(versions) == before + 1
        assert versions[-1]["action"] == "contract.suggestion.accept"
        assert verification(client, cid)["overall"] == "PASSED"
        # The contract page shows the history.
        page = client.get(f"/contracts/{cid}", headers=HTML)
        assert page.status_code == 200
        panel = page.text.split('id="manifests-h"', 1)[1].split("</section>", 1)[0]
        assert f"v{len(versions)}" in panel and "contract.suggestion.accept" in panel


def test_the_command_line_edits_and_verifies(data) -> None:
    folder, ids = data
    cid = ids["en"]
    admin = {"ARCHIVE_USER": "admin"}

    def count() -> int:
        r = invoke(folder, "manifests", str(cid), "--json", env=admin)
        assert r.returncode == 0, r.stderr
        return len(json.loads(r.stdout))

    seen = count()
    for args in (
        ("contract", "set", str(cid), "customer=丙公司", "--reason", "更正客户"),
        ("contract", "set", str(cid), "owner=李四", "expiry_date=2028-06-30"),
        ("contract", "hold", str(cid), "审计"),
    ):
        # the first edit as the installed program, the others in-process (tests/cli_runner.py)
        r = (run if args[2:3] == ("customer=丙公司",) else invoke)(folder, *args, env=admin)
        assert r.returncode == 0, (args, r.stderr)
        now = count()
        assert now == seen + 1, args
        seen = now
        v = invoke(folder, "verify", str(cid), "--json", env=admin)
        assert v.returncode == 0, v.stdout + v.stderr
        assert json.loads(v.stdout)["overall"] == "PASSED"
    shown = invoke(folder, "manifests", str(cid), env=admin)
    assert shown.returncode == 0, shown.stderr
    assert "customer: 甲公司 → 丙公司" in shown.stdout and "why: 更正客户" in shown.stdout
    listed = json.loads(invoke(folder, "manifests", str(cid), "--json", env=admin).stdout)
    assert listed[-1]["by"] == "admin" and "holds" in listed[-1]["changed"]


def test_a_tampered_middle_version_fails_the_chain_naming_it(data) -> None:
    folder, ids = data
    cid = ids["zh"]
    with Archive(make_settings(folder), parser_workers=1).open() as archive:
        record = archive.get(cid)
        versions = archive.seal.stored_manifest_versions(record.sha256)
        assert len(versions) >= 3
        middle = versions[len(versions) // 2]
        path = archive.settings.objects_dir / "packages" / record.sha256[:2] / record.sha256
        target = path / manifest_name(middle)
        body = bytearray(target.read_bytes())
        at = body.index(b'"title"') + 10
        body[at] ^= 0x01
        target.chmod(0o644)
        target.write_bytes(bytes(body))
    r = run(folder, "verify", str(cid), "--json", env={"ARCHIVE_USER": "admin"})
    assert r.returncode == 1, r.stdout + r.stderr
    report = json.loads(r.stdout)
    assert report["overall"] == "FAILED"
    failed = [c for c in report["checks"] if c["status"] == "FAILED"]
    assert [c["id"] for c in failed] == ["manifest_chain"]
    assert f"version {middle} ({manifest_name(middle)})" in failed[0]["reason"]
    assert middle in failed[0]["details"]["broken"]
