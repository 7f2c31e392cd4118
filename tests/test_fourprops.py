"""四性检测 at filing (issue 13): filing a contract runs the four-properties check of DA/T 70
(authenticity, integrity, usability, security), each item PASSED, FAILED or INDETERMINATE with
its reason; a FAILED item refuses the filing unless it is forced with a reason (kept in the
history); the report is stored in the package, sealed by the filing's manifest version, and
shown through the API (a token), the web page (signed in through the form) and the installed
command line (ARCHIVE_USER).

The virus scan is ClamAV's ``clamscan`` with a local signature file holding the EICAR test
signature (this machine has no internet for freshclam); the EICAR string is put together here
from two halves, so that this source file itself is no test virus."""

from __future__ import annotations

import io
import json
import os
import shutil
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pypdf
import pytest
from fastapi.testclient import TestClient
from pypdf.generic import DictionaryObject, NameObject, TextStringObject

from ingest.fourprops_probe import scan_viruses
from ingest.pdf import active_content
from search_api.app import create_app
from services.access.credentials import hash_password
from services.access.service import AccessControl
from services.archive import Archive
from signing.export import export_contract
from storage.objects.base import FOURPROPS_NAME, package_key
from tests.access_helpers import auth_headers, ensure_user
from tests.cli_runner import invoke
from tests.conftest import make_settings
from tests.test_cli import ZH_DIR, run
from tests.test_web_i18n import UNTRANSLATED

pytestmark = pytest.mark.skipif(
    shutil.which("clamscan") is None, reason="needs ClamAV's clamscan (apt install clamav)"
)

EICAR = ("X5O!P%@AP[4\\PZX54(P^)7CC)7}$" + "EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*").encode()
CLEAN = ZH_DIR / "新疆维吾尔自治区汽车买卖合同.pdf"
OTHER = ZH_DIR / "南京市存量房买卖合同.pdf"
CLI_PDF = ZH_DIR / "SF-2020-0102_广州市商品房买卖合同（预售）.pdf"
PASSWORD = "four properties passphrase 13"


def signature_file(folder: Path) -> Path:
    """A ClamAV body signature (.ndb) matching the EICAR test string anywhere in any file."""
    path = folder / "eicar.ndb"
    path.write_text(f"Eicar-Test-Signature-Local:0:*:{EICAR.hex()}\n", "ascii")
    return path


def variant(source: Path, out: Path, *, attachment: bytes | None = None, js: bool = False) -> Path:
    """A copy of ``source`` with an embedded file, or with document-level JavaScript."""
    writer = pypdf.PdfWriter(clone_from=str(source))
    if attachment is not None:
        writer.add_attachment("readme.com", attachment)
    if js:
        action = DictionaryObject(
            {
                NameObject("/Type"): NameObject("/Action"),
                NameObject("/S"): NameObject("/JavaScript"),
                NameObject("/JS"): TextStringObject("app.alert('hello');"),
            }
        )
        writer._root_object[NameObject("/OpenAction")] = writer._add_object(action)
    buf = io.BytesIO()
    writer.write(buf)
    out.write_bytes(buf.getvalue())
    return out


def items(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {i["id"]: i for p in report["properties"] for i in p["items"]}


def props(report: dict[str, Any]) -> dict[str, str]:
    return {p["id"]: p["status"] for p in report["properties"]}


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Archive, dict[str, int]]]:
    root = tmp_path_factory.mktemp("fourprops")
    settings = make_settings(root / "var", fonds_code="Z001", clamav_database=signature_file(root))
    files = {
        "clean": CLEAN,
        "eicar": variant(CLEAN, root / "eicar.pdf", attachment=EICAR),
        "js": variant(CLEAN, root / "js.pdf", js=True),
        "corrupt": OTHER,
    }
    with Archive(settings, parser_workers=1).open() as archive:
        ids = {}
        for key, path in files.items():
            result = archive.ingest_path(path, customer="新疆汽车贸易有限公司", user="local:test")
            assert result.status == "archived", result.reason
            assert result.id is not None
            ids[key] = result.id
            archive.contracts.confirm(
                result.id,
                {"classification": "XS", "sign_date": date(2025, 3, 1)},
                actor="local:test",
            )
        access = AccessControl.for_archive(archive)
        ensure_user(archive, "clerk", ("archivist",))
        access.store.update_user("clerk", {"password_hash": hash_password(PASSWORD)})
        yield archive, ids


@pytest.fixture(scope="module")
def api(world: tuple[Archive, dict[str, int]]) -> Iterator[TestClient]:
    archive, _ = world
    with TestClient(
        create_app(archive), raise_server_exceptions=False, headers=auth_headers(archive)
    ) as client:
        yield client


def stored(archive: Archive, cid: int) -> bool:
    return archive.objects.exists(package_key(archive.get(cid).sha256, FOURPROPS_NAME))


def test_a_clean_contract_is_filed_and_its_report_is_sealed(
    world, api: TestClient, tmp_path: Path
) -> None:
    archive, ids = world
    cid = ids["clean"]
    r = api.post(f"/api/v1/contracts/{cid}/filing", json={})
    assert r.status_code == 200, r.text
    code = r.json()["archival_code"]
    assert code.startswith("Z001-HT·2025-D30-XS-")
    r = api.get(f"/api/v1/contracts/{cid}/fourprops")
    assert r.status_code == 200, r.text
    report = r.json()
    assert [p["name_zh"] for p in report["properties"]] == ["真实性", "完整性", "可用性", "安全性"]
    for item in items(report).values():  # nothing FAILED; what is not PASSED says why
        assert item["status"] in ("PASSED", "INDETERMINATE"), item
        assert item["reason"].strip()
    assert report["overall"] != "FAILED"
    assert props(report)["security"] == "PASSED"  # the EICAR database is a database
    scan = items(report)["virus_scan"]
    assert scan["status"] == "PASSED" and scan["details"]["signatures"] == 1
    assert items(report)["digests"]["status"] == "PASSED"
    assert items(report)["renders"]["status"] == "PASSED"
    assert items(report)["active_content"]["status"] == "PASSED"
    assert report["filing"]["archival_code"] == code
    assert report["forced"] is None
    # the report is a file of the package, listed and sealed by the filing's manifest version
    row, manifest = archive.seal.latest_manifest(archive.get(cid))  # type: ignore[misc]
    listed = {f["name"]: f for f in manifest["files"]}
    assert listed[FOURPROPS_NAME]["sha256"] == report["sha256"]
    assert listed[FOURPROPS_NAME]["role"] == "fourprops"
    assert manifest["model"]["archival_code"] == code
    assert row.state == "sealed"
    assert report["sealed_in"] == {"version": row.version, "state": "sealed"}
    assert archive.seal.verify(cid).overall.value == "PASSED"
    # and the evidence export carries it, with its digest in SHA256SUMS
    exported = export_contract(archive.seal, cid, tmp_path / "export")
    assert FOURPROPS_NAME in exported.files
    sums = (tmp_path / "export" / "SHA256SUMS").read_text()
    assert f"{report['sha256']}  {FOURPROPS_NAME}" in sums
    events = api.get(f"/api/v1/contracts/{cid}/events").json()["events"]
    checked = [e for e in events if e["kind"] == "fourprops"]
    assert [e["to_value"] for e in checked] == [report["overall"]]
    assert checked[0]["data"]["sha256"] == report["sha256"] and checked[0]["reason"] is None


def test_a_package_carrying_the_eicar_string_is_refused_unless_forced(
    world, api: TestClient
) -> None:
    archive, ids = world
    cid = ids["eicar"]
    versions = len(archive.records.manifests(cid))
    r = api.post(f"/api/v1/contracts/{cid}/filing", json={})
    assert r.status_code == 409, r.text
    error = r.json()["error"]
    assert error["code"] == "fourprops_failed"
    assert "virus_scan" in error["message"] and "--force-reason" in error["hint"]
    refused = error["details"]["fourprops"]
    assert props(refused)["security"] == "FAILED"
    scan = items(refused)["virus_scan"]
    assert "Eicar-Test-Signature-Local" in scan["reason"]
    # nothing written: no 档号, no new manifest version, no report
    assert archive.contracts.view(cid).archival.archival_code is None
    assert len(archive.records.manifests(cid)) == versions
    assert not stored(archive, cid)
    assert api.get(f"/api/v1/contracts/{cid}/fourprops").status_code == 404
    # a blank reason is no reason
    r = api.post(f"/api/v1/contracts/{cid}/filing", json={"force_reason": "   "})
    assert r.status_code == 400, r.text
    # forced with a reason: filed, the report says so, and so does the history
    reason = "kept as evidence of the phishing attempt"
    r = api.post(f"/api/v1/contracts/{cid}/filing", json={"force_reason": reason})
    assert r.status_code == 200, r.text
    report = api.get(f"/api/v1/contracts/{cid}/fourprops").json()
    assert report["overall"] == "FAILED"
    assert report["forced"]["reason"] == reason
    assert any("virus_scan" in f for f in report["forced"]["failed"])
    events = api.get(f"/api/v1/contracts/{cid}/events").json()["events"]
    forced = [e for e in events if e["kind"] == "fourprops"]
    assert len(forced) == 1
    assert forced[0]["reason"] == reason and forced[0]["data"]["forced"] is True
    assert forced[0]["to_value"] == "FAILED"
    assert len(archive.records.manifests(cid)) == versions + 1


def test_a_pdf_with_javascript_fails_the_security_property(world, api: TestClient) -> None:
    _, ids = world
    r = api.post(f"/api/v1/contracts/{ids['js']}/filing", json={})
    assert r.status_code == 409, r.text
    report = r.json()["error"]["details"]["fourprops"]
    active = items(report)["active_content"]
    assert active["status"] == "FAILED" and "JavaScript" in active["reason"]
    assert items(report)["virus_scan"]["status"] == "PASSED"
    assert props(report)["authenticity"] == "PASSED"
    # Moving it to archived files it, so the same check refuses it; a correction (forced, with
    # a reason) files it past the FAILED item and keeps the reason in the history.
    ended = {"to": "terminated", "reason": "ended by both parties"}
    assert api.post(f"/api/v1/contracts/{ids['js']}/transitions", json=ended).status_code == 200
    move = {"to": "archived", "reason": "archive it anyway: the script is a print button"}
    r = api.post(f"/api/v1/contracts/{ids['js']}/transitions", json=move)
    assert r.status_code == 409 and r.json()["error"]["code"] == "fourprops_failed", r.text
    r = api.post(f"/api/v1/contracts/{ids['js']}/transitions", json={**move, "force": True})
    assert r.status_code == 200, r.text
    archive, _ = world
    assert archive.contracts.view(ids["js"]).archival.archival_code is not None
    events = api.get(f"/api/v1/contracts/{ids['js']}/events").json()["events"]
    forced = [e for e in events if e["kind"] == "fourprops"]
    assert forced and forced[-1]["reason"] == move["reason"]


def test_a_corrupted_stored_object_fails_authenticity(world, api: TestClient) -> None:
    archive, ids = world
    cid = ids["corrupt"]
    record = archive.get(cid)
    path = archive.settings.data_dir / "objects" / record.original_key
    assert path.is_file(), path
    os.chmod(path, 0o600)
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))
    r = api.post(f"/api/v1/contracts/{cid}/filing", json={})
    assert r.status_code == 409, r.text
    report = r.json()["error"]["details"]["fourprops"]
    assert props(report)["authenticity"] == "FAILED"
    digests = items(report)["digests"]
    assert digests["status"] == "FAILED" and "original" in digests["reason"]
    assert archive.contracts.view(cid).archival.archival_code is None


def test_the_contract_page_shows_the_report_in_both_languages(world) -> None:
    archive, ids = world
    html = {"Accept": "text/html"}
    for lang, words in (
        ("zh", ("四性检测", "真实性", "安全性", "病毒检测（ClamAV）")),
        ("en", ("Four-properties check", "Authenticity", "Virus scan (ClamAV)")),
    ):
        with TestClient(create_app(archive), raise_server_exceptions=False, headers=html) as c:
            r = c.post(
                "/login",
                data={"username": "clerk", "password": PASSWORD, "next": "/"},
                follow_redirects=False,
            )
            assert r.status_code == 303, r.text[:300]
            c.cookies.set("archive_lang", lang)
            page = c.get(f"/contracts/{ids['clean']}")
            assert page.status_code == 200
            assert 'id="fourprops"' in page.text
            for word in words:
                assert word in page.text, (lang, word)
            forced = c.get(f"/contracts/{ids['eicar']}").text
            assert "kept as evidence of the phishing attempt" in forced
            if lang == "zh":  # every reason of every report in Chinese, none left in English
                for key, cid in ids.items():
                    shown = c.get(f"/contracts/{cid}").text
                    assert not UNTRANSLATED.findall(shown), (key, UNTRANSLATED.findall(shown))


# --- the installed command line -------------------------------------------------------------
def cli(
    data: Path,
    *args: str,
    env: dict[str, str] | None = None,
    code: int = 0,
    program: bool = False,
) -> str:
    """In-process (tests/cli_runner.py), or with ``program`` the installed program."""
    wanted = {"ARCHIVE_USER": "admin", "ARCHIVE_FONDS_CODE": "Z001", **(env or {})}
    r = (run if program else invoke)(data, *args, env=wanted)
    assert r.returncode == code, f"{args}: {r.stdout} {r.stderr}"
    assert "Traceback" not in r.stderr
    return r.stdout if code == 0 else r.stderr


def test_the_command_line_files_and_exports_the_report_and_no_database_is_indeterminate(
    tmp_path: Path,
) -> None:
    data = tmp_path / "var"
    line = cli(data, "ingest", str(CLI_PDF), "--json", "--customer", "广州置业有限公司")
    cid = str(json.loads(line.splitlines()[0])["id"])
    cli(data, "contract", "set", cid, "classification=XS", "sign_date=2025-03-01")
    empty = tmp_path / "no-signatures"
    empty.mkdir()
    cli(data, "contract", "fourprops", cid, code=1)  # not filed yet: no report
    out = cli(
        data, "contract", "file", cid, env={"ARCHIVE_CLAMAV_DATABASE": str(empty)}, program=True
    )
    assert "档号 Z001-HT·2025-D30-XS-0001" in out
    report = json.loads(cli(data, "contract", "fourprops", cid, "--json", program=True))
    scan = items(report)["virus_scan"]
    assert scan["status"] == "INDETERMINATE"  # never PASSED without signatures
    assert "no signature database" in scan["reason"]
    assert props(report)["security"] == "INDETERMINATE"
    text = cli(data, "contract", "fourprops", cid)
    for word in ("真实性", "完整性", "可用性", "安全性", "virus_scan: INDETERMINATE"):
        assert word in text
    # forcing needs a reason that says something
    line = cli(data, "ingest", str(OTHER), "--json")
    other = str(json.loads(line.splitlines()[0])["id"])
    cli(data, "contract", "set", other, "classification=XS", "sign_date=2025-03-01")
    out = cli(data, "contract", "file", other, "--force-reason", " ", code=1)
    assert "needs a reason" in out
    # a missing scanner, and one stopped at its timeout, say nothing either
    out = cli(
        data,
        "contract",
        "file",
        other,
        env={"ARCHIVE_CLAMAV_PROGRAM": str(tmp_path / "no-clamscan")},
    )
    report = json.loads(cli(data, "contract", "fourprops", other, "--json"))
    scan = items(report)["virus_scan"]
    assert scan["status"] == "INDETERMINATE" and "not installed" in scan["reason"]


def test_a_scan_stopped_at_its_timeout_says_nothing(tmp_path: Path) -> None:
    """The scanner is killed, with what it started, after ARCHIVE_CLAMAV_TIMEOUT_SECONDS."""
    slow = tmp_path / "slow-clamscan"
    slow.write_text("#!/bin/sh\nsleep 60 &\nsleep 60\n", "ascii")
    slow.chmod(0o755)
    (tmp_path / "scan").mkdir()
    result = scan_viruses(str(slow), None, tmp_path / "scan", 1.0)
    assert result["outcome"] == "unknown"
    assert "took longer than 1 s" in result["reason"]
    assert "ARCHIVE_CLAMAV_TIMEOUT_SECONDS" in result["reason"]


def _with_actions(source: Path, *, page_aa: bool = False, launch_link: bool = False) -> bytes:
    """A copy of ``source`` whose first page carries a JavaScript action in its additional
    actions (page open) or a link annotation that launches a program, chained after a harmless
    URI action (``/Next``), as the PDF-insecurity samples hide them."""
    writer = pypdf.PdfWriter(clone_from=str(source))
    page = writer.pages[0]
    if page_aa:
        js = DictionaryObject(
            {
                NameObject("/S"): NameObject("/JavaScript"),
                NameObject("/JS"): TextStringObject("this.print();"),
            }
        )
        page[NameObject("/AA")] = DictionaryObject({NameObject("/O"): writer._add_object(js)})
    if launch_link:
        launch = DictionaryObject(
            {
                NameObject("/S"): NameObject("/Launch"),
                NameObject("/F"): TextStringObject("cmd.exe"),
            }
        )
        uri = DictionaryObject(
            {
                NameObject("/S"): NameObject("/URI"),
                NameObject("/URI"): TextStringObject("https://example.org/"),
                NameObject("/Next"): writer._add_object(launch),
            }
        )
        link = DictionaryObject(
            {
                NameObject("/Type"): NameObject("/Annot"),
                NameObject("/Subtype"): NameObject("/Link"),
                NameObject("/Rect"): pypdf.generic.ArrayObject(
                    [pypdf.generic.FloatObject(v) for v in (10, 10, 100, 40)]
                ),
                NameObject("/A"): uri,
            }
        )
        page[NameObject("/Annots")] = pypdf.generic.ArrayObject([writer._add_object(link)])
    buf = io.BytesIO()
    writer.write(buf)
    return buf.getvalue()


@pytest.mark.parametrize(
    ("kind", "expected"),
    [
        ("clean", []),
        ("page_aa", ["JavaScript"]),
        ("launch_link", ["launch actions"]),
        ("both", ["JavaScript", "launch actions"]),
    ],
)
def test_active_content_is_found_in_pages_annotations_and_action_chains(
    kind: str, expected: list[str]
) -> None:
    """The security property's active-content check looks past the document's open action:
    a page's additional actions, a link annotation's action and the actions chained after it."""
    data = _with_actions(
        CLEAN, page_aa=kind in ("page_aa", "both"), launch_link=kind in ("launch_link", "both")
    )
    found = active_content(pypdf.PdfReader(io.BytesIO(data)))
    assert found == [
        f"the PDF contains {what} (archived unchanged, never run)" for what in expected
    ]
