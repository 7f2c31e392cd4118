"""RapidOCR, the second OCR engine (``ingest/ocr/rapid.py``, ``ARCHIVE_OCR_ENGINE``).

Without the model: RapidOCR's detections become lines in reading order, tesseract's TSV (which
``parse_tsv`` turns into confidences and the page viewer's word boxes) and an invisible text
layer that pdfium reads back. Marked ``ocr``: the real engine, with the models its wheel ships,
reads the real Chinese scan's first page (its clause headings, 违约责任 among them) with word
boxes, and ``auto`` sends a Chinese page to RapidOCR on OSD's word, without a tesseract
reading first (issue 19), and keeps tesseract's reading of an English one.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import img2pdf
import pypdfium2 as pdfium
import pytest
from PIL import Image

from bench.ocr_quality import QINGDAO_HEADINGS
from ingest.ocr.engine import PSM, EngineOutput, Orientation, TesseractEngine
from ingest.ocr.page import PageOptions, ocr_page, parse_tsv, tidy_text
from ingest.ocr.rapid import (
    RapidOcrEngine,
    check_rapidocr,
    latin_runs,
    lines_of,
    reading_order,
    respace,
    text_layer,
    to_text,
    to_tsv,
    version,
    word_breaks,
)
from ingest.ocr.select import engine_options
from services.archive import Archive
from services.ocr import OcrService
from tests.conftest import CORPUS
from tests.test_ocr_pipeline import image_pdf, scan_page_image

QINGDAO = CORPUS / "scanned" / "real" / "青岛市木门买卖合同示范文本.pdf"
SYNTHETIC = CORPUS / "scanned" / "synthetic" / "doc01" / "page-1.png"


def _chars(text: str, left: int, top: int, width: int, height: int) -> list[Any]:
    """A detection as RapidOCR returns it with ``return_word_box=True``."""
    step = width // len(text)
    boxes = [
        [
            [left + i * step, top],
            [left + (i + 1) * step, top],
            [left + (i + 1) * step, top + height],
            [left + i * step, top + height],
        ]
        for i in range(len(text))
    ]
    outline = [[left, top], [left + width, top], [left + width, top + height], [left, top + height]]
    return [outline, text, 0.97, boxes, list(text), [0.97 if c != "x" else 0.4 for c in text]]


def test_detections_become_lines_in_reading_order_words_and_a_tsv() -> None:
    # The detector lists the right part of the first line before its left part, and the
    # second line's part before the first line's: the reading is top to bottom, left to right.
    result = [
        _chars("（编号：", 600, 102, 160, 40),
        _chars("第六条违约责任", 100, 300, 280, 40),
        _chars("第一条产品明细", 100, 100, 280, 40),
        _chars("Fee x 12", 100, 400, 320, 40),
    ]
    rows = reading_order(lines_of(result))
    assert to_text(rows) == "第一条产品明细 （编号：\n第六条违约责任\nFee x 12\n"
    words = parse_tsv(to_tsv(rows, 1000, 1000), threshold=60.0)
    texts = [box[0] for box in words.boxes]
    # Each Han character is a word (as tesseract's Chinese models give them); Latin words are
    # split at spaces.
    assert texts[:7] == list("第一条产品明细")
    assert texts[-3:] == ["Fee", "x", "12"]
    assert words.lines == 4
    first = words.boxes[0]
    assert first[1:5] == [0.1, 0.1, 0.14, 0.14]  # fractions of the page
    assert [w["text"] for w in words.low] == ["x"]  # 40 < 60: a low-confidence word
    assert 90 < (words.confidence or 0) < 100


def test_spaces_between_latin_words_come_back_from_the_second_reading() -> None:
    # Tesseract's words give the breaks; RapidOCR's letters are kept, its own spaces too, and
    # a misread letter on either side does not move a break.
    assert word_breaks("Limitationof liability", ["Limitation", "of", "liability"]) == [10]
    words = ["Governing", "law", "and", "jurisdiction"]
    assert word_breaks("Governinglaw andjurisdiction", words) == [9, 16]
    misread = ["Governing", "1aw", *words[2:]]
    assert word_breaks("GoverninglawandjurisdictIon", misread) == [9, 12, 15]
    assert word_breaks("Governinglaw", ["Governing", "law"]) == [9]
    # No space comes inside an address or a number that tesseract breaks after its dots.
    assert word_breaks("http://ghzyj.gz.gov.cn", ["http://ghzyj.", "gz.", "gov.", "cn"]) == []
    assert word_breaks("USD1,000.00", ["USD", "1,", "000.00"]) == [3]
    # A reading of something else gives no breaks at all.
    assert word_breaks("Governinglaw", ["Total", "amount"]) == []
    result = [
        _chars("第六条违约责任Limitationofliability本合同", 100, 300, 1100, 40),
        _chars("Fee", 100, 400, 120, 40),  # too short to be looked at
    ]
    runs = latin_runs(result)
    assert [(r.item, r.start, r.end) for r in runs] == [(0, 7, 28)]
    assert runs[0].box[1] == 300 and runs[0].box[3] == 340
    fixed = respace(result, runs, [["Limitation", "of", "liability"]])
    assert fixed[0][1] == "第六条违约责任Limitation of liability本合同"
    assert len(fixed[0][3]) == len(fixed[0][4]) == len(fixed[0][5]) == len(fixed[0][1])
    rows = reading_order(lines_of(fixed))
    assert to_text(rows) == "第六条违约责任Limitation of liability本合同\nFee\n"
    words = [box[0] for box in parse_tsv(to_tsv(rows, 2000, 1000), threshold=60.0).boxes]
    assert words[7:10] == ["Limitation", "of", "liability"]
    # the input is left as it was
    assert result[0][1] == "第六条违约责任Limitationofliability本合同"


def test_the_text_layer_is_invisible_text_pdfium_reads_back() -> None:
    rows = reading_order(lines_of([_chars("第六条违约责任", 100, 300, 280, 40)]))
    layer = text_layer(rows, 2480, 3508, 300)
    assert len(layer) < 20_000  # no real font embedded: tesseract's glyphless one
    pdf = pdfium.PdfDocument(io.BytesIO(layer))
    try:
        page = pdf[0]
        width, height = page.get_size()
        assert (round(width), round(height)) == (595, 842)  # the image at 300 dpi: A4
        text = page.get_textpage().get_text_range()
        assert "违约责任" in text.replace(" ", "")
    finally:
        pdf.close()


def test_engines_by_name() -> None:
    assert isinstance(engine_options("rapidocr")["engine"], RapidOcrEngine)
    auto = engine_options("auto")
    assert isinstance(auto["engine"], TesseractEngine)
    assert isinstance(auto["chinese_engine"], RapidOcrEngine)
    assert engine_options("tesseract")["chinese_engine"] is None
    with pytest.raises(ValueError, match="unknown OCR engine"):
        engine_options("paddle")


def test_the_wheel_ships_its_models() -> None:
    """Nothing is downloaded at run time: the three ONNX models are files of the package."""
    import rapidocr_onnxruntime

    models = Path(rapidocr_onnxruntime.__file__).parent / "models"
    names = sorted(p.name for p in models.glob("*.onnx"))
    assert names == [
        "ch_PP-OCRv4_det_infer.onnx",
        "ch_PP-OCRv4_rec_infer.onnx",
        "ch_ppocr_mobile_v2.0_cls_infer.onnx",
    ]
    assert version() == "1.4.4" == check_rapidocr()
    # Its configuration names those files, none to fetch.
    config = (models.parent / "config.yaml").read_text()
    assert sorted(re.findall(r"model_path: models/(\S+)", config)) == names
    assert "http" not in config


# --- the real engine -------------------------------------------------------------------------
@pytest.mark.ocr
@pytest.mark.slow
def test_rapidocr_reads_the_chinese_scan_s_headings_with_word_boxes(tmp_path: Path) -> None:
    page = ocr_page(
        str(QINGDAO), 1, "qingdao", PageOptions(**engine_options("rapidocr")), str(tmp_path)
    )
    flat = page.text.replace(" ", "")
    on_page_one = [h for h in QINGDAO_HEADINGS[:6]]
    assert [h for h in on_page_one if h.replace(" ", "") not in flat] == []
    assert page.confidence is not None and page.confidence > 90
    assert page.words > 500
    # The hit boxes: 违约责任's characters, on one line, left to right, inside the page.
    boxes = [b for b in page.boxes if b[0] in "违约责任"]
    assert boxes and all(0 <= b[1] < b[3] <= 1 and 0 <= b[2] < b[4] <= 1 for b in boxes)
    heading = next(
        i
        for i in range(len(page.boxes))
        if "".join(b[0] for b in page.boxes[i : i + 4]) == "违约责任"
    )
    run = page.boxes[heading : heading + 4]
    assert len({b[5] for b in run}) == 1 and [b[1] for b in run] == sorted(b[1] for b in run)
    # The searchable copy's layer has the words where they are.
    pdf = pdfium.PdfDocument(io.BytesIO(page.layer_pdf))
    try:
        layer_text = pdf[0].get_textpage().get_text_range()
    finally:
        pdf.close()
    assert "违约责任" in layer_text.replace(" ", "")


@dataclass(frozen=True)
class CountingTesseract(TesseractEngine):
    """Tesseract, recording its calls: ``read`` (with the psm) and ``osd``."""

    calls: list[tuple[str, int]] = field(default_factory=list)

    def recognize(self, image: Path, **kwargs: Any) -> EngineOutput:
        self.calls.append(("read", kwargs.get("psm", PSM)))
        return super().recognize(image, **kwargs)

    def orientation(self, image: Path, **kwargs: Any) -> Orientation | None:
        self.calls.append(("osd", 0))
        return super().orientation(image, **kwargs)


@pytest.mark.ocr
@pytest.mark.slow
def test_auto_keeps_rapidocr_for_a_chinese_page_and_tesseract_for_english(tmp_path: Path) -> None:
    tesseract = CountingTesseract()
    options = PageOptions(
        **{**engine_options("auto"), "engine": tesseract}, chinese_engine_label="rapidocr 1.4.4"
    )
    # The Chinese page: the lower third of the scan's first page (the breach clause, 第六条
    # 违约责任, and its paragraphs), as its own 300 dpi scan. The whole page is read by
    # RapidOCR above; a third of it costs a third of the time.
    upright = scan_page_image()
    part = upright.crop((0, upright.height * 2 // 3, upright.width, upright.height))
    chinese_pdf = image_pdf([(part, 300, 0)], tmp_path / "chinese.pdf")
    chinese = ocr_page(str(chinese_pdf), 1, "qingdao", options, str(tmp_path))
    assert chinese.image.source == "embedded" and chinese.image.dpi == 300
    assert chinese.engine == "rapidocr 1.4.4"
    assert "第六条违约责任" in chinese.text.replace(" ", "")
    # Issue 19: tesseract did not read the Chinese page first (before, it read it in full,
    # --psm 3, only to learn it was Chinese); its OSD told the script.
    assert tesseract.calls == [("osd", 0)]
    assert chinese.orientation is not None and chinese.orientation["script"] == "Han"
    tesseract.calls.clear()
    # The English page: the upper third of a synthetic scan (200 dpi), as the Chinese one is.
    with Image.open(SYNTHETIC) as whole:
        english_png = tmp_path / "english.png"
        whole.crop((0, 0, whole.width, whole.height // 3)).save(english_png, dpi=whole.info["dpi"])
    english_pdf = tmp_path / "english.pdf"
    english_pdf.write_bytes(img2pdf.convert(str(english_png)))  # type: ignore[arg-type]
    english = ocr_page(str(english_pdf), 1, "english", options, str(tmp_path))
    assert tesseract.calls == [("osd", 0), ("read", PSM)]  # OSD, then one reading
    assert english.engine is None  # the service's engine: tesseract
    assert (
        english.result_json(languages="chi_sim+eng", engine="tesseract 5", threshold=60)["engine"]
        == "tesseract 5"
    )
    assert " the " in tidy_text(english.text)  # tesseract keeps the spaces RapidOCR drops


MIXED_LINES = (
    "第六条 违约责任 Limitation of liability 本合同约定的责任限额",
    "第七条 争议解决 Governing law and jurisdiction 适用中华人民共和国法律",
    "甲方应当按照 Service Level Agreement 的约定提供服务，乙方支付服务费用。",
    "本合同一式两份，双方各执一份，具有同等法律效力。",
)


def mixed_page(path: Path) -> Path:
    """A page image of Chinese lines with English words inside them, printed with a CJK font
    of the system (fonts-noto-cjk), as a one-page PDF."""
    from PIL import ImageDraw, ImageFont

    fonts = sorted(Path("/usr/share/fonts").rglob("NotoSansCJK-Regular.ttc"))
    if not fonts:
        pytest.skip("no CJK font installed (apt-get install fonts-noto-cjk)")
    font = ImageFont.truetype(str(fonts[0]), 42, index=2)  # index 2: Simplified Chinese
    image = Image.new("L", (2480, 1000), 255)
    draw = ImageDraw.Draw(image)
    for i, line in enumerate(MIXED_LINES):
        draw.text((150, 150 + i * 160), line, font=font, fill=0)
    png = path.with_suffix(".png")
    image.save(png, dpi=(300, 300))
    path.write_bytes(img2pdf.convert(str(png)))  # type: ignore[arg-type]
    return path


@pytest.mark.ocr
@pytest.mark.slow
def test_english_words_in_a_chinese_page_keep_their_spaces(tmp_path: Path) -> None:
    pdf = mixed_page(tmp_path / "mixed.pdf")
    options = PageOptions(**engine_options("auto"), chinese_engine_label="rapidocr 1.4.4")
    page = ocr_page(str(pdf), 1, "mixed", options, str(tmp_path))
    assert page.engine == "rapidocr 1.4.4"  # a Chinese page: RapidOCR's reading is kept
    text = tidy_text(page.text)
    for words in ("Limitation of liability", "Governing law and jurisdiction", "Service Level"):
        assert words in text, text
    assert "违约责任" in text.replace(" ", "") and "同等法律效力" in text
    # The word boxes (hit boxes, the searchable copy) have the English words apart, too.
    assert {"Limitation", "of", "liability", "jurisdiction"} <= {b[0] for b in page.boxes}


@pytest.mark.ocr
@pytest.mark.slow
def test_the_service_names_both_engines(settings: Any) -> None:
    with Archive(settings.model_copy(update={"ocr_engine": "auto"}), parser_workers=1).open() as a:
        service = OcrService(a, workers=1)
        service.check()
        assert service.engine_label.startswith("tesseract ")
        assert service.engine_label.endswith(", Chinese pages rapidocr 1.4.4")
        assert service.options.chinese_engine_label == "rapidocr 1.4.4"
