"""Reading a PDF: validation and text extraction with pypdf.

Runs inside a worker process (``ingest.isolation``) so that a hostile file that makes pypdf
loop or balloon can be killed without taking the archive down. Everything pypdf raises is
turned into :class:`RejectFile` with a reason a user can act on.
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
    return sum(1 for c in text if c.isalnum())


def page_needs_ocr(text: str, min_chars: int) -> bool:
    """A page whose text layer is missing, too thin, or mostly garbage needs OCR."""
    letters = usable_chars(text)
    if letters < min_chars:
        return True
    replacement = text.count("\ufffd") + len(_CID.findall(text)) * 5
    return replacement > 0.3 * max(letters, 1)


def read_pdf(path: Path, *, max_pages: int, min_chars: int) -> ParsedPdf:
    """Validate ``path`` as a PDF and extract the text of each page."""
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
            pages: list[PageText] = []
            for i in range(page_count):
                try:
                    text = reader.pages[i].extract_text() or ""
                except Exception as exc:  # noqa: BLE001 - a page's damage must not sink the file
                    notes.append(f"page {i + 1}: text could not be extracted ({_short(exc)})")
                    text = ""
                text = text.replace("\x00", "")
                pages.append(
                    PageText(
                        page_no=i + 1,
                        text=text,
                        chars=usable_chars(text),
                        needs_ocr=page_needs_ocr(text, min_chars),
                    )
                )
    finally:
        pypdf_log.removeHandler(handler)
    return ParsedPdf(page_count=page_count, pages=pages, warnings=_dedupe(notes))


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
