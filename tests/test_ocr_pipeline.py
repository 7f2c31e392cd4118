"""OCR from upload to search, replaying recorded tesseract outputs (no tesseract needed).

The recordings in tests/data/ocr/recorded were made by scripts/record_ocr.py from the real
Chinese scan of the corpus (3 pages, the third a form printed sideways) and from
tests/data/ocr/mixed.pdf (a CUAD text page, then the scan's first page).
"""

from __future__ import annotations

import io
import json
import os
import shutil
import socket
import subprocess
import time
import zlib
from collections.abc import Iterator
from pathlib import Path

import pypdf
import pypdfium2 as pdfium
import pytest
from fastapi.testclient import TestClient
from PIL import Image
from pypdf.generic import (
    ArrayObject,
    DecodedStreamObject,
    DictionaryObject,
    FloatObject,
    NameObject,
    NumberObject,
    StreamObject,
)

from ingest.ocr.engine import ReplayOcrEngine
from ingest.ocr.searchable import Layer, build_searchable
from services.archive import Archive
from services.ocr import OcrService
from tests.access_helpers import client_as
from tests.cli_runner import invoke
from tests.conftest import CORPUS, make_settings

RECORDED = Path(__file__).parent / "data" / "ocr" / "recorded"
MIXED = Path(__file__).parent / "data" / "ocr" / "mixed.pdf"
SCAN_ZH = CORPUS / "scanned" / "real" / "青岛市木门买卖合同示范文本.pdf"


def replay(**kwargs: float) -> ReplayOcrEngine:
    return ReplayOcrEngine(str(RECORDED), **kwargs)


def run_ocr(archive: Archive, ids: list[int], engine: ReplayOcrEngine | None = None) -> None:
    with OcrService(
        archive, engine=engine or replay(), workers=2, poll_seconds=0.1, backoff_seconds=0.05
    ) as service:
        service.wait_for(ids, poll=0.1)


def partial_recordings(tmp_path: Path, drop_page: int) -> ReplayOcrEngine:
    """The recordings without one page: that page fails like an engine error."""
    target = tmp_path / "partial"
    shutil.copytree(RECORDED, target)
    for f in target.glob(f"*-p{drop_page:04d}-*"):
        f.unlink()
    return ReplayOcrEngine(str(target))


@pytest.fixture
def scanned(archive: Archive) -> int:
    result = archive.ingest_path(SCAN_ZH)
    assert result.status == "archived" and result.pages_needing_ocr == (1, 2, 3)
    assert result.id is not None
    return result.id


def test_scanned_pages_are_ocrd_into_a_new_text_version(archive: Archive, scanned: int) -> None:
    before = archive.get(scanned)
    v1 = archive.text_document(scanned)
    assert archive.search("木门定制单").total == 0  # nothing to find before OCR
    run_ocr(archive, [scanned])

    record = archive.get(scanned)
    assert record.text_key.endswith("/text.v2.json") and before.text_key.endswith("text.v1.json")
    assert record.pages_needing_ocr == []
    assert [(p.text_source, p.ocr_status) for p in record.pages] == [("ocr", "done")] * 3
    assert all(p.ocr_confidence and 60 < p.ocr_confidence <= 100 for p in record.pages)
    # the first version is still there, byte for byte
    with archive.objects.open(before.text_key) as fh:
        assert json.loads(fh.read()) == v1

    doc = archive.text_document(scanned)
    assert doc["derived_from"] == {"key": before.text_key, "sha256": before.text_sha256}
    assert doc["ocr"]["pages_done"] == [1, 2, 3] and doc["ocr"]["pages_failed"] == []
    first, _, third = doc["pages"]
    assert first["source"] == "ocr" and first["needs_ocr"] is False
    assert "青岛市木门买卖合同示范文本" in first["text"]
    assert first["chars"] > 300
    ocr = first["ocr"]
    assert ocr["languages"] == "chi_sim+eng" and ocr["psm"] == 3
    assert ocr["image"] == {
        "source": "embedded",
        "width": 2478,
        "height": 3430,
        "dpi": 300,
        "page_rotation": 0,
    }
    assert 60 < ocr["confidence"] < 100 and ocr["words"] > 100
    low = ocr["low_confidence_words"]
    assert low and all(w["confidence"] < 60 for w in low)
    assert all(0 <= w["box"][0] < w["box"][2] <= 2478 for w in low)
    # the third page is a form printed sideways: OSD found it, it was read turned upright
    assert third["ocr"]["rotation"] == 90 and third["ocr"]["orientation"]["rotate"] == 90
    assert "木门定制单" in third["text"]
    # text between Chinese characters carries no spaces
    assert "青 岛" not in first["text"]

    hits = archive.search("木门定制单").hits
    assert hits and hits[0].id == scanned
    assert archive.search('"买卖双方发生争议"').hits[0].id == scanned


def test_searchable_copy_overlays_the_ocr_text_on_the_original(
    archive: Archive, scanned: int
) -> None:
    run_ocr(archive, [scanned])
    batch = archive.records.ocr_batch(scanned)
    assert batch is not None and batch.state == "done"
    assert batch.searchable_key and batch.searchable_key.endswith("/searchable.v1.pdf")
    with archive.objects.open(batch.searchable_key) as fh:
        data = fh.read()
    # the original is untouched, and the copy keeps its page images
    with archive.objects.open(archive.get(scanned).original_key) as fh:
        assert fh.read() == SCAN_ZH.read_bytes()
    copy = pypdf.PdfReader(io.BytesIO(data))
    original = pypdf.PdfReader(SCAN_ZH)
    assert len(copy.pages) == 3
    for mine, theirs in zip(copy.pages, original.pages, strict=True):
        assert [i.name for i in mine.images] == [i.name for i in theirs.images]
        assert mine.mediabox == theirs.mediabox
    # the text layer can be extracted ...
    extracted = "".join(copy.pages[1].extract_text().split())
    assert "违约责任" in extracted and "保证责任" in extracted
    # ... and found by a viewer's search (pdfium, as in Chromium's viewer), on ink
    pdf = pdfium.PdfDocument(data)
    for page_index, phrase in [(0, "合同编号"), (1, "保证责任"), (2, "木门定制单")]:
        page = pdf[page_index]
        text = page.get_textpage()
        found = text.search(phrase).get_next()
        assert found is not None, phrase
        assert ink_under(page, text, found[0], found[1]) > 0.8, phrase


def ink_under(page: pdfium.PdfPage, text: pdfium.PdfTextPage, start: int, count: int) -> float:
    """Share of the found characters whose box covers dark pixels of the page as shown."""
    scale = 100 / 72
    image = page.render(scale=scale, grayscale=True).to_pil().convert("L")
    shown_w, shown_h = page.get_size()  # as displayed, after /Rotate
    rotation = page.get_rotation() % 360
    w, h = (shown_h, shown_w) if rotation % 180 else (shown_w, shown_h)

    def shown(x: float, y: float) -> tuple[float, float]:
        """A point of user space on the displayed page (origin top left, y down)."""
        return {
            0: (x, h - y),
            90: (y, x),
            180: (w - x, y),
            270: (h - y, w - x),
        }[rotation]

    inked = total = 0
    for i in range(start, start + count):
        if not text.get_text_range(i, 1).strip():
            continue
        left, bottom, right, top = text.get_charbox(i)
        (x0, y0), (x1, y1) = shown(left, bottom), shown(right, top)
        box = (
            int(min(x0, x1) * scale),
            int(min(y0, y1) * scale),
            int(max(x0, x1) * scale) + 1,
            int(max(y0, y1) * scale) + 1,
        )
        total += 1
        inked += image.crop(box).getextrema()[0] < 128
    return inked / max(total, 1)


def image_pdf(pages: list[tuple[Image.Image, int, int]], target: Path) -> Path:
    """A PDF of grey page images, losslessly (Flate), each at ``dpi`` with a /Rotate."""
    writer = pypdf.PdfWriter()
    for image, dpi, rotate in pages:
        image = image.convert("L")
        width, height = image.width * 72 / dpi, image.height * 72 / dpi
        page = writer.add_blank_page(width=width, height=height)
        xobject = StreamObject()
        xobject._data = zlib.compress(image.tobytes(), 6)
        xobject.update(
            {
                NameObject("/Type"): NameObject("/XObject"),
                NameObject("/Subtype"): NameObject("/Image"),
                NameObject("/Width"): NumberObject(image.width),
                NameObject("/Height"): NumberObject(image.height),
                NameObject("/ColorSpace"): NameObject("/DeviceGray"),
                NameObject("/BitsPerComponent"): NumberObject(8),
                NameObject("/Filter"): NameObject("/FlateDecode"),
            }
        )
        page[NameObject("/Resources")] = DictionaryObject(
            {
                NameObject("/XObject"): DictionaryObject(
                    {NameObject("/Im0"): writer._add_object(xobject)}
                )
            }
        )
        content = DecodedStreamObject()
        content.set_data(f"q {width:.4f} 0 0 {height:.4f} 0 0 cm /Im0 Do Q".encode())
        page.replace_contents(content)
        if rotate:
            page[NameObject("/Rotate")] = NumberObject(rotate)
        page[NameObject("/MediaBox")] = ArrayObject(
            [FloatObject(0), FloatObject(0), FloatObject(width), FloatObject(height)]
        )
    with open(target, "wb") as fh:
        writer.write(fh)
    return target


def scan_page_image() -> Image.Image:
    """The Chinese scan's first page as the scanner made it: its 300 dpi image, grey, upright."""
    pdf = pdfium.PdfDocument(SCAN_ZH)
    try:
        image_object = next(o for o in pdf[0].get_objects() if isinstance(o, pdfium.PdfImage))
        return image_object.get_bitmap(render=False).to_pil().convert("L")
    finally:
        pdf.close()


def turned_copies(target: Path, dpi: int = 300) -> Path:
    """A turned copy of the Chinese scan's first page: its image turned 90° clockwise, 180°,
    270°, and stored sideways but shown upright by the page's /Rotate (4 pages). The scan is
    300 dpi; a lower ``dpi`` scales the image down to it (a scan made at that resolution)."""
    upright = scan_page_image()
    if dpi != 300:
        size = (round(upright.width * dpi / 300), round(upright.height * dpi / 300))
        upright = upright.resize(size, Image.Resampling.LANCZOS)
    return image_pdf(
        [
            (upright.rotate(-90, expand=True), dpi, 0),
            (upright.rotate(180, expand=True), dpi, 0),
            (upright.rotate(90, expand=True), dpi, 0),
            (upright.rotate(90, expand=True), dpi, 90),
        ],
        target,
    )


def title_scan(target: Path) -> Path:
    """The upper third of the Chinese scan's first page (its title, at the scan's 300 dpi) as a
    one-page scan: for tests of the real engine whose subject is not what is read (a timeout, a
    hostile file), a third of the reading; tesseract's loading of chi_sim+eng alone still takes
    longer than a 0.3 s page timeout."""
    upright = scan_page_image()
    return image_pdf([(upright.crop((0, 0, upright.width, upright.height // 3)), 300, 0)], target)


def test_searchable_copy_of_turned_pages_is_upright_and_searchable(tmp_path: Path) -> None:
    """The text layer of the upright page (recorded) laid over turned copies of it, as OCR
    leaves it for pages it read turned upright: each copy page is shown upright, and a
    viewer's search finds the title on its ink, in reading order."""
    turned = turned_copies(tmp_path / "turned.pdf")
    layer = (RECORDED / "d4c589dac7b46dd6-p0001-r0-chi_sim+eng-300.pdf").read_bytes()
    rotations = [270, 180, 90, 0]  # what OCR turned each displayed page by to read it
    out = tmp_path / "searchable.pdf"
    layers = [Layer(n, layer, r) for n, r in enumerate(rotations, 1)]
    assert build_searchable(str(turned), layers, str(out)) == 4
    copy = pypdf.PdfReader(out)
    assert [p.rotation for p in copy.pages] == [270, 180, 90, 90]
    original = pypdf.PdfReader(turned)
    for mine, theirs in zip(copy.pages, original.pages, strict=True):
        assert mine.mediabox == theirs.mediabox
        assert [i.name for i in mine.images] == [i.name for i in theirs.images]
    pdf = pdfium.PdfDocument(out)
    for index in range(4):
        page = pdf[index]
        width, height = page.get_size()
        assert width < height, index  # shown upright: portrait
        text = page.get_textpage()
        for phrase in ("青岛市木门买卖合同示范文本", "违约定金双倍返还"):
            found = text.search(phrase).get_next()
            assert found is not None, (index, phrase, text.get_text_range(0, 60))
            assert ink_under(page, text, *found) > 0.8, (index, phrase)
    assert pypdf.PdfReader(turned).pages[1].rotation == 0  # the input is untouched


def test_text_layer_pages_are_not_ocrd_again(archive: Archive) -> None:
    result = archive.ingest_path(MIXED)
    assert result.status == "archived" and result.pages_needing_ocr == (2,)
    assert result.id is not None
    jobs = archive.records.ocr_jobs(result.id)
    assert [j.page_no for j in jobs] == [2]
    run_ocr(archive, [result.id])
    doc = archive.text_document(result.id)
    assert [p["source"] for p in doc["pages"]] == ["text-layer", "ocr"]
    assert "ocr" not in doc["pages"][0]
    assert "JOINT FILING" in doc["pages"][0]["text"].upper()
    record = archive.get(result.id)
    assert record.pages[0].ocr_status is None and record.pages[1].ocr_status == "done"
    copy = archive.records.ocr_batch(result.id)
    assert copy is not None and copy.searchable_key
    with archive.objects.open(copy.searchable_key) as fh:
        pages = pypdf.PdfReader(io.BytesIO(fh.read())).pages
    with open(MIXED, "rb") as fh:
        original_first = pypdf.PdfReader(fh).pages[0].extract_text()
    assert pages[0].extract_text() == original_first  # no layer over the text page


def test_failed_page_leaves_the_contract_archived_and_retry_completes_it(
    archive: Archive, scanned: int, tmp_path: Path
) -> None:
    run_ocr(archive, [scanned], partial_recordings(tmp_path, drop_page=2))
    record = archive.get(scanned)
    assert [p.ocr_status for p in record.pages] == ["done", "failed", "done"]
    assert "no recorded OCR output" in (record.pages[1].ocr_error or "")
    assert record.pages_needing_ocr == [2]
    batch = archive.records.ocr_batch(scanned)
    assert batch is not None and batch.state == "incomplete" and batch.searchable_key
    from schemas.contracts import ContractPublic

    assert ContractPublic.from_record(record).ocr_note == "OCR incomplete: page 2"
    doc = archive.text_document(scanned)
    assert doc["pages"][1]["ocr"]["status"] == "failed" and doc["pages"][1]["needs_ocr"]
    assert archive.search("保证责任").total == 0  # page 2 is not searchable yet
    assert archive.search("木门定制单").hits[0].id == scanned  # the others are

    assert archive.records.retry_ocr(scanned) == [2]
    run_ocr(archive, [scanned])
    record = archive.get(scanned)
    assert [p.ocr_status for p in record.pages] == ["done"] * 3
    assert record.text_key.endswith("/text.v3.json")
    keys = sorted(k.rsplit("/", 1)[1] for k in archive.objects.iter_keys())
    assert [k for k in keys if not k.startswith("manifest.")] == [
        "original",
        "searchable.v1.pdf",
        "searchable.v2.pdf",
        "text.v1.json",
        "text.v2.json",
        "text.v3.json",
        "words.v2.json",
        "words.v3.json",
    ]
    # the word boxes of the viewer: pages 1 and 3 from the first run, page 2 from the retry
    words = archive.stored_words(record)
    assert words is not None and [p["page"] for p in words["pages"]] == [1, 2, 3]
    # the seal issued a manifest each time the package changed: archived, OCR'd, retried
    assert [k for k in keys if k.startswith("manifest.") and k.endswith(".json")] == [
        "manifest.v1.json",
        "manifest.v2.json",
        "manifest.v3.json",
    ]
    assert archive.search("保证责任").hits[0].id == scanned
    assert ContractPublic.from_record(record).ocr_note is None


def test_page_timeout_marks_the_page_failed_with_the_reason(
    settings_factory, tmp_path: Path
) -> None:
    # Each attempt waits for the replay until the timeout is past (its delay, at most the
    # timeout and a second): 9 attempts on 2 workers, 1 s each.
    archive = settings_factory(ocr_page_timeout_seconds=0.5)
    result = archive.ingest_path(SCAN_ZH)
    assert result.id is not None
    run_ocr(archive, [result.id], replay(delay=1.0))
    record = archive.get(result.id)
    assert {p.ocr_status for p in record.pages} == {"failed"}
    assert all(
        "ARCHIVE_OCR_PAGE_TIMEOUT_SECONDS (0.5 s)" in (p.ocr_error or "") for p in record.pages
    )
    # each page had its ARCHIVE_OCR_MAX_ATTEMPTS attempts, then failed for good
    assert [j.attempts for j in archive.records.ocr_jobs(result.id)] == [3, 3, 3]
    batch = archive.records.ocr_batch(result.id)
    assert batch is not None and batch.state == "incomplete" and batch.searchable_key is None


@pytest.fixture
def settings_factory(tmp_path: Path) -> Iterator:
    opened: list[Archive] = []

    def make(**overrides: object) -> Archive:
        a = Archive(make_settings(tmp_path / f"var{len(opened)}", **overrides), parser_workers=1)
        opened.append(a.open())
        return a

    yield make
    for a in opened:
        a.close()


def test_work_left_by_a_dead_worker_is_resumed_after_a_restart(
    archive: Archive, scanned: int
) -> None:
    # A server process took page 1 and died (its pid no longer exists) with 2 pages queued.
    dead = subprocess.Popen(["true"])
    dead.wait()
    owner = f"{socket.gethostname()}:{dead.pid}:0dead000:0"
    claim = archive.records.claim_ocr_page(owner, 3600)
    assert claim is not None and claim.page_no == 1
    leftover = archive.settings.tmp_dir / f"ocr-{socket.gethostname()}-{dead.pid}-0dead000"
    leftover.mkdir(parents=True)
    (leftover / f"{'0' * 64}.pdf").write_bytes(b"%PDF-")
    archive.close()

    # The next start, a new Archive on the same data: everything is done, nothing lost.
    with Archive(archive.settings, parser_workers=1).open() as again:
        run_ocr(again, [scanned])
        record = again.get(scanned)
        assert [p.ocr_status for p in record.pages] == ["done"] * 3
        jobs = again.records.ocr_jobs(scanned)
        assert jobs[0].attempts == 2  # taken by the dead worker, then by us
    assert not leftover.exists()


def test_a_page_held_by_a_live_worker_elsewhere_is_left_alone(
    archive: Archive, scanned: int
) -> None:
    owner = f"{socket.gethostname()}:{os.getppid()}:0live000:0"  # a live process
    claim = archive.records.claim_ocr_page(owner, 3600)
    assert claim is not None
    service = OcrService(archive, engine=replay(), workers=1)
    assert service.recover() == 0
    other_host = "elsewhere.example:1:abc:0"
    assert archive.records.claim_ocr_page(other_host, 3600) is not None
    assert service.recover() == 0
    assert archive.records.ocr_counts([scanned]).running == 2


def test_stopping_the_service_gives_unfinished_pages_back(archive: Archive, scanned: int) -> None:
    service = OcrService(archive, engine=replay(delay=30.0), workers=2, poll_seconds=0.1)
    service.start()
    deadline = time.monotonic() + 30
    while archive.records.ocr_counts([scanned]).running < 2 and time.monotonic() < deadline:
        time.sleep(0.1)
    assert archive.records.ocr_counts([scanned]).running == 2
    started = time.monotonic()
    service.stop()
    assert time.monotonic() - started < 15
    counts = archive.records.ocr_counts([scanned])
    assert (counts.queued, counts.running, counts.failed) == (3, 0, 0)
    assert [j.attempts for j in archive.records.ocr_jobs(scanned)] == [0, 0, 0]
    assert [p.ocr_status for p in archive.get(scanned).pages] == ["pending"] * 3


def test_a_deleted_original_fails_its_pages_with_the_reason(archive: Archive, scanned: int) -> None:
    record = archive.get(scanned)
    path = archive.settings.objects_dir / record.original_key
    path.chmod(0o644)
    path.write_bytes(b"%PDF-1.4 not the original")
    run_ocr(archive, [scanned])
    pages = archive.get(scanned).pages
    assert {p.ocr_status for p in pages} == {"failed"}
    assert all("does not match its SHA-256" in (p.ocr_error or "") for p in pages)
    assert not list(archive.settings.tmp_dir.glob("ocr-*/*.pdf"))


# --- the API ------------------------------------------------------------------------------
@pytest.fixture
def client(archive: Archive) -> Iterator[TestClient]:
    service = OcrService(archive, engine=replay(), workers=2, poll_seconds=0.1)
    with client_as(archive, ocr_service=service) as c:
        yield c


def upload(client: TestClient, path: Path):
    with open(path, "rb") as fh:
        return client.post("/api/v1/contracts", files={"file": (path.name, fh, "application/pdf")})


def poll(client: TestClient, url: str, timeout: float = 60) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        body = client.get(url).json()
        if body["state"] in ("done", "incomplete") or time.monotonic() > deadline:
            return body
        time.sleep(0.1)


def test_upload_of_a_scan_is_answered_at_once_with_202(client: TestClient) -> None:
    started = time.monotonic()
    r = upload(client, SCAN_ZH)
    assert r.status_code == 202, r.text
    assert time.monotonic() - started < 20
    body = r.json()
    cid = body["id"]
    assert body["status"] == "archived" and body["pages_needing_ocr"] == [1, 2, 3]
    assert body["ocr_status_url"] == f"/api/v1/contracts/{cid}/ocr"
    assert r.headers["location"] == body["ocr_status_url"]
    assert body["ocr"]["state"] in ("queued", "running")
    assert body["ocr"]["pages_total"] == 3

    status = poll(client, body["ocr_status_url"])
    assert status["state"] == "done" and status["pages_done"] == 3 and status["progress"] == 1
    assert status["pages_failed"] == [] and status["message"] is None
    assert [p["rotation"] for p in status["pages"]] == [0, 0, 90]
    assert all(p["confidence"] > 60 for p in status["pages"])
    assert status["searchable_url"] == f"/api/v1/contracts/{cid}/searchable"

    shown = client.get(f"/api/v1/contracts/{cid}").json()
    assert [p["text_source"] for p in shown["page_details"]] == ["ocr"] * 3
    assert all(p["ocr_confidence"] > 60 for p in shown["page_details"])
    assert shown["pages_needing_ocr"] == [] and shown["ocr_note"] is None

    copy = client.get(status["searchable_url"])
    assert copy.status_code == 200 and copy.headers["content-type"] == "application/pdf"
    assert (
        copy.content.startswith(b"%PDF-")
        and len(pypdf.PdfReader(io.BytesIO(copy.content)).pages) == 3
    )
    assert copy.headers["etag"] == f'"{copy.headers["x-content-sha256"]}"'
    assert "searchable.pdf" in copy.headers["content-disposition"]
    assert (
        client.get(
            status["searchable_url"], headers={"If-None-Match": copy.headers["etag"]}
        ).status_code
        == 304
    )
    original = client.get(f"/api/v1/contracts/{cid}/original")
    assert original.content == SCAN_ZH.read_bytes()

    hits = client.get("/api/v1/search", params={"q": "木门定制单"}).json()["hits"]
    assert hits[0]["id"] == cid
    assert upload(client, SCAN_ZH).status_code == 200  # a duplicate stays 200


def test_text_pdfs_keep_201_and_have_no_searchable_copy(client: TestClient) -> None:
    text_pdf = next((CORPUS / "en-cuad").rglob("*JOINT FILING*.PDF"))
    r = upload(client, text_pdf)
    assert r.status_code == 201 and r.json()["ocr"] is None
    cid = r.json()["id"]
    assert client.get(f"/api/v1/contracts/{cid}/ocr").json()["state"] == "none"
    refused = client.get(f"/api/v1/contracts/{cid}/searchable")
    assert refused.status_code == 409
    assert refused.json()["error"]["code"] == "ocr_not_ready"
    assert "/original" in refused.json()["error"]["hint"]


def test_searchable_copy_is_refused_while_ocr_runs(archive: Archive, scanned: int) -> None:
    with client_as(archive) as c:  # no OCR service
        r = c.get(f"/api/v1/contracts/{scanned}/searchable")
        assert (
            r.status_code == 409 and "still running (0 of 3 pages)" in r.json()["error"]["message"]
        )
        assert c.get(f"/api/v1/contracts/{scanned}/ocr").json()["state"] == "queued"
        assert c.get("/api/v1/contracts/424242/searchable").status_code == 404


def test_retry_over_the_api(archive: Archive, scanned: int, tmp_path: Path) -> None:
    run_ocr(archive, [scanned], partial_recordings(tmp_path, drop_page=3))
    service = OcrService(archive, engine=replay(), workers=1, poll_seconds=0.1)
    with client_as(archive, ocr_service=service) as c:
        before = c.get(f"/api/v1/contracts/{scanned}/ocr").json()
        assert before["state"] == "incomplete" and before["pages_failed"] == [3]
        assert before["message"] == "OCR incomplete: page 3"
        assert c.get(f"/api/v1/contracts/{scanned}").json()["ocr_note"] == "OCR incomplete: page 3"
        r = c.post(f"/api/v1/contracts/{scanned}/ocr/retry")
        assert r.status_code == 202 and r.json()["state"] in ("queued", "running", "done")
        after = poll(c, f"/api/v1/contracts/{scanned}/ocr")
        assert after["state"] == "done" and after["pages_failed"] == []


def test_missing_tesseract_stops_the_commands_at_start_up(tmp_path: Path) -> None:
    """No tesseract on PATH: `ingest` and `worker` stop before any work, naming the packages."""
    import sys

    program = str(Path(sys.executable).parent / "contract-archive")
    no_tesseract = {"PATH": str(tmp_path)}
    env = {**os.environ, **no_tesseract, "ARCHIVE_DATA_DIR": str(tmp_path / "var")}
    wanted = (
        "apt-get install tesseract-ocr tesseract-ocr-chi-sim tesseract-ocr-eng tesseract-ocr-osd"
    )
    for args in (["ingest", str(SCAN_ZH)], ["worker", "--until-idle"]):
        r = subprocess.run(
            [program, *args], capture_output=True, text=True, env=env, timeout=120, check=False
        )
        assert r.returncode == 2, (args, r.stderr)
        assert "tesseract" in r.stderr and wanted in " ".join(r.stderr.split()), r.stderr
        assert "Traceback" not in r.stderr
    # nothing was archived: the check comes first
    assert not list((tmp_path / "var").rglob("original"))
    # --no-ocr archives the scan and leaves its pages queued (in-process, with the same PATH:
    # the installed program's start-up is the subject above)
    r = invoke(tmp_path / "var", "ingest", str(SCAN_ZH), "--no-ocr", "--json", env=no_tesseract)
    assert r.returncode == 0, r.stderr
    line = json.loads(r.stdout)
    assert line["status"] == "archived" and line["pages_needing_ocr"] == [1, 2, 3]
    shown = invoke(tmp_path / "var", "ocr", str(line["id"]), "--json", env=no_tesseract)
    status = json.loads(shown.stdout)
    assert status["state"] == "queued" and status["pages_total"] == 3


def _open_suggestions(client: TestClient, cid: int) -> list[dict]:
    """Open term suggestions (``id``, ``field``, ``value``) and open clauses (as the same)."""
    r = client.get(f"/api/v1/contracts/{cid}/terms")
    assert r.status_code == 200, r.text
    found = [s for items in r.json()["suggested"].values() for s in items if s["state"] == "open"]
    r = client.get(f"/api/v1/contracts/{cid}/clauses")
    assert r.status_code == 200, r.text
    for c in r.json()["clauses"]:
        if c["state"] == "open":
            found.append({"id": c["suggestion_id"], "field": "clause", "value": c["type"]})
    return found


def _decision(s: dict) -> tuple[str, str]:
    return s["field"], json.dumps(s["value"], sort_keys=True)


def test_what_a_person_rejected_is_not_suggested_again_after_ocr(archive: Archive) -> None:
    """The text page is read at ingest; the person rejects every suggestion (clauses by their
    type, terms by their value); OCR of the scanned page then extracts again, with the clause
    sentences read anew, and brings none of them back."""
    with client_as(archive) as client:
        r = upload(client, MIXED)
        assert r.status_code == 202, r.text
        cid = r.json()["id"]
        before = _open_suggestions(client, cid)
        assert {"party", "classification"} <= {s["field"] for s in before}, before
        for s in before:
            done = client.post(f"/api/v1/contracts/{cid}/suggestions/{s['id']}/reject")
            assert done.status_code == 200, done.text
        assert _open_suggestions(client, cid) == []
        run_ocr(archive, [cid])
        assert client.get(f"/api/v1/contracts/{cid}/ocr").json()["state"] == "done"
        after = _open_suggestions(client, cid)
        rejected = {_decision(s) for s in before}
        assert not rejected & {_decision(s) for s in after}, after
        # New text still gives new suggestions: the scanned page's own terms and clauses.
        assert after, "OCR brought no new suggestion at all"
