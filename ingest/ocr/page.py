"""OCR of one page, run inside an OCR worker process.

1. **Image**: a scanned page (one image covering the page) gives its embedded image at its own
   resolution when that is 200-600 dpi; any other page is rendered with pypdfium2 at 300 dpi,
   grey. The image is turned as the page is displayed (``/Rotate``) and written as PGM (no
   compression to pay for; tesseract reads it directly).
2. **Chinese or Latin, before reading** (``ARCHIVE_OCR_ENGINE=auto``: a Chinese engine is set
   and the languages have a Han pack): tesseract's OSD (``--psm 0``, classifying 20 characters
   at least instead of 50) on a copy at about 150 dpi (half of a 300 dpi scan; a 200 dpi page as
   it is: at 100 dpi OSD finds too few characters in small print) tells the page's script and
   how it is turned. A page whose script is ``Han`` is read by the Chinese engine (RapidOCR) at
   once, turned as OSD says (a turn only when OSD is sure of it, orientation confidence 2+), and
   that reading is kept when it is mostly Han characters and confident (mean 60+); tesseract
   reads nothing of it but the Latin runs inside its lines (``ingest.ocr.rapid``). Any other
   page, a page OSD cannot tell (too few characters), and a page whose Chinese reading is not
   kept go on to step 3, the old way. Measured (``bench/ocr_script.py``,
   ``bench/ocr_quality.py``): OSD costs about 0.5 s of CPU a page (0.8 s classifying 50
   characters; its script was right on all 23 pages of the corpus either way), where tesseract's
   full reading of a Chinese page, which ``auto`` paid only to learn that it is Chinese, costs
   about 3 s (up to 4.4; a sideways page paid two and an OSD); a tesseract reading of a 100-150
   dpi copy costs 70-100 % of a full one (it saves little: tesseract scales each line to one
   height to recognise it), and reading the inch of the page with the most lines costs as much
   as OSD and called the real scan's pages Latin (its table rows read as Latin letters).
3. **Recognition**: one tesseract pass (``--psm 3 --dpi <image dpi>``) gives the text, word
   confidences and boxes (TSV) and the text-only PDF layer.
4. **Orientation**: a page that reads badly (mean word confidence below 60, or no words), or
   whose text lines mostly stand upright (a page turned by 90° that tesseract read top to
   bottom), is checked with OSD (``--psm 0`` on a half-size copy: 0.6 s instead of 1.3 s; its
   full answer, not step 2's quick one); when OSD says it is turned, the turned image is
   read again and kept if it reads better. Upright pages pay nothing for this (under
   ``auto`` they paid step 2).
5. **Chinese pages, tesseract**: with a Han language pack and a Latin one (``chi_sim+eng``),
   tesseract's automatic layout (``--psm 3``) reads some Chinese lines, bold headings above
   all, with the English model: ``第六条 违约责任`` came out as ``第六条 BABE``, and a heading
   line could be merged into garbage. A page whose reading is mostly Han characters and that
   has such Latin words inside Chinese lines (a run of 2+ Latin letters between or next to Han
   characters on one line) is read once more as one block of text (``--psm 6``, same
   languages), which reads those lines as Chinese; the second reading is kept when it has
   fewer such words and reads about as confidently. Measured on the corpus
   (bench/ocr_quality.py): the Chinese scan's ten clause headings, 7 read right before, 10
   after; English pages are never read twice.
6. **A second engine for Chinese** (``auto``, ``PageOptions.chinese_engine``): a page that
   step 2 did not send to it and whose tesseract reading is mostly Han characters is read
   again by RapidOCR (``ingest.ocr.rapid``) instead, and that reading is kept (it failing
   leaves step 5 to the first engine; a page it already read upright is not read twice).
   ``rapidocr`` reads every page with RapidOCR alone (no steps 2, 5 and 7).
7. **A layout gone wrong** (tesseract; pages that are not Chinese): on a noisy scan (a fax-like
   copy) tesseract's automatic layout can take a whole block of text for noise or a picture
   and drop it, or cut every line into pieces that it reads block by block, out of order. A
   page whose inked cells (:func:`page_ink`: ink pixels of the half-size image, counted in
   cells that dust, noise and dot leaders do not fill) lie outside every word box for 10 % or more
   (:func:`unread_ink`), or whose text lines mostly have another line beside them
   (:func:`lines_beside`), and that has no columns (:func:`has_gutter`), is read again as one
   block with tesseract's heavy noise removal (``--psm 6 -c textord_heavy_nr=1``); that
   reading is kept when it leaves less ink unread and brings back confident words (the ink
   was text, not a signature), or, for lines out of order, leaves no more ink unread and
   keeps most of them. The check costs 10-30 ms of CPU a page; only such pages pay a second
   reading (and a page with signatures or pictures: 2 of the real English scan's 8). Measured on
   ``bench/ocr_degraded.py``'s 30 pages: the fax-like copies' pooled CER 17.4 % -> 1.9 %,
   the clean and office ones untouched (none of them is read again). ``--psm 6`` alone reads
   the noise of blank margins as letters (10.3 %), ``--psm 4`` does worse than ``--psm 3``
   (38.4 %), and heavy noise removal with ``--psm 3`` changes little (17.1 %).
"""

from __future__ import annotations

import contextlib
import csv
import io
import re
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ingest.ocr.engine import (
    PSM,
    PSM_BLOCK,
    EngineOutput,
    OcrEngine,
    Orientation,
    TesseractEngine,
)
from ingest.ocr.errors import OcrPageError, OcrTimeout
from ingest.pdf import CJK

RENDER_DPI = 300
MIN_IMAGE_DPI = 200
MAX_IMAGE_DPI = 600
MAX_PIXELS = 150_000_000
"""A page larger than this at 300 dpi is rendered at a lower resolution (memory bound)."""
COVERAGE = 0.95
READABLE_CONFIDENCE = 60.0
VERTICAL_SHARE = 0.6
MIN_LINES = 3
MAX_LOW_WORDS = 2000
MAX_BOXES = 20_000
"""Word boxes kept per page (a page of tiny print has a few thousand words)."""
HAN_SHARE = 0.5
"""A page whose letters are at least this share Han characters is a Chinese page."""
HAN_PACKS = ("chi_sim", "chi_tra")
OSD_DPI = 150
"""OSD reads a copy of the page reduced to about this resolution (half of a 300 dpi scan; a
200 dpi page at its own: at 100 dpi OSD finds too few characters in small print)."""
OSD_CHARACTERS = 20
"""Characters step 2's OSD classifies at least (tesseract's ``min_characters_to_try``, default
50): the script is as clear from fewer, and OSD costs about 40 % less."""
CHINESE_SCRIPTS = ("Han",)
"""OSD's ``Script:`` of a page that goes to the Chinese engine first (step 2)."""
TURN_CONFIDENCE = 2.0
"""OSD's orientation confidence above which a Chinese page is read turned as OSD says."""
INK_CONTRAST = 60
"""A pixel of the half-size page image darker than the page's median by this much is ink
(the median is the paper: about 250 on a fax-like copy, whose small print is no darker than
150-200 after blur and JPEG; its noise, σ 7 at half size, stays within 30 of the median)."""
INK_CELL = 16
"""Side, in pixels of the half-size image, of the cells that ink is counted in."""
INK_CELL_PIXELS = 36
"""A cell with at least this many ink pixels (of 256) holds ink: a word's letters fill one, a
dust speck, noise or a table of contents' dot leaders do not (with 12, the leaders of the
corpus's synthetic contents page counted as 27 % of its ink unread)."""
INK_PAD = 0.004
"""Word boxes are widened by this share of the page on each side before ink is matched."""
UNREAD_INK = 0.10
"""Share of the inked cells outside every word box from which a page is read again (step 7):
0.16 and 0.59 on the two fax-like pages of bench/ocr_degraded.py whose blocks were dropped, at
most 0.06 on its 28 other pages (a logo, a rule), 0 on the corpus's synthetic contents page."""
BESIDE_SHARE = 0.75
"""Share of the text lines that have another line beside them (same height, apart) from which
a single-column page's reading is taken to be out of order (step 7): 0.94 on the fax-like page
of bench/ocr_degraded.py whose lines were cut into 110 blocks, at most 0.24 on 27 of the 29
others; 0.53 on the clean and office copies of a list whose labels ``(a)``, ``(b)`` ... the
layout reads as a column of their own (read as one block: 2.94 -> 0.71 %, but a clean page
would pay a second reading, so it is left as it was)."""
BESIDE_LINES = 10
"""Pages of fewer text lines are not judged by their order."""
CONFIDENT_GAIN = 1.1
"""A second reading of a page with a block dropped is kept only with this many times the
confident words (confidence at least ``low_confidence``) of the first: the fax-like pages
gain 22 % and 146 %; on the corpus's real English scan the ink without words is signatures,
which the second reading turns into a few unconfident letters (92 confident words before and
after on its last page, whose reading would otherwise get worse)."""
CONFIDENT_KEPT = 0.9
"""A second reading of a page whose lines were out of order is kept with at least this share
of the first reading's confident words (97 % on the fax-like page)."""
GUTTER_SIDE = 0.2
"""A gutter has at least this share of the page's inked cells on each side."""


@dataclass(frozen=True)
class PageOptions:
    languages: str = "chi_sim+eng"
    timeout: float = 180.0
    low_confidence: float = 60.0
    detect_orientation: bool = True
    engine: OcrEngine = field(default_factory=TesseractEngine)
    engine_version: str = ""
    chinese_engine: OcrEngine | None = None
    """Reads again a page that the first reading shows to be Chinese, and its reading is kept
    (``ARCHIVE_OCR_ENGINE=auto``: RapidOCR)."""
    chinese_engine_label: str = ""
    """How the text file names the Chinese engine (``rapidocr 1.4.4``)."""
    reread_block: bool = True
    """Read a Chinese page with Latin runs again as one block (``--psm 6``): tesseract only."""
    reread_layout: bool = True
    """Read a page whose automatic layout left ink unread, or read its lines out of order, again
    as one block with heavy noise removal (step 7): tesseract only."""


@dataclass(frozen=True)
class PageImageInfo:
    source: str
    """``embedded`` (the scan's own image) or ``rendered``."""
    width: int
    height: int
    dpi: int
    page_rotation: int
    """The page's /Rotate, already applied to the image."""


@dataclass(frozen=True)
class PageOcr:
    """What OCR made of one page; crosses the process boundary, so plain data only."""

    page_no: int
    text: str
    confidence: float | None
    """Mean word confidence, 0-100; None when no word was found."""
    words: int
    low_confidence_words: list[dict[str, Any]]
    layer_pdf: bytes
    rotation: int
    """Degrees the displayed page image was turned clockwise before it was read."""
    image: PageImageInfo
    seconds: float
    orientation: dict[str, Any] | None = None
    psm: int = PSM
    """The page segmentation mode of the reading kept."""
    boxes: list[list[Any]] = field(default_factory=list)
    """Every word read: ``[text, left, top, right, bottom, line]``, the box in fractions of
    the image that was read (turned by ``rotation``), ``line`` the word's line on the page."""
    engine: str | None = None
    """The engine of the reading kept when it is not the service's engine (``auto``)."""

    def words_json(self) -> dict[str, Any]:
        """The page's entry in the contract's word-box file (``words.vN.json``)."""
        return {
            "page": self.page_no,
            "rotation": self.rotation,
            "words": self.boxes,
        }

    def result_json(self, *, languages: str, engine: str, threshold: float) -> dict[str, Any]:
        """The page's entry in the text file's ``ocr`` field (everything but text and layer)."""
        return {
            "engine": self.engine or engine,
            "languages": languages,
            "psm": self.psm,
            "confidence": self.confidence,
            "words": self.words,
            "low_confidence_threshold": threshold,
            "low_confidence_words": self.low_confidence_words,
            "rotation": self.rotation,
            "image": {
                "source": self.image.source,
                "width": self.image.width,
                "height": self.image.height,
                "dpi": self.image.dpi,
                "page_rotation": self.image.page_rotation,
            },
            "orientation": self.orientation,
            "seconds": round(self.seconds, 3),
        }


# --- text ---------------------------------------------------------------------------------
_CJK_GAP = re.compile(rf"(?<=[{CJK}])[ \t\u00a0]+(?=[{CJK}])")
_TRAILING = re.compile(r"[ \t]+$", re.M)
_BLANK_LINES = re.compile(r"\n{3,}")


def tidy_text(text: str) -> str:
    """Tesseract's text as stored: spaces between two CJK characters removed (tesseract and
    line layout put them there), trailing blanks and the final form feed dropped."""
    text = text.replace("\f", "\n").replace("\r\n", "\n")
    text = _CJK_GAP.sub("", text)
    text = _TRAILING.sub("", text)
    return _BLANK_LINES.sub("\n\n", text).strip("\n")


_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_LATIN = re.compile(r"[A-Za-z]")
_LATIN_IN_HAN = re.compile(
    r"(?<=[\u3400-\u9fff\uff00-\uffef\u3000-\u303f])[ \t]*[A-Za-z]{2,}"
    r"|[A-Za-z]{2,}(?=[ \t]*[\u3400-\u9fff\uff00-\uffef\u3000-\u303f])"
)


def han_share(text: str) -> float:
    """Share of Han characters among the letters (Han and Latin) of a reading."""
    han = len(_HAN.findall(text))
    latin = len(_LATIN.findall(text))
    return han / (han + latin) if han + latin else 0.0


def latin_in_han(text: str) -> int:
    """Runs of Latin letters right next to Chinese text on one line: on a Chinese page, the
    mark of lines read with the English model (``第六条 BABE``)."""
    return len(_LATIN_IN_HAN.findall(text))


def reads_chinese_badly(text: str, languages: str) -> bool:
    """A Chinese page read with a Latin model in part: worth a second reading."""
    packs = languages.split("+")
    if not any(p in HAN_PACKS for p in packs) or all(p in HAN_PACKS for p in packs):
        return False
    tidy = tidy_text(text)
    return han_share(tidy) >= HAN_SHARE and latin_in_han(tidy) > 0


def tells_script_first(options: PageOptions) -> bool:
    """Is the page's script told before it is read (``auto``: a Chinese engine, and languages
    with a Han pack that tesseract could tell a Chinese page by)?"""
    packs = options.languages.split("+")
    return options.chinese_engine is not None and any(p in HAN_PACKS for p in packs)


@dataclass(frozen=True)
class Words:
    count: int
    confidence: float | None
    low: list[dict[str, Any]]
    lines: int = 0
    vertical: float = 0.0
    """Share of the text lines that are taller than wide: near 1 on a page turned by 90°,
    whose lines tesseract then reads top to bottom (often well: confidence alone misses it)."""
    boxes: list[list[Any]] = field(default_factory=list)
    """Every word: ``[text, left, top, right, bottom, line]``, the box in fractions of the
    image (from the TSV's page row), ``line`` numbering the TSV's lines from 0."""


def parse_tsv(tsv: str, threshold: float) -> Words:
    """Word confidences and boxes from tesseract's TSV (level 5 rows are words)."""
    confidences: list[float] = []
    low: list[dict[str, Any]] = []
    boxes: list[list[Any]] = []
    lines = tall = 0
    page_w = page_h = 0
    reader = csv.DictReader(io.StringIO(tsv), delimiter="\t", quoting=csv.QUOTE_NONE)
    for row in reader:
        if row.get("level") == "1":
            with contextlib.suppress(KeyError, ValueError):
                page_w, page_h = int(row["width"]), int(row["height"])
            continue
        if row.get("level") == "4":
            lines += 1
            with contextlib.suppress(KeyError, ValueError):
                tall += int(row["height"]) > int(row["width"])
            continue
        if row.get("level") != "5":
            continue
        word = (row.get("text") or "").strip()
        try:
            conf = float(row.get("conf") or -1)
        except ValueError:
            continue
        if not word or conf < 0:
            continue
        confidences.append(conf)
        if page_w > 0 and page_h > 0 and len(boxes) < MAX_BOXES:
            with contextlib.suppress(KeyError, ValueError):
                left, top = int(row["left"]), int(row["top"])
                right, bottom = left + int(row["width"]), top + int(row["height"])
                boxes.append(
                    [
                        word,
                        round(left / page_w, 5),
                        round(top / page_h, 5),
                        round(right / page_w, 5),
                        round(bottom / page_h, 5),
                        max(lines - 1, 0),
                    ]
                )
        if conf < threshold and len(low) < MAX_LOW_WORDS:
            left, top = int(row["left"]), int(row["top"])
            low.append(
                {
                    "text": word,
                    "confidence": round(conf, 1),
                    "box": [left, top, left + int(row["width"]), top + int(row["height"])],
                }
            )
    mean = round(sum(confidences) / len(confidences), 2) if confidences else None
    vertical = round(tall / lines, 3) if lines else 0.0
    return Words(
        count=len(confidences),
        confidence=mean,
        low=low,
        lines=lines,
        vertical=vertical,
        boxes=boxes,
    )


# --- ink that no word covers, lines out of order ----------------------------------------------
@dataclass(frozen=True)
class Ink:
    """Where the page image has ink: ``dark``, the ink pixels of the half-size image (its 2x2
    averaging keeps strokes and drops most of a noisy scan's single dark pixels), those darker
    than the paper (the median) by :data:`INK_CONTRAST`; ``cells``, the cells of
    :data:`INK_CELL` pixels that hold :data:`INK_CELL_PIXELS` of them (dust and noise do not)."""

    dark: Any
    cells: Any


def page_ink(image: Any) -> Ink:
    """The ink of a grey page image (see :class:`Ink`)."""
    import numpy as np

    half = np.asarray(image.reduce(2) if min(image.size) >= 2 * INK_CELL else image)
    histogram = np.cumsum(np.bincount(half.ravel(), minlength=256))
    paper = int(np.argmax(histogram >= half.size / 2))
    dark = half < paper - INK_CONTRAST
    return Ink(dark=dark, cells=_per_cell(dark) >= INK_CELL_PIXELS)


def _per_cell(mask: Any) -> Any:
    rows, cols = mask.shape[0] // INK_CELL, mask.shape[1] // INK_CELL
    cut = mask[: rows * INK_CELL, : cols * INK_CELL]
    return cut.reshape(rows, INK_CELL, cols, INK_CELL).sum(axis=(1, 3))


def unread_ink(ink: Ink, boxes: list[list[Any]]) -> float:
    """Share of the page's inked cells that no word box covers (a cell is unread when
    :data:`INK_CELL_PIXELS` of its ink pixels lie outside every box, widened by
    :data:`INK_PAD`): near 0 on a page read whole, the share of a block that the page
    segmentation dropped (a block of a fax-like copy taken for a picture or for noise)."""
    import numpy as np

    total = int(ink.cells.sum())
    if not total:
        return 0.0
    height, width = ink.dark.shape
    covered = np.zeros_like(ink.dark)
    for box in boxes:
        left, top, right, bottom = box[1:5]
        x0 = max(int((left - INK_PAD) * width), 0)
        x1 = min(int((right + INK_PAD) * width) + 1, width)
        y0 = max(int((top - INK_PAD) * height), 0)
        y1 = min(int((bottom + INK_PAD) * height) + 1, height)
        covered[y0:y1, x0:x1] = True
    unread = ink.cells & (_per_cell(ink.dark & ~covered) >= INK_CELL_PIXELS)
    return round(int(unread.sum()) / total, 4)


def has_gutter(ink: Ink) -> bool:
    """Does the page have columns: a band of cells, across the page, with ink on no line,
    between two sides that each hold :data:`GUTTER_SIDE` of the ink? (On a page of one
    column every band inside the text has ink on many lines: word spaces are narrower than a
    cell.)"""
    import numpy as np

    cells = ink.cells
    lines = cells.any(axis=1)
    total = int(cells.sum())
    if not total or not lines.any():
        return False
    used = cells[lines]
    share = used.mean(axis=0)
    before = np.cumsum(used.sum(axis=0))
    for col in np.flatnonzero(share == 0):
        left = before[col] / total
        if left >= GUTTER_SIDE and 1 - left >= GUTTER_SIDE:
            return True
    return False


def lines_beside(words: Words) -> float:
    """Share of the reading's text lines that have another line beside them: at the same
    height (overlapping by half the lower one) and apart. On a page of one column read in
    order, only a few (a date at the right of a heading, two signature blocks); on a noisy
    page whose layout analysis cut every line into pieces, nearly all."""
    extent: dict[int, list[float]] = {}
    for _, left, top, right, bottom, line in words.boxes:
        box = extent.setdefault(line, [left, top, right, bottom])
        box[0], box[1] = min(box[0], left), min(box[1], top)
        box[2], box[3] = max(box[2], right), max(box[3], bottom)
    boxes = sorted(extent.values(), key=lambda b: b[1])
    if not boxes:
        return 0.0
    beside = [False] * len(boxes)
    for i, (left, top, right, bottom) in enumerate(boxes):
        for j in range(i + 1, len(boxes)):
            o_left, o_top, o_right, o_bottom = boxes[j]
            if o_top >= bottom:
                break
            overlap = min(bottom, o_bottom) - max(top, o_top)
            if overlap > 0.5 * min(bottom - top, o_bottom - o_top) and (
                right <= o_left or o_right <= left
            ):
                beside[i] = beside[j] = True
    return sum(beside) / len(boxes)


# --- the page image -----------------------------------------------------------------------
def page_image(pdf: Any, page_no: int) -> tuple[Any, PageImageInfo]:
    """The page as a grey PIL image, as displayed, with its resolution."""
    import pypdfium2 as pdfium

    page = pdf[page_no - 1]
    try:
        rotation = int(page.get_rotation()) % 360
        embedded = _embedded_image(page, pdfium)
        if embedded is not None:
            image, dpi = embedded
            if rotation:
                image = image.rotate(-rotation, expand=True)
            return image, PageImageInfo("embedded", image.width, image.height, dpi, rotation)
        width, height = page.get_size()
        dpi = RENDER_DPI
        pixels = (width / 72 * dpi) * (height / 72 * dpi)
        if pixels > MAX_PIXELS:
            dpi = int(dpi * (MAX_PIXELS / pixels) ** 0.5)
        if dpi < 20 or width <= 0 or height <= 0:
            raise OcrPageError(f"the page is {width:.0f} x {height:.0f} points: too large to OCR")
        bitmap = page.render(scale=dpi / 72, grayscale=True, may_draw_forms=False)
        image = bitmap.to_pil().convert("L")
        return image, PageImageInfo("rendered", image.width, image.height, dpi, rotation)
    finally:
        page.close()


def _embedded_image(page: Any, pdfium: Any) -> tuple[Any, int] | None:
    """The scan's own image when the page is one image covering it at 200-600 dpi."""
    images = []
    for obj in page.get_objects(max_depth=1):
        if isinstance(obj, pdfium.PdfImage):
            images.append(obj)
            if len(images) > 1:
                return None
    if len(images) != 1:
        return None
    image = images[0]
    matrix = image.get_matrix()
    if abs(matrix.b) > 1e-6 or abs(matrix.c) > 1e-6 or matrix.a <= 0 or matrix.d <= 0:
        return None  # turned or mirrored on the page: let pdfium render it
    left, bottom, right, top = image.get_bounds()
    x0, y0, x1, y1 = page.get_cropbox()
    page_area = max((x1 - x0) * (y1 - y0), 1e-6)
    overlap_w = max(0.0, min(right, x1) - max(left, x0))
    overlap_h = max(0.0, min(top, y1) - max(bottom, y0))
    if overlap_w * overlap_h < COVERAGE * page_area or (right - left) * (top - bottom) > (
        page_area / COVERAGE
    ):
        return None
    px_w, px_h = image.get_px_size()
    dpi_x = px_w / ((right - left) / 72)
    dpi_y = px_h / ((top - bottom) / 72)
    if abs(dpi_x - dpi_y) > 0.05 * dpi_x:
        return None
    dpi = round((dpi_x + dpi_y) / 2)
    if not MIN_IMAGE_DPI - 1 <= dpi <= MAX_IMAGE_DPI:
        return None
    pil = image.get_bitmap(render=False).to_pil()
    if pil.mode != "L":
        pil = pil.convert("L")
    return pil, dpi


# --- one page -----------------------------------------------------------------------------
def ocr_page(
    pdf_path: str, page_no: int, key: str, options: PageOptions, work_root: str
) -> PageOcr:
    """OCR page ``page_no`` (1-based) of the PDF at ``pdf_path``. Runs in a worker process."""
    import pypdfium2 as pdfium

    started = time.monotonic()
    deadline = started + options.timeout
    work = Path(tempfile.mkdtemp(prefix=f"page-{page_no}-", dir=work_root))
    try:
        try:
            pdf = pdfium.PdfDocument(pdf_path)
        except pdfium.PdfiumError as exc:
            raise OcrPageError(f"the PDF cannot be opened for OCR: {exc}") from exc
        try:
            if not 1 <= page_no <= len(pdf):
                raise OcrPageError(f"the PDF has no page {page_no}")
            try:
                image, info = page_image(pdf, page_no)
            except pdfium.PdfiumError as exc:
                raise OcrPageError(f"the page cannot be rendered: {exc}") from exc
        finally:
            pdf.close()
        _check_time(deadline)
        path = work / "page.pgm"
        image.save(path)
        engine = options.engine
        key_base = f"{key}-p{page_no:04d}"
        osd: Orientation | None = None
        chinese: tuple[EngineOutput, Words] | None = None
        chinese_turn: int | None = None  # the Chinese engine read the page turned by this
        if tells_script_first(options):
            osd = _osd(image, info, work, key_base, engine, deadline)
            chinese_turn = _chinese_turn(osd, options)
            if chinese_turn is not None:
                first = _turned(image, work, chinese_turn) if chinese_turn else path
                chinese = _read_chinese(
                    first, f"{key_base}-r{chinese_turn}", info, options, deadline
                )
                if chinese is not None and _reads_chinese(*chinese):
                    label = _chinese_label(options)
                    return _result(page_no, *chinese, chinese_turn, info, osd, started, PSM, label)
                # OSD misjudged the page (the reading is not mostly Han, or not confident),
                # or the engine failed: the old way, tesseract first.
        output = engine.recognize(
            path,
            key=f"{key_base}-r0",
            languages=options.languages,
            dpi=info.dpi,
            timeout=deadline - time.monotonic(),
        )
        words = parse_tsv(output.tsv, options.low_confidence)
        rotation = 0
        if options.detect_orientation and _maybe_turned(words):
            half = work / "half.pgm"
            image.reduce(2).save(half)
            osd = engine.orientation(
                half,
                key=f"{key_base}-r0",
                dpi=max(info.dpi // 2, 1),
                timeout=deadline - time.monotonic(),
            )
            if osd is not None and osd.rotate:
                turned = _turned(image, work, osd.rotate)
                second = engine.recognize(
                    turned,
                    key=f"{key_base}-r{osd.rotate}",
                    languages=options.languages,
                    dpi=info.dpi,
                    timeout=deadline - time.monotonic(),
                )
                second_words = parse_tsv(second.tsv, options.low_confidence)
                if _better(second_words, words):
                    output, words, rotation = second, second_words, osd.rotate
        psm = PSM
        read = path if not rotation else work / f"page-r{rotation}.pgm"
        if options.chinese_engine is not None and han_share(tidy_text(output.text)) >= HAN_SHARE:
            if chinese_turn != rotation:  # not read already
                chinese = _read_chinese(read, f"{key_base}-r{rotation}", info, options, deadline)
            if chinese is not None:
                label = _chinese_label(options)
                return _result(page_no, *chinese, rotation, info, osd, started, psm, label)
        if options.reread_block and reads_chinese_badly(output.text, options.languages):
            try:
                block = engine.recognize(
                    read,
                    key=f"{key_base}-r{rotation}",
                    languages=options.languages,
                    dpi=info.dpi,
                    timeout=deadline - time.monotonic(),
                    psm=PSM_BLOCK,
                )
            except OcrPageError:
                block = None  # the first reading stands
            if block is not None:
                block_words = parse_tsv(block.tsv, options.low_confidence)
                if _better_chinese(block, block_words, output, words):
                    output, words, psm = block, block_words, PSM_BLOCK
        if options.reread_layout and psm == PSM and han_share(tidy_text(output.text)) < HAN_SHARE:
            shown = image if not rotation else image.rotate(-rotation, expand=True)
            relaid = _read_noisy_block(
                shown, read, f"{key_base}-r{rotation}", info, options, deadline, words
            )
            if relaid is not None:
                output, words = relaid
                psm = PSM_BLOCK
        return _result(page_no, output, words, rotation, info, osd, started, psm)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _osd(
    image: Any, info: PageImageInfo, work: Path, key_base: str, engine: OcrEngine, deadline: float
) -> Orientation | None:
    """Step 2: OSD on a copy of the page at about :data:`OSD_DPI` (its script and how it is
    turned); None when it cannot tell (too few characters)."""
    factor = max(round(info.dpi / OSD_DPI), 1)
    small = work / "osd.pgm"
    (image.reduce(factor) if factor > 1 else image).save(small)
    return engine.orientation(
        small,
        key=f"{key_base}-r0",
        dpi=max(info.dpi // factor, 1),
        timeout=deadline - time.monotonic(),
        characters=OSD_CHARACTERS,
    )


def _chinese_turn(osd: Orientation | None, options: PageOptions) -> int | None:
    """How to turn a page that OSD finds Chinese before the Chinese engine reads it; None for
    any other page (and for a page OSD finds turned without conviction)."""
    if osd is None or osd.script not in CHINESE_SCRIPTS:
        return None
    if osd.rotate and (not options.detect_orientation or osd.confidence < TURN_CONFIDENCE):
        return None
    return osd.rotate


def _reads_chinese(output: EngineOutput, words: Words) -> bool:
    """The Chinese engine's reading of a page it was given first is kept: mostly Han
    characters, read confidently (OSD got the script and the orientation right)."""
    confident = words.confidence is not None and words.confidence >= READABLE_CONFIDENCE
    return confident and han_share(tidy_text(output.text)) >= HAN_SHARE


def _turned(image: Any, work: Path, rotate: int) -> Path:
    """The page image turned clockwise by ``rotate`` degrees, saved once."""
    turned = work / f"page-r{rotate}.pgm"
    if not turned.exists():
        image.rotate(-rotate, expand=True).save(turned)
    return turned


def _read_chinese(
    image: Path, key: str, info: PageImageInfo, options: PageOptions, deadline: float
) -> tuple[EngineOutput, Words] | None:
    """The Chinese engine's reading of the image, None when it fails or finds no word."""
    assert options.chinese_engine is not None
    try:
        output = options.chinese_engine.recognize(
            image,
            key=key,
            languages=options.languages,
            dpi=info.dpi,
            timeout=deadline - time.monotonic(),
        )
    except OcrTimeout:
        raise
    except OcrPageError:
        return None  # the first engine's reading stands (and may be read again)
    words = parse_tsv(output.tsv, options.low_confidence)
    return (output, words) if words.count else None


def _chinese_label(options: PageOptions) -> str:
    assert options.chinese_engine is not None
    return options.chinese_engine_label or options.chinese_engine.name


def _maybe_turned(words: Words) -> bool:
    """Worth asking OSD: the page reads badly, or its text lines stand upright."""
    if words.confidence is None or words.confidence < READABLE_CONFIDENCE:
        return True
    return words.lines >= MIN_LINES and words.vertical >= VERTICAL_SHARE


def _better(new: Words, old: Words) -> bool:
    """Is the reading of the turned image better? Lying lines (fewer lines standing upright)
    win unless they read much worse; otherwise the higher mean confidence wins."""
    if new.confidence is None:
        return False
    if old.confidence is None:
        return True
    if old.vertical - new.vertical > 0.3:
        return new.confidence >= old.confidence - 15
    return new.confidence > old.confidence


def _better_chinese(
    new: EngineOutput, new_words: Words, old: EngineOutput, old_words: Words
) -> bool:
    """Fewer Latin runs inside Chinese lines, and not much less confident."""
    if new_words.confidence is None:
        return False
    if latin_in_han(tidy_text(new.text)) >= latin_in_han(tidy_text(old.text)):
        return False
    return old_words.confidence is None or new_words.confidence >= old_words.confidence - 5


def _read_noisy_block(
    image: Any,
    path: Path,
    key: str,
    info: PageImageInfo,
    options: PageOptions,
    deadline: float,
    words: Words,
) -> tuple[EngineOutput, Words] | None:
    """Step 7: a page of one column whose automatic layout left ink unread (a block dropped)
    or cut its lines into pieces side by side (read out of order) is read again as one block
    with heavy noise removal (``--psm 6 -c textord_heavy_nr=1``). That reading is kept when it
    leaves less ink unread and has :data:`CONFIDENT_GAIN` times the confident words (a block
    dropped: the ink was text, not a signature or a picture), or leaves no more ink unread
    and keeps :data:`CONFIDENT_KEPT` of them (lines out of order). None when the page needs no
    second reading or the first one stands."""
    disordered = words.lines >= BESIDE_LINES and lines_beside(words) >= BESIDE_SHARE
    ink = page_ink(image)
    unread = unread_ink(ink, words.boxes)
    if (unread < UNREAD_INK and not disordered) or has_gutter(ink):
        return None
    try:
        block = options.engine.recognize(
            path,
            key=key,
            languages=options.languages,
            dpi=info.dpi,
            timeout=deadline - time.monotonic(),
            psm=PSM_BLOCK,
            noise_removal=True,
        )
    except OcrPageError:
        return None  # the first reading stands (also when the page's time ran out)
    block_words = parse_tsv(block.tsv, options.low_confidence)
    if not block_words.count:
        return None
    block_unread = unread_ink(ink, block_words.boxes)
    confident = words.count - len(words.low)
    block_confident = block_words.count - len(block_words.low)
    if unread >= UNREAD_INK:
        kept = block_unread < unread and block_confident >= max(
            confident + 1, CONFIDENT_GAIN * confident
        )
    else:
        kept = block_unread <= unread and block_confident >= CONFIDENT_KEPT * confident
    return (block, block_words) if kept else None


def _check_time(deadline: float) -> None:
    if time.monotonic() >= deadline:
        raise OcrTimeout("the page took too long to prepare for OCR")


def _result(
    page_no: int,
    output: EngineOutput,
    words: Words,
    rotation: int,
    info: PageImageInfo,
    osd: Orientation | None,
    started: float,
    psm: int = PSM,
    engine: str | None = None,
) -> PageOcr:
    return PageOcr(
        page_no=page_no,
        text=tidy_text(output.text),
        confidence=words.confidence,
        words=words.count,
        low_confidence_words=words.low,
        layer_pdf=output.pdf,
        rotation=rotation,
        image=info,
        seconds=time.monotonic() - started,
        orientation=None if osd is None else dict(osd.__dict__),
        psm=psm,
        boxes=words.boxes,
        engine=engine,
    )


def cleanup_dir(path: Path) -> None:
    with contextlib.suppress(OSError):
        shutil.rmtree(path)
