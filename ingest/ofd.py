"""OFD documents (GB/T 33190-2016): text from their own text layer, the signatures inside them
reported, and a PDF rendition for viewing. Runs inside the killable worker.

An OFD file is a ZIP package: ``OFD.xml`` names the document root (``Doc_0/Document.xml``),
which lists the pages in order (``Pages/Page_N/Content.xml``); a page's text is in its
``TextObject`` elements (``Boundary`` in millimetres, ``Size``, ``TextCode`` with ``X``/``Y``
relative to the boundary). ``DocBody/Signatures`` names ``Signatures.xml``, whose entries point
to each ``Signature.xml`` (signed references with their digests, the signature method, the
signed value file).

What is done:

* the package is checked first (every member's CRC, unpacked size bounded against zip bombs,
  every XML part plain and well-formed: no DTD, see :mod:`ingest.xmlsafe`);
* the text of each page, in page order, from its ``TextCode`` elements (template pages and
  text drawn as paths are not read); a page without text that shows images (``ImageObject``
  of a ``MultiMedia`` resource: a scanned OFD) is OCR'd in the rendition, where its images
  are drawn; a page with neither is noted;
* each signature: its type, provider, method (SM2 named as such), time, the signer from the
  certificate in the signed value when one can be read (a CMS SignedData or an X.509
  certificate inside a GB/T 38540 SES_Signature), and the digest of every signed file checked
  against the package (SM3 and SHA-256 through ``hashlib``). A digest that does not match is
  FAILED (a signed file was changed); otherwise INDETERMINATE: the signature value itself (SM2)
  is not verified, since no maintained Python package verifies SM2 signatures (``cryptography``
  has no SM2);
* the rendition: each image drawn into its ``Boundary``, then each ``TextCode`` at its
  position, at its size, on a page of the OFD's size, with pdfium (pypdfium2) and an embedded
  TrueType font (DejaVu Sans for Latin text, Droid Sans Fallback for Chinese). It shows the
  text and images where the OFD puts them; paths, colours, clips, an image's own turn (its
  ``CTM``) and the OFD's own fonts are not drawn. It is a derived file for viewing, search and
  OCR; the OFD stays the original.
"""

from __future__ import annotations

import base64
import ctypes
import hashlib
import io
import posixpath
import zipfile
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from xml.etree.ElementTree import Element

from ingest import xmlsafe
from ingest.errors import RejectFile
from ingest.images import Rendition
from ingest.pdf import PageText, ParsedPdf, usable_chars
from signing.embedded import EmbeddedReport, SignatureResult
from signing.report import Status

LABEL = "an OFD document (GB/T 33190)"
MAX_MEMBERS = 50_000
MM_TO_PT = 72 / 25.4
MAX_IMAGE_PIXELS = 200_000_000
"""An image inside an OFD is bounded as an uploaded one is (a 600 dpi A0 scan)."""
DEFAULT_PAGE_MM = (210.0, 297.0)
LATIN_FONT = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")
CJK_FONTS = (
    Path("/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf"),
    Path("/usr/share/fonts/truetype/droid/DroidSansFallback.ttf"),
)
FONT_HINT = "apt install fonts-droid-fallback fonts-dejavu-core (scripts/bootstrap.sh does)"

_SIGNATURE_METHODS = {
    "1.2.156.10197.1.501": "SM2 with SM3",
    "1.2.156.10197.1.301.1": "SM2",
    "1.2.840.113549.1.1.11": "RSA with SHA-256",
    "1.2.840.113549.1.1.5": "RSA with SHA-1",
    "1.2.840.10045.4.3.2": "ECDSA with SHA-256",
}
_DIGESTS = {
    "1.2.156.10197.1.401": "sm3",
    "sm3": "sm3",
    "2.16.840.1.101.3.4.2.1": "sha256",
    "sha256": "sha256",
    "sha-256": "sha256",
    "1.3.14.3.2.26": "sha1",
    "sha1": "sha1",
}


@dataclass(frozen=True)
class TextRun:
    x: float
    """Millimetres from the page's left edge to the run's start."""
    y: float
    """Millimetres from the page's top edge to the run's baseline."""
    size: float
    """Font size in millimetres."""
    text: str


@dataclass(frozen=True)
class ImageRun:
    x: float
    """Millimetres from the page's left edge to the image's left edge."""
    y: float
    """Millimetres from the page's top edge to the image's top edge."""
    width: float
    height: float
    name: str
    """The image file in the package."""
    data: bytes


@dataclass
class OfdPage:
    number: int
    width: float
    height: float
    runs: list[TextRun] = field(default_factory=list)
    images: list[ImageRun] = field(default_factory=list)

    def text(self) -> str:
        lines: list[str] = []
        last_y: float | None = None
        for run in self.runs:
            if last_y is not None and abs(run.y - last_y) <= max(run.size, 1.0) / 2 and lines:
                lines[-1] += run.text
            else:
                lines.append(run.text)
            last_y = run.y
        return "\n".join(lines)


@dataclass(frozen=True)
class OfdRead:
    parsed: ParsedPdf
    signatures: EmbeddedReport
    rendition: Rendition


def _damaged(detail: str) -> RejectFile:
    return RejectFile(
        f"damaged OFD: the file is {LABEL} that cannot be read ({detail})",
        hint="export the document again from its source (or print it to PDF) and archive that",
    )


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _children(el: Element, name: str) -> list[Element]:
    return [c for c in el if _local(c.tag) == name]


def _first(el: Element, *path: str) -> Element | None:
    node: Element | None = el
    for name in path:
        if node is None:
            return None
        found = _children(node, name)
        node = found[0] if found else None
    return node


def _text(el: Element | None) -> str:
    return " ".join((el.text or "").split()) if el is not None else ""


def _numbers(value: str | None) -> list[float]:
    out = []
    for part in (value or "").split():
        try:
            out.append(float(part))
        except ValueError:
            continue
    return out


class _Package:
    def __init__(self, zf: zipfile.ZipFile) -> None:
        self.zf = zf
        self.names = {i.filename.lstrip("/"): i.filename for i in zf.infolist()}

    def resolve(self, base: str, loc: str) -> str:
        """A location of the package: absolute (``/Doc_0/...``) or relative to ``base``."""
        loc = loc.strip().replace("\\", "/")
        joined = loc.lstrip("/") if loc.startswith("/") else posixpath.join(base, loc)
        normal = posixpath.normpath(joined)
        if normal.startswith("..") or normal.startswith("/"):
            raise _damaged(f"the location {loc!r} points outside the package")
        return "" if normal == "." else normal

    def find(self, name: str) -> str | None:
        if name in self.names:
            return name
        lowered = {n.lower(): n for n in self.names}
        return lowered.get(name.lower())

    def read(self, name: str) -> bytes:
        found = self.find(name)
        if found is None:
            raise _damaged(f"it has no {name}")
        return self.zf.read(self.names[found])

    def xml(self, name: str) -> Element:
        try:
            return xmlsafe.parse(self.read(name))
        except xmlsafe.UnsafeXml as exc:
            raise _damaged(f"{name}: {exc}") from exc


def _media(pkg: _Package, doc_dir: str, document: Element) -> dict[str, str]:
    """The image resources of the document: each ``MultiMedia`` ID of its ``PublicRes`` and
    ``DocumentRes`` files → the image file in the package (``Res/BaseLoc/MediaFile``)."""
    common = _first(document, "CommonData")
    found: dict[str, str] = {}
    if common is None:
        return found
    for entry in [*_children(common, "PublicRes"), *_children(common, "DocumentRes")]:
        res_path = pkg.resolve(doc_dir, _text(entry))
        if not res_path or pkg.find(res_path) is None:
            continue
        res = pkg.xml(res_path)
        base = pkg.resolve(posixpath.dirname(res_path), res.get("BaseLoc") or "")
        for media in res.iter():
            if _local(media.tag) != "MultiMedia" or (media.get("Type") or "Image") != "Image":
                continue
            ident, file = media.get("ID"), _text(_first(media, "MediaFile"))
            if ident and file:
                found[ident] = pkg.resolve(base, file)
    return found


def _pages(pkg: _Package, doc_path: str, max_pages: int) -> list[OfdPage]:
    doc_dir = posixpath.dirname(doc_path)
    document = pkg.xml(doc_path)
    media = _media(pkg, doc_dir, document)
    default_box = _numbers(_text(_first(document, "CommonData", "PageArea", "PhysicalBox")))
    pages_el = _first(document, "Pages")
    entries = _children(pages_el, "Page") if pages_el is not None else []
    if not entries:
        raise _damaged(f"{doc_path} lists no pages")
    if len(entries) > max_pages:
        raise RejectFile(
            f"the OFD has {len(entries)} pages, more than ARCHIVE_MAX_PAGES ({max_pages})",
            hint="split the document or raise ARCHIVE_MAX_PAGES",
        )
    pages = []
    for number, entry in enumerate(entries, 1):
        content_path = pkg.resolve(doc_dir, entry.get("BaseLoc") or "")
        content = pkg.xml(content_path)
        box = _numbers(_text(_first(content, "Area", "PhysicalBox"))) or default_box
        width, height = (box[2], box[3]) if len(box) == 4 else DEFAULT_PAGE_MM
        page = OfdPage(number, max(width, 1.0), max(height, 1.0))
        for obj in content.iter():
            if _local(obj.tag) == "ImageObject":
                box = _numbers(obj.get("Boundary"))
                name = media.get(obj.get("ResourceID") or "")
                if name is not None and len(box) == 4 and box[2] > 0 and box[3] > 0:
                    x, y, w, h = box
                    page.images.append(ImageRun(x, y, w, h, name, pkg.read(name)))
                continue
            if _local(obj.tag) != "TextObject":
                continue
            bound = [*_numbers(obj.get("Boundary")), 0.0, 0.0]
            size = (_numbers(obj.get("Size")) or [3.5])[0]
            for code in _children(obj, "TextCode"):
                text = "".join(code.itertext())
                if not text.strip():
                    continue
                x = bound[0] + (_numbers(code.get("X")) or [0.0])[0]
                y = bound[1] + (_numbers(code.get("Y")) or [size])[0]
                page.runs.append(TextRun(x, y, size, text))
        pages.append(page)
    return pages


def _signer(data: bytes) -> tuple[str | None, str | None, str | None]:
    """Subject, issuer and serial of the signer's certificate in a signed value: a CMS
    SignedData, else the first X.509 certificate found inside (a GB/T 38540 SES_Signature)."""
    from asn1crypto import cms, x509

    def named(cert: Any) -> tuple[str | None, str | None, str | None]:
        return (
            cert.subject.human_friendly,
            cert.issuer.human_friendly,
            format(cert.serial_number, "x"),
        )

    try:
        info = cms.ContentInfo.load(data)
        if info["content_type"].native == "signed_data":
            for choice in info["content"]["certificates"] or []:
                if choice.name == "certificate":
                    return named(choice.chosen)
    except Exception:  # noqa: BLE001, S110 - not CMS: look for a certificate inside
        pass
    start = 0
    for _ in range(200):
        at = data.find(b"\x30\x82", start)
        if at < 0:
            break
        start = at + 1
        try:
            cert = x509.Certificate.load(data[at:])
            if cert["tbs_certificate"]["subject"].native:
                return named(cert)
        except Exception:  # noqa: BLE001, S112 - not a certificate at this offset
            continue
    return None, None, None


def _signatures(pkg: _Package, root: Element) -> EmbeddedReport:
    now = datetime.now(UTC).isoformat().replace("+00:00", "Z")
    listed = _text(_first(root, "DocBody", "Signatures"))
    if not listed:
        return EmbeddedReport(validated_at=now, notes=("the OFD carries no signatures",))
    index_path = pkg.resolve("", listed)
    index = pkg.xml(index_path)
    results = []
    for number, entry in enumerate(_children(index, "Signature"), 1):
        field_name = f"OFD signature {entry.get('ID') or number} ({entry.get('Type') or 'Seal'})"
        try:
            results.append(_signature(pkg, posixpath.dirname(index_path), entry, field_name))
        except RejectFile as exc:
            results.append(
                SignatureResult(
                    field=field_name,
                    kind="signature",
                    status=Status.INDETERMINATE,
                    reason=f"the signature cannot be read: {exc.message}",
                )
            )
    return EmbeddedReport(
        validated_at=now,
        signatures=tuple(results),
        notes=(
            "OFD signatures: the digests of the signed files are checked; the signature value "
            "(SM2) is not verified: no maintained Python package verifies SM2",
        ),
    )


def _signature(pkg: _Package, base: str, entry: Element, field_name: str) -> SignatureResult:
    sig_path = pkg.resolve(base, entry.get("BaseLoc") or "")
    sig = pkg.xml(sig_path)
    info = _first(sig, "SignedInfo")
    if info is None:
        raise _damaged(f"{sig_path} has no SignedInfo")
    method = _text(_first(info, "SignatureMethod"))
    provider = _first(info, "Provider")
    when = _text(_first(info, "SignatureDateTime")) or None
    refs = _first(info, "References")
    check = (refs.get("CheckMethod") if refs is not None else "") or ""
    digest_name = _DIGESTS.get(check.strip().lower())
    changed: list[str] = []
    checked = 0
    for ref in _children(refs, "Reference") if refs is not None else []:
        target = pkg.resolve("", ref.get("FileRef") or "")
        expected = _text(_first(ref, "CheckValue"))
        if digest_name is None or not expected:
            continue
        try:
            actual = hashlib.new(digest_name, pkg.read(target)).digest()
            if base64.b64decode(expected, validate=False) != actual:
                changed.append(target)
        except RejectFile:
            changed.append(f"{target} (missing)")
        checked += 1
    value_loc = _text(_first(sig, "SignedValue"))
    value = pkg.read(pkg.resolve(posixpath.dirname(sig_path), value_loc)) if value_loc else b""
    subject, issuer, serial = _signer(value) if value else (None, None, None)
    algorithm = _SIGNATURE_METHODS.get(method, method or None)
    if changed:
        status, reason = Status.FAILED, "signed files were changed: " + ", ".join(changed[:10])
        intact: bool | None = False
    else:
        status = Status.INDETERMINATE
        digests = (
            f"the digests of the {checked} signed files match ({digest_name})"
            if checked
            else f"the digests of the signed files cannot be checked (method {check or 'none'})"
        )
        reason = (
            f"{digests}; the signature value ({algorithm or 'unknown method'}) is not verified: "
            "no maintained Python package verifies SM2 signatures"
        )
        intact = True if checked else None
    return SignatureResult(
        field=field_name,
        kind="signature",
        status=status,
        reason=reason,
        intact=intact,
        signer_subject=subject,
        signer_issuer=issuer,
        signer_serial=serial,
        signature_algorithm=algorithm,
        signature_algorithm_oid=method or None,
        digest_algorithm=digest_name,
        signing_time=when,
        trust_problem=(
            f"provider: {provider.get('ProviderName')}" if provider is not None else None
        ),
    )


def _fonts() -> tuple[Path, Path]:
    cjk = next((p for p in CJK_FONTS if p.is_file()), None)
    if cjk is None or not LATIN_FONT.is_file():
        raise RejectFile(
            f"the file is {LABEL} and its PDF rendition needs TrueType fonts that are not "
            f"installed ({FONT_HINT})",
            hint="install the fonts, or print the OFD to PDF in the OFD reader and archive that",
            details={"format": "ofd", "needs": "fonts"},
        )
    return LATIN_FONT, cjk


def _segments(text: str) -> list[tuple[bool, str]]:
    """The text cut into parts of Latin script (drawn in DejaVu Sans) and the rest."""
    parts: list[tuple[bool, str]] = []
    for char in text:
        latin = ord(char) < 0x250
        if parts and parts[-1][0] == latin:
            parts[-1] = (latin, parts[-1][1] + char)
        else:
            parts.append((latin, char))
    return parts


def _image(run: ImageRun, page: int) -> Any:
    """An image of the package decoded (as any uploaded image is: bounded in pixels, decoded
    whole), or the OFD refused as damaged."""
    from PIL import Image, UnidentifiedImageError

    Image.MAX_IMAGE_PIXELS = MAX_IMAGE_PIXELS
    try:
        with Image.open(io.BytesIO(run.data)) as im:
            im.load()
            return im.convert("L" if im.mode in ("1", "L") else "RGB")
    except (OSError, UnidentifiedImageError, Image.DecompressionBombError, ValueError) as exc:
        raise _damaged(f"the image {run.name} of page {page} cannot be decoded: {exc}") from exc


def draw(pages: list[OfdPage], out: Path) -> None:
    """The rendition: each image into its boundary, then each text run at its place and size
    in an embedded TrueType font."""
    import pypdfium2 as pdfium
    import pypdfium2.raw as raw

    latin_path, cjk_path = _fonts()
    pdf = pdfium.PdfDocument.new()
    keep: list[Any] = []

    def load(path: Path) -> Any:
        data = path.read_bytes()
        buffer = (ctypes.c_uint8 * len(data)).from_buffer_copy(data)
        keep.append(buffer)
        font = raw.FPDFText_LoadFont(pdf.raw, buffer, len(data), raw.FPDF_FONT_TRUETYPE, True)
        if not font:
            raise RejectFile(f"the font {path} cannot be loaded by pdfium")
        return font

    latin, cjk = load(latin_path), load(cjk_path)
    try:
        for page in pages:
            width, height = page.width * MM_TO_PT, page.height * MM_TO_PT
            pdf_page = pdf.new_page(width, height)
            for image in page.images:
                bitmap = pdfium.PdfBitmap.from_pil(_image(image, page.number))
                picture = pdfium.PdfImage.new(pdf)
                picture.set_bitmap(bitmap)
                keep.append(bitmap)
                w, h = image.width * MM_TO_PT, image.height * MM_TO_PT
                low = height - (image.y + image.height) * MM_TO_PT
                picture.set_matrix(pdfium.PdfMatrix(w, 0, 0, h, image.x * MM_TO_PT, low))
                pdf_page.insert_obj(picture)
            for run in page.runs:
                x, y = run.x * MM_TO_PT, height - run.y * MM_TO_PT
                for latin_part, part in _segments(run.text):
                    font = latin if latin_part else cjk
                    obj = raw.FPDFPageObj_CreateTextObj(pdf.raw, font, run.size * MM_TO_PT)
                    encoded = part.encode("utf-16-le") + b"\x00\x00"
                    text = ctypes.create_string_buffer(encoded, len(encoded))
                    raw.FPDFText_SetText(obj, ctypes.cast(text, ctypes.POINTER(raw.FPDF_WCHAR)))
                    raw.FPDFPageObj_Transform(obj, 1, 0, 0, 1, x, y)
                    raw.FPDFPage_InsertObject(pdf_page.raw, obj)
                    left, bottom, right, top = (ctypes.c_float() for _ in range(4))
                    if raw.FPDFPageObj_GetBounds(
                        obj, *(ctypes.byref(v) for v in (left, bottom, right, top))
                    ):
                        x = max(x, right.value)  # the next part starts where this one ends
            if not raw.FPDFPage_GenerateContent(pdf_page.raw):
                raise RejectFile(f"pdfium could not draw page {page.number} of the OFD")
            pdf_page.close()
        with open(out, "xb") as fh:
            pdf.save(fh)
    finally:
        for font in (latin, cjk):
            raw.FPDFFont_Close(font)
        pdf.close()


def read_ofd(path: Path, out: Path, max_pages: int, min_chars: int) -> OfdRead:
    """Check the OFD at ``path``: its text per page, its signatures, and its rendition at
    ``out``."""
    try:
        with zipfile.ZipFile(path) as zf:
            xmlsafe.check_zip(
                zf,
                label=LABEL,
                max_members=MAX_MEMBERS,
                damaged=_damaged,
                hint="print or export it to PDF in the OFD reader and archive the PDF",
            )
            pkg = _Package(zf)
            root = pkg.xml("OFD.xml")
            doc_root = _text(_first(root, "DocBody", "DocRoot"))
            if not doc_root:
                raise _damaged("OFD.xml names no DocRoot")
            pages = _pages(pkg, pkg.resolve("", doc_root), max_pages)
            signatures = _signatures(pkg, root)
    except RejectFile:
        raise
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, ValueError) as exc:
        raise _damaged(f"not a readable ZIP package: {exc}") from exc
    except (NotImplementedError, KeyError, IndexError, RecursionError) as exc:
        raise _damaged(f"{type(exc).__name__}: {exc}") from exc
    notes = []
    texts = []
    for page in pages:
        text = page.text()
        scanned = usable_chars(text) < min_chars and bool(page.images)
        if usable_chars(text) < min_chars and not scanned:
            notes.append(
                f"page {page.number} has little or no text in the OFD's text layer and no "
                "image (paths in an OFD are not read or drawn; it is not OCR'd)"
            )
        texts.append(PageText(page.number, text, usable_chars(text), needs_ocr=scanned))
    draw(pages, out)
    import pypdfium2 as pdfium

    return OfdRead(
        parsed=ParsedPdf(page_count=len(pages), pages=texts, warnings=notes),
        signatures=signatures,
        rendition=Rendition(
            pages=len(pages),
            made_by={
                "tool": "pypdfium2",
                "version": str(pdfium.PYPDFIUM_INFO),
                "method": "the images of each page drawn into their boundaries, then its "
                "TextCode text at its position and size in an embedded TrueType font (DejaVu "
                "Sans, Droid Sans Fallback); paths and the OFD's own fonts are not drawn: for "
                "viewing, search and OCR of pages without a text layer",
                "from": "original",
            },
        ),
    )
