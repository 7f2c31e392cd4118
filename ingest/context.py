"""What the ingest stages receive: a frozen context and the work item they fill in."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Literal, Protocol

from ingest.formats import Format
from ingest.images import Rendition
from ingest.ofd import OfdRead
from ingest.pdf import ParsedPdf
from signing.embedded import EmbeddedReport
from signing.manifest import IssuedManifest
from storage.index.base import SearchIndex
from storage.objects.base import ObjectStore, PutResult
from storage.records.base import ContractRecord, PageRecord, RecordStore

PdfReader = Callable[[Path], ParsedPdf]
ImageRenderer = Callable[[Path, Path, str], Rendition]
"""Checks an image and writes its PDF rendition (source, target, what the image is)."""
OfficeRenderer = Callable[[Path, Path, Format], Rendition]
"""Checks an Office document and writes its PDF rendition (source, target, its format)."""
EmailRenderer = Callable[[Path, Path], Rendition]
"""Reads an e-mail message and writes its PDF rendition (source, target)."""
OfdReader = Callable[[Path, Path], OfdRead]
"""Reads an OFD (text, signatures) and writes its PDF rendition (source, target)."""
SignatureChecker = Callable[[Path], EmbeddedReport]


class EvidenceWriter(Protocol):
    """Issues (and seals) a contract's manifest; the seal service is one."""

    def issue(
        self, record: ContractRecord, *, embedded: EmbeddedReport | dict[str, Any] | None
    ) -> IssuedManifest: ...

    def withdraw(self, issued: IssuedManifest) -> None: ...


@dataclass(frozen=True)
class IngestLimits:
    max_bytes: int
    max_pages: int
    min_text_chars: int
    claim_wait_seconds: float = 120.0
    min_free_bytes: int = 0


@dataclass(frozen=True)
class IngestContext:
    """Everything a stage may use. Stages never read global settings."""

    limits: IngestLimits
    objects: ObjectStore
    records: RecordStore
    index: SearchIndex
    read_pdf: PdfReader
    user: str
    owner: str
    """Who holds ingest claims: host and process id."""
    check_signatures: SignatureChecker | None = None
    """Validates the signatures inside the PDF (in the killable worker)."""
    evidence: EvidenceWriter | None = None
    """Writes and seals the package manifest."""
    retain_until: datetime | None = None
    """COMPLIANCE retention for the original on a store that enforces it (None: no retention)."""
    render_image: ImageRenderer | None = None
    """Makes the PDF rendition of an image original (in the killable worker); None: images
    are refused."""
    render_office: OfficeRenderer | None = None
    """Makes the PDF rendition of an Office original with LibreOffice (in the killable
    worker); None: Office documents are refused."""
    render_email: EmailRenderer | None = None
    """Reads an e-mail message and makes its PDF rendition (in the killable worker); None:
    e-mail is refused."""
    read_ofd: OfdReader | None = None
    """Reads an OFD and draws its PDF rendition (in the killable worker); None: OFD is
    refused."""


_CONTROL = dict.fromkeys([*range(0, 32), 127], None)


def safe_name(name: str) -> str:
    """A file name as it can be stored and shown: bytes that were not UTF-8 (kept by Python as
    surrogate escapes) become U+FFFD, control characters go."""
    text = name.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    text = text.encode("utf-8", "replace").decode("utf-8")  # lone surrogates of other origins
    return text.translate(_CONTROL) or "unnamed"


@dataclass(frozen=True)
class IngestRequest:
    filename: str
    """The name the file was given as (path on the command line, name of the upload)."""
    title: str | None = None
    customer: str | None = None
    classification: str | None = None
    """A short code (``HR``, ``CONFIDENTIAL``); checked by ``valid_classification``."""
    master_id: int | None = None
    """For an attachment of an e-mail: the message's contract, set as its master."""
    relation: str | None = None
    """How it relates to ``master_id`` (``annex`` for an e-mail's attachment, ``scan_batch``
    for a contract split from a batch scan)."""
    provenance: dict[str, Any] | None = None
    """Where the file came from when the archive made it (a batch scan's segment: the batch,
    its page range, the separator's payload); kept in the text document, sealed with it."""
    ocr: bool = True
    """False: pages without text are not queued for OCR (a batch scan kept as evidence: its
    pages are read in the contracts split from it)."""


@dataclass
class IngestWork:
    request: IngestRequest
    spool: Path
    size: int
    sha256: str
    parsed: ParsedPdf | None = None
    claimed: bool = False
    pages: list[PageRecord] = field(default_factory=list)
    text_document: dict[str, Any] | None = None
    original: PutResult | None = None
    text: PutResult | None = None
    record: ContractRecord | None = None
    indexed: bool = False
    warnings: list[str] = field(default_factory=list)
    signatures: EmbeddedReport | None = None
    manifest: IssuedManifest | None = None
    format: Format | None = None
    """What the file is, by its bytes (set by the validate stage)."""
    rendition_path: Path | None = None
    """The PDF made from an image or Office original (a temporary file, removed after
    ingest)."""
    rendition_made_by: dict[str, Any] | None = None
    rendition: PutResult | None = None
    rendition_info: PutResult | None = None
    extras: dict[str, Any] = field(default_factory=dict)
    """What later stages note for their own undo (e.g. a customer the terms stage created)."""


Status = Literal["archived", "duplicate", "rejected", "failed"]


@dataclass(frozen=True)
class IngestResult:
    file: str
    status: Status
    id: int | None = None
    sha256: str | None = None
    reason: str | None = None
    hint: str | None = None
    title: str | None = None
    pages: int | None = None
    pages_needing_ocr: tuple[int, ...] = ()
    warnings: tuple[str, ...] = ()
    error_code: str | None = None
    """The ArchiveError code of a failure (``storage_full``, ...)."""
    format: str | None = None
    """For a file refused for its format: the format's key (``docx``, ``ofd``, ...)."""
    attachments: tuple[IngestResult, ...] = ()
    """For an e-mail: the outcome of each of its attachments (archived as contracts linked to
    the message, or refused with the reason)."""
    attached_to: int | None = None
    """For an attachment: the contract of its e-mail message."""

    @property
    def ok(self) -> bool:
        return self.status in ("archived", "duplicate")

    def to_dict(self) -> dict[str, Any]:
        return {
            "file": self.file,
            "status": self.status,
            "id": self.id,
            "sha256": self.sha256,
            "reason": self.reason,
            "hint": self.hint,
            "title": self.title,
            "pages": self.pages,
            "pages_needing_ocr": list(self.pages_needing_ocr),
            "warnings": list(self.warnings),
            **({"attached_to": self.attached_to} if self.attached_to is not None else {}),
        }
