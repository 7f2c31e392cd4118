"""OFD (issue 16): the corpus holds no OFD file and no PyPI package ships one, so the test
builds small valid ones by GB/T 33190-2016 (a ZIP with ``OFD.xml``, ``Doc_0/Document.xml``,
``Pages/Page_N/Content.xml`` with ``TextObject``/``TextCode`` and ``Signs/`` with a seal whose
references carry SM3 digests). They are archived through the installed CLI and the API: the
original byte-identical, the text from the OFD's own text layer in page order, the signature
reported (INDETERMINATE: digests match, SM2 not verified; FAILED when a signed page was
changed), a rendition drawn from the text; a ZIP of junk called OFD is refused, leaving nothing.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import unicodedata
import zipfile
from pathlib import Path

import pypdf
import pytest

from ingest import formats
from ingest.ofd import CJK_FONTS
from services.archive import Archive
from tests.access_helpers import client_as
from tests.cli_runner import invoke
from tests.conftest import make_settings
from tests.test_cli import run

ADMIN = {"ARCHIVE_USER": "admin"}
NS = 'xmlns:ofd="http://www.ofdspec.org/2016"'
pytestmark = pytest.mark.skipif(
    not any(p.is_file() for p in CJK_FONTS), reason="fonts-droid-fallback is not installed"
)


def _page(lines: list[str]) -> bytes:
    objects = "".join(
        f'<ofd:TextObject ID="{i + 3}" Boundary="20 {30 + i * 10} 170 10" Font="1" Size="5">'
        f'<ofd:TextCode X="0" Y="5">{text}</ofd:TextCode></ofd:TextObject>'
        for i, text in enumerate(lines)
    )
    return (
        f'<?xml version="1.0" encoding="UTF-8"?><ofd:Page {NS}><ofd:Content>'
        f'<ofd:Layer ID="2">{objects}</ofd:Layer></ofd:Content></ofd:Page>'
    ).encode()


def ofd_bytes(*, signed: bool, tamper: bool = False) -> bytes:
    """A two-page OFD; ``signed``: with a seal over Document.xml and page 2 (SM3 digests);
    ``tamper``: page 2 changed after signing."""
    document = (
        f'<?xml version="1.0" encoding="UTF-8"?><ofd:Document {NS}><ofd:CommonData>'
        "<ofd:PageArea><ofd:PhysicalBox>0 0 210 297</ofd:PhysicalBox></ofd:PageArea>"
        "<ofd:MaxUnitID>10</ofd:MaxUnitID></ofd:CommonData><ofd:Pages>"
        '<ofd:Page ID="1" BaseLoc="Pages/Page_0/Content.xml"/>'
        '<ofd:Page ID="2" BaseLoc="Pages/Page_1/Content.xml"/>'
        "</ofd:Pages></ofd:Document>"
    ).encode()
    first = _page(["电子合同 Electronic contract", "甲方：北京某某科技有限公司"])
    second = _page(["第二页 PLATYPUS clause", "乙方签章"])
    signs = "<ofd:Signatures>Doc_0/Signs/Signatures.xml</ofd:Signatures>" if signed else ""
    root = (
        f'<?xml version="1.0" encoding="UTF-8"?><ofd:OFD {NS} Version="1.0" DocType="OFD">'
        "<ofd:DocBody><ofd:DocInfo><ofd:DocID>test</ofd:DocID></ofd:DocInfo>"
        f"<ofd:DocRoot>Doc_0/Document.xml</ofd:DocRoot>{signs}</ofd:DocBody></ofd:OFD>"
    )
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("OFD.xml", root)
        zf.writestr("Doc_0/Document.xml", document)
        zf.writestr("Doc_0/Pages/Page_0/Content.xml", first)
        zf.writestr(
            "Doc_0/Pages/Page_1/Content.xml",
            second.replace(b"PLATYPUS", b"CHANGED!") if tamper else second,
        )
        if signed:

            def sm3(data: bytes) -> str:
                return base64.b64encode(hashlib.new("sm3", data).digest()).decode()

            zf.writestr(
                "Doc_0/Signs/Signatures.xml",
                f'<?xml version="1.0"?><ofd:Signatures {NS}><ofd:MaxSignId>1</ofd:MaxSignId>'
                '<ofd:Signature ID="1" Type="Seal" BaseLoc="Sign_0/Signature.xml"/>'
                "</ofd:Signatures>",
            )
            zf.writestr(
                "Doc_0/Signs/Sign_0/Signature.xml",
                f'<?xml version="1.0"?><ofd:Signature {NS}><ofd:SignedInfo>'
                '<ofd:Provider ProviderName="TestProvider" Version="1.0"/>'
                "<ofd:SignatureMethod>1.2.156.10197.1.501</ofd:SignatureMethod>"
                "<ofd:SignatureDateTime>20261204100000Z</ofd:SignatureDateTime>"
                '<ofd:References CheckMethod="1.2.156.10197.1.401">'
                f'<ofd:Reference FileRef="/Doc_0/Document.xml"><ofd:CheckValue>{sm3(document)}'
                "</ofd:CheckValue></ofd:Reference>"
                '<ofd:Reference FileRef="/Doc_0/Pages/Page_1/Content.xml"><ofd:CheckValue>'
                f"{sm3(second)}</ofd:CheckValue></ofd:Reference></ofd:References>"
                "</ofd:SignedInfo><ofd:SignedValue>SignedValue.dat</ofd:SignedValue>"
                "</ofd:Signature>",
            )
            zf.writestr("Doc_0/Signs/Sign_0/SignedValue.dat", b"\x30\x03\x02\x01\x01")
    return out.getvalue()


def junk_ofd() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as zf:
        zf.writestr("OFD.xml", b"\x00\x01 not xml at all <<<")
        zf.writestr("Doc_0/junk.bin", bytes(range(256)) * 8)
    return out.getvalue()


def test_ofd_files_are_archived_with_their_text_and_signatures(tmp_path: Path) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    made = {
        "plain.ofd": ofd_bytes(signed=False),
        "sealed.ofd": ofd_bytes(signed=True),
        "changed.ofd": ofd_bytes(signed=True, tamper=True),
        "junk.ofd": junk_ofd(),
    }
    for name, data in made.items():
        (folder / name).write_bytes(data)
        assert formats.detect(folder / name) is formats.OFD
    var = tmp_path / "var"
    r = run(var, "ingest", str(folder), "--json", "--no-ocr", env=ADMIN)
    assert r.returncode == 1, r.stderr  # the junk one was refused
    lines = {Path(x["file"]).name: x for x in map(json.loads, r.stdout.splitlines())}
    junk = lines.pop("junk.ofd")
    assert junk["status"] == "rejected"
    assert junk["reason"].startswith("damaged OFD: the file is an OFD document (GB/T 33190)")
    assert {n: x["status"] for n, x in lines.items()} == dict.fromkeys(lines, "archived")
    assert {x["pages"] for x in lines.values()} == {2}
    assert all(x["pages_needing_ocr"] == [] for x in lines.values())

    # `verify`, `export` and `search` in-process: the installed program ran the ingest above.
    expected = {"plain.ofd": "PASSED", "sealed.ofd": "INDETERMINATE", "changed.ofd": "FAILED"}
    manifests = {}
    for name, overall in expected.items():
        cid = str(lines[name]["id"])
        verified = invoke(var, "verify", cid, "--json", env=ADMIN)
        report = json.loads(verified.stdout)
        assert report["overall"] == overall, (name, report)
        checks = {c["id"]: c for c in report["checks"]}
        # Everything the archive itself vouches for passes; only the OFD's own seal differs.
        assert all(c["status"] == "PASSED" for k, c in checks.items() if k != "embedded_signatures")
        target = tmp_path / name
        assert invoke(var, "export", cid, str(target), env=ADMIN).returncode == 0
        assert (target / "original.ofd").read_bytes() == made[name]
        manifest = manifests[name] = json.loads((target / "manifest.json").read_text())
        files = {f["name"]: f for f in manifest["files"]}
        assert files["original"]["content_type"] == "application/ofd"
        assert files["rendition.pdf"]["made_by"]["tool"] == "pypdfium2"
        text = json.loads((target / "text.json").read_text())
        assert [p["text"] for p in text["pages"]] == [
            "电子合同 Electronic contract\n甲方：北京某某科技有限公司",
            "第二页 PLATYPUS clause\n乙方签章"
            if name != "changed.ofd"
            else "第二页 CHANGED! clause\n乙方签章",
        ]
        # The rendition carries the same text, at its places, on two A4 pages.
        rendition = pypdf.PdfReader(target / "rendition.pdf")
        assert len(rendition.pages) == 2
        # (NFKC: the font maps 北 and its compatibility form U+F963 to one glyph, and pdfium
        # names the glyph by the latter; the archive's text comes from the OFD, not from here.)
        drawn = unicodedata.normalize("NFKC", rendition.pages[0].extract_text())
        assert "北京某某科技有限公司" in drawn
        assert round(float(rendition.pages[0].mediabox.width)) == 595

    sealed = manifests["sealed.ofd"]["embedded_signatures"]["signatures"][0]
    assert sealed["status"] == "INDETERMINATE"
    assert sealed["algorithm"]["signature"] == "SM2 with SM3"
    assert sealed["algorithm"]["digest"] == "sm3" and sealed["intact"] is True
    assert "SM2" in sealed["reason"] and "not verified" in sealed["reason"]
    changed = manifests["changed.ofd"]["embedded_signatures"]["signatures"][0]
    assert changed["status"] == "FAILED"
    assert changed["reason"] == "signed files were changed: Doc_0/Pages/Page_1/Content.xml"

    found = invoke(var, "search", "platypus", "--json", env=ADMIN)
    ids = {h["id"] for h in json.loads(found.stdout)["hits"]}
    assert ids == {lines["plain.ofd"]["id"], lines["sealed.ofd"]["id"]}
    with Archive(make_settings(var), parser_workers=1).open() as archive:
        assert len(archive.records.contract_ids()) == 3  # the junk left nothing
        assert not list(archive.settings.tmp_dir.iterdir())


def test_api_archives_an_ofd(archive: Archive) -> None:
    data = ofd_bytes(signed=True)
    with client_as(archive) as api:
        r = api.post("/api/v1/contracts", files={"file": ("deal.ofd", data, "application/ofd")})
        assert r.status_code == 201, r.text
        cid = r.json()["id"]
        assert r.json()["contract"]["content_type"] == "application/ofd"
        original = api.get(f"/api/v1/contracts/{cid}/original")
        assert original.status_code == 200 and original.content == data
        page = api.get(f"/contracts/{cid}/pages/1.png")  # drawn from the rendition
        assert page.status_code == 200 and page.content.startswith(b"\x89PNG")
        checks = api.get(f"/api/v1/contracts/{cid}/verification").json()["checks"]
        statuses = {c["id"]: c["status"] for c in checks}
        assert statuses.pop("embedded_signatures") == "INDETERMINATE"
        assert set(statuses.values()) == {"PASSED"}
        bad = api.post(
            "/api/v1/contracts", files={"file": ("junk.ofd", junk_ofd(), "application/ofd")}
        )
        assert bad.status_code == 422
        assert bad.json()["error"]["message"].startswith("damaged OFD: ")
    assert archive.records.contract_ids() == {cid}


def scanned_ofd(image: bytes) -> bytes:
    """A one-page OFD as a scanner's OFD export makes it: no text layer, the page one image
    (``ImageObject`` of a ``MultiMedia`` resource in ``DocumentRes.xml``)."""
    document = (
        f'<?xml version="1.0" encoding="UTF-8"?><ofd:Document {NS}><ofd:CommonData>'
        "<ofd:PageArea><ofd:PhysicalBox>0 0 210 297</ofd:PhysicalBox></ofd:PageArea>"
        "<ofd:MaxUnitID>10</ofd:MaxUnitID><ofd:DocumentRes>DocumentRes.xml</ofd:DocumentRes>"
        '</ofd:CommonData><ofd:Pages><ofd:Page ID="1" BaseLoc="Pages/Page_0/Content.xml"/>'
        "</ofd:Pages></ofd:Document>"
    )
    res = (
        f'<?xml version="1.0" encoding="UTF-8"?><ofd:Res {NS} BaseLoc="Res"><ofd:MultiMedias>'
        '<ofd:MultiMedia ID="5" Type="Image" Format="JPEG">'
        "<ofd:MediaFile>scan_1.jpg</ofd:MediaFile></ofd:MultiMedia></ofd:MultiMedias></ofd:Res>"
    )
    content = (
        f'<?xml version="1.0" encoding="UTF-8"?><ofd:Page {NS}><ofd:Content><ofd:Layer ID="2">'
        '<ofd:ImageObject ID="6" ResourceID="5" Boundary="0 0 210 297" CTM="210 0 0 297 0 0"/>'
        "</ofd:Layer></ofd:Content></ofd:Page>"
    )
    root = (
        f'<?xml version="1.0" encoding="UTF-8"?><ofd:OFD {NS} Version="1.0" DocType="OFD">'
        "<ofd:DocBody><ofd:DocInfo><ofd:DocID>scan</ofd:DocID></ofd:DocInfo>"
        "<ofd:DocRoot>Doc_0/Document.xml</ofd:DocRoot></ofd:DocBody></ofd:OFD>"
    )
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("OFD.xml", root)
        zf.writestr("Doc_0/Document.xml", document)
        zf.writestr("Doc_0/DocumentRes.xml", res)
        zf.writestr("Doc_0/Res/scan_1.jpg", image)
        zf.writestr("Doc_0/Pages/Page_0/Content.xml", content)
    return out.getvalue()


def test_a_scanned_ofd_is_ocrd_from_its_rendition(tmp_path: Path) -> None:
    """An OFD without a text layer, whose page is a scanned image: the rendition draws the
    image, the page is OCR'd (real Tesseract) and found by search; an image inside that cannot
    be decoded refuses the OFD as damaged, leaving nothing."""
    from tests.test_intake import jpeg_bytes

    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "scan.ofd").write_bytes(scanned_ofd(jpeg_bytes("SCANNED WOMBAT AGREEMENT")))
    var = tmp_path / "var"
    r = run(var, "ingest", str(folder / "scan.ofd"), "--json", env=ADMIN)
    assert r.returncode == 0, r.stdout + r.stderr
    line = json.loads(r.stdout.splitlines()[-1])
    assert line["status"] == "archived" and line["ocr"]["pages_done"] == 1, line
    # `search` and the second `ingest` in-process: the installed program ran the OCR'd ingest.
    found = invoke(var, "search", "wombat", env=ADMIN)
    assert found.returncode == 0 and "scan" in found.stdout, found.stdout
    with Archive(make_settings(var), parser_workers=1).open() as archive:
        record = archive.get(line["id"])
        assert record.content_type == "application/ofd"
        document = archive.text_document(record.id)
        assert "WOMBAT" in document["pages"][0]["text"].upper()

    (folder / "broken.ofd").write_bytes(scanned_ofd(b"\xff\xd8\xff\xe0 not a jpeg" * 10))
    bad = invoke(var, "ingest", str(folder / "broken.ofd"), "--json", env=ADMIN)
    assert bad.returncode == 1, bad.stdout + bad.stderr
    refused = json.loads(bad.stdout.splitlines()[-1])
    assert refused["status"] == "rejected"
    assert "image Doc_0/Res/scan_1.jpg of page 1 cannot be decoded" in refused["reason"]
    with Archive(make_settings(var), parser_workers=1).open() as archive:
        assert archive.records.count_contracts() == 1
