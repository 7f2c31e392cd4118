"""Page images of a contract, and where the search hits sit on them.

Drawing a page and reading its character boxes is done with pypdfium2 inside the archive's
killable worker pool (``Archive.run_isolated``), like every other read of an uploaded file: a
hostile PDF can stall or crash a worker, never the server. Results are cached on disk under
``DATA_DIR/cache/pages`` (disposable: the cache can be deleted at any time).

Hits are found on the page with the same analyzer and matcher as the search snippets
(``storage.index.highlight.find_spans``) over the page's own text as pdfium reads it, normalised
with a map back to the characters, so what is marked on the image is what the query matched.
"""

from __future__ import annotations

import ctypes
import json
import os
import tempfile
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from core.errors import Unprocessable
from services.facade.helpers import find_spans, is_cjk

RENDER_SCALE = 1.5
"""108 dpi: sharp on a desktop screen, about 100-300 KB per page as PNG."""
LAYOUT_VERSION = 1


@dataclass(frozen=True)
class PageLayout:
    width: int
    height: int
    text: str
    boxes: tuple[tuple[float, float, float, float] | None, ...]
    """Per character of ``text``: left, top, right, bottom as fractions of the image, or None
    for characters pdfium generated (line breaks) or that have no box."""

    def to_json(self) -> str:
        return json.dumps(
            {
                "v": LAYOUT_VERSION,
                "width": self.width,
                "height": self.height,
                "text": self.text,
                "boxes": [list(b) if b else None for b in self.boxes],
            },
            ensure_ascii=False,
        )

    @classmethod
    def from_json(cls, data: str) -> PageLayout | None:
        try:
            raw = json.loads(data)
            if raw.get("v") != LAYOUT_VERSION:
                return None
            return cls(
                width=int(raw["width"]),
                height=int(raw["height"]),
                text=str(raw["text"]),
                boxes=tuple(tuple(b) if b else None for b in raw["boxes"]),
            )
        except (ValueError, KeyError, TypeError):
            return None


@dataclass(frozen=True)
class Rect:
    """A highlight on the page image, in percent of its width and height."""

    left: float
    top: float
    width: float
    height: float


# --- in the worker process --------------------------------------------------------------------
def render_page(path: str, page_index: int, scale: float) -> tuple[bytes, PageLayout]:
    """PNG bytes of one page and its character boxes. Runs in a worker process. A page that
    pdfium cannot load or draw (a damaged or hostile file that was archived all the same) is
    ``Unprocessable`` with pdfium's reason, never an unexplained 500."""
    import pypdfium2 as pdfium

    try:
        return _render_page(path, page_index, scale)
    except pdfium.PdfiumError as exc:
        raise Unprocessable(
            f"page {page_index + 1} cannot be drawn: the PDF reader gave up ({exc})",
            hint="the file may be damaged; its original and its text can still be downloaded",
        ) from None


def _render_page(path: str, page_index: int, scale: float) -> tuple[bytes, PageLayout]:
    import io

    import pypdfium2 as pdfium
    import pypdfium2.raw as pdfium_c

    pdf = pdfium.PdfDocument(path)
    try:
        page = pdf[page_index]
        bitmap = page.render(scale=scale, may_draw_forms=True)
        image = bitmap.to_pil()
        width, height = image.size
        buf = io.BytesIO()
        image.save(buf, format="PNG", optimize=False, compress_level=6)
        textpage = page.get_textpage()
        count = textpage.count_chars()
        text = textpage.get_text_range(0, count) if count else ""
        boxes: list[tuple[float, float, float, float] | None] = []
        dx, dy = ctypes.c_int(), ctypes.c_int()

        def device(x: float, y: float) -> tuple[int, int]:
            pdfium_c.FPDF_PageToDevice(
                page.raw, 0, 0, width, height, 0, ctypes.c_double(x), ctypes.c_double(y), dx, dy
            )
            return dx.value, dy.value

        for i in range(min(count, len(text))):
            if text[i] in "\r\n" or pdfium_c.FPDFText_IsGenerated(textpage.raw, i) == 1:
                boxes.append(None)
                continue
            left, bottom, right, top = textpage.get_charbox(i)
            if right <= left or top <= bottom:
                boxes.append(None)
                continue
            x1, y1 = device(left, top)
            x2, y2 = device(right, bottom)
            boxes.append(
                (
                    min(x1, x2) / width,
                    min(y1, y2) / height,
                    max(x1, x2) / width,
                    max(y1, y2) / height,
                )
            )
        text = text[: len(boxes)]
        return buf.getvalue(), PageLayout(width, height, text, tuple(boxes))
    finally:
        pdf.close()


# --- in the server ----------------------------------------------------------------------------
_QUOTES = {"\u2019": "'", "\u2018": "'"}


def normalized_with_map(text: str) -> tuple[str, list[int]]:
    """The analyzer's normalisation of ``text`` (NFKC, straight apostrophes, no whitespace
    between two CJK characters) and, for each character of the result, its index in ``text``."""
    chars: list[str] = []
    origin: list[int] = []
    for i, ch in enumerate(text):
        for out in unicodedata.normalize("NFKC", ch):
            chars.append(_QUOTES.get(out, out))
            origin.append(i)
    keep = [True] * len(chars)
    i = 0
    while i < len(chars):
        if chars[i].isspace():
            j = i
            while j < len(chars) and chars[j].isspace():
                j += 1
            if i > 0 and j < len(chars) and is_cjk(chars[i - 1]) and is_cjk(chars[j]):
                for k in range(i, j):
                    keep[k] = False
            i = j
        else:
            i += 1
    return (
        "".join(c for c, k in zip(chars, keep, strict=True) if k),
        [o for o, k in zip(origin, keep, strict=True) if k],
    )


def hit_rects(layout: PageLayout, patterns: Sequence[Sequence[str]]) -> list[Rect]:
    """Rectangles covering every match of the query's text clauses on the page, one per line
    of a match."""
    if not patterns or not layout.text:
        return []
    normalized, origin = normalized_with_map(layout.text)
    rects: list[Rect] = []
    for terms in patterns:
        for span in find_spans(normalized, terms):
            chars = sorted({origin[k] for k in range(span.start, span.end)})
            line: list[float] | None = None
            for ci in chars:
                box = layout.boxes[ci] if ci < len(layout.boxes) else None
                if box is None:
                    continue
                left, top, right, bottom = box
                if line is not None and (
                    abs(top - line[1]) < (line[3] - line[1]) * 0.6 + 0.002
                    or _same_column(line, box)
                ):
                    line = [
                        min(line[0], left),
                        min(line[1], top),
                        max(line[2], right),
                        max(line[3], bottom),
                    ]
                    continue
                if line is not None:
                    rects.append(_rect(line))
                line = [left, top, right, bottom]
            if line is not None:
                rects.append(_rect(line))
            if len(rects) >= 200:
                return rects
    return rects


def _same_column(line: Sequence[float], box: Sequence[float]) -> bool:
    """The next character of a column of text (a page whose lines run up or down the image:
    a form printed sideways, read turned): right above or below the column so far, as wide."""
    width = line[2] - line[0]
    gap = max(box[1] - line[3], line[1] - box[3])
    return (
        abs(box[0] - line[0]) < width * 0.4 + 0.002
        and abs(box[2] - line[2]) < width * 0.4 + 0.002
        and -0.002 < gap < (box[3] - box[1]) * 0.6 + 0.002
    )


def _rect(box: Sequence[float]) -> Rect:
    pad = 0.002
    left, top = max(0.0, box[0] - pad), max(0.0, box[1] - pad)
    right, bottom = min(1.0, box[2] + pad), min(1.0, box[3] + pad)
    return Rect(
        left=round(left * 100, 3),
        top=round(top * 100, 3),
        width=round((right - left) * 100, 3),
        height=round((bottom - top) * 100, 3),
    )


# --- OCR'd pages: the word boxes OCR kept ----------------------------------------------------
def _unturn(box: tuple[float, float, float, float], rotation: int) -> tuple[float, ...]:
    """A box in fractions of the image OCR read (the page image turned clockwise by
    ``rotation``) as fractions of the page image as displayed."""
    u0, v0, u1, v1 = box
    if rotation == 90:
        return (v0, 1 - u1, v1, 1 - u0)
    if rotation == 180:
        return (1 - u1, 1 - v1, 1 - u0, 1 - v0)
    if rotation == 270:
        return (1 - v1, u0, 1 - v0, u1)
    return box


def layout_from_words(entry: dict[str, Any], width: int, height: int) -> PageLayout | None:
    """The layout of an OCR'd page from its stored word boxes (``words.vN.json``): the words
    in reading order, a space between the words of a line and a line break between lines, and
    each word's box shared out evenly among its characters (tesseract's ``chi_sim`` words are
    one to a few characters, so a Chinese hit is placed to the character). None when the entry
    holds no usable word."""
    try:
        rotation = int(entry.get("rotation") or 0) % 360
    except (TypeError, ValueError):
        return None
    words = entry.get("words")
    if rotation not in (0, 90, 180, 270) or not isinstance(words, list):
        return None
    text: list[str] = []
    boxes: list[tuple[float, float, float, float] | None] = []
    last_line: int | None = None
    for item in words:
        try:
            word = str(item[0])
            u0, v0, u1, v1 = (float(x) for x in item[1:5])
            line = int(item[5])
        except (TypeError, ValueError, IndexError):
            continue
        if not word or not (0 <= u0 < u1 <= 1 and 0 <= v0 < v1 <= 1):
            continue
        if last_line is not None:
            text.append("\n" if line != last_line else " ")
            boxes.append(None)
        last_line = line
        step = (u1 - u0) / len(word)
        for i, ch in enumerate(word):
            text.append(ch)
            left, top, right, bottom = _unturn(
                (u0 + i * step, v0, u0 + (i + 1) * step, v1), rotation
            )
            boxes.append((left, top, right, bottom))
    if not boxes:
        return None
    return PageLayout(width, height, "".join(text), tuple(boxes))


# --- the selectable text layer ----------------------------------------------------------------
MAX_RUNS = 5000


@dataclass(frozen=True)
class TextRun:
    """A run of text on one line of the page image, in the image's pixels: drawn invisible
    over the image (SVG ``<text>`` stretched to ``length``) so it can be selected and copied."""

    x: float
    y: float
    """The baseline."""
    size: float
    length: float
    text: str


def text_runs(layout: PageLayout) -> list[TextRun]:
    """The page's text cut into runs, one per stretch of a line (a wide gap or a line break
    starts a new one), placed where the characters are on the image."""
    runs: list[TextRun] = []
    chars: list[str] = []
    box: list[float] | None = None
    space = False

    def flush() -> None:
        nonlocal box, space
        if box is not None and chars and len(runs) < MAX_RUNS:
            h = box[3] - box[1]
            runs.append(
                TextRun(
                    x=round(box[0], 1),
                    y=round(box[3] - 0.15 * h, 1),
                    size=round(h, 1),
                    length=round(max(box[2] - box[0], 0.5), 1),
                    text="".join(chars),
                )
            )
        chars.clear()
        box, space = None, False

    w, h_img = layout.width, layout.height
    for ch, frac in zip(layout.text, layout.boxes, strict=False):
        if ch in "\r\n":
            flush()
            continue
        if ch.isspace() or frac is None:
            space = space or box is not None
            continue
        left, top, right, bottom = frac[0] * w, frac[1] * h_img, frac[2] * w, frac[3] * h_img
        if box is not None:
            height = max(box[3] - box[1], bottom - top, 1.0)
            same_line = abs((top + bottom) / 2 - (box[1] + box[3]) / 2) < height * 0.5
            gap = left - box[2]
            if not same_line or gap > 2.5 * height or gap < -height:
                flush()
        if box is None:
            box = [left, top, right, bottom]
        else:
            if space and not (is_cjk(chars[-1]) and is_cjk(ch)):
                chars.append(" ")
            box = [min(box[0], left), min(box[1], top), max(box[2], right), max(box[3], bottom)]
        space = False
        chars.append(ch)
    flush()
    return runs


class PageCache:
    """Rendered pages on disk: ``<dir>/<sha[:2]>/<sha>/p<N>-s<scale>.png`` and ``.json``."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def _base(self, sha256: str, page: int, scale: float) -> Path:
        return self.root / sha256[:2] / sha256 / f"p{page}-s{scale:g}"

    def get(self, sha256: str, page: int, scale: float) -> tuple[Path, PageLayout] | None:
        base = self._base(sha256, page, scale)
        png, meta = base.with_suffix(".png"), base.with_suffix(".json")
        try:
            layout = PageLayout.from_json(meta.read_text(encoding="utf-8"))
        except OSError:
            return None
        if layout is None or not png.is_file():
            return None
        return png, layout

    def put(self, sha256: str, page: int, scale: float, png: bytes, layout: PageLayout) -> Path:
        base = self._base(sha256, page, scale)
        base.parent.mkdir(parents=True, exist_ok=True)
        png_path = base.with_suffix(".png")
        # The image first, the layout last: a layout on disk means a complete entry.
        for target, data in ((png_path, png), (base.with_suffix(".json"), layout.to_json())):
            payload = data if isinstance(data, bytes) else data.encode("utf-8")
            fd, tmp = tempfile.mkstemp(dir=base.parent, prefix=".tmp-")
            try:
                with os.fdopen(fd, "wb") as fh:
                    fh.write(payload)
                os.replace(tmp, target)
            except BaseException:
                Path(tmp).unlink(missing_ok=True)
                raise
        return png_path


def layout_summary(layout: PageLayout) -> dict[str, Any]:
    return {"width": layout.width, "height": layout.height, "chars": len(layout.text)}
