"""Intake of what archivists hold (issue 16): files told apart by their bytes, images archived
as the original with a lossless PDF rendition, unsupported and damaged files refused with the
reason, on the command line (the installed program) and through the API (HTTP with a token).

Every file is made here with the tools themselves: Pillow writes PNG, JPEG and multi-page
Group 4 TIFF with rendered text; an Office file is a ZIP with ``[Content_Types].xml``.
"""

from __future__ import annotations

import html
import io
import json
import re
import shutil
import struct
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pypdf
import pytest
from PIL import Image, ImageDraw, ImageFont

from ingest import formats
from services.archive import Archive
from tests.access_helpers import client_as
from tests.cli_runner import invoke
from tests.conftest import CORPUS, make_settings
from tests.test_cli import run

PDF = CORPUS / "zh" / "samr-model-contracts" / "南京市存量房买卖合同.pdf"
ADMIN = {"ARCHIVE_USER": "admin"}
FONT = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")


# --- making the files -------------------------------------------------------------------------
def page(text: str, mode: str = "RGB") -> Image.Image:
    """An A4 page at 150 dpi with a line of large text, as a scanner would give it."""
    im = Image.new("L", (1240, 1754), 255)
    draw = ImageDraw.Draw(im)
    font = ImageFont.truetype(str(FONT), 56) if FONT.exists() else ImageFont.load_default(56)
    draw.text((120, 300), text, fill=0, font=font)
    return im.convert(mode)


def png_bytes(text: str) -> bytes:
    out = io.BytesIO()
    page(text).save(out, "PNG")
    return out.getvalue()


def jpeg_bytes(text: str) -> bytes:
    out = io.BytesIO()
    page(text).save(out, "JPEG", quality=90)
    return out.getvalue()


def tiff_g4_bytes(*texts: str) -> bytes:
    """A multi-page bilevel TIFF compressed with CCITT Group 4 (fax)."""
    pages = [page(t, "1") for t in texts]
    out = io.BytesIO()
    pages[0].save(
        out, "TIFF", compression="group4", save_all=True, append_images=pages[1:], dpi=(150, 150)
    )
    return out.getvalue()


def docx_bytes() -> bytes:
    """The least an Office Open XML package is: a ZIP with [Content_Types].xml."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as zf:
        zf.writestr("[Content_Types].xml", '<?xml version="1.0"?><Types/>')
        zf.writestr("word/document.xml", "<w:document/>")
    return out.getvalue()


def pptx_bytes() -> bytes:
    """A PowerPoint package (refused: the archive takes no presentations)."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as zf:
        zf.writestr("[Content_Types].xml", '<?xml version="1.0"?><Types/>')
        zf.writestr("ppt/presentation.xml", "<p:presentation/>")
    return out.getvalue()


def zero_size_tiff() -> bytes:
    """A TIFF whose only page is 0x0 pixels."""
    entries = [(256, 0), (257, 0), (258, 8), (259, 1), (262, 1), (277, 1), (278, 1)]
    data = b"II*\x00" + struct.pack("<IH", 8, len(entries) + 2)
    for tag, value in entries:
        data += struct.pack("<HHIHH", tag, 3, 1, value, 0)
    data += struct.pack("<HHII", 273, 4, 1, 200) + struct.pack("<HHII", 279, 4, 1, 1)
    data += struct.pack("<I", 0)
    return data + b"\x00" * (201 - len(data))


def damaged_images() -> dict[str, bytes]:
    png = png_bytes("truncated")
    jpeg = jpeg_bytes("garbage")
    return {
        "truncated.png": png[: len(png) // 3],
        "garbage.jpg": jpeg[:600] + bytes(range(256)) * 40,
        "empty-page.tif": zero_size_tiff(),
    }


def package_keys(archive: Archive) -> list[str]:
    return list(archive.objects.iter_keys("packages/"))


# --- telling files apart ----------------------------------------------------------------------
def test_formats_are_told_by_bytes_not_names(tmp_path: Path) -> None:
    odt = io.BytesIO()
    with zipfile.ZipFile(odt, "w") as zf:
        zf.writestr("mimetype", "application/vnd.oasis.opendocument.text")
        zf.writestr("content.xml", "<office:document-content/>")
    ofd = io.BytesIO()
    with zipfile.ZipFile(ofd, "w") as zf:
        zf.writestr("OFD.xml", "<ofd:OFD/>")
    samples = {
        "pdf": (PDF.read_bytes(), formats.PDF),
        "png": (png_bytes("x"), formats.PNG),
        "jpeg": (jpeg_bytes("x"), formats.JPEG),
        "tiff": (tiff_g4_bytes("x"), formats.TIFF),
        "docx": (docx_bytes(), formats.DOCX),
        "pptx": (pptx_bytes(), formats.PPTX),
        "odt": (odt.getvalue(), formats.ODT),
        "ofd": (ofd.getvalue(), formats.OFD),
        "doc": (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 500, formats.DOC),
        "eml": (
            b"From: a@example.com\r\nTo: b@example.com\r\nSubject: hi\r\n\r\nbody",
            formats.EML,
        ),
        "txt": ("合同正文 plain text\n".encode(), formats.TEXT),
        "empty": (b"", formats.EMPTY),
    }
    for name, (data, expected) in samples.items():
        # Named wrongly on purpose: the name must not matter.
        path = tmp_path / f"{name}.pdf"
        path.write_bytes(data)
        assert formats.detect(path) is expected, name
    supported = {"pdf", "png", "jpeg", "tiff", "docx", "doc", "xlsx", "odt", "ods", "eml", "ofd"}
    assert {f.key for f in formats.SUPPORTED} == supported
    refusal = formats.rejection(formats.PPTX)
    assert refusal.message.startswith(
        "unsupported format: the file is a PowerPoint presentation (PPTX)"
    )
    assert "PDF" in (refusal.hint or "") and refusal.http_status == 422


# --- the command line -------------------------------------------------------------------------
@pytest.fixture(scope="module")
def cabinet(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("cabinet")
    shutil.copy(PDF, folder / "contract.pdf")
    (folder / "scan.png").write_bytes(png_bytes("SUPPLY AGREEMENT"))
    (folder / "sub").mkdir()
    (folder / "sub" / "slides.pptx").write_bytes(pptx_bytes())
    (folder / "notes.txt").write_text("not a contract\n")
    return folder


def test_a_mixed_folder_archives_pdf_and_png_and_lists_the_rest(
    cabinet: Path, tmp_path: Path
) -> None:
    data = tmp_path / "var"
    r = run(data, "ingest", str(cabinet), "--json", "--no-ocr", env=ADMIN)
    assert r.returncode == 1, r.stderr  # two files were refused
    lines = {Path(x["file"]).name: x for x in map(json.loads, r.stdout.splitlines())}
    assert set(lines) == {"contract.pdf", "scan.png", "slides.pptx", "notes.txt"}
    assert lines["contract.pdf"]["status"] == "archived"
    assert lines["scan.png"]["status"] == "archived"
    assert lines["scan.png"]["pages_needing_ocr"] == [1]
    pptx, txt = lines["slides.pptx"], lines["notes.txt"]
    assert pptx["status"] == txt["status"] == "rejected"
    assert pptx["reason"].startswith("unsupported format: the file is a PowerPoint presentation")
    assert "save it as PDF" in pptx["hint"]
    assert txt["reason"].startswith("unsupported format: the file is a plain text file")
    assert pptx["id"] is None and txt["id"] is None

    # Without --json: one line per file, the refused ones with their reason, an honest summary
    # (in-process: the installed program ran the ingest above).
    again = invoke(data, "ingest", str(cabinet), "--no-ocr", env=ADMIN)
    assert again.returncode == 1
    assert "rejected  " in again.stdout and "slides.pptx: unsupported format" in again.stdout
    assert "notes.txt: unsupported format" in again.stdout
    assert "done: 2 duplicate, 2 rejected" in again.stderr


@pytest.fixture(scope="module")
def images(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, bytes], dict]:
    folder = tmp_path_factory.mktemp("images")
    made = {
        "lease.png": png_bytes("LEASE AGREEMENT"),
        "photo.jpg": jpeg_bytes("LOAN AGREEMENT"),
        "fax.tif": tiff_g4_bytes("SERVICE CONTRACT", "SECOND PAGE"),
    }
    for name, data in made.items():
        (folder / name).write_bytes(data)
    var = tmp_path_factory.mktemp("images-var") / "var"
    r = run(var, "ingest", str(folder), "--json", "--no-ocr", env=ADMIN)
    assert r.returncode == 0, r.stderr
    results = {Path(x["file"]).name: x for x in map(json.loads, r.stdout.splitlines())}
    return var, made, results


def test_images_are_archived_byte_identical_with_a_rendition_that_verifies(
    images, tmp_path: Path
) -> None:
    var, made, results = images
    # `verify` and `export` in-process: the installed program archived the images (``images``).
    assert {n: r["status"] for n, r in results.items()} == dict.fromkeys(made, "archived")
    assert results["fax.tif"]["pages"] == 2 and results["fax.tif"]["pages_needing_ocr"] == [1, 2]
    extensions = {"lease.png": ".png", "photo.jpg": ".jpg", "fax.tif": ".tif"}
    for name, data in made.items():
        cid = str(results[name]["id"])
        verified = invoke(var, "verify", cid, "--json", env=ADMIN)
        assert verified.returncode == 0, verified.stdout + verified.stderr
        report = json.loads(verified.stdout)
        assert report["overall"] == "PASSED", report

        target = tmp_path / name
        exported = invoke(var, "export", cid, str(target), env=ADMIN)
        assert exported.returncode == 0, exported.stderr
        original = target / f"original{extensions[name]}"
        assert original.read_bytes() == data  # the image itself is the original
        rendition = target / "rendition.pdf"
        assert len(pypdf.PdfReader(rendition).pages) == results[name]["pages"]
        manifest = json.loads((target / "manifest.json").read_text())
        files = {f["name"]: f for f in manifest["files"]}
        assert files["original"]["role"] == "original"
        assert files["original"]["content_type"] == formats.detect(original).content_type
        listed = files["rendition.pdf"]
        assert listed["role"] == "rendition" and listed["content_type"] == "application/pdf"
        assert listed["made_by"]["tool"] == "img2pdf" and listed["made_by"]["version"]
        sums = (target / "SHA256SUMS").read_text()
        assert f"{listed['sha256']}  rendition.pdf" in sums
        assert f"{files['original']['sha256']}  original{extensions[name]}" in sums


def test_damaged_images_are_refused_and_leave_nothing(tmp_path: Path) -> None:
    folder = tmp_path / "damaged"
    folder.mkdir()
    for name, data in damaged_images().items():
        (folder / name).write_bytes(data)
    var = tmp_path / "var"
    r = run(var, "ingest", str(folder), "--json", "--no-ocr", env=ADMIN)
    assert r.returncode == 1
    lines = {Path(x["file"]).name: x for x in map(json.loads, r.stdout.splitlines())}
    assert set(lines) == set(damaged_images())
    for name, line in lines.items():
        assert line["status"] == "rejected", name
        assert line["reason"].startswith("damaged image: "), line
        assert "Traceback" not in r.stderr
    with Archive(make_settings(var), parser_workers=1).open() as archive:
        assert archive.records.contract_ids() == set()
        assert package_keys(archive) == []  # no orphan object
        assert not [p for p in archive.settings.tmp_dir.rglob("*") if p.is_file()]


# --- the API ----------------------------------------------------------------------------------
@pytest.fixture
def api(archive: Archive) -> Iterator:
    with client_as(archive) as client:
        yield client


def test_api_archives_an_image_and_refuses_other_formats(archive: Archive, api) -> None:
    tiff = tiff_g4_bytes("API CONTRACT", "PAGE TWO")
    r = api.post("/api/v1/contracts", files={"file": ("fax.tif", tiff, "image/tiff")})
    assert r.status_code == 202, r.text  # archived; its scanned pages await OCR
    body = r.json()
    assert body["pages"] == 2 and body["pages_needing_ocr"] == [1, 2]
    assert body["contract"]["content_type"] == "image/tiff"
    cid = body["id"]
    original = api.get(f"/api/v1/contracts/{cid}/original")
    assert original.status_code == 200 and original.content == tiff
    assert original.headers["content-type"].startswith("image/tiff")
    # Pages are drawn from the rendition, as for a scanned PDF.
    image = api.get(f"/contracts/{cid}/pages/2.png")
    assert image.status_code == 200 and image.content.startswith(b"\x89PNG")
    assert api.get(f"/contracts/{cid}/pages/3.png").status_code == 404
    verification = api.get(f"/api/v1/contracts/{cid}/verification")
    assert verification.status_code == 200 and verification.json()["overall"] == "PASSED"

    before = sorted(package_keys(archive))
    refused = api.post(
        "/api/v1/contracts", files={"file": ("slides.pdf", pptx_bytes(), "application/pdf")}
    )
    assert refused.status_code == 422
    error = refused.json()["error"]
    assert error["code"] == "rejected"
    assert error["message"].startswith(
        "unsupported format: the file is a PowerPoint presentation (PPTX)"
    )
    assert error["details"]["format"] == "pptx" and error["hint"]
    for name, data in damaged_images().items():
        bad = api.post("/api/v1/contracts", files={"file": (name, data, "image/png")})
        assert bad.status_code == 422, (name, bad.text)
        assert bad.json()["error"]["message"].startswith("damaged image: ")
    assert sorted(package_keys(archive)) == before  # nothing half-written
    assert archive.records.contract_ids() == {cid}


def test_upload_page_sends_every_file_and_knows_the_refusals(archive: Archive, api) -> None:
    page_en = api.get("/upload", headers={"Accept-Language": "en"})
    assert page_en.status_code == 200
    assert "image/png" in page_en.text and "not a PDF file name" not in page_en.text
    refusals_en = script_texts(page_en.text)["formats"]
    assert refusals_en["pptx"]["message"].startswith(
        "unsupported format: the file is a PowerPoint presentation (PPTX)"
    )
    refusals_zh = script_texts(api.get("/upload", headers={"Accept-Language": "zh-CN"}).text)
    pptx_zh = refusals_zh["formats"]["pptx"]
    assert pptx_zh["message"].startswith("不支持的格式：该文件是PowerPoint 演示文稿（PPTX）")
    assert pptx_zh["hint"].startswith("不归档演示文稿")
    # and a batch scan in a batches folder of an uploaded folder (the key the API answers with)
    assert set(refusals_zh["formats"]) == {f.key for f in formats.UNSUPPORTED} | {"batch"}
    assert refusals_zh["formats"]["batch"]["message"].startswith(
        "batches 文件夹中的 PDF 是批量扫描件"
    )
    script = api.get("/static/app.js")
    assert script.status_code == 200 and "not_pdf" not in script.text
    # The form without JavaScript lists the refused file with the reason, in the language.
    form = api.post(
        "/upload",
        files=[("files", ("slides.pptx", pptx_bytes(), "application/octet-stream"))],
        headers={"Accept-Language": "zh-CN"},
    )
    assert form.status_code == 200
    assert "slides.pptx" in form.text and "不支持的格式" in form.text


def script_texts(page_html: str) -> dict:
    """The texts the upload page hands its script (the form's ``data-i18n``)."""
    found = re.search(r'data-i18n="([^"]*)"', page_html)
    assert found is not None
    return json.loads(html.unescape(found.group(1)))


# --- OCR (tesseract) --------------------------------------------------------------------------
@pytest.mark.ocr
@pytest.mark.slow
def test_a_g4_fax_is_ocrd_through_the_scan_path_and_found(tmp_path: Path) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    data = tiff_g4_bytes("SERVICE CONTRACT", "QUOKKA CLAUSE")
    (folder / "fax.tif").write_bytes(data)
    var = tmp_path / "var"
    r = run(var, "ingest", str(folder / "fax.tif"), "--json", env=ADMIN)
    assert r.returncode == 0, r.stderr
    line = json.loads(r.stdout.splitlines()[-1])
    assert line["status"] == "archived" and line["ocr"]["pages_done"] == 2
    # `search` and `verify` in-process: the installed program ran the ingest and its OCR.
    found = invoke(var, "search", "quokka", env=ADMIN)
    assert found.returncode == 0 and "p.2" in found.stdout, found.stdout
    verified = invoke(var, "verify", str(line["id"]), "--json", env=ADMIN)
    assert json.loads(verified.stdout)["overall"] == "PASSED"
    with Archive(make_settings(var), parser_workers=1).open() as archive:
        record = archive.get(line["id"])
        assert record.content_type == "image/tiff"
        with archive.objects.open(record.original_key) as fh:
            assert fh.read() == data  # OCR added files; the original is untouched
        names = {k.rsplit("/", 1)[1] for k in package_keys(archive)}
        assert {"original", "rendition.pdf", "rendition.json", "text.v2.json"} <= names
        assert any(n.startswith("searchable.") for n in names)
