"""Reading untrusted packages (Office files, OFD): their zip container and their XML, without
the zip bomb or the XML attacks.

A document type declaration is refused outright: entity expansion ("billion laughs"), external
entities and DTD retrieval all need one, and none of the formats read here uses one. The check
runs expat on the bytes first; only a document without a DTD reaches ElementTree.
"""

from __future__ import annotations

import zipfile
from collections.abc import Callable
from typing import IO
from xml.etree import ElementTree
from xml.parsers import expat

from ingest.errors import RejectFile

MAX_XML_BYTES = 64 * 1024 * 1024
MAX_UNPACKED_BYTES = 512 * 1024 * 1024
"""A package unpacking to more than this is refused as a zip bomb."""


def check_zip(
    zf: zipfile.ZipFile,
    *,
    label: str,
    max_members: int,
    damaged: Callable[[str], RejectFile],
    hint: str,
) -> None:
    """Refuse a package with too many members, one that unpacks to more than
    MAX_UNPACKED_BYTES (``hint`` says what to do instead), or one with a corrupt member
    (``damaged`` words the format's refusal)."""
    infos = zf.infolist()
    if len(infos) > max_members:
        raise damaged(f"more than {max_members} parts")
    unpacked = sum(i.file_size for i in infos)
    if unpacked > MAX_UNPACKED_BYTES:
        raise RejectFile(
            f"the file ({label}) unpacks to {unpacked // 1024**2} MB, more than "
            f"{MAX_UNPACKED_BYTES // 1024**2} MB: refused as a possible zip bomb",
            hint=hint,
        )
    bad = zf.testzip()
    if bad is not None:
        raise damaged(f"part {bad} is corrupt")


class UnsafeXml(ValueError):
    """The XML is not well-formed, declares a DTD or entities, or is too large."""


def _refuse_dtd(*_args: object) -> int:
    raise UnsafeXml("the XML declares a document type (DTD), which is not accepted")


def parse(source: bytes | IO[bytes]) -> ElementTree.Element:
    """The root element of the XML ``source``; UnsafeXml when it is not plain, well-formed
    XML of at most MAX_XML_BYTES."""
    data = source if isinstance(source, bytes) else source.read(MAX_XML_BYTES + 1)
    if len(data) > MAX_XML_BYTES:
        raise UnsafeXml(f"the XML part is larger than {MAX_XML_BYTES // 1024**2} MB")
    checker = expat.ParserCreate()
    checker.StartDoctypeDeclHandler = _refuse_dtd
    checker.EntityDeclHandler = _refuse_dtd
    checker.ExternalEntityRefHandler = _refuse_dtd
    try:
        checker.Parse(data, True)
    except expat.ExpatError as exc:
        raise UnsafeXml(f"not well-formed XML: {exc}") from exc
    return ElementTree.fromstring(data)  # noqa: S314 - checked above: no DTD, no entities
