"""Batch scans split by separator sheets (issue 16).

The batch is built as an archive room would: separator sheets printed by the installed
``contract-archive separator`` and pages of corpus contracts rasterized with noise (a slight
turn, speckles), all merged into one image-only PDF. The preview lists the right segments; the
split archives one contract per segment with the customer and classification of its sheet,
and keeps the batch file, linked to each (relation ``scan_batch``, the page range in the
contract's sealed text document). Bad input: no sheet (one contract, said so), only sheets or
empty segments (skipped with the reason), a damaged PDF (a clear error, nothing archived).
OCR is left out (``--no-ocr``): the split is what is tested here, not the reading. The preview
and the split run as the installed program; the text preview, the split again (duplicates),
the bad batches but the damaged one and two of the sheets run in-process (tests/cli_runner.py: the same Typer app, without the
program's 2 s of CPU at start).
"""

from __future__ import annotations

import io
import json
import random
from pathlib import Path

import img2pdf
import pypdfium2 as pdfium
import pytest
from fastapi.testclient import TestClient
from PIL import Image

from ingest.batches import SHORT_PREFIX
from search_api.app import create_app
from services.archive import Archive
from tests.access_helpers import auth_headers
from tests.cli_runner import invoke
from tests.conftest import CORPUS, make_settings
from tests.test_cli import run

ADMIN = {"ARCHIVE_USER": "admin"}
ZH_DIR = CORPUS / "zh" / "samr-model-contracts"
NANJING = ZH_DIR / "南京市存量房买卖合同.pdf"
XINJIANG = ZH_DIR / "新疆维吾尔自治区汽车买卖合同.pdf"
CUSTOMER = "青岛木门有限公司"


def raster(pdf: Path | bytes, index: int, seed: int, dpi: int = 110) -> bytes:
    """One page as a scanner would give it: grey, turned a little, with speckles (PNG)."""
    doc = pdfium.PdfDocument(pdf if isinstance(pdf, bytes) else str(pdf))
    try:
        image = doc[index].render(scale=dpi / 72, grayscale=True).to_pil().convert("L")
    finally:
        doc.close()
    rnd = random.Random(seed)
    image = image.rotate(rnd.uniform(-1.5, 1.5), fillcolor=255, resample=Image.Resampling.BILINEAR)
    pixels = image.load()
    assert pixels is not None
    for _ in range(image.width * image.height // 300):
        pixels[rnd.randrange(image.width), rnd.randrange(image.height)] = rnd.choice((0, 96, 255))
    out = io.BytesIO()
    image.save(out, format="PNG", dpi=(dpi, dpi))
    return out.getvalue()


def image_pdf(pages: list[bytes]) -> bytes:
    data = img2pdf.convert(pages)
    assert data is not None
    return bytes(data)


@pytest.fixture(scope="module")
def batches(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Sheets made by the installed command, and the batches built from them."""
    base = tmp_path_factory.mktemp("batches")
    var = base / "sheets-var"
    sheets = {}
    for key, args in (
        ("a", ["--customer", CUSTOMER, "--classification", "xs"]),
        ("b", ["--customer", "Acme Corp"]),
        ("plain", []),
    ):
        sheets[key] = base / f"sheet-{key}.pdf"
        # the first as the installed program, the others in-process (tests/cli_runner.py)
        r = (run if key == "a" else invoke)(
            var, "separator", *args, "-o", str(sheets[key]), env=ADMIN
        )
        assert r.returncode == 0, r.stderr
        assert sheets[key].read_bytes().startswith(b"%PDF-")
    en = next((CORPUS / "en-cuad").rglob("*.pdf"))
    sheet = {k: raster(p, 0, seed=i) for i, (k, p) in enumerate(sheets.items())}
    pages = [
        sheet["a"],  # 1: 青岛木门有限公司, XS
        raster(NANJING, 0, 11),  # 2
        raster(NANJING, 1, 12),  # 3
        sheet["b"],  # 4: Acme Corp
        raster(en, 0, 13),  # 5
        sheet["plain"],  # 6: followed by another sheet: skipped
        sheet["plain"],  # 7: no payload: the defaults given
        raster(XINJIANG, 0, 14),  # 8
        sheet["plain"],  # 9: the last page: skipped
    ]
    made = {
        "batch": image_pdf(pages),
        "no-sheets": image_pdf([raster(XINJIANG, 1, 21), raster(XINJIANG, 2, 22)]),
        "only-sheets": image_pdf([sheet["a"], sheet["plain"]]),
    }
    made["damaged"] = made["batch"][: len(made["batch"]) // 3]
    files = {}
    for name, data in made.items():
        files[name] = base / f"{name}.pdf"
        files[name].write_bytes(data)
    files["sheet-a"] = sheets["a"]
    return files


EXPECTED = [
    {"pages": "2-3", "customer": CUSTOMER, "classification": "XS", "separator_page": 1},
    {"pages": "5", "customer": "Acme Corp", "classification": "CG", "separator_page": 4},
    {"pages": "8", "customer": "Default Ltd", "classification": "CG", "separator_page": 7},
]


def _segments(body: dict) -> list[dict]:
    keys = ("pages", "customer", "classification", "separator_page")
    return [{k: s[k] for k in keys} for s in body["segments"]]


def _codes(pdf: Path | bytes) -> list[tuple[str, str]]:
    """The codes on a one-page PDF (any kind zxing-cpp reads): their kind and text."""
    import zxingcpp

    doc = pdfium.PdfDocument(pdf if isinstance(pdf, bytes) else str(pdf))
    try:
        assert len(doc) == 1
        image = doc[0].render(scale=100 / 72, grayscale=True).to_pil()
    finally:
        doc.close()
    return [
        (str(code.format).replace(" ", ""), code.text) for code in zxingcpp.read_barcodes(image)
    ]


def test_the_sheet_carries_its_payload_in_a_qr_code(batches: dict[str, Path]) -> None:
    ((kind, text),) = _codes(batches["sheet-a"])
    assert kind == "QRCode"
    assert text.startswith("CONTRACT-ARCHIVE:SEPARATOR:1?")
    assert "XS" in text


def test_barcode_and_qr_sheets_split_one_batch(batches: dict[str, Path], tmp_path: Path) -> None:
    """Separator sheets with a Code 128 barcode (``separator --code code128``, the same payload
    scheme with the short prefix) and with a QR code mixed in one scanned batch (noisy pages
    rasterized at 110 to 300 dpi): both split it. A payload a barcode cannot hold is refused
    with the reason and a hint before any sheet is written."""
    var = tmp_path / "var"
    sheets = {}
    for key, args in (("xs", ["--classification", "xs"]), ("acme", ["--customer", "Acme"])):
        sheets[key] = tmp_path / f"bar-{key}.pdf"
        r = invoke(var, "separator", "--code", "code128", *args, "-o", str(sheets[key]), env=ADMIN)
        assert r.returncode == 0, r.stderr
    en = sorted((CORPUS / "en-cuad").rglob("*.pdf"))[1]
    pages = [
        raster(sheets["xs"], 0, seed=31, dpi=110),  # 1: barcode, XS
        raster(NANJING, 2, 32, dpi=150),  # 2
        raster(batches["sheet-a"], 0, seed=33, dpi=200),  # 3: QR, 青岛木门有限公司 XS
        raster(XINJIANG, 2, 34),  # 4
        raster(en, 1, 35, dpi=120),  # 5
        raster(sheets["acme"], 0, seed=36, dpi=300),  # 6: barcode, Acme
        raster(en, 2, 37, dpi=200),  # 7
    ]
    mixed = tmp_path / "mixed.pdf"
    mixed.write_bytes(image_pdf(pages))
    defaults = ["--customer", "Default Ltd", "--classification", "CG"]
    r = invoke(var, "ingest", "--split-batches", "--preview", "--json", *defaults, str(mixed),
               env=ADMIN)  # fmt: skip
    assert r.returncode == 0, r.stderr
    plan = json.loads(r.stdout)
    assert plan["separator_pages"] == [1, 3, 6]
    assert _segments(plan) == [
        {"pages": "2", "customer": "Default Ltd", "classification": "XS", "separator_page": 1},
        {"pages": "4-5", "customer": CUSTOMER, "classification": "XS", "separator_page": 3},
        {"pages": "7", "customer": "Acme", "classification": "CG", "separator_page": 6},
    ]
    done = invoke(var, "ingest", "--split-batches", "--no-ocr", "--json", *defaults, str(mixed),
                  env=ADMIN)  # fmt: skip
    assert done.returncode == 0, done.stderr
    body = json.loads(done.stdout.splitlines()[0])
    assert [s["result"]["status"] for s in body["segments"]] == ["archived"] * 3

    # A Chinese customer name does not fit a barcode: refused, the QR sheet named.
    out = tmp_path / "long.pdf"
    r = invoke(var, "separator", "--code", "code128", "--customer", CUSTOMER, "-o", str(out),
               env=ADMIN)  # fmt: skip
    assert r.returncode != 0 and not out.exists()
    said = r.stdout + r.stderr
    assert "too long for a Code 128 barcode" in said and "QR separator" in said, said


def test_cli_previews_then_splits_a_batch_keeping_it_as_evidence(
    batches: dict[str, Path], tmp_path: Path
) -> None:
    var = tmp_path / "var"
    defaults = ["--customer", "Default Ltd", "--classification", "CG"]
    preview = run(
        var, "ingest", "--split-batches", "--preview", "--json", *defaults,
        str(batches["batch"]), env=ADMIN,
    )  # fmt: skip
    assert preview.returncode == 0, preview.stderr
    plan = json.loads(preview.stdout)
    assert plan["preview"] is True and plan["page_count"] == 9
    assert plan["separator_pages"] == [1, 4, 6, 7, 9]
    assert _segments(plan) == EXPECTED
    assert [(s["separator_page"], s["next_page"]) for s in plan["skipped"]] == [(6, 7), (9, None)]
    assert all("empty segment" in s["reason"] for s in plan["skipped"])
    assert plan["batch"] is None
    text = invoke(var, "ingest", "--split-batches", "--preview", str(batches["batch"]), env=ADMIN)
    assert "pages 2-3" in text.stdout and CUSTOMER in text.stdout and "skipped" in text.stdout
    with Archive(make_settings(var), parser_workers=1).open() as archive:
        assert archive.records.count_contracts() == 0  # a preview archives nothing

    done = run(
        var, "ingest", "--split-batches", "--no-ocr", "--json", *defaults,
        str(batches["batch"]), env=ADMIN,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    body = json.loads(done.stdout.splitlines()[0])
    assert body["preview"] is False and _segments(body) == EXPECTED
    batch = body["batch"]
    assert batch["status"] == "archived" and batch["pages"] == 9
    results = [s["result"] for s in body["segments"]]
    assert [r["status"] for r in results] == ["archived"] * 3
    assert [r["pages"] for r in results] == [2, 1, 1]
    with Archive(make_settings(var), parser_workers=1).open() as archive:
        kept = archive.get(batch["id"])
        assert kept.sha256 == _sha256(batches["batch"])  # the batch file, byte-identical
        assert kept.pages_needing_ocr == []  # read in its contracts, not twice
        document = archive.text_document(kept.id)
        assert document["provenance"]["separator_pages"] == [1, 4, 6, 7, 9]
        for expected, result in zip(EXPECTED, results, strict=True):
            record = archive.get(result["id"])
            terms = archive.records.get_terms(record.id)
            assert (terms.master_id, terms.relation) == (kept.id, "scan_batch")
            assert record.customer == expected["customer"]
            assert terms.classification == expected["classification"]
            provenance = archive.text_document(record.id)["provenance"]
            assert provenance["batch_contract_id"] == kept.id
            assert provenance["batch_sha256"] == kept.sha256
            assert provenance["pages"] == expected["pages"]
            assert record.pages_needing_ocr  # the scanned pages wait for OCR
        assert archive.records.count_contracts() == 4

    again = invoke(
        var, "ingest", "--split-batches", "--no-ocr", "--json", *defaults,
        str(batches["batch"]), env=ADMIN,
    )  # fmt: skip
    assert again.returncode == 0, again.stderr
    body = json.loads(again.stdout.splitlines()[0])
    assert body["batch"]["status"] == "duplicate"
    assert [s["result"]["status"] for s in body["segments"]] == ["duplicate"] * 3


def _sha256(path: Path) -> str:
    import hashlib

    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_cli_bad_batches_end_clearly_and_archive_nothing_half(
    batches: dict[str, Path], tmp_path: Path
) -> None:
    var = tmp_path / "var"
    r = invoke(var, "ingest", "--split-batches", "--no-ocr", str(batches["no-sheets"]), env=ADMIN)
    assert r.returncode == 0, r.stderr
    assert "no separator sheet found: the batch is archived as one contract" in r.stdout
    assert "archived" in r.stdout
    for name, reason in (
        ("only-sheets", "all are separator sheets: nothing to archive"),
        ("damaged", "the batch is not a readable PDF"),
    ):
        run_it = run if name == "damaged" else invoke  # the installed program once
        r = run_it(var, "ingest", "--split-batches", "--no-ocr", str(batches[name]), env=ADMIN)
        assert r.returncode == 1, (name, r.stdout, r.stderr)
        assert "rejected" in r.stdout and reason in r.stdout, r.stdout
        assert "Traceback" not in r.stderr
    r = invoke(var, "ingest", "--preview", str(batches["batch"]), env=ADMIN)
    assert r.returncode == 2 and "--preview goes with --split-batches" in r.stderr
    r = invoke(var, "separator", "--classification", "not a code!", "-o", str(tmp_path / "x.pdf"),
            env=ADMIN)  # fmt: skip
    assert r.returncode != 0 and "invalid classification" in (r.stdout + r.stderr)
    with Archive(make_settings(var), parser_workers=1).open() as archive:
        assert archive.records.count_contracts() == 1  # the batch without sheets, whole
        assert not list((archive.settings.tmp_dir).glob("*batch-*"))  # no segments left over


def test_api_previews_and_splits_with_a_token(batches: dict[str, Path], tmp_path: Path) -> None:
    with Archive(make_settings(tmp_path / "var"), parser_workers=1).open() as archive:
        app = create_app(archive)
        with TestClient(app, headers=auth_headers(archive, username="root")) as c:
            data = batches["batch"].read_bytes()
            form = {"customer": "Default Ltd", "classification": "CG"}
            r = c.post("/api/v1/batches", files={"file": ("box-7.pdf", data)}, data=form)
            assert r.status_code == 200, r.text
            assert r.json()["preview"] is True and _segments(r.json()) == EXPECTED
            assert archive.records.count_contracts() == 0
            r = c.post(
                "/api/v1/batches",
                files={"file": ("box-7.pdf", data)},
                data={**form, "preview": "false"},
            )
            assert r.status_code == 201, r.text
            body = r.json()
            assert body["batch"]["status"] == "archived" and body["file"] == "box-7.pdf"
            ids = [s["result"]["id"] for s in body["segments"]]
            assert len(ids) == 3 and all(ids)
            terms = c.get(f"/api/v1/contracts/{ids[0]}/terms").json()
            assert terms["confirmed"]["master_id"] == body["batch"]["id"]
            assert terms["confirmed"]["relation"] == "scan_batch"
            assert terms["confirmed"]["classification"] == "XS"
            bad = c.post(
                "/api/v1/batches",
                files={"file": ("bad.pdf", batches["damaged"].read_bytes())},
                data={"preview": "false"},
            )
            assert bad.status_code == 422, bad.text
            assert "not a readable PDF" in bad.json()["error"]["message"]
            only = c.post(
                "/api/v1/batches",
                files={"file": ("only.pdf", batches["only-sheets"].read_bytes())},
                data={"preview": "false"},
            )
            assert only.status_code == 422 and "nothing to archive" in only.text
            assert archive.records.count_contracts() == 4
            sheet = c.get("/batches/separator.pdf", params={"customer": CUSTOMER})
            assert sheet.status_code == 200 and sheet.content.startswith(b"%PDF-")
            sheet = c.get(
                "/batches/separator.pdf", params={"classification": "CG", "code": "code128"}
            )
            assert sheet.status_code == 200, sheet.text
            assert _codes(sheet.content) == [("Code128", f"{SHORT_PREFIX}?classification=CG")]
            assert c.get("/batches/separator.pdf", params={"code": "ean13"}).status_code == 422
        with TestClient(app, headers=auth_headers(archive, "viewer", username="vera")) as c:
            refused = c.post(
                "/api/v1/batches", files={"file": ("box.pdf", data)}, data={"preview": "true"}
            )
            assert refused.status_code == 403
