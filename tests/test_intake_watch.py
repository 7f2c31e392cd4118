"""``contract-archive watch`` (issue 16): files dropped into a folder are archived once
complete, moved to archived/ or rejected/ (with the reason beside them), a subfolder naming
the customer; two watchers on one folder archive each file once; the result is that of
``contract-archive ingest`` on the same files.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from ingest.office import find_soffice
from services.archive import Archive
from tests.conftest import make_settings
from tests.test_cli import PROGRAM, run
from tests.test_intake import PDF, tiff_g4_bytes
from tests.test_intake_email import message
from tests.test_intake_ofd import ofd_bytes

ADMIN = {"ARCHIVE_USER": "admin"}
pytestmark = pytest.mark.skipif(find_soffice() is None, reason="LibreOffice is not installed")


def fill(folder: Path) -> None:
    (folder / "ACME Ltd").mkdir(parents=True)
    shutil.copy(PDF, folder / "ACME Ltd" / "contract.pdf")
    (folder / "fax.tif").write_bytes(tiff_g4_bytes("SERVICE CONTRACT"))
    (folder / "invoice.ofd").write_bytes(ofd_bytes(signed=False))
    attachment = [("annex.tif", tiff_g4_bytes("ANNEX"), "image/tiff")]
    (folder / "mail.eml").write_bytes(message(attachment, subject="Deal"))
    (folder / "notes.txt").write_text("not a contract\n")
    (folder / "notes.txt.done").touch()  # complete by its marker


def watcher(var: Path, folder: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [PROGRAM, "watch", str(folder), "--once", "--json", "--stable-seconds", "0.5",
         "--interval", "0.2"],
        env={**os.environ, **ADMIN, "ARCHIVE_DATA_DIR": str(var)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip


def test_two_watchers_archive_each_file_once_as_ingest_would(tmp_path: Path) -> None:
    folder = tmp_path / "inbox"
    fill(folder)
    var = tmp_path / "var"
    first, second = watcher(var, folder), watcher(var, folder)
    outputs = [p.communicate(timeout=600) for p in (first, second)]
    lines = [json.loads(x) for stdout, _ in outputs for x in stdout.splitlines()]
    assert {first.returncode, second.returncode} <= {0, 1}
    by_file = {x["file"]: x for x in lines}
    assert len(by_file) == len(lines)  # no file was taken twice
    assert {f: x["status"] for f, x in by_file.items()} == {
        "ACME Ltd/contract.pdf": "archived",
        "fax.tif": "archived",
        "invoice.ofd": "archived",
        "mail.eml": "archived",
        "mail.eml/annex.tif": "archived",
        "notes.txt": "rejected",
    }
    assert by_file["notes.txt"]["moved_to"] == "rejected/notes.txt"
    reason = (folder / "rejected" / "notes.txt.reason.txt").read_text()
    assert reason.startswith("unsupported format: the file is a plain text file")
    assert sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file()) == [
        "archived/ACME Ltd/contract.pdf",
        "archived/fax.tif",
        "archived/invoice.ofd",
        "archived/mail.eml",
        "rejected/notes.txt",
        "rejected/notes.txt.reason.txt",
    ]
    with Archive(make_settings(var), parser_workers=1).open() as archive:
        record = archive.get(by_file["ACME Ltd/contract.pdf"]["id"])
        assert record.customer == "ACME Ltd"  # the subfolder names the customer
        assert len(archive.records.contract_ids()) == 5

    # `ingest` of the same files: the same outcome, file by file.
    again = tmp_path / "again"
    fill(again)
    r = run(tmp_path / "var2", "ingest", str(again), "--json", "--no-ocr", env=ADMIN)
    ingested = {
        x["file"].removeprefix(str(again) + "/"): x["status"]
        for x in map(json.loads, r.stdout.splitlines())
    }
    ingested.pop("notes.txt.done")  # a marker: the watcher's, a file like any other to ingest
    assert ingested == {f: x["status"] for f, x in by_file.items()}
