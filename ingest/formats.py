"""What a file is, by its bytes (never by its name), and whether the archive takes it.

``detect`` looks at the first bytes of a file (and into a ZIP container's members): PDF, the
images PNG, JPEG and TIFF, the Office documents DOCX, DOC, XLSX, ODT and ODS, e-mail (``.eml``)
and OFD are archived; the rest are recognised and refused with a reason (``unsupported
format: ...``) and a hint saying what would be needed.
"""

from __future__ import annotations

import re
import zipfile
from dataclasses import dataclass
from pathlib import Path

from ingest.errors import RejectFile

HEAD_BYTES = 4096
PDF_MAGIC = b"%PDF-"


@dataclass(frozen=True)
class Format:
    key: str
    """Short name: ``pdf``, ``png``, ``docx``, ..."""
    label: str
    """What a person calls it: ``a PNG image``."""
    content_type: str
    supported: bool
    extension: str
    """The usual file extension, with its dot (for exported files)."""
    hint: str = ""
    """For an unsupported format: what would be needed."""
    kind: str = ""
    """How a supported format is archived: ``pdf`` (as it is), ``image`` (img2pdf rendition),
    ``office`` (LibreOffice rendition), ``email`` (one record, attachments of their own),
    ``ofd`` (own text layer, signatures reported, rendition drawn from the text)."""

    @property
    def is_image(self) -> bool:
        return self.supported and self.kind == "image"

    @property
    def is_office(self) -> bool:
        return self.supported and self.kind == "office"


PDF = Format("pdf", "a PDF document", "application/pdf", True, ".pdf", kind="pdf")
PNG = Format("png", "a PNG image", "image/png", True, ".png", kind="image")
JPEG = Format("jpeg", "a JPEG image", "image/jpeg", True, ".jpg", kind="image")
TIFF = Format("tiff", "a TIFF image", "image/tiff", True, ".tif", kind="image")

_OFFICE_HINT = (
    "presentations are not archived: save it as PDF (File > Save as / Export to PDF) and "
    "archive the PDF"
)


def _office(key: str, label: str, content_type: str, ext: str) -> Format:
    return Format(key, label, content_type, True, ext, kind="office")


def _unsupported(key: str, label: str, content_type: str, ext: str, hint: str) -> Format:
    return Format(key, label, content_type, False, ext, hint)


DOCX = _office(
    "docx",
    "a Word document (DOCX)",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    ".docx",
)
XLSX = _office(
    "xlsx",
    "an Excel workbook (XLSX)",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ".xlsx",
)
PPTX = _unsupported(
    "pptx",
    "a PowerPoint presentation (PPTX)",
    "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    ".pptx",
    _OFFICE_HINT,
)
ODT = _office(
    "odt",
    "an OpenDocument text (ODT)",
    "application/vnd.oasis.opendocument.text",
    ".odt",
)
ODS = _office(
    "ods",
    "an OpenDocument spreadsheet (ODS)",
    "application/vnd.oasis.opendocument.spreadsheet",
    ".ods",
)
DOC = _office(
    "doc",
    "a legacy Microsoft Office document (DOC/XLS/MSG)",
    "application/x-ole-storage",
    ".doc",
)
OFD = Format("ofd", "an OFD document (GB/T 33190)", "application/ofd", True, ".ofd", kind="ofd")
ZIP = _unsupported(
    "zip",
    "a ZIP archive",
    "application/zip",
    ".zip",
    "unpack the archive and archive the PDF or image files inside it",
)
EML = Format("eml", "an e-mail message", "message/rfc822", True, ".eml", kind="email")
_IMAGE_HINT = "convert it to PNG, JPEG, TIFF or PDF and archive that"
GIF = _unsupported("gif", "a GIF image", "image/gif", ".gif", _IMAGE_HINT)
BMP = _unsupported("bmp", "a BMP image", "image/bmp", ".bmp", _IMAGE_HINT)
WEBP = _unsupported("webp", "a WebP image", "image/webp", ".webp", _IMAGE_HINT)
ACCEPTED = "PDF, PNG, JPEG, TIFF, DOCX, DOC, XLSX, ODT, ODS, EML and OFD"
"""What the archive takes, as the refusals say it."""
_DOC_HINT = f"the archive takes {ACCEPTED} files: save it as PDF and archive the PDF"
RTF = _unsupported("rtf", "an RTF document", "application/rtf", ".rtf", _DOC_HINT)
HTML = _unsupported("html", "an HTML or XML document", "text/html", ".html", _DOC_HINT)
GZIP = _unsupported(
    "gzip", "a gzip archive", "application/gzip", ".gz", "unpack it and archive the files inside"
)
SEVEN_Z = _unsupported(
    "7z",
    "a 7-Zip archive",
    "application/x-7z-compressed",
    ".7z",
    "unpack it and archive the files inside",
)
RAR = _unsupported(
    "rar", "a RAR archive", "application/vnd.rar", ".rar", "unpack it and archive the files inside"
)
TEXT = _unsupported("text", "a plain text file", "text/plain", ".txt", _DOC_HINT)
EMPTY = _unsupported(
    "empty",
    "an empty file",
    "application/octet-stream",
    "",
    "the file has no bytes: copy it again from its source",
)
UNKNOWN = _unsupported(
    "unknown", "a file of unknown type", "application/octet-stream", "", _DOC_HINT
)

SUPPORTED = (PDF, PNG, JPEG, TIFF, DOCX, DOC, XLSX, ODT, ODS, EML, OFD)
UNSUPPORTED = (
    PPTX,
    ZIP,
    GIF,
    BMP,
    WEBP,
    RTF,
    HTML,
    GZIP,
    SEVEN_Z,
    RAR,
    TEXT,
    EMPTY,
    UNKNOWN,
)
BY_CONTENT_TYPE = {f.content_type: f for f in SUPPORTED}

_MAGIC: tuple[tuple[bytes, Format], ...] = (
    (b"\x89PNG\r\n\x1a\n", PNG),
    (b"\xff\xd8\xff", JPEG),
    (b"II*\x00", TIFF),
    (b"MM\x00*", TIFF),
    (b"GIF87a", GIF),
    (b"GIF89a", GIF),
    (b"BM", BMP),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", DOC),
    (b"{\\rtf", RTF),
    (b"\x1f\x8b", GZIP),
    (b"7z\xbc\xaf\x27\x1c", SEVEN_Z),
    (b"Rar!\x1a\x07", RAR),
)
_HTML = re.compile(rb"^\s*(<!doctype html|<html|<\?xml)", re.IGNORECASE)
_MAIL_HEADER = re.compile(
    rb"^(?:(?:Return-Path|Received|From|To|Subject|Date|Message-ID|MIME-Version|"
    rb"Delivered-To|X-[A-Za-z-]+|Content-Type|Reply-To|Cc):[^\r\n]*\r?\n)+",
    re.IGNORECASE,
)


def sniff_head(head: bytes) -> Format | None:
    """The format the first bytes show, or None for a ZIP container (look inside) or bytes
    that name nothing (then: text or unknown)."""
    if not head:
        return EMPTY
    if PDF_MAGIC in head[:1024]:
        return PDF
    for magic, fmt in _MAGIC:
        if head.startswith(magic):
            return fmt
    if head.startswith(b"RIFF") and head[8:12] == b"WEBP":
        return WEBP
    if head.startswith(b"PK\x03\x04") or head.startswith(b"PK\x05\x06"):
        return ZIP
    if _HTML.match(head):
        return HTML
    if _MAIL_HEADER.match(head.lstrip()) and b":" in head:
        return EML
    return None


def _zip_kind(path: Path) -> Format:
    """DOCX/XLSX/PPTX/ODT/ODS/OFD are ZIP containers; tell them apart by their members."""
    try:
        with zipfile.ZipFile(path) as zf:
            names = zf.namelist()[:10000]
            if "mimetype" in names:
                info = zf.getinfo("mimetype")
                if info.file_size < 200:
                    mime = zf.read("mimetype").decode("ascii", "replace").strip()
                    # text, text-web (HTML saved by Writer), text-master, ...-template
                    if "opendocument.text" in mime:
                        return ODT
                    if "opendocument.spreadsheet" in mime:
                        return ODS
    except (zipfile.BadZipFile, OSError, ValueError, KeyError, NotImplementedError):
        return ZIP
    lowered = {n.lower() for n in names}
    if any(n.startswith("word/") for n in lowered):
        return DOCX
    if any(n.startswith("xl/") for n in lowered):
        return XLSX
    if any(n.startswith("ppt/") for n in lowered):
        return PPTX
    if "ofd.xml" in lowered:
        return OFD
    if "[content_types].xml" in lowered:
        return DOCX  # an Office Open XML package without its usual parts: call it Office
    return ZIP


def _is_text(head: bytes) -> bool:
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError:
        try:
            text = head.decode("gb18030")
        except UnicodeDecodeError:
            return False
    return all(c.isprintable() or c in "\r\n\t\f" for c in text)


def detect(path: Path) -> Format:
    """What the file at ``path`` is, by its bytes."""
    with open(path, "rb") as fh:
        head = fh.read(HEAD_BYTES)
    fmt = sniff_head(head)
    if fmt is ZIP:
        return _zip_kind(path)
    if fmt is not None:
        return fmt
    # Cut at a character boundary that the decoder may not like: try a shorter head too.
    if _is_text(head) or (len(head) == HEAD_BYTES and _is_text(head[:-4])):
        return TEXT
    return UNKNOWN


def rejection(fmt: Format) -> RejectFile:
    """The error for a file of a format the archive does not take."""
    return RejectFile(
        f"unsupported format: the file is {fmt.label}; the archive takes {ACCEPTED}",
        hint=fmt.hint or _DOC_HINT,
        details={"format": fmt.key},
    )


def require_supported(path: Path) -> Format:
    """The file's format, or RejectFile when the archive does not take it."""
    fmt = detect(path)
    if not fmt.supported:
        raise rejection(fmt)
    return fmt


def extension_for(content_type: str) -> str:
    fmt = BY_CONTENT_TYPE.get(content_type)
    return fmt.extension if fmt else ""
