"""Batch scans split by separator sheets: the preview and the split.

The plan (:func:`ingest.batches.plan_batch`) says which pages are separator sheets and which
runs of pages are contracts. Everything that can go wrong with the file itself (not a PDF,
damaged, too many pages, a malformed classification on a sheet, a classification the caller
may not give) is found before anything is archived, and the segments are written and read back
before the first one is archived. Then the batch file is archived first, as evidence of what
was scanned (its pages are not OCR'd: they are read in the contracts), and each segment after
it as a contract whose master is the batch (relation ``scan_batch``) and whose text document
names the batch and the page range (``provenance``).

A batch without a separator sheet is archived as one contract, and the result says so.
"""

from __future__ import annotations

import contextlib
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path, PurePath
from typing import Any

from core.errors import InvalidRequest
from core.rules import optional_classification
from ingest.batches import BatchPlan, Segment
from ingest.context import IngestRequest, IngestResult, safe_name
from ingest.errors import RejectFile
from services.archive import Archive
from storage.maintenance import owner_tag

RELATION = "scan_batch"

Ingest = Callable[[IngestRequest, Path], IngestResult]
"""Archives one file as the request says, for the caller (logged)."""


@dataclass(frozen=True)
class BatchOutcome:
    """The plan of a batch and, once committed, what became of the batch and each segment."""

    file: str
    plan: BatchPlan
    segments: tuple[Segment, ...]
    """The plan's segments with the defaults given for what no sheet says."""
    preview: bool
    batch: IngestResult | None = None
    results: tuple[IngestResult, ...] = ()
    """One per segment, in order (committed only)."""

    @property
    def note(self) -> str | None:
        return self.plan.note

    @property
    def ok(self) -> bool:
        return self.preview or all(r.ok for r in self.results)

    def to_dict(self) -> dict[str, Any]:
        segments = []
        for n, segment in enumerate(self.segments):
            line = segment.to_dict()
            if n < len(self.results):
                line["result"] = self.results[n].to_dict()
            segments.append(line)
        return {
            "file": self.file,
            "preview": self.preview,
            "page_count": self.plan.page_count,
            "separator_pages": list(self.plan.separators),
            "segments": segments,
            "skipped": [s.to_dict() for s in self.plan.skipped],
            "note": self.note,
            "batch": self.batch.to_dict() if self.batch is not None else None,
        }


def _with_defaults(
    plan: BatchPlan, customer: str | None, classification: str | None
) -> tuple[Segment, ...]:
    """Each segment with the customer and classification given for the batch where its sheet
    says none; a sheet's classification is checked here (before anything is archived)."""
    out = []
    for segment in plan.segments:
        code = segment.classification or classification
        try:
            code = optional_classification(code)
        except InvalidRequest as exc:  # name the sheet
            where = (
                f"the separator sheet on page {segment.separator_page}"
                if segment.separator_page and segment.classification
                else "the classification given"
            )
            raise RejectFile(
                f"{where} has an invalid classification {code!r}",
                hint="print a new separator sheet with `contract-archive separator`",
            ) from exc
        given = (segment.customer or customer or "").strip() or None
        out.append(replace(segment, customer=given, classification=code))
    return tuple(out)


def preview(
    archive: Archive,
    path: Path,
    *,
    filename: str,
    customer: str | None = None,
    classification: str | None = None,
    thumbnails: bool = False,
) -> BatchOutcome:
    """The planned split; nothing is archived."""
    plan = archive.plan_batch(path, thumbnails=thumbnails)
    segments = _with_defaults(plan, customer, classification)
    return BatchOutcome(safe_name(filename), plan, segments, preview=True)


def _batch_classification(segments: tuple[Segment, ...], restricted: set[str]) -> str | None:
    """The batch holds every page of its segments: the classification they share, else the
    first restricted one among them (so it is hidden from whoever may not see that segment),
    else none."""
    codes = {s.classification for s in segments}
    if len(codes) == 1:
        return next(iter(codes))
    return next((s.classification for s in segments if s.classification in restricted), None)


def commit(
    archive: Archive,
    ingest: Ingest,
    path: Path,
    *,
    filename: str,
    customer: str | None = None,
    classification: str | None = None,
    restricted: set[str] | None = None,
    check: Callable[[tuple[Segment, ...]], None] | None = None,
) -> BatchOutcome:
    """Split the batch and archive it (see the module's text). ``check`` sees the segments
    before anything is archived (the caller's permissions)."""
    name = safe_name(filename)
    plan = archive.plan_batch(path)
    segments = _with_defaults(plan, customer, classification)
    if check is not None:
        check(segments)
    if not plan.separators:
        request = IngestRequest(
            filename=name,
            customer=(customer or "").strip() or None,
            classification=optional_classification(classification),
        )
        whole = ingest(request, path)
        return BatchOutcome(name, plan, segments, preview=False, results=(whole,))
    if not segments:
        raise RejectFile(
            f"the batch has {plan.page_count} pages and all are separator sheets: nothing to "
            "archive",
            hint="scan the contracts with a separator sheet before each one",
        )
    folder = Path(tempfile.mkdtemp(prefix=owner_tag() + "batch-", dir=archive.settings.tmp_dir))
    try:
        files = archive.write_batch_segments(path, plan, folder)
        for segment, file in zip(segments, files, strict=True):
            parsed = archive.plan_batch(file)  # read back: a segment that cannot be read stops
            if parsed.page_count != segment.last - segment.first + 1:
                raise RejectFile(f"pages {segment.pages} of the batch could not be copied")
        stem = PurePath(name.replace("\\", "/")).stem or "batch"
        shared = {s.customer for s in segments}
        batch = ingest(
            IngestRequest(
                filename=name,
                customer=next(iter(shared)) if len(shared) == 1 else None,
                classification=_batch_classification(segments, restricted or set()),
                provenance={
                    "kind": "scan_batch",
                    "separator_pages": list(plan.separators),
                    "segments": [s.to_dict() for s in segments],
                    "skipped": [s.to_dict() for s in plan.skipped],
                },
                ocr=False,
            ),
            path,
        )
        if not batch.ok or batch.id is None:
            return BatchOutcome(name, plan, segments, preview=False, batch=batch)
        results = []
        for segment, file in zip(segments, files, strict=True):
            request = IngestRequest(
                filename=safe_name(f"{stem}.p{segment.pages}.pdf"),
                title=f"{stem} p.{segment.pages}",
                customer=segment.customer,
                classification=segment.classification,
                master_id=batch.id,
                relation=RELATION,
                provenance={
                    "kind": "scan_batch_segment",
                    "batch_contract_id": batch.id,
                    "batch_sha256": batch.sha256,
                    "batch_file": name,
                    "pages": segment.pages,
                    "first_page": segment.first,
                    "last_page": segment.last,
                    "separator_page": segment.separator_page,
                },
            )
            results.append(ingest(request, file))
        return BatchOutcome(
            name, plan, segments, preview=False, batch=batch, results=tuple(results)
        )
    finally:
        with contextlib.suppress(OSError):
            shutil.rmtree(folder)
