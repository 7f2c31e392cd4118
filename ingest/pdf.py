"""Reading a PDF: validation with pypdf, page text from pdfium (pypdf's where pdfium's fails).

Runs inside a worker process (``ingest.isolation``) so that a hostile file that makes pypdf or
pdfium loop, balloon or crash can be killed without taking the archive down. Everything pypdf
raises is turned into :class:`RejectFile` with a reason a user can act on.

pypdf opens and validates the file (encryption, page count, active content, the reasons of a
rejection); the text of each page comes from pdfium (pypdfium2), which reads it about eight
times faster with the same words on the corpus's text PDFs. pypdf's ``extract_text`` is still
used, page by page, where pdfium's text cannot be trusted (see :func:`_pdfium_unusable`): a
font without a usable Unicode map (pdfium then gives glyph numbers: control characters), too
little text (the page may need OCR: the decision stays pypdf's, as before), and scanned pages
with a text layer of another OCR program (pdfium glues words whose gap the layer draws narrow:
"ofthe" in ABBYY's layer). A file pdfium cannot open, or whose pages it counts differently,
takes pypdf's text throughout; one that crashes pdfium's C code is read again with pypdf's
text by the caller (``text_from="pypdf"``).
"""

from __future__ import annotations

import logging
import re
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ingest.errors import RejectFile

log = logging.getLogger(__name__)

PDF_MAGIC = b"%PDF-"
MAGIC_WINDOW = 1024

_SIGNATURES: tuple[tuple[bytes, str], ...] = (
    (b"\x89PNG\r\n\x1a\n", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"II*\x00", "a TIFF image"),
    (b"MM\x00*", "a TIFF image"),
    (b"GIF8", "a GIF image"),
    (b"PK\x03\x04", "a ZIP archive (or a DOCX/XLSX document)"),
    (b"\xd0\xcf\x11\xe0", "a legacy Microsoft Office document"),
    (b"{\\rtf", "an RTF document"),
    (b"\x1f\x8b", "a gzip archive"),
)
_HTML = re.compile(rb"^\s*(<!doctype html|<html|<\?xml)", re.IGNORECASE)
_CID = re.compile(r"\(cid:\d+\)")
_UNTRUSTED = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ufffd\ue000-\uf8ff]")
"""In pdfium's text: control characters (glyph numbers of a font without a usable Unicode
map), U+FFFD and private-use code points. Any of them sends the page to pypdf."""
SCAN_PIXELS = 1_000_000
"""An image of at least this many pixels on a page makes it a scanned page (a letter page at
120 dpi); its text, when it has one, is another OCR program's layer, read by pypdf."""
MAX_OBJECTS = 4000
"""Page objects looked at for a scanned page's image, at each level."""
TEXT_ENGINES = ("pdfium", "pypdf")


@dataclass(frozen=True)
class PageText:
    page_no: int
    text: str
    chars: int
    """Letters and digits in the text layer."""
    needs_ocr: bool


@dataclass(frozen=True)
class ParsedPdf:
    page_count: int
    pages: list[PageText]
    warnings: list[str] = field(default_factory=list)


def sniff(head: bytes) -> str | None:
    """None when ``head`` starts a PDF, else a description of what the file seems to be."""
    if not head:
        return "an empty file"
    if PDF_MAGIC in head[:MAGIC_WINDOW]:
        return None
    for magic, what in _SIGNATURES:
        if head.startswith(magic):
            return what
    if _HTML.match(head):
        return "an HTML or XML document"
    return "not a PDF (no %PDF- header)"


def usable_chars(text: str) -> int:
    return sum(map(str.isalnum, text))


def page_needs_ocr(text: str, min_chars: int, letters: int | None = None) -> bool:
    """A page whose text layer is missing, too thin, or mostly garbage needs OCR (``letters``:
    its usable characters, when they are counted already)."""
    if letters is None:
        letters = usable_chars(text)
    if letters < min_chars:
        return True
    replacement = text.count("\ufffd") + len(_CID.findall(text)) * 5
    return replacement > 0.3 * max(letters, 1)


def read_pdf(path: Path, *, max_pages: int, min_chars: int, text_from: str = "pdfium") -> ParsedPdf:
    """Validate ``path`` as a PDF and extract the text of each page.

    ``text_from="pypdf"`` takes every page's text from pypdf (for a file that crashed pdfium)."""
    if text_from not in TEXT_ENGINES:
        raise ValueError(f"text_from must be one of {TEXT_ENGINES}, not {text_from!r}")
    with open(path, "rb") as fh:
        head = fh.read(MAGIC_WINDOW)
    what = sniff(head)
    if what is not None:
        raise RejectFile(f"not a PDF: the file is {what}", hint="upload the contract as a PDF")

    # pypdf reports recoverable damage through logging and warnings; we keep what it says
    # as the file's warnings instead of printing it.
    import pypdf  # imported here: the worker process pays the import, not the server
    from pypdf.errors import FileNotDecryptedError

    notes: list[str] = []
    handler = _Collect(notes)
    pypdf_log = logging.getLogger("pypdf")
    pypdf_log.addHandler(handler)
    pypdf_log.propagate = False
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                reader = pypdf.PdfReader(str(path), strict=False)
                if reader.is_encrypted:
                    _decrypt_or_reject(reader, notes)
                page_count = len(reader.pages)
            except RejectFile:
                raise
            except FileNotDecryptedError as exc:
                raise _encrypted() from exc
            except NotImplementedError as exc:
                raise RejectFile(
                    f"encrypted PDF: a password is required ({exc})",
                    hint="remove the encryption or upload an unencrypted copy",
                ) from exc
            except RecursionError as exc:
                if carries_signatures(path):
                    return _signed_but_unreadable(path, "its object structure loops")
                raise RejectFile("damaged PDF: its object structure loops") from exc
            except Exception as exc:
                if carries_signatures(path):
                    return _signed_but_unreadable(path, _short(exc))
                raise RejectFile(
                    f"damaged PDF: pypdf cannot read it ({_short(exc)})",
                    hint="re-export or re-scan the document, then upload it again",
                ) from exc
            if page_count == 0:
                raise RejectFile("the PDF has no pages")
            notes.extend(active_content(reader))
            if page_count > max_pages:
                raise RejectFile(
                    f"the PDF has {page_count} pages, more than ARCHIVE_MAX_PAGES ({max_pages})",
                    hint="split the document or raise ARCHIVE_MAX_PAGES",
                )
            fast = _pdfium_texts(path, page_count) if text_from == "pdfium" else None
            # A font pdfium cannot map on one page is not trusted on the others either, where
            # it may draw only a few glyphs that look like letters.
            unmapped = frozenset().union(*(p.unmapped for p in fast or ())) - {""}
            pages: list[PageText] = []
            for i in range(page_count):
                got = None if fast is None else fast[i]
                text = None if got is None else got.text
                letters = 0 if text is None else usable_chars(text)
                if (
                    got is None
                    or text is None
                    or got.unmapped
                    or (got.scanned is None and _scanned_pypdf(reader.pages[i]))
                    or got.scanned
                    or _pdfium_unusable(letters, reader.pages[i], min_chars, unmapped)
                ):
                    text = _pypdf_text(reader, i, notes)
                    letters = usable_chars(text)
                pages.append(
                    PageText(
                        page_no=i + 1,
                        text=text,
                        chars=letters,
                        needs_ocr=page_needs_ocr(text, min_chars, letters),
                    )
                )
    finally:
        pypdf_log.removeHandler(handler)
    return ParsedPdf(page_count=page_count, pages=pages, warnings=_dedupe(notes))


def _pypdf_text(reader: Any, i: int, notes: list[str]) -> str:
    try:
        text = reader.pages[i].extract_text() or ""
    except Exception as exc:  # noqa: BLE001 - a page's damage must not sink the file
        notes.append(f"page {i + 1}: text could not be extracted ({_short(exc)})")
        text = ""
    return str(text).replace("\x00", "")


@dataclass(frozen=True)
class _PdfiumPage:
    text: str | None
    """None: pdfium could not read the page."""
    unmapped: frozenset[str] = frozenset()
    """Names of the fonts whose characters on this page pdfium could not map to Unicode (it
    then gives their glyph numbers): non-empty only on a page whose text shows it."""
    scanned: bool | None = False
    """The page draws an image of SCAN_PIXELS or more: see :func:`_scanned` (None: it has
    more objects than were looked at)."""


MAP_SAMPLES = 32
"""Characters of each page asked whether pdfium could map them to Unicode (a font's glyph
numbers can look like letters: "hj-" for 研发部)."""


def _pdfium_texts(path: Path, page_count: int) -> list[_PdfiumPage] | None:
    """Each page's text as pdfium reads it, or None when pdfium cannot open the file or counts
    its pages otherwise than pypdf (the reason logged): the caller then takes pypdf's text."""
    import pypdfium2 as pdfium  # imported here, as pypdf is

    try:
        doc = pdfium.PdfDocument(str(path))
    except Exception as exc:  # noqa: BLE001 - pypdf's text is the way out
        log.warning("%s: pdfium cannot open it (%s); page text from pypdf", path, _short(exc))
        return None
    try:
        if len(doc) != page_count:
            log.warning(
                "%s: pdfium counts %d pages, pypdf %d; page text from pypdf",
                path,
                len(doc),
                page_count,
            )
            return None
        pages: list[_PdfiumPage] = []
        for i in range(page_count):
            try:
                page = doc[i]
                try:
                    textpage = page.get_textpage()
                    try:
                        text = pdfium_text(_without_cjk_gaps(textpage, textpage.get_text_range()))
                        unmapped: frozenset[str] = frozenset()
                        if _UNTRUSTED.search(text) is not None or _unmapped(textpage, sample=True):
                            unmapped = frozenset(_unmapped(textpage, sample=False)) or frozenset(
                                {""}
                            )
                        pages.append(_PdfiumPage(text, unmapped, _scanned(page.raw)))
                    finally:
                        textpage.close()
                finally:
                    page.close()
            except Exception as exc:  # noqa: BLE001 - that page's text comes from pypdf
                log.info("%s: page %d: pdfium cannot read it (%s)", path, i + 1, _short(exc))
                pages.append(_PdfiumPage(None))
        return pages
    finally:
        doc.close()


CJK = (
    r"\u2e80-\u2fdf\u3000-\u303f\u3040-\u30ff\u3100-\u312f\u3190-\u31ff\u3400-\u4dbf"
    r"\u4e00-\u9fff\uf900-\ufaff\ufe30-\ufe4f\uff00-\uffef\U00020000-\U0003134f"
)
"""The CJK characters, punctuation and full-width forms, as a regular expression's character
class body (also the OCR text's, ``ingest.ocr.page``)."""
_CJK_GAP = re.compile(rf"(?<=[{CJK}]) (?=[0-9A-Za-z])|(?<=[0-9A-Za-z]) (?=[{CJK}])")
"""A space between a Chinese (CJK) character or full-width form and an ASCII letter or digit."""


def _without_cjk_gaps(textpage: Any, raw: str) -> str:
    """``raw`` without the spaces pdfium made up between CJK characters and ASCII letters or
    digits: it puts one where a run of text in another font starts after a gap ("起 30 日内"
    where the page shows 起30日内, as pypdf reads it), and a phrase search for 起30日内 must
    find it. Spaces the page's content holds are kept, and so are made-up spaces between two
    CJK characters (a heading's gap, "第一章 合同当事人", which pypdf gives too); only when
    pdfium's characters and the text line up one to one."""
    import pypdfium2.raw as pdfium_c

    if _CJK_GAP.search(raw) is None or pdfium_c.FPDFText_CountChars(textpage) != len(raw):
        return raw
    return _CJK_GAP.sub(
        lambda gap: "" if pdfium_c.FPDFText_IsGenerated(textpage, gap.start()) == 1 else " ", raw
    )


def _unmapped(textpage: Any, *, sample: bool) -> set[str]:
    """Names of the fonts of characters pdfium could not map to Unicode: of MAP_SAMPLES
    characters spread over the page (``sample``: "" for the first found), or of all."""
    import ctypes

    import pypdfium2.raw as pdfium_c

    count = pdfium_c.FPDFText_CountChars(textpage)
    step = max(1, count // MAP_SAMPLES) if sample else 1
    names: set[str] = set()
    buffer = ctypes.create_string_buffer(256)
    for k in range(0, max(0, count), step):
        if pdfium_c.FPDFText_HasUnicodeMapError(textpage, k) == 1:
            if sample:
                return {""}
            pdfium_c.FPDFText_GetFontInfo(textpage, k, buffer, len(buffer), None)
            names.add(buffer.value.decode("utf-8", "replace"))
    return names


def pdfium_text(raw: str) -> str:
    """pdfium's page text in pypdf's conventions: lines end with \\n, not \\r\\n; a hyphen pdfium
    joined across a line end (U+FFFE, which it puts in the hyphen's place) is the hyphen and
    the line break the page shows ("non-" / "exclusive"), as pypdf gives them."""
    return (
        raw.replace("\r\n", "\n").replace("\r", "\n").replace("\ufffe", "-\n").replace("\x00", "")
    )


def _pdfium_unusable(letters: int, page: Any, min_chars: int, unmapped: frozenset[str]) -> bool:
    """Whether pypdf should read this page instead, given the ``letters`` (usable characters) of
    pdfium's text: see the module's docstring."""
    if letters < max(1, min_chars):
        return True
    return bool(unmapped) and not unmapped.isdisjoint(_font_names(page))


def _scanned_pypdf(page: Any) -> bool:
    """:func:`_scanned` from the pypdf page's resources (for a page of very many objects)."""

    def images(holder: Any, depth: int) -> bool:
        resources = _resolve(holder.get("/Resources"))
        xobjects = _resolve(resources.get("/XObject")) if isinstance(resources, dict) else None
        for value in list((xobjects or {}).values())[:64]:
            obj = _resolve(value)
            if not isinstance(obj, dict):
                continue
            kind, width, height = obj.get("/Subtype"), obj.get("/Width"), obj.get("/Height")
            if kind == "/Image" and isinstance(width, int) and isinstance(height, int):
                if width * height >= SCAN_PIXELS:
                    return True
            elif kind == "/Form" and depth == 0 and images(obj, 1):
                return True
        return False

    try:
        return images(page, 0)
    except Exception as exc:  # noqa: BLE001 - advisory: pdfium's text stays
        log.debug("image check stopped: %s", exc)
        return False


def _font_names(page: Any) -> set[str]:
    """The base font names of the page's own fonts (as pdfium names them: no slash)."""
    names: set[str] = set()
    try:
        resources = _resolve(page.get("/Resources"))
        fonts = _resolve(resources.get("/Font")) if isinstance(resources, dict) else None
        for value in (fonts or {}).values():
            font = _resolve(value)
            if isinstance(font, dict):
                names.add(str(font.get("/BaseFont", "")).lstrip("/"))
    except Exception as exc:  # noqa: BLE001 - advisory
        log.debug("font names: %s", exc)
    return names


def _resolve(obj: Any) -> Any:
    return obj.get_object() if hasattr(obj, "get_object") else obj


def _scanned(page: Any) -> bool | None:
    """Whether the pdfium page draws an image of at least SCAN_PIXELS pixels (directly or in
    a form XObject one level down; among its first MAX_OBJECTS objects at each level)."""
    import ctypes

    import pypdfium2.raw as pdfium_c

    width, height = ctypes.c_uint(), ctypes.c_uint()

    def images(count: int, get: Any, depth: int) -> bool:
        for k in range(min(count, MAX_OBJECTS)):
            obj = get(k)
            kind = pdfium_c.FPDFPageObj_GetType(obj)
            if kind == pdfium_c.FPDF_PAGEOBJ_IMAGE:
                if (
                    pdfium_c.FPDFImageObj_GetImagePixelSize(
                        obj, ctypes.byref(width), ctypes.byref(height)
                    )
                    and width.value * height.value >= SCAN_PIXELS
                ):
                    return True
            elif kind == pdfium_c.FPDF_PAGEOBJ_FORM and depth == 0:
                inner = pdfium_c.FPDFFormObj_CountObjects(obj)
                if images(inner, lambda n, form=obj: pdfium_c.FPDFFormObj_GetObject(form, n), 1):
                    return True
        return False

    try:
        count = pdfium_c.FPDFPage_CountObjects(page)
        if images(count, lambda n: pdfium_c.FPDFPage_GetObject(page, n), 0):
            return True
        return None if count > MAX_OBJECTS else False
    except Exception as exc:  # noqa: BLE001 - advisory: pdfium's text stays
        log.debug("image check stopped: %s", exc)
        return False


_SIGNATURE_BYTE_RANGE = re.compile(rb"/ByteRange\s*\[\s*\d+\s+\d+\s+\d+\s+\d+\s*\]")


def carries_signatures(path: Path) -> bool:
    """Whether the file visibly holds a signature: a ``/ByteRange [a b c d]`` array."""
    tail = b""
    with open(path, "rb") as fh:
        while chunk := fh.read(1 << 20):
            if _SIGNATURE_BYTE_RANGE.search(tail + chunk):
                return True
            tail = chunk[-200:]
    return False


def _signed_but_unreadable(path: Path, problem: str) -> ParsedPdf:
    """A signed PDF pypdf cannot open is archived all the same: its bytes are evidence, and
    the signature check says what it can ("cannot be checked", with the reason, or what the
    raw bytes prove). It has no pages and no text as far as the archive can tell."""
    log.warning(
        "%s: pypdf cannot read it (%s); archived because it carries signatures", path, problem
    )
    return ParsedPdf(
        page_count=0,
        pages=[],
        warnings=[
            f"pypdf cannot read the PDF ({problem}); it is archived unchanged because it "
            "carries signatures, without pages or text"
        ],
    )


_ACTIONS = {"/JavaScript": "JavaScript", "/Launch": "launch actions"}


def active_content(reader: Any) -> list[str]:
    """Warnings for JavaScript and launch actions: archived as they are, never run, but an
    archivist wants to know (the security property of 四性检测)."""
    found: set[str] = set()

    def resolve(obj: Any) -> Any:
        return obj.get_object() if hasattr(obj, "get_object") else obj

    def action(obj: Any, depth: int = 0) -> None:
        value = resolve(obj)
        if not isinstance(value, dict) or depth > 5:
            return
        kind = value.get("/S")
        if kind in _ACTIONS:
            found.add(_ACTIONS[kind])
        nxt = value.get("/Next")
        for item in nxt if isinstance(nxt, list) else [nxt]:
            action(item, depth + 1)

    def triggers(holder: Any) -> None:
        extra = resolve(holder.get("/AA"))
        if isinstance(extra, dict):
            for value in extra.values():
                action(value)

    try:
        root = resolve(reader.trailer["/Root"])
        action(root.get("/OpenAction"))
        names = resolve(root.get("/Names"))
        if isinstance(names, dict) and "/JavaScript" in names:
            found.add("JavaScript")
        triggers(root)
        for page in reader.pages[:2000]:
            triggers(page)
            for annot in resolve(page.get("/Annots")) or ():
                annot = resolve(annot)
                if isinstance(annot, dict):
                    action(annot.get("/A"))
                    triggers(annot)
    except Exception as exc:  # noqa: BLE001 - the scan is advisory; damage is reported elsewhere
        log.debug("active content scan stopped: %s", exc)
    return [f"the PDF contains {what} (archived unchanged, never run)" for what in sorted(found)]


def _encrypted() -> RejectFile:
    return RejectFile(
        "encrypted PDF: a password is required",
        hint="remove the password protection (print to PDF or qpdf --decrypt) and upload again",
    )


def _decrypt_or_reject(reader: object, notes: list[str]) -> None:
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    assert isinstance(reader, PdfReader)
    try:
        result = reader.decrypt("")
    except NotImplementedError as exc:
        raise RejectFile(
            f"encrypted PDF: a password is required ({exc})",
            hint="remove the encryption or upload an unencrypted copy",
        ) from exc
    except (PdfReadError, ValueError, KeyError, TypeError) as exc:
        raise RejectFile(f"encrypted PDF with a damaged encryption dictionary ({exc})") from exc
    if not result:
        raise _encrypted()
    notes.append("encrypted with an empty user password (owner restrictions only)")


def _short(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    text = " ".join(text.split())
    return text[:200]


def _dedupe(items: list[str]) -> list[str]:
    seen: dict[str, None] = {}
    for item in items:
        seen.setdefault(item[:300], None)
    return list(seen)[:20]


class _Collect(logging.Handler):
    def __init__(self, sink: list[str]) -> None:
        super().__init__(logging.WARNING)
        self.sink = sink

    def emit(self, record: logging.LogRecord) -> None:
        self.sink.append(f"pypdf: {record.getMessage()}")
