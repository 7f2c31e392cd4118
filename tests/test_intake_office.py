"""Office documents (issue 16): DOCX, DOC, XLSX and ODT written by LibreOffice itself are
archived through the installed CLI and the API as the original, byte-identical and sealed, with
a PDF rendition by LibreOffice (``made_by`` names it and its version) whose text is searched; a
corrupt DOCX, a conversion past its timeout and a machine without LibreOffice are refused with
the reason and leave nothing behind (no object, record, temporary file or ``soffice.bin``).
"""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import time
import zipfile
from pathlib import Path

import pypdf
import pytest

from ingest import formats
from ingest.office import find_soffice
from services.archive import Archive
from tests.access_helpers import client_as
from tests.cli_runner import invoke
from tests.conftest import make_settings
from tests.test_cli import PROGRAM, run

ADMIN = {"ARCHIVE_USER": "admin"}
SOFFICE = find_soffice()
pytestmark = pytest.mark.skipif(SOFFICE is None, reason="LibreOffice is not installed")

DOC_HTML = """<html><head><meta charset="utf-8"></head><body>
<h1>Supply agreement 供货合同</h1>
<p>Party A buys the WOMBAT clause goods from Party B. 甲方向乙方购买货物。</p>
</body></html>"""
SHEET_CSV = "item,amount\nNUMBAT widgets,1200\n"
OFFICE_EXTENSIONS = {"docx": ".docx", "odt": ".odt", "doc": ".doc", "xlsx": ".xlsx"}


def make_office(folder: Path, scratch: Path, only: tuple[str, ...] = ()) -> dict[str, Path]:
    """DOCX (from HTML), ODT and DOC (from the DOCX) and XLSX (from CSV), each written by
    LibreOffice; ``only`` these (and what they are made from) when given."""
    assert SOFFICE is not None
    folder.mkdir(parents=True, exist_ok=True)
    scratch.mkdir(parents=True, exist_ok=True)
    (scratch / "letter.html").write_text(DOC_HTML, encoding="utf-8")
    (scratch / "sheet.csv").write_text(SHEET_CSV, encoding="utf-8")
    # ODT and DOC from the DOCX: from HTML, Writer would make a Writer/Web document.
    targets = [
        ("letter.html", "docx:MS Word 2007 XML", "letter.docx"),
        ("letter.docx", "odt:writer8", "letter.odt"),
        ("letter.docx", "doc:MS Word 97", "letter.doc"),
        ("sheet.csv", "xlsx:Calc MS Excel 2007 XML", "sheet.xlsx"),
    ]
    profile = scratch / "profile"
    made: dict[str, Path] = {}
    for source, to, name in targets:
        if only and name not in only and name != "letter.docx":
            continue
        for _ in range(3):  # a fresh profile makes LibreOffice ask for a restart (81)
            done = subprocess.run(
                [
                    str(SOFFICE),
                    "--headless",
                    "--norestore",
                    f"-env:UserInstallation=file://{profile}",
                    "--convert-to",
                    to,
                    "--outdir",
                    str(scratch / "out"),
                    str(scratch / source),
                ],
                capture_output=True,
                timeout=180,
                check=False,
            )
            if done.returncode != 81:
                break
        produced = scratch / "out" / (Path(source).stem + Path(name).suffix)
        assert produced.is_file(), done.stdout + done.stderr
        made[name] = folder / name
        shutil.copyfile(produced, scratch / name)
        shutil.move(produced, made[name])
    return made


def corrupt_docx() -> bytes:
    """A DOCX whose document part is cut in the middle of a tag."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as zf:
        zf.writestr("[Content_Types].xml", '<?xml version="1.0"?><Types/>')
        zf.writestr("word/document.xml", '<w:document xmlns:w="urn:x"><w:body><w:p')
    return out.getvalue()


def docx_with(document: bytes, *, stored: bool = False) -> bytes:
    """A DOCX whose document part holds ``document`` (deflated, or stored as it is)."""
    out = io.BytesIO()
    method = zipfile.ZIP_STORED if stored else zipfile.ZIP_DEFLATED
    with zipfile.ZipFile(out, "w", compression=method) as zf:
        zf.writestr("[Content_Types].xml", '<?xml version="1.0"?><Types/>')
        zf.writestr("word/document.xml", document)
    return out.getvalue()


def bomb_docx() -> bytes:
    """A DOCX whose document part is 600 MB of one character (``<aaa…/>``, deflated to under
    1 MB), written in 8 MB chunks: the same file as from one 600 MB string, without the 1.2 GB
    of memory (and the second of system time) that building the string costs."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("[Content_Types].xml", '<?xml version="1.0"?><Types/>')
        with zf.open("word/document.xml", "w") as part:
            part.write(b"<")
            chunk = b"a" * (8 * 1024**2)
            for _ in range(75):
                part.write(chunk)
            part.write(b"/>")
    return out.getvalue()


def soffice_of(folder: Path) -> list[str]:
    """LibreOffice processes whose command line names ``folder`` (this test's only)."""
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if "soffice" in cmdline and str(folder) in cmdline:
            found.append(f"{proc.name}: {cmdline}")
    return found


@pytest.fixture(scope="module")
def office(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Path], dict]:
    folder = tmp_path_factory.mktemp("office")
    made = make_office(folder, tmp_path_factory.mktemp("office-scratch"))
    var = tmp_path_factory.mktemp("office-var") / "var"
    r = run(var, "ingest", str(folder), "--json", "--no-ocr", env=ADMIN)
    assert r.returncode == 0, r.stdout + r.stderr
    results = {Path(x["file"]).name: x for x in map(json.loads, r.stdout.splitlines())}
    return var, made, results


def test_office_files_are_told_apart_by_their_bytes(office) -> None:
    _, made, _ = office
    kinds = {name: formats.detect(path).key for name, path in made.items()}
    assert kinds == {
        "letter.docx": "docx",
        "letter.odt": "odt",
        "letter.doc": "doc",
        "sheet.xlsx": "xlsx",
    }


def test_office_files_are_archived_with_a_libreoffice_rendition_that_verifies(
    office, tmp_path: Path
) -> None:
    var, made, results = office
    assert {n: r["status"] for n, r in results.items()} == dict.fromkeys(made, "archived")
    for n, (name, path) in enumerate(made.items()):
        line = results[name]
        assert line["pages"] >= 1 and line["pages_needing_ocr"] == [], line  # text layer
        cid = str(line["id"])
        # the first file's checks as the installed program, the others' in-process
        cli = run if n == 0 else invoke
        verified = cli(var, "verify", cid, "--json", env=ADMIN)
        assert verified.returncode == 0, verified.stdout + verified.stderr
        assert json.loads(verified.stdout)["overall"] == "PASSED"

        target = tmp_path / name
        exported = cli(var, "export", cid, str(target), env=ADMIN)
        assert exported.returncode == 0, exported.stderr
        original = target / f"original{Path(name).suffix}"
        assert original.read_bytes() == path.read_bytes()  # the Office file is the original
        rendition = target / "rendition.pdf"
        assert len(pypdf.PdfReader(rendition).pages) == line["pages"]
        manifest = json.loads((target / "manifest.json").read_text())
        files = {f["name"]: f for f in manifest["files"]}
        assert files["original"]["role"] == "original"
        assert files["original"]["content_type"] == formats.detect(path).content_type
        listed = files["rendition.pdf"]
        assert listed["role"] == "rendition" and listed["made_by"]["tool"] == "LibreOffice"
        assert listed["made_by"]["version"][0].isdigit(), listed["made_by"]
        sums = (target / "SHA256SUMS").read_text()
        assert f"{listed['sha256']}  rendition.pdf" in sums
        assert f"{files['original']['sha256']}  {original.name}" in sums
        # The standalone check shipped in the export agrees.
        proof = subprocess.run(
            ["python3", str(target / "verify_proof.py"), str(target)],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert proof.returncode == 0, proof.stdout + proof.stderr

    # The text comes from the rendition's text layer: words of each file are found.
    words = {"wombat": {"letter.docx", "letter.odt", "letter.doc"}, "numbat": {"sheet.xlsx"}}
    for word, names in words.items():
        found = invoke(var, "search", word, "--json", env=ADMIN)
        assert found.returncode == 0, found.stderr
        ids = {hit["id"] for hit in json.loads(found.stdout)["hits"]}
        assert ids == {results[n]["id"] for n in names}, (word, found.stdout)


def test_bad_office_files_are_refused_and_leave_nothing(office, tmp_path: Path) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "broken.docx").write_bytes(corrupt_docx())
    var = tmp_path / "var"
    r = run(var, "ingest", str(folder), "--json", "--no-ocr", env=ADMIN)
    assert r.returncode == 1
    line = json.loads(r.stdout)
    assert line["status"] == "rejected"
    assert line["reason"].startswith(
        "damaged Office document: the file is a Word document (DOCX) that cannot be read "
        "(word/document.xml: not well-formed XML"
    ), line
    assert "Traceback" not in r.stderr

    # A conversion past its timeout is stopped; LibreOffice goes with it. (The module's files,
    # written by LibreOffice once: converting them again would give the same documents.)
    _, made, _ = office
    slow = run(
        var,
        "ingest",
        str(made["letter.docx"]),
        "--json",
        "--no-ocr",
        env={**ADMIN, "ARCHIVE_OFFICE_TIMEOUT_SECONDS": "0.3"},
    )
    assert slow.returncode == 1
    refused = json.loads(slow.stdout)
    assert refused["status"] == "rejected"
    assert refused["reason"].startswith("LibreOffice took longer than 0.3 s"), refused
    assert "ARCHIVE_OFFICE_TIMEOUT_SECONDS" in refused["hint"]

    # Without LibreOffice the file is refused, saying what to install.
    without = invoke(
        var,
        "ingest",
        str(made["letter.odt"]),
        "--json",
        "--no-ocr",
        env={**ADMIN, "ARCHIVE_LIBREOFFICE_PROGRAM": str(tmp_path / "no-such-soffice")},
    )
    assert without.returncode == 1
    missing = json.loads(without.stdout)
    assert missing["status"] == "rejected"
    assert "needs LibreOffice (apt install libreoffice-core-nogui" in missing["reason"]

    assert soffice_of(var) == []  # no LibreOffice left running
    with Archive(make_settings(var), parser_workers=1).open() as archive:
        assert archive.records.contract_ids() == set()
        assert list(archive.objects.iter_keys("packages/")) == []
        assert not list(archive.settings.tmp_dir.iterdir())  # no spool, no profile left


def test_zip_bombs_and_corrupt_parts_are_refused(tmp_path: Path) -> None:
    """The package checks before LibreOffice sees a file: a part that unpacks past 512 MB (a
    zip bomb: 600 MB of one character, deflated to under 1 MB) and a part whose bytes no longer
    match its CRC. Each is refused with its reason; nothing is archived."""
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "bomb.docx").write_bytes(bomb_docx())
    body = b'<w:document xmlns:w="urn:x"><w:body><w:p>CRC PROBE</w:p></w:body></w:document>'
    intact = docx_with(body, stored=True)
    at = intact.index(b"CRC PROBE")
    (folder / "crc.docx").write_bytes(intact[:at] + b"X" + intact[at + 1 :])
    var = tmp_path / "var"
    r = run(var, "ingest", str(folder), "--json", "--no-ocr", env=ADMIN)
    assert r.returncode == 1 and "Traceback" not in r.stderr, r.stderr
    lines = {Path(x["file"]).name: x for x in map(json.loads, r.stdout.splitlines())}
    assert lines["bomb.docx"]["status"] == "rejected"
    assert (
        "unpacks to 600 MB, more than 512 MB: refused as a possible zip bomb"
        in (lines["bomb.docx"]["reason"])
    ), lines["bomb.docx"]
    assert lines["crc.docx"]["status"] == "rejected"
    assert lines["crc.docx"]["reason"].endswith("(part word/document.xml is corrupt)"), lines
    with Archive(make_settings(var), parser_workers=1).open() as archive:
        assert archive.records.contract_ids() == set()
        assert list(archive.objects.iter_keys("packages/")) == []


def test_api_archives_an_office_file(office, archive: Archive) -> None:
    _, made, _ = office  # the module's DOCX, written by LibreOffice once
    data = made["letter.docx"].read_bytes()
    with client_as(archive) as api:
        r = api.post(
            "/api/v1/contracts",
            files={"file": ("letter.docx", data, "application/octet-stream")},
        )
        assert r.status_code == 201, r.text
        body = r.json()
        cid = body["id"]
        assert body["contract"]["content_type"] == formats.DOCX.content_type
        original = api.get(f"/api/v1/contracts/{cid}/original")
        assert original.status_code == 200 and original.content == data
        image = api.get(f"/contracts/{cid}/pages/1.png")  # drawn from the rendition
        assert image.status_code == 200 and image.content.startswith(b"\x89PNG")
        verification = api.get(f"/api/v1/contracts/{cid}/verification")
        assert verification.status_code == 200 and verification.json()["overall"] == "PASSED"

        bad = api.post(
            "/api/v1/contracts",
            files={"file": ("broken.docx", corrupt_docx(), "application/octet-stream")},
        )
        assert bad.status_code == 422
        error = bad.json()["error"]
        assert error["message"].startswith("damaged Office document: ")
    assert archive.records.contract_ids() == {cid}
    assert os.path.isdir(archive.settings.tmp_dir)
    assert not [p for p in archive.settings.tmp_dir.iterdir() if "soffice" in p.name]


def test_a_killed_ingest_leaves_no_libreoffice_running(tmp_path: Path) -> None:
    """SIGKILL of the CLI while LibreOffice converts: the kernel ends the worker and then
    LibreOffice (PR_SET_PDEATHSIG on each), and doctor --repair removes the spool and the
    private profile the dead processes left."""
    made = make_office(tmp_path / "in", tmp_path / "scratch", only=("letter.docx",))
    var = tmp_path / "var"
    cli = subprocess.Popen(
        [PROGRAM, "ingest", str(made["letter.docx"]), "--no-ocr"],
        env={**os.environ, **ADMIN, "ARCHIVE_DATA_DIR": str(var)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        for _ in range(600):  # until LibreOffice runs (or the CLI ended without it)
            if soffice_of(var) or cli.poll() is not None:
                break
            time.sleep(0.1)
        assert soffice_of(var), "LibreOffice never started"
    finally:
        cli.kill()
        cli.wait()
    for _ in range(300):  # the kernel's signals take a moment to arrive
        if not soffice_of(var):
            break
        time.sleep(0.1)
    assert soffice_of(var) == []
    repaired = run(var, "doctor", "--repair", env=ADMIN)
    assert "Traceback" not in repaired.stderr
    with Archive(make_settings(var), parser_workers=1).open() as archive:
        assert not list(archive.settings.tmp_dir.iterdir())
        assert archive.records.contract_ids() == set()
