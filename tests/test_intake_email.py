"""E-mail (issue 16): a message written with Python's ``email`` package is archived through the
installed CLI and the API as one record (the ``.eml`` byte-identical as its original, the
subject as its title, from/to/date in its text document, a PDF rendition by LibreOffice), and
each attachment of a supported format as a contract linked to it (master: the message,
relation ``annex``); an unsupported attachment is listed with its reason; a message with too
many attachments is refused whole, leaving nothing.

The message's first ``ingest`` is the installed program as ARCHIVE_USER; ``verify``, ``export``
and the other runs are in-process (tests/cli_runner.py: the same Typer app without the
program's 2 s of CPU at start; tests/test_intake_office.py runs ``verify`` and ``export`` as
the program).
"""

from __future__ import annotations

import json
from email.message import EmailMessage
from pathlib import Path

import pytest

from ingest.office import find_soffice
from services.archive import Archive
from tests.access_helpers import client_as
from tests.cli_runner import invoke
from tests.conftest import make_settings
from tests.test_cli import run
from tests.test_intake import PDF, png_bytes
from tests.test_intake_office import bomb_docx

ADMIN = {"ARCHIVE_USER": "admin"}
pytestmark = pytest.mark.skipif(find_soffice() is None, reason="LibreOffice is not installed")


def message(attachments: list[tuple[str, bytes, str]], subject: str = "供货合同 signed") -> bytes:
    msg = EmailMessage()
    msg["From"] = "张三 <zhang@example.com>"
    msg["To"] = "legal@example.com"
    msg["Subject"] = subject
    msg["Date"] = "Fri, 04 Dec 2026 10:00:00 +0800"
    msg["Message-ID"] = "<contract-1@example.com>"
    msg.set_content("Dear team,\nplease archive the QUOLL agreement attached.\n此致\n")
    for name, data, ctype in attachments:
        maintype, subtype = ctype.split("/")
        msg.add_attachment(data, maintype=maintype, subtype=subtype, filename=name)
    return bytes(msg)


def two_attachments() -> bytes:
    return message(
        [
            ("contract.pdf", PDF.read_bytes(), "application/pdf"),
            ("scan.png", png_bytes("LEASE SCHEDULE"), "image/png"),
            ("notes.txt", b"only notes\n", "text/plain"),
        ]
    )


def test_an_email_is_one_record_with_its_attachments_linked(tmp_path: Path) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    data = two_attachments()
    (folder / "mail.eml").write_bytes(data)
    var = tmp_path / "var"
    r = run(var, "ingest", str(folder), "--json", "--no-ocr", env=ADMIN)
    assert r.returncode == 1, r.stderr  # the text attachment was refused
    lines = {
        x["file"].removeprefix(str(folder) + "/"): x for x in map(json.loads, r.stdout.splitlines())
    }
    assert set(lines) == {
        "mail.eml",
        "mail.eml/contract.pdf",
        "mail.eml/scan.png",
        "mail.eml/notes.txt",
    }
    mail = lines["mail.eml"]
    assert mail["status"] == "archived" and mail["title"] == "供货合同 signed"
    for name in ("mail.eml/contract.pdf", "mail.eml/scan.png"):
        assert lines[name]["status"] == "archived", lines[name]
        assert lines[name]["attached_to"] == mail["id"]
    refused = lines["mail.eml/notes.txt"]
    assert refused["status"] == "rejected" and refused["attached_to"] == mail["id"]
    assert refused["reason"].startswith("unsupported format: the file is a plain text file")

    verified = invoke(var, "verify", str(mail["id"]), "--json", env=ADMIN)
    assert verified.returncode == 0 and json.loads(verified.stdout)["overall"] == "PASSED"
    target = tmp_path / "export"
    exported = invoke(var, "export", str(mail["id"]), str(target), env=ADMIN)
    assert exported.returncode == 0, exported.stderr
    assert (target / "original.eml").read_bytes() == data  # the message is its own original
    manifest = json.loads((target / "manifest.json").read_text())
    files = {f["name"]: f for f in manifest["files"]}
    assert files["original"]["content_type"] == "message/rfc822"
    assert files["rendition.pdf"]["made_by"]["tool"] == "LibreOffice"
    text = json.loads((target / "text.json").read_text())
    header = text["email"]
    assert header["from"] == "张三 <zhang@example.com>" and header["to"] == "legal@example.com"
    assert header["date"] == "Fri, 04 Dec 2026 10:00:00 +0800"
    assert [a["name"] for a in header["attachments"]] == ["contract.pdf", "scan.png", "notes.txt"]
    assert "QUOLL" in text["pages"][0]["text"]

    found = invoke(var, "search", "quoll", "--json", env=ADMIN)
    assert [h["id"] for h in json.loads(found.stdout)["hits"]] == [mail["id"]]

    # Archived again: the message and its attachments are duplicates, nothing new.
    again = invoke(var, "ingest", str(folder / "mail.eml"), "--json", "--no-ocr", env=ADMIN)
    statuses = [json.loads(x)["status"] for x in again.stdout.splitlines()]
    assert statuses == ["duplicate", "duplicate", "duplicate", "rejected"]

    with Archive(make_settings(var), parser_workers=1).open() as archive:
        for name in ("mail.eml/contract.pdf", "mail.eml/scan.png"):
            terms = archive.records.get_terms(lines[name]["id"])
            assert (terms.master_id, terms.relation) == (mail["id"], "annex")
        assert archive.records.contract_ids() == {
            mail["id"],
            lines["mail.eml/contract.pdf"]["id"],
            lines["mail.eml/scan.png"]["id"],
        }
        assert not list(archive.settings.tmp_dir.iterdir())


def test_an_email_with_too_many_attachments_is_refused_whole(tmp_path: Path) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    many = [(f"a{i}.txt", b"x", "text/plain") for i in range(500)]
    (folder / "many.eml").write_bytes(message(many))
    var = tmp_path / "var"
    r = invoke(var, "ingest", str(folder / "many.eml"), "--json", "--no-ocr", env=ADMIN)
    assert r.returncode == 1
    line = json.loads(r.stdout)
    assert line["status"] == "rejected"
    assert line["reason"] == (
        "the e-mail has 500 attachments, more than ARCHIVE_MAX_EMAIL_ATTACHMENTS (100)"
    )
    assert "Traceback" not in r.stderr
    with Archive(make_settings(var), parser_workers=1).open() as archive:
        assert archive.records.contract_ids() == set()
        assert list(archive.objects.iter_keys("packages/")) == []
        assert not list(archive.settings.tmp_dir.iterdir())


def test_an_email_carrying_a_zip_bomb_archives_the_rest(tmp_path: Path) -> None:
    """The bomb attachment is refused with its reason; the message and the other attachment
    are archived, and nothing of the bomb is left."""
    folder = tmp_path / "in"
    folder.mkdir()
    attachments = [
        ("bomb.docx", bomb_docx(), "application/vnd.openxmlformats-officedocument"),
        ("scan.png", png_bytes("WOMBAT SCHEDULE"), "image/png"),
    ]
    (folder / "bomb.eml").write_bytes(message(attachments, subject="Bomb inside"))
    var = tmp_path / "var"
    r = invoke(var, "ingest", str(folder / "bomb.eml"), "--json", "--no-ocr", env=ADMIN)
    assert r.returncode == 1, r.stdout + r.stderr
    lines = {x["file"].rsplit("/", 1)[-1]: x for x in map(json.loads, r.stdout.splitlines())}
    assert lines["bomb.eml"]["status"] == "archived"
    assert lines["scan.png"]["status"] == "archived"
    assert lines["bomb.docx"]["status"] == "rejected"
    assert "refused as a possible zip bomb" in lines["bomb.docx"]["reason"]
    with Archive(make_settings(var), parser_workers=1).open() as archive:
        assert len(archive.records.contract_ids()) == 2
        assert not list(archive.settings.tmp_dir.iterdir())


def test_api_archives_an_email_and_answers_for_each_attachment(archive: Archive) -> None:
    data = two_attachments()
    with client_as(archive) as api:
        r = api.post("/api/v1/contracts", files={"file": ("mail.eml", data, "message/rfc822")})
        assert r.status_code == 201, r.text
        body = r.json()
        assert body["contract"]["content_type"] == "message/rfc822"
        assert body["title"] == "供货合同 signed"
        outcomes = {a["file"]: a for a in body["attachments"]}
        assert {n: o["status"] for n, o in outcomes.items()} == {
            "mail.eml/contract.pdf": "archived",
            "mail.eml/scan.png": "archived",
            "mail.eml/notes.txt": "rejected",
        }
        assert {o["attached_to"] for o in outcomes.values()} == {body["id"]}
        original = api.get(f"/api/v1/contracts/{body['id']}/original")
        assert original.status_code == 200 and original.content == data
        verification = api.get(f"/api/v1/contracts/{body['id']}/verification")
        assert verification.json()["overall"] == "PASSED"
