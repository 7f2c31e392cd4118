"""The ingest stages, in order: validate → hash → extract → signatures → store original →
store text → record → manifest → index.

Each stage has one small interface: ``applies_to`` (may it run for this work item), ``run``
(do it, filling in the work item) and ``undo`` (take back what ``run`` did, used when a later
stage fails). A stage stops a file with :class:`RejectFile`; :class:`Duplicate` ends ingest
early with the existing contract.
"""

from __future__ import annotations

import io
import json
import logging
import time
from datetime import UTC, datetime
from pathlib import PurePath
from typing import Any, Protocol

from core.errors import ArchiveError
from ingest.context import IngestContext, IngestWork
from ingest.errors import RejectFile
from ingest.formats import Format, detect, rejection
from signing.embedded import EmbeddedReport
from storage.index.analysis import normalize
from storage.index.base import IndexDocument
from storage.maintenance import claim_owner_alive
from storage.objects.base import RENDITION_INFO_NAME, RENDITION_NAME, package_key
from storage.records.base import ContractRecord, NewContract, PageRecord

log = logging.getLogger(__name__)

TEXT_SCHEMA = "contract-archive/text/1"


class Duplicate(ArchiveError):
    code = "duplicate"
    http_status = 200

    def __init__(self, existing: ContractRecord) -> None:
        super().__init__(f"already archived as contract {existing.id}")
        self.existing = existing


class Stage(Protocol):
    name: str

    def applies_to(self, ctx: IngestContext, work: IngestWork) -> bool: ...

    def run(self, ctx: IngestContext, work: IngestWork) -> None: ...

    def undo(self, ctx: IngestContext, work: IngestWork) -> None: ...


class _Always:
    name = "stage"

    def applies_to(self, ctx: IngestContext, work: IngestWork) -> bool:
        return True

    def undo(self, ctx: IngestContext, work: IngestWork) -> None:
        return None


class ValidateStage(_Always):
    """Magic bytes, size and a real parse (in a killable worker); text comes with the parse."""

    name = "validate"

    def run(self, ctx: IngestContext, work: IngestWork) -> None:
        if work.size > ctx.limits.max_bytes:
            raise RejectFile(
                f"the file has {work.size} bytes, more than ARCHIVE_MAX_UPLOAD_BYTES "
                f"({ctx.limits.max_bytes})"
            )
        fmt = detect(work.spool)
        if not fmt.supported:
            raise rejection(fmt)
        work.format = fmt
        if fmt.kind == "pdf":
            work.parsed = ctx.read_pdf(work.spool)
        else:
            # An image, Office file, e-mail or OFD stays the original; pages come from its PDF
            # rendition, text too (an OFD's from its own text layer; a page of a rendition
            # without a text layer is OCR'd, as in a scanned PDF).
            rendition = work.spool.with_name(work.spool.name + ".rendition.pdf")
            if fmt.is_image and ctx.render_image is not None:
                work.rendition_path = rendition
                made = ctx.render_image(work.spool, rendition, fmt.label)
            elif fmt.is_office and ctx.render_office is not None:
                work.rendition_path = rendition
                made = ctx.render_office(work.spool, rendition, fmt)
            elif fmt.kind == "email" and ctx.render_email is not None:
                work.rendition_path = rendition
                made = ctx.render_email(work.spool, rendition)
            elif fmt.kind == "ofd" and ctx.read_ofd is not None:
                # The text comes from the OFD's own text layer, not from the rendition.
                work.rendition_path = rendition
                ofd = ctx.read_ofd(work.spool, rendition)
                work.rendition_made_by = ofd.rendition.made_by
                work.signatures = ofd.signatures
                work.parsed = ofd.parsed
                work.warnings.extend(ofd.parsed.warnings)
                return
            else:
                raise rejection(fmt)
            work.rendition_made_by = made.made_by
            work.extras.update(made.details)
            work.parsed = ctx.read_pdf(rendition)
        work.warnings.extend(work.parsed.warnings)


class HashStage(_Always):
    """The SHA-256 was taken while the file streamed in; here it decides about duplicates.

    The claim (a row keyed by the digest) makes two processes ingesting the same bytes agree:
    one archives, the other waits for it and reports a duplicate.
    """

    name = "hash"

    def run(self, ctx: IngestContext, work: IngestWork) -> None:
        deadline = time.monotonic() + ctx.limits.claim_wait_seconds
        while True:
            existing = ctx.records.find_by_sha256(work.sha256)
            if existing is not None:
                raise Duplicate(existing)
            if ctx.records.claim(work.sha256, ctx.owner) or self._take_over_dead(ctx, work):
                work.claimed = True
                # The other process may have finished between our lookup and our claim.
                existing = ctx.records.find_by_sha256(work.sha256)
                if existing is not None:
                    raise Duplicate(existing)
                return
            if time.monotonic() > deadline:
                raise RejectFile(
                    "the same file is being archived by another process right now",
                    hint="retry in a minute; it will then be reported as a duplicate",
                )
            time.sleep(0.1)

    @staticmethod
    def _take_over_dead(ctx: IngestContext, work: IngestWork) -> bool:
        """A claim whose process died (SIGKILL, power loss) is taken over at once: whatever
        that process stored for these bytes is the same bytes, and ours completes it."""
        for held in ctx.records.claims():
            if held.sha256 == work.sha256 and claim_owner_alive(held.owner) is False:
                log.warning("taking over the ingest claim of dead process %s", held.owner)
                return ctx.records.take_over_claim(work.sha256, held.owner, ctx.owner)
        return False

    def undo(self, ctx: IngestContext, work: IngestWork) -> None:
        # The claim is released by the pipeline in every case; nothing else to take back.
        return None


class ExtractStage(_Always):
    """Per-page text from the parse, with the pages that need OCR marked."""

    name = "extract"

    def run(self, ctx: IngestContext, work: IngestWork) -> None:
        parsed = work.parsed
        if parsed is None:
            raise RejectFile("the file was not parsed")
        ocr = work.request.ocr
        work.pages = [
            PageRecord(
                page_no=p.page_no,
                text_source="none" if p.needs_ocr else "text-layer",
                chars=p.chars,
                needs_ocr=p.needs_ocr and ocr,
                ocr_status="pending" if p.needs_ocr and ocr else None,
            )
            for p in parsed.pages
        ]
        work.text_document = {
            "schema": TEXT_SCHEMA,
            "original_sha256": work.sha256,
            "page_count": parsed.page_count,
            "pages": [
                {
                    "page": p.page_no,
                    "source": "none" if p.needs_ocr else "text-layer",
                    "needs_ocr": p.needs_ocr and ocr,
                    "chars": p.chars,
                    "text": p.text,
                }
                for p in parsed.pages
            ],
        }
        if work.request.provenance is not None:  # made by the archive (a batch's segment)
            work.text_document["provenance"] = work.request.provenance
        if "email" in work.extras:  # the header fields and attachments of an e-mail original
            work.text_document["email"] = work.extras["email"]


class SignaturesStage(_Always):
    """The signatures inside the PDF, validated in the killable worker; never rejects a file."""

    name = "signatures"

    def applies_to(self, ctx: IngestContext, work: IngestWork) -> bool:
        return ctx.check_signatures is not None

    def run(self, ctx: IngestContext, work: IngestWork) -> None:
        assert ctx.check_signatures is not None
        if work.signatures is not None:  # reported while the file was read (OFD)
            return
        if _content_type(work) != "application/pdf":
            work.signatures = image_report(_content_type(work), work.format)
            return
        work.signatures = ctx.check_signatures(work.spool)


class StoreOriginalStage(_Always):
    """The uploaded bytes, byte-identical, at the head of the evidence package."""

    name = "store_original"

    def run(self, ctx: IngestContext, work: IngestWork) -> None:
        with open(work.spool, "rb") as fh:
            work.original = ctx.objects.put(
                package_key(work.sha256, "original"),
                fh,
                sha256=work.sha256,
                content_type=_content_type(work),
            )

    def undo(self, ctx: IngestContext, work: IngestWork) -> None:
        if work.original is not None and work.original.created:
            ctx.objects.delete(work.original.key)


def image_report(content_type: str, fmt: Format | None = None) -> EmbeddedReport:
    """The embedded-signature report of an original that is not a PDF: for an image there is
    nothing to validate; the digital signatures an Office document may carry are not checked
    (its rendition carries none)."""
    if fmt is not None and not fmt.is_image:
        note = (
            f"the original is {fmt.label} ({content_type}): digital signatures inside it "
            "(Office, S/MIME) are not checked"
        )
    else:
        note = f"the original is an image ({content_type}): it carries no embedded signatures"
    return EmbeddedReport(
        validated_at=datetime.now(UTC).isoformat().replace("+00:00", "Z"),
        notes=(note,),
    )


def _content_type(work: IngestWork) -> str:
    return work.format.content_type if work.format is not None else "application/pdf"


class StoreRenditionStage:
    """The PDF rendition of an image or Office original, a derived file of the package, with
    ``rendition.json`` saying how it was made (the manifest copies it as ``made_by``)."""

    name = "store_rendition"

    def applies_to(self, ctx: IngestContext, work: IngestWork) -> bool:
        return work.rendition_path is not None

    def run(self, ctx: IngestContext, work: IngestWork) -> None:
        assert work.rendition_path is not None
        with open(work.rendition_path, "rb") as fh:
            work.rendition = ctx.objects.put(
                package_key(work.sha256, RENDITION_NAME), fh, content_type="application/pdf"
            )
        info = {**(work.rendition_made_by or {}), "sha256": work.rendition.sha256}
        work.rendition_info = ctx.objects.put(
            package_key(work.sha256, RENDITION_INFO_NAME),
            io.BytesIO(json.dumps(info, sort_keys=True, indent=1).encode("utf-8")),
            content_type="application/json",
        )

    def undo(self, ctx: IngestContext, work: IngestWork) -> None:
        for put in (work.rendition_info, work.rendition):
            if put is not None and put.created:
                ctx.objects.delete(put.key)


def text_document_bytes(document: dict[str, Any]) -> bytes:
    return json.dumps(document, ensure_ascii=False, sort_keys=True, indent=1).encode("utf-8")


class StoreTextStage(_Always):
    name = "store_text"

    def run(self, ctx: IngestContext, work: IngestWork) -> None:
        assert work.text_document is not None
        data = text_document_bytes(work.text_document)
        work.text = ctx.objects.put(
            package_key(work.sha256, "text.v1.json"),
            io.BytesIO(data),
            content_type="application/json",
        )

    def undo(self, ctx: IngestContext, work: IngestWork) -> None:
        if work.text is not None and work.text.created:
            ctx.objects.delete(work.text.key)


def default_title(request_title: str | None, filename: str) -> str:
    """The title given, else the file name without its extension.

    The PDF's own /Title metadata is not used: on the corpus it is mostly a template's or a
    word processor's leftover ("77.pdf", "[201901]试用版 合同编号：").
    """
    if request_title and request_title.strip():
        return " ".join(request_title.split())[:1000]
    stem = PurePath(filename.replace("\\", "/")).stem
    return (stem or "untitled")[:1000]


class RecordStage(_Always):
    name = "record"

    def run(self, ctx: IngestContext, work: IngestWork) -> None:
        assert work.parsed is not None and work.original and work.text
        customer = (work.request.customer or "").strip() or None
        work.record = ctx.records.add_contract(
            NewContract(
                sha256=work.sha256,
                size=work.size,
                content_type=_content_type(work),
                filename=PurePath(work.request.filename.replace("\\", "/")).name[:1000],
                title=default_title(
                    work.request.title or work.extras.get("email", {}).get("subject"),
                    work.request.filename,
                ),
                customer=customer[:500] if customer else None,
                page_count=work.parsed.page_count,
                ingested_by=ctx.user,
                original_key=work.original.key,
                text_key=work.text.key,
                text_sha256=work.text.sha256,
                pages=work.pages,
                warnings=work.warnings,
                classification=work.request.classification,
            )
        )

    def undo(self, ctx: IngestContext, work: IngestWork) -> None:
        if work.record is not None:
            ctx.records.delete_contract(work.record.id)


class ManifestStage(_Always):
    """The package manifest, written after the record (so it holds the contract id) and
    sealed. A failure to write it fails ingest; a failure to seal leaves it ``pending``."""

    name = "manifest"

    def applies_to(self, ctx: IngestContext, work: IngestWork) -> bool:
        return ctx.evidence is not None

    def run(self, ctx: IngestContext, work: IngestWork) -> None:
        assert ctx.evidence is not None and work.record is not None
        work.manifest = ctx.evidence.issue(work.record, embedded=work.signatures)
        if work.manifest.state != "sealed":
            work.warnings.append(f"seal pending: {work.manifest.reason}")

    def undo(self, ctx: IngestContext, work: IngestWork) -> None:
        if work.manifest is not None and ctx.evidence is not None:
            ctx.evidence.withdraw(work.manifest)


def index_document(record: ContractRecord, page_texts: list[str]) -> IndexDocument:
    return IndexDocument(
        id=record.id,
        sha256=record.sha256,
        title=record.title,
        customer=record.customer,
        filename=record.filename,
        created_at=record.created_at,
        pages=[normalize(t) for t in page_texts],
        status=record.status,
        classification=record.classification,
    )


class IndexStage(_Always):
    name = "index"

    def run(self, ctx: IngestContext, work: IngestWork) -> None:
        assert work.record is not None and work.parsed is not None
        ctx.index.add([index_document(work.record, [p.text for p in work.parsed.pages])])
        work.indexed = True

    def undo(self, ctx: IngestContext, work: IngestWork) -> None:
        if work.indexed and work.record is not None:
            ctx.index.delete([work.record.id])


class RetainStage(_Always):
    """COMPLIANCE retention on the original, on a store that enforces it (S3 Object Lock).

    Last on purpose: a retained object can no longer be deleted, so every stage that could fail
    has run before. The original is uploaded without a lock and locked here; if locking fails,
    the stages before are undone as for any failure and nothing is left behind.
    """

    name = "retain"

    def applies_to(self, ctx: IngestContext, work: IngestWork) -> bool:
        return ctx.retain_until is not None and ctx.objects.supports_locks

    def run(self, ctx: IngestContext, work: IngestWork) -> None:
        assert work.original is not None and ctx.retain_until is not None
        ctx.objects.set_retention(work.original.key, ctx.retain_until)


def default_stages() -> list[Stage]:
    from ingest.ocr.stage import QueueOcrStage

    return [
        ValidateStage(),
        HashStage(),
        ExtractStage(),
        SignaturesStage(),
        StoreOriginalStage(),
        StoreRenditionStage(),
        StoreTextStage(),
        RecordStage(),
        ManifestStage(),
        QueueOcrStage(),
        IndexStage(),
        RetainStage(),
    ]
