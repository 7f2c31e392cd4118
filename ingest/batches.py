"""Batch scans split by separator sheets.

An archive room scans a whole box into one PDF, with a separator sheet printed by the archive
(:func:`separator_sheet`: a QR code with :data:`PAYLOAD_PREFIX`, or a Code 128 barcode with
:data:`SHORT_PREFIX`, "分隔页 / SEPARATOR" in large type, and an optional customer and
classification) between two documents. :func:`plan_batch`
renders every page at a modest resolution, finds the sheets (zxing-cpp, a native wheel: nothing
is fetched at run time) and plans the split: each run of pages between two sheets is one
contract with the payload of the sheet before it; the sheets themselves are dropped.
:func:`write_segments` writes each segment as a PDF of its own (the pages copied unchanged, so
the same batch always gives the same bytes). Both run in the killable worker on untrusted input.
"""

from __future__ import annotations

import io
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode

from ingest.errors import RejectFile

PAYLOAD_PREFIX = "CONTRACT-ARCHIVE:SEPARATOR:1"
"""What a separator sheet's QR code starts with; any other QR code on a page is content."""
SHORT_PREFIX = "CA-SEP:1"
"""The same, for a Code 128 barcode (a 1D code holds few characters): the payload scheme is
the same (the prefix, then ``?customer=...&classification=...``), and either prefix is read in
either code."""
KINDS = ("qr", "code128")
"""The codes a separator sheet can carry."""

DETECT_DPI = 100
"""Pages are rendered at this resolution to look for a separator's code: a sheet's QR code is
8 cm wide, about 8 pixels per module here; a Code 128 module is 0.5 mm, about 2 pixels."""
THUMB_DPI = 18
"""The preview's page thumbnails (about 150 x 210 pixels for A4)."""

_A4_PX = (1240, 1754)  # A4 at 150 dpi
_SHEET_DPI = 150
_CJK_FONTS = (
    Path("/usr/share/fonts/opentype/noto/NotoSansCJK-Bold.ttc"),
    Path("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc"),
    Path("/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf"),
    Path("/usr/share/fonts/truetype/droid/DroidSansFallback.ttf"),
)
MAX_PAYLOAD_CHARS = 500
_BAR_MODULE_PX = 3
"""A Code 128 module (the narrowest bar) is 3 pixels of the 150 dpi sheet, 0.5 mm: read on a
scan of 110 dpi or more once the page is drawn at :data:`DETECT_DPI` (2 pixels, 0.34 mm,
are not)."""
_BAR_QUIET_MODULES = 10
_BAR_MAX_PX = _A4_PX[0] - 2 * 50  # 8.5 mm margins, as printers need
MAX_BARCODE_MODULES = _BAR_MAX_PX // _BAR_MODULE_PX - 2 * _BAR_QUIET_MODULES
"""The widest Code 128 a sheet carries (quiet zones left out): about 29 characters."""


def payload_text(
    customer: str | None, classification: str | None, prefix: str = PAYLOAD_PREFIX
) -> str:
    """The code's text: the prefix and, URL-encoded, what the sheet says."""
    fields = {}
    if customer and customer.strip():
        fields["customer"] = " ".join(customer.split())
    if classification and classification.strip():
        fields["classification"] = classification.strip().upper()
    text = prefix + ("?" + urlencode(fields) if fields else "")
    if len(text) > MAX_PAYLOAD_CHARS:
        raise RejectFile(
            f"the separator's payload is {len(text)} characters long, more than "
            f"{MAX_PAYLOAD_CHARS}",
            hint="shorten the customer name",
        )
    return text


def parse_payload(text: str) -> dict[str, str] | None:
    """A separator's payload (customer, classification; each only when given), or None for a
    code that is not one of ours."""
    for prefix in (PAYLOAD_PREFIX, SHORT_PREFIX):
        if text == prefix or text.startswith(prefix + "?"):
            break
    else:
        return None
    query = text[len(prefix) + 1 :]
    fields = dict(parse_qsl(query, keep_blank_values=False))
    return {k: v for k, v in fields.items() if k in ("customer", "classification") and v}


def _font(size: int) -> Any:
    from PIL import ImageFont

    for path in _CJK_FONTS:
        if path.is_file():
            return ImageFont.truetype(str(path), size), True
    return ImageFont.load_default(size=size), False


def _qr_image(text: str) -> Any:
    """The QR code, 8 cm wide at 150 dpi."""
    import segno
    from PIL import Image

    qr = segno.make(text, error="m", micro=False)
    buf = io.BytesIO()
    qr.save(buf, kind="png", scale=1, border=0)
    code = Image.open(io.BytesIO(buf.getvalue())).convert("L")
    side = 472  # 8 cm at 150 dpi
    return code.resize((side // code.width * code.width,) * 2, Image.Resampling.NEAREST)


def _code128_image(text: str) -> Any:
    """The Code 128 barcode (zxing-cpp writes it), :data:`_BAR_MODULE_PX` pixels a module and
    2.5 cm tall, with its quiet zones; a payload too long for the sheet's width is refused."""
    import zxingcpp
    from PIL import Image

    bars = zxingcpp.create_barcode(text, zxingcpp.BarcodeFormat.Code128).to_image(
        scale=1, add_hrt=False, add_quiet_zones=False
    )
    height, width = bars.shape[:2]
    if width > MAX_BARCODE_MODULES:
        raise RejectFile(
            f"the separator's payload {text!r} is too long for a Code 128 barcode on one "
            f"sheet ({width} modules, at most {MAX_BARCODE_MODULES}: about 29 characters)",
            hint="use the QR separator (the default), which holds any customer name (a "
            "Chinese one too); a Code 128 sheet holds a classification or a short Latin "
            "customer name",
        )
    line = Image.frombytes("L", (width, height), bytes(memoryview(bars)))  # type: ignore[arg-type]
    line = line.resize((width * _BAR_MODULE_PX, 150), Image.Resampling.NEAREST)
    quiet = _BAR_QUIET_MODULES * _BAR_MODULE_PX
    code = Image.new("L", (line.width + 2 * quiet, line.height), 255)
    code.paste(line, (quiet, 0))
    return code


def separator_sheet(
    customer: str | None = None, classification: str | None = None, kind: str = "qr"
) -> bytes:
    """A printable A4 separator sheet as a one-page PDF: the code (``kind``: a QR code, or a
    Code 128 barcode with the short prefix), "分隔页 / SEPARATOR" in large type and the payload
    in words (a lossless image page, made with img2pdf)."""
    import img2pdf
    from PIL import Image, ImageDraw

    if kind not in KINDS:
        raise RejectFile(f"no separator code {kind!r}", hint=f"choose one of: {', '.join(KINDS)}")
    if kind == "qr":
        text = payload_text(customer, classification)
        code = _qr_image(text)
    else:
        text = payload_text(customer, classification, SHORT_PREFIX)
        code = _code128_image(text)
    fields = parse_payload(text) or {}
    page = Image.new("L", _A4_PX, 255)
    draw = ImageDraw.Draw(page)
    width = _A4_PX[0]

    def centered(y: int, line: str, size: int) -> int:
        font, cjk = _font(size)
        if not cjk and not line.isascii():
            line = line.encode("ascii", "replace").decode()
        box = draw.textbbox((0, 0), line, font=font)
        draw.text(((width - (box[2] - box[0])) // 2, y), line, font=font, fill=0)
        return int(y + (box[3] - box[1]) + size // 2)

    y = centered(110, "分隔页", 150)
    y = centered(y, "SEPARATOR", 110)
    y += 40
    page.paste(code, ((width - code.width) // 2, y))
    y += code.height + 70
    y = centered(y, f"客户 Customer: {fields.get('customer', '—')}", 44)
    y = centered(y, f"分类 Classification: {fields.get('classification', '—')}", 44)
    y += 40
    y = centered(y, "本页之后至下一分隔页为一份合同。扫描时放在每份合同之前。", 34)
    centered(y, "Scan before each contract: the pages up to the next sheet are one contract.", 30)
    out = io.BytesIO()
    page.save(out, format="PNG", dpi=(_SHEET_DPI, _SHEET_DPI))
    layout = img2pdf.get_fixed_dpi_layout_fun((_SHEET_DPI, _SHEET_DPI))
    pdf = img2pdf.convert(out.getvalue(), layout_fun=layout, nodate=True)
    assert pdf is not None
    return bytes(pdf)


@dataclass(frozen=True)
class Segment:
    """Pages ``first``..``last`` (1-based, inclusive) of the batch: one contract."""

    first: int
    last: int
    customer: str | None = None
    classification: str | None = None
    separator_page: int | None = None
    """The sheet before it (None: the pages before the first sheet)."""

    @property
    def pages(self) -> str:
        return str(self.first) if self.first == self.last else f"{self.first}-{self.last}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "pages": self.pages,
            "first_page": self.first,
            "last_page": self.last,
            "page_count": self.last - self.first + 1,
            "customer": self.customer,
            "classification": self.classification,
            "separator_page": self.separator_page,
        }


@dataclass(frozen=True)
class Skipped:
    """What is not archived: an empty segment (two sheets in a row, a sheet at the end)."""

    separator_page: int
    reason: str
    next_page: int | None = None
    """The next sheet's page (None: the sheet is the batch's last page)."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "separator_page": self.separator_page,
            "reason": self.reason,
            "next_page": self.next_page,
        }


@dataclass(frozen=True)
class BatchPlan:
    page_count: int
    separators: tuple[int, ...]
    segments: tuple[Segment, ...]
    skipped: tuple[Skipped, ...] = ()
    thumbnails: dict[int, bytes] = field(default_factory=dict)
    """Page number → a small PNG (only when asked for)."""

    @property
    def note(self) -> str | None:
        if not self.separators:
            return "no separator sheet found: the batch is archived as one contract"
        if not self.segments:
            return "only separator sheets: nothing to archive"
        return None

    def to_dict(self) -> dict[str, Any]:
        return {
            "page_count": self.page_count,
            "separator_pages": list(self.separators),
            "segments": [s.to_dict() for s in self.segments],
            "skipped": [s.to_dict() for s in self.skipped],
            "note": self.note,
        }


def _damaged(detail: str) -> RejectFile:
    return RejectFile(
        f"the batch is not a readable PDF: {detail}",
        hint="scan the batch again, or check that the file was copied completely",
    )


def _find_separator(image: Any) -> dict[str, str] | None:
    """The payload of a separator's QR code or Code 128 barcode on the page (None: none).

    A second look for a Code 128 with a fixed threshold: the thin bars of a noisy scan of
    110-120 dpi, drawn at :data:`DETECT_DPI`, escape zxing-cpp's default (local) binarizer on
    about one sheet in five, never the fixed one (measured on 60 noisy scans). Looking for
    both codes costs 20-35 ms of a page without a sheet (QR alone: 5 ms), beside about 95 ms
    to draw it (load average 13 on 2 cores)."""
    import zxingcpp

    both = zxingcpp.BarcodeFormats([zxingcpp.BarcodeFormat.QRCode, zxingcpp.BarcodeFormat.Code128])
    bars = zxingcpp.BarcodeFormats([zxingcpp.BarcodeFormat.Code128])
    fixed = zxingcpp.Binarizer.FixedThreshold
    looks: tuple[Callable[[], list[Any]], ...] = (
        lambda: zxingcpp.read_barcodes(image, formats=both),
        lambda: zxingcpp.read_barcodes(image, formats=bars, binarizer=fixed),
    )
    for look in looks:
        for code in look():
            payload = parse_payload(code.text)
            if payload is not None:
                return payload
    return None


def plan_batch(path: Path, max_pages: int, thumbnails: bool = False) -> BatchPlan:
    """Render each page of the batch at :data:`DETECT_DPI`, find the separator sheets and plan
    the segments. Refuses what is not a readable PDF (RejectFile)."""
    import pypdfium2 as pdfium

    with open(path, "rb") as fh:
        if fh.read(5) != b"%PDF-":
            raise RejectFile(
                "a batch scan must be a PDF file",
                hint="scan the batch to one PDF (images of a batch: convert them to a PDF)",
                details={"format": "not-pdf"},
            )
    try:
        pdf = pdfium.PdfDocument(str(path))
    except pdfium.PdfiumError as exc:
        raise _damaged(str(exc)) from exc
    try:
        count = len(pdf)
        if count == 0:
            raise _damaged("it has no pages")
        if count > max_pages:
            raise RejectFile(
                f"the batch has {count} pages, more than ARCHIVE_MAX_PAGES ({max_pages})",
                hint="scan the box in several batches",
            )
        found: dict[int, dict[str, str]] = {}
        thumbs: dict[int, bytes] = {}
        for index in range(count):
            page = pdf[index]
            try:
                bitmap = page.render(scale=DETECT_DPI / 72, grayscale=True, may_draw_forms=False)
                image = bitmap.to_pil().convert("L")
            except pdfium.PdfiumError as exc:
                raise _damaged(f"page {index + 1} cannot be drawn ({exc})") from exc
            finally:
                page.close()
            payload = _find_separator(image)
            if payload is not None:
                found[index + 1] = payload
            if thumbnails:
                small = image.copy()
                small.thumbnail((image.width * THUMB_DPI // DETECT_DPI,) * 2)
                out = io.BytesIO()
                small.save(out, format="PNG", optimize=True)
                thumbs[index + 1] = out.getvalue()
    finally:
        pdf.close()
    return split_plan(count, found, thumbs)


def split_plan(
    count: int, found: dict[int, dict[str, str]], thumbs: dict[int, bytes] | None = None
) -> BatchPlan:
    """The segments of a batch of ``count`` pages whose separator sheets are ``found``."""
    segments: list[Segment] = []
    skipped: list[Skipped] = []
    payload: dict[str, str] = {}
    sheet: int | None = None
    start = 1
    for page in [*sorted(found), count + 1]:
        if page > start:
            segments.append(
                Segment(
                    start,
                    page - 1,
                    payload.get("customer"),
                    payload.get("classification"),
                    sheet,
                )
            )
        elif sheet is not None:
            last = page > count
            why = "is the last page" if last else f"is followed by the sheet on page {page}"
            skipped.append(
                Skipped(
                    sheet,
                    f"empty segment: the separator sheet on page {sheet} {why}",
                    None if last else page,
                )
            )
        if page <= count:
            payload, sheet, start = found[page], page, page + 1
    return BatchPlan(count, tuple(sorted(found)), tuple(segments), tuple(skipped), thumbs or {})


def write_segments(path: Path, plan: BatchPlan, folder: Path) -> list[Path]:
    """Each segment of ``plan`` as a PDF in ``folder`` (``segment-N.pdf``): the batch's pages
    copied unchanged, without an /ID or dates, so the same batch gives the same files."""
    from pypdf import PdfReader, PdfWriter
    from pypdf.errors import PdfReadError

    written = []
    try:
        reader = PdfReader(path)
        for n, segment in enumerate(plan.segments, start=1):
            writer = PdfWriter()
            for page_no in range(segment.first, segment.last + 1):
                writer.add_page(reader.pages[page_no - 1])
            out = folder / f"segment-{n}.pdf"
            with open(out, "wb") as fh:
                writer.write(fh)
            written.append(out)
    except (PdfReadError, ValueError, KeyError, zlib.error) as exc:
        raise _damaged(f"its pages cannot be copied ({exc})") from exc
    return written
