"""A mixed cabinet (issue 16): a PDF, a Group 4 fax TIFF, a DOCX written by LibreOffice, a
sealed OFD and an e-mail with two attachments (a PNG and a TIFF) in one folder, archived by
the installed CLI and, file by file, through the API: the same outcome for every file.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from ingest.office import find_soffice
from services.archive import Archive
from tests.access_helpers import client_as
from tests.test_cli import run
from tests.test_intake import PDF, png_bytes, tiff_g4_bytes
from tests.test_intake_email import message
from tests.test_intake_ofd import ofd_bytes
from tests.test_intake_office import make_office

ADMIN = {"ARCHIVE_USER": "admin"}
pytestmark = pytest.mark.skipif(find_soffice() is None, reason="LibreOffice is not installed")


@pytest.fixture(scope="module")
def cabinet(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("cabinet")
    scratch = tmp_path_factory.mktemp("cabinet-scratch")
    made = make_office(scratch / "made", scratch / "work", only=("letter.docx",))
    shutil.copy(PDF, folder / "contract.pdf")
    (folder / "fax.tif").write_bytes(tiff_g4_bytes("SERVICE CONTRACT", "PAGE TWO"))
    shutil.copy(made["letter.docx"], folder / "offer.docx")
    (folder / "invoice.ofd").write_bytes(ofd_bytes(signed=True))
    attachments = [
        ("schedule.png", png_bytes("DELIVERY SCHEDULE"), "image/png"),
        ("annex.tif", tiff_g4_bytes("ANNEX ONE"), "image/tiff"),
    ]
    (folder / "mail").mkdir()
    (folder / "mail" / "signed.eml").write_bytes(message(attachments, subject="Signed deal"))
    return folder


def outcomes(lines: list[dict], root: str) -> dict[str, tuple[str, int | None]]:
    """File (without the folder: an upload is named without it) → status and pages."""
    return {
        x["file"].removeprefix(root).removeprefix("mail/"): (x["status"], x["pages"]) for x in lines
    }


def test_a_mixed_cabinet_is_archived_alike_by_the_cli_and_the_api(
    cabinet: Path, tmp_path: Path, archive: Archive
) -> None:
    var = tmp_path / "cli-var"  # the API's archive lives in tmp_path / "var"
    r = run(var, "ingest", str(cabinet), "--json", "--no-ocr", env=ADMIN)
    assert r.returncode == 0, r.stdout + r.stderr
    cli = outcomes([json.loads(x) for x in r.stdout.splitlines()], str(cabinet) + "/")
    assert cli == {
        "contract.pdf": ("archived", cli["contract.pdf"][1]),
        "fax.tif": ("archived", 2),
        "offer.docx": ("archived", 1),
        "invoice.ofd": ("archived", 2),
        "signed.eml": ("archived", 1),
        "signed.eml/schedule.png": ("archived", 1),
        "signed.eml/annex.tif": ("archived", 1),
    }

    api_lines: list[dict] = []
    with client_as(archive) as api:
        for path in sorted(p for p in cabinet.rglob("*") if p.is_file()):
            name = path.name
            answer = api.post("/api/v1/contracts", files={"file": (name, path.read_bytes())})
            assert answer.status_code in (200, 201, 202), answer.text
            body = answer.json()
            api_lines.append(body)
            api_lines.extend(body["attachments"])
    assert outcomes(api_lines, "") == cli
