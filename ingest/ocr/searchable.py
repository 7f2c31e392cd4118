"""The searchable copy: tesseract's invisible text laid over a clone of the original pages.

The original is never changed. Each OCR'd page of a clone (pypdf ``PdfWriter(clone_from=…)``)
gets its text-only layer merged on top (``merge_transformed_page``), scaled to the page as it
is displayed and turned back by the rotation OCR applied, and by the page's ``/Rotate``, so
that selecting text in a viewer selects the words under the pointer. A page OCR read turned
(found sideways or upside down by OSD) is shown upright in the copy: its ``/Rotate`` gains the
turn, so that viewers find its text in reading order (pdfium reads text drawn upside down
backwards). Runs in a worker process: the original is an untrusted file.
"""

from __future__ import annotations

import io
import logging
import re
import warnings
from dataclasses import dataclass
from pathlib import Path

from ingest.ocr.errors import OcrPageError

Matrix = tuple[float, float, float, float, float, float]

SEARCHABLE_FAILED = "searchable copy could not be made"
"""How the reason a searchable copy could not be built begins, wherever it is shown."""

_OBJECT_REPR = re.compile(r"IndirectObject\((\d+), (\d+), \d+\)")


def failure_reason(exc: BaseException) -> str:
    """``searchable copy could not be made: <what pypdf said>`` (object ids kept, the
    addresses of Python objects dropped)."""
    text = _OBJECT_REPR.sub(r"object \1 \2", " ".join(str(exc).split()))[:500]
    return f"{SEARCHABLE_FAILED}: {text or type(exc).__name__}"


@dataclass(frozen=True)
class Layer:
    page_no: int
    pdf: bytes
    rotation: int
    """Degrees the displayed page image was turned clockwise before OCR."""


def _mul(m: Matrix, n: Matrix) -> Matrix:
    """``m`` then ``n`` (row-vector convention of PDF: [x y 1] · M)."""
    a, b, c, d, e, f = m
    a2, b2, c2, d2, e2, f2 = n
    return (
        a * a2 + b * c2,
        a * b2 + b * d2,
        c * a2 + d * c2,
        c * b2 + d * d2,
        e * a2 + f * c2 + e2,
        e * b2 + f * d2 + f2,
    )


def turn_clockwise(angle: int, width: float, height: float) -> tuple[Matrix, float, float]:
    """Turn the box [0,w]x[0,h] clockwise by ``angle``, keeping it at the origin."""
    angle %= 360
    if angle == 0:
        return (1, 0, 0, 1, 0, 0), width, height
    if angle == 90:  # (x, y) -> (y, w - x)
        return (0, -1, 1, 0, 0, width), height, width
    if angle == 180:  # (x, y) -> (w - x, h - y)
        return (-1, 0, 0, -1, width, height), width, height
    if angle == 270:  # (x, y) -> (h - y, x)
        return (0, 1, -1, 0, height, 0), height, width
    raise ValueError(f"not a right angle: {angle}")


def layer_matrix(
    layer_size: tuple[float, float],
    ocr_rotation: int,
    cropbox: tuple[float, float, float, float],
    page_rotation: int,
) -> Matrix:
    """Map the layer (the upright image OCR read) onto the page's user space."""
    lw, lh = layer_size
    x0, y0, x1, y1 = cropbox
    cw, ch = x1 - x0, y1 - y0
    # Layer → displayed page: undo OCR's turn, then scale to the displayed size.
    back, w1, h1 = turn_clockwise(-ocr_rotation, lw, lh)
    displayed_w, displayed_h = (ch, cw) if page_rotation % 180 else (cw, ch)
    scale: Matrix = (displayed_w / w1, 0, 0, displayed_h / h1, 0, 0)
    # Displayed page → user space: undo the viewer's /Rotate, then move to the crop box.
    unrotate, _, _ = turn_clockwise(-page_rotation, displayed_w, displayed_h)
    move: Matrix = (1, 0, 0, 1, x0, y0)
    return _mul(_mul(_mul(back, scale), unrotate), move)


def build_searchable(original: str, layers: list[Layer], output: str) -> int:
    """Write the searchable copy of ``original`` to ``output``; returns the number of pages
    that received a text layer. Any failure of pypdf on the original (a reference loop, deep
    nesting, a broken stream) is an :class:`OcrPageError` saying the copy could not be made."""
    import pypdf
    from pypdf.generic import NameObject, NumberObject

    logging.getLogger("pypdf").setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            reader = pypdf.PdfReader(original, strict=False)
            if reader.is_encrypted:
                reader.decrypt("")
            writer = pypdf.PdfWriter(clone_from=reader)
            merged = 0
            for layer in sorted(layers, key=lambda item: item.page_no):
                if not 1 <= layer.page_no <= len(writer.pages):
                    raise OcrPageError(
                        f"{SEARCHABLE_FAILED}: the original has no page {layer.page_no}"
                    )
                page = writer.pages[layer.page_no - 1]
                text_page = pypdf.PdfReader(io.BytesIO(layer.pdf)).pages[0]
                size = (float(text_page.mediabox.width), float(text_page.mediabox.height))
                box = page.cropbox
                crop = (float(box.left), float(box.bottom), float(box.right), float(box.top))
                page_rotation = int(page.rotation or 0) % 360
                ctm = layer_matrix(size, layer.rotation, crop, page_rotation)
                page.merge_transformed_page(text_page, pypdf.Transformation(ctm))
                if layer.rotation % 360:
                    # Show the page upright, as OCR read it: text drawn upside down or
                    # sideways is found by viewers in reverse or in no order at all.
                    page[NameObject("/Rotate")] = NumberObject(
                        (page_rotation + layer.rotation) % 360
                    )
                merged += 1
            tmp = Path(output)
            with open(tmp, "wb") as fh:
                writer.write(fh)
    except OcrPageError:
        raise
    except Exception as exc:
        # The original is untrusted: whatever pypdf raises on it ends here, with the reason.
        raise OcrPageError(failure_reason(exc)) from exc
    return merged
