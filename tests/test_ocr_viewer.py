"""Scans in the page viewer (issue 15): search hits on OCR'd pages are drawn on the page image
from the word boxes OCR kept (``words.vN.json``), and every page carries a selectable text
layer over its image. Through the web pages with a token, like ``test_web.py``.

The English scan's first page (its image only) is read by tesseract itself (one page); the Chinese scan's three
pages replay tesseract's recorded outputs (tests/data/ocr/recorded). A contract OCR'd before
word boxes were kept (its ``words.vN.json`` taken away) still shows its pages, with the old
notice that the hits cannot be placed.
"""

from __future__ import annotations

import html as html_lib
import json
import re
from collections.abc import Iterator
from pathlib import Path

import pypdf
import pytest
from fastapi.testclient import TestClient

from ingest.ocr.engine import ReplayOcrEngine, TesseractEngine
from search_api.app import create_app
from services.archive import Archive, words_key
from services.ocr import OcrService
from tests.access_helpers import auth_headers
from tests.conftest import CORPUS, corpus_files, make_settings

pytestmark = [pytest.mark.ocr]

RECORDED = Path(__file__).parent / "data" / "ocr" / "recorded"
MIXED = Path(__file__).parent / "data" / "ocr" / "mixed.pdf"
SCAN_ZH = CORPUS / "scanned" / "real" / "青岛市木门买卖合同示范文本.pdf"
SCAN_EN = CORPUS / "scanned" / "real" / "WESTERN_COPPER-NON-COMPETITION_AGREEMENT.pdf"
TEXT_EN = next(p for p in corpus_files("en-cuad", ".pdf") if "JOINT FILING" in p.name)
HTML = {"accept": "text/html,application/xhtml+xml"}
RECT = re.compile(
    r'<rect class="hit-rect" x="([\d.]+)" y="([\d.]+)" width="([\d.]+)" height="([\d.]+)"/>'
)
RUN = re.compile(r"<text [^>]*>([^<]*)</text>")

IDS: dict[str, int] = {}


def scan_only(source: Path, target: Path) -> Path:
    """The first page of the English scan as its bare image (the corpus copy carries a text
    layer someone OCR'd before; the archive is to read the scan itself)."""
    [image] = pypdf.PdfReader(source).pages[0].images
    image.image.save(target, format="PDF", resolution=300.0)
    return target


def ocr(archive: Archive, ids: list[int], engine: object) -> None:
    with OcrService(archive, engine=engine, workers=2, poll_seconds=0.1, only=set(ids)) as service:  # type: ignore[arg-type]
        service.wait_for(ids, poll=0.1)


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    root = tmp_path_factory.mktemp("ocr-viewer")
    with Archive(make_settings(root / "var"), parser_workers=1).open() as archive:
        for name, path in (
            ("zh", SCAN_ZH),
            ("en", scan_only(SCAN_EN, root / "western-copper-p1.pdf")),
            ("old", MIXED),
            ("text", TEXT_EN),
        ):
            result = archive.ingest_path(path, display_name=path.name)
            assert result.status == "archived" and result.id is not None, result
            IDS[name] = result.id
        ocr(archive, [IDS["zh"], IDS["old"]], ReplayOcrEngine(str(RECORDED)))
        ocr(archive, [IDS["en"]], TesseractEngine())
        # a contract OCR'd before word boxes were kept: its text version has none beside it
        old = archive.get(IDS["old"])
        old_words = words_key(old.text_key)
        assert old_words and archive.objects.exists(old_words)
        archive.objects.delete(old_words)
        with TestClient(
            create_app(archive), headers=auth_headers(archive), raise_server_exceptions=False
        ) as c:
            c.archive = archive  # type: ignore[attr-defined]
            yield c


def page(client: TestClient, url: str) -> str:
    r = client.get(url, headers=HTML)
    assert r.status_code == 200, (url, r.status_code, r.text[:500])
    return r.text


def rects(html: str) -> list[tuple[float, float, float, float]]:
    return [tuple(float(v) for v in m.groups()) for m in RECT.finditer(html)]  # type: ignore[misc]


def layer_text(html: str) -> str:
    return "\n".join(html_lib.unescape(m[1]) for m in RUN.finditer(html))


def test_ocr_keeps_word_boxes_beside_the_text(client: TestClient) -> None:
    archive: Archive = client.archive  # type: ignore[attr-defined]
    record = archive.get(IDS["zh"])
    words = archive.stored_words(record)
    assert words is not None and words["text"]["key"] == record.text_key
    assert [p["page"] for p in words["pages"]] == [1, 2, 3]
    assert [p["rotation"] for p in words["pages"]] == [0, 0, 90]
    first = words["pages"][0]["words"]
    assert ["青岛", 0.27563, 0.11166, 0.36118, 0.13673, 1] in first
    assert all(0 <= w[1] < w[3] <= 1 and 0 <= w[2] < w[4] <= 1 for w in first)
    # the text file stays as it was: the boxes are not in it
    assert "boxes" not in archive.text_document(IDS["zh"])["pages"][0]["ocr"]


def test_a_chinese_hit_is_boxed_to_the_character(client: TestClient) -> None:
    # 市木 is 市 (one word) and the first half of 木门 (the next): tesseract's boxes are
    # words of one or two characters, shared out among their characters
    html = page(client, f"/contracts/{IDS['zh']}?q=市木&page=1")
    assert "could not be placed on the image" not in html
    [(left, top, width, height)] = rects(html)
    assert left == pytest.approx(932 / 2478 * 100, abs=0.4)
    assert left + width == pytest.approx((1019 + 132 / 2) / 2478 * 100, abs=0.4)
    assert top == pytest.approx(383 / 3430 * 100, abs=0.4)
    assert 2 < height < 3.5
    assert "Hits marked on this page: 1" in html, re.findall(r"notice[^<]*<", html)


def test_hits_on_a_page_read_turned_land_on_the_upright_image(client: TestClient) -> None:
    """Page 3 is a form printed sideways, OCR read it turned by 90°: its boxes are turned back."""
    html = page(client, f"/contracts/{IDS['zh']}?q=木门定制单&page=3")
    # one box, tall and narrow: the words run up the page image as displayed
    [(left, top, width, height)] = rects(html)
    assert left >= 0 and top >= 0
    assert left + width <= 100.01 and top + height <= 100.01
    assert height > 2 * width, (left, top, width, height)
    assert 8 < left < 12 and 42 < top < 46  # where the heading is on the image


def test_an_english_hit_on_a_tesseract_page(client: TestClient) -> None:
    archive: Archive = client.archive  # type: ignore[attr-defined]
    words = archive.page_words(archive.get(IDS["en"]), 1)
    assert words is not None
    boxes = [w for w in words["words"] if w[0].strip(",.").lower() == "province"]
    assert boxes, [w[0] for w in words["words"]][:80]
    html = page(client, f"/contracts/{IDS['en']}?q=province&page=1")
    found = rects(html)
    assert len(found) == len(boxes)
    for (left, top, width, _), box in zip(
        sorted(found, key=lambda r: (r[1], r[0])), boxes, strict=True
    ):
        assert left == pytest.approx(box[1] * 100, abs=0.5)
        assert top == pytest.approx(box[2] * 100, abs=0.5)
        assert width == pytest.approx((box[3] - box[1]) * 100, abs=0.8)
    assert "NON-COMPETITION AGREEMENT AND RIGHT OF FIRST OFFER" in layer_text(html)


def test_every_page_has_a_selectable_text_layer(client: TestClient) -> None:
    zh = page(client, f"/contracts/{IDS['zh']}?page=1")
    assert 'class="text-layer"' in zh
    text = layer_text(zh)
    assert "青岛市木门买卖合同示范文本" in text  # no spaces between Chinese words
    assert "QF-2015-001" in text
    digital = page(client, f"/contracts/{IDS['text']}?page=1")
    assert 'class="text-layer"' in digital
    assert "JOINT FILING AGREEMENT" in layer_text(digital).upper()


def test_a_contract_ocrd_before_word_boxes_still_shows(client: TestClient) -> None:
    html = page(client, f"/contracts/{IDS['old']}?q=木门&page=2")
    assert "could not be placed on the image" in html
    assert not rects(html)
    assert f"/contracts/{IDS['old']}/pages/2.png" in html
    # its digital first page still has its text layer and hit boxes from the PDF
    first = page(client, f"/contracts/{IDS['old']}?page=1")
    assert 'class="text-layer"' in first


def test_the_hit_list_links_to_the_page_of_the_hit(client: TestClient) -> None:
    """Each snippet's page= link opens that page, with its hits counted and boxed (before,
    a page= link showed "does not occur in this contract's text")."""
    html = page(client, "/search?q=木门定制单")
    links = re.findall(rf'href="(/contracts/{IDS["zh"]}\?[^"]*page=(\d+))#viewer"', html)
    assert {n for _, n in links} == {"1", "2"}, links  # 木门定制单 on page 1, 木门 on page 2
    for url, n in links:
        shown = page(client, html_lib.unescape(url))
        assert f'max="3" value="{n}"' in shown
        assert "does not occur" not in shown
        assert f'aria-current="page">{n} <span class="count">' in shown
        assert rects(shown), url


def test_the_word_file_is_json_with_its_text_version(client: TestClient) -> None:
    archive: Archive = client.archive  # type: ignore[attr-defined]
    record = archive.get(IDS["en"])
    key = words_key(record.text_key)
    assert key and key.endswith("/words.v2.json")
    with archive.objects.open(key) as fh:
        data = json.loads(fh.read())
    assert data["schema"] == "contract-archive/words/1"
    assert data["text"] == {"key": record.text_key, "sha256": record.text_sha256}
