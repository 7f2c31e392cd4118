"""Under ``ARCHIVE_OCR_ENGINE=auto`` a Chinese page goes to RapidOCR before tesseract reads it
(issue 19): OSD's script decides (``ingest.ocr.page``, step 2), without tesseract.

Engines that record their calls and answer from a script stand in for tesseract and RapidOCR:
what is observed is which engine read which image, and which reading was kept. Before issue 19
tesseract read every page in full first (``--psm 3``), and a Chinese page was then read again
by RapidOCR; the tests here fail on that behaviour. The real engines on the real Chinese scan:
``tests/test_ocr_rapid.py``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from ingest.ocr.engine import PSM, EngineOutput, Orientation
from ingest.ocr.errors import OcrPageError
from ingest.ocr.page import OSD_CHARACTERS, PageOptions, ocr_page
from tests.test_ocr_pipeline import image_pdf

HEADER = (
    "level\tpage_num\tblock_num\tpar_num\tline_num\tword_num\tleft\ttop\twidth\theight\tconf\ttext"
)


def output(text: str, conf: float = 95.0) -> EngineOutput:
    """A reading: each space-separated word of ``text`` a TSV word read with ``conf``."""
    rows = [HEADER, "1\t1\t0\t0\t0\t0\t0\t0\t600\t800\t-1\t"]
    for number, word in enumerate(text.split(), 1):
        rows.append(f"5\t1\t1\t1\t1\t{number}\t{number * 20}\t10\t18\t20\t{conf}\t{word}")
    return EngineOutput(text=text + "\n", tsv="\n".join(rows) + "\n", pdf=b"%PDF-1.5\n")


CHINESE = "第 六 条 违 约 责 任 甲 方 逾 期 付 款 的 应 支 付 违 约 金"
ENGLISH = "This Agreement is dated May 3 2006 between the parties"


@dataclass
class Scripted:
    """An engine that answers from a script and records each call: ``(kind, image size, psm)``."""

    reading: EngineOutput | None
    osd: Orientation | None = None
    name: str = "scripted"
    calls: list[tuple[str, tuple[int, int], int]] = field(default_factory=list)

    def recognize(
        self,
        image: Path,
        *,
        key: str,
        languages: str,
        dpi: int,
        timeout: float,
        psm: int = PSM,
        noise_removal: bool = False,
    ) -> EngineOutput:
        with Image.open(image) as img:
            self.calls.append(("read", img.size, psm))
        if self.reading is None:
            raise OcrPageError("the engine failed")
        return self.reading

    def orientation(
        self, image: Path, *, key: str, dpi: int, timeout: float, characters: int = 0
    ) -> Orientation | None:
        with Image.open(image) as img:
            self.calls.append(("osd", img.size, characters))
        return self.osd


@pytest.fixture
def page(tmp_path: Path) -> Path:
    """A one-page scan, 600 x 800 pixels at 300 dpi (what is on it is the engines' script)."""
    return image_pdf([(Image.new("L", (600, 800), 255), 300, 0)], tmp_path / "page.pdf")


def run(page: Path, tesseract: Scripted, rapid: Scripted | None, tmp: Path) -> Any:
    options = PageOptions(engine=tesseract, chinese_engine=rapid, chinese_engine_label="rapid 1")
    return ocr_page(str(page), 1, "doc", options, str(tmp))


def han(rotate: int = 0, confidence: float = 12.0) -> Orientation:
    return Orientation(rotate=rotate, confidence=confidence, script="Han", script_confidence=1.2)


def test_a_chinese_page_goes_to_rapidocr_without_a_tesseract_reading(
    page: Path, tmp_path: Path
) -> None:
    tesseract = Scripted(output(CHINESE), osd=han())
    rapid = Scripted(output(CHINESE))
    result = run(page, tesseract, rapid, tmp_path)
    # Tesseract only told the script, on a half-size copy (150 dpi); it read nothing.
    assert tesseract.calls == [("osd", (300, 400), OSD_CHARACTERS)]
    assert rapid.calls == [("read", (600, 800), PSM)]
    assert result.engine == "rapid 1" and result.rotation == 0
    assert "违约责任" in result.text.replace(" ", "")
    assert result.orientation["script"] == "Han"


def test_a_chinese_page_osd_finds_turned_is_read_turned(page: Path, tmp_path: Path) -> None:
    tesseract = Scripted(output(CHINESE), osd=han(rotate=90))
    rapid = Scripted(output(CHINESE))
    result = run(page, tesseract, rapid, tmp_path)
    assert tesseract.calls == [("osd", (300, 400), OSD_CHARACTERS)]
    assert rapid.calls == [("read", (800, 600), PSM)]  # turned by 90°
    assert result.rotation == 90 and result.engine == "rapid 1"


def test_a_turn_osd_is_unsure_of_goes_the_old_way(page: Path, tmp_path: Path) -> None:
    tesseract = Scripted(output(CHINESE), osd=han(rotate=180, confidence=0.4))
    rapid = Scripted(output(CHINESE))
    result = run(page, tesseract, rapid, tmp_path)
    # tesseract reads the page upright; it reads well, so no turn: RapidOCR reads it upright
    assert tesseract.calls == [("osd", (300, 400), OSD_CHARACTERS), ("read", (600, 800), PSM)]
    assert rapid.calls == [("read", (600, 800), PSM)]
    assert result.rotation == 0 and result.engine == "rapid 1"


def test_an_english_page_is_read_by_tesseract_once(page: Path, tmp_path: Path) -> None:
    latin = Orientation(rotate=0, confidence=11.5, script="Latin", script_confidence=0.6)
    tesseract = Scripted(output(ENGLISH), osd=latin)
    rapid = Scripted(output(CHINESE))
    result = run(page, tesseract, rapid, tmp_path)
    assert tesseract.calls == [("osd", (300, 400), OSD_CHARACTERS), ("read", (600, 800), PSM)]
    assert rapid.calls == []
    assert result.engine is None and result.text.startswith("This Agreement")


def test_a_page_osd_misjudges_keeps_the_old_way(page: Path, tmp_path: Path) -> None:
    # OSD says Han, but RapidOCR reads mostly Latin letters: tesseract reads the page, and
    # its reading (English) is kept; RapidOCR is not asked twice.
    tesseract = Scripted(output(ENGLISH), osd=han())
    rapid = Scripted(output(ENGLISH))
    result = run(page, tesseract, rapid, tmp_path)
    assert tesseract.calls == [("osd", (300, 400), OSD_CHARACTERS), ("read", (600, 800), PSM)]
    assert len(rapid.calls) == 1
    assert result.engine is None


def test_when_osd_cannot_tell_tesseract_decides_as_before(page: Path, tmp_path: Path) -> None:
    # "Too few characters": the old way, tesseract first; a Chinese reading goes to RapidOCR.
    tesseract = Scripted(output(CHINESE), osd=None)
    rapid = Scripted(output(CHINESE))
    result = run(page, tesseract, rapid, tmp_path)
    assert tesseract.calls == [("osd", (300, 400), OSD_CHARACTERS), ("read", (600, 800), PSM)]
    assert rapid.calls == [("read", (600, 800), PSM)]
    assert result.engine == "rapid 1"


def test_rapidocr_failing_leaves_the_page_to_tesseract(page: Path, tmp_path: Path) -> None:
    tesseract = Scripted(output(CHINESE), osd=han())
    rapid = Scripted(None)
    result = run(page, tesseract, rapid, tmp_path)
    assert [c[0] for c in tesseract.calls] == ["osd", "read"]
    assert len(rapid.calls) == 1  # not asked again after tesseract's reading
    assert result.engine is None and "违约责任" in result.text.replace(" ", "")


def test_tesseract_mode_asks_no_osd_of_an_upright_page(page: Path, tmp_path: Path) -> None:
    tesseract = Scripted(output(CHINESE), osd=han())
    result = run(page, tesseract, None, tmp_path)
    assert tesseract.calls == [("read", (600, 800), PSM)]
    assert result.engine is None and result.orientation is None


def test_a_200_dpi_page_is_asked_at_its_own_resolution(tmp_path: Path) -> None:
    # OSD finds too few characters in small print at 100 dpi: a 200 dpi page is not reduced.
    scan = image_pdf([(Image.new("L", (400, 500), 255), 200, 0)], tmp_path / "p.pdf")
    tesseract = Scripted(output(CHINESE), osd=han())
    rapid = Scripted(output(CHINESE))
    run(scan, tesseract, rapid, tmp_path)
    assert tesseract.calls == [("osd", (400, 500), OSD_CHARACTERS)]
