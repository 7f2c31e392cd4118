"""Batch scans split by separator sheets: the printable sheet, the preview and the split.

The web previews a batch before it is committed, across two requests: the upload is kept in
``ARCHIVE_DATA_DIR/tmp/staged-batches`` under a random token and the uploading user's name
(another user's token is not found), until it is committed or discarded, or for a day.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import secrets
import time
from dataclasses import replace
from pathlib import Path, PurePath
from typing import IO

from core.errors import NotFound
from core.roles import Perm
from core.rules import optional_classification
from ingest.batches import Segment, separator_sheet
from ingest.context import IngestRequest, IngestResult
from ingest.formats import PDF, sniff_head
from ingest.pipeline import spool
from services import batches
from services.batches import BatchOutcome
from services.facade.base import Area, action
from services.facade.contracts import ContractsArea, safe_filename

__all__ = [
    "BATCH_FOLDER",
    "BatchOutcome",
    "BatchesArea",
    "IngestResult",
    "StagedBatch",
    "is_batch_scan",
]

STAGED_DIR = "staged-batches"
STAGED_SECONDS = 24 * 3600
_TOKEN = re.compile(r"^[A-Za-z0-9_-]{16,64}$")

BATCH_FOLDER = "batches"
"""The folder rule shared by ``ingest FOLDER`` and ``watch DIR``: a PDF in a folder of this
name is a batch scan, split at its separator sheets."""


def is_batch_upload(relative: PurePath, head: bytes) -> bool:
    """Whether a file uploaded from a folder (the web's folder drop: ``relative`` is its place
    below the folder) is a batch scan by the rule of :func:`is_batch_scan`: a PDF (its first
    bytes) in a ``batches`` folder."""
    return relative.parent.name == BATCH_FOLDER and sniff_head(head) is PDF


def is_batch_scan(path: Path, *, split_all: bool = False) -> bool:
    """Whether a file met in a folder is taken as a batch scan: a PDF (by its first bytes, as
    ingest tells formats) in a ``batches`` folder, or any PDF with ``split_all``."""
    if not (split_all or path.parent.name == BATCH_FOLDER):
        return False
    try:
        with open(path, "rb") as fh:
            head = fh.read(1024)
    except OSError:
        return False
    return sniff_head(head) is PDF


class StagedBatch:
    """An uploaded batch kept for its preview until it is committed."""

    def __init__(self, token: str, outcome: BatchOutcome) -> None:
        self.token = token
        self.outcome = outcome


class BatchesArea(Area):
    """Batch scans split by separator sheets."""

    @action("batch.separator", Perm.CONTRACTS_INGEST, logged="no")
    def separator(
        self, customer: str | None = None, classification: str | None = None, kind: str = "qr"
    ) -> bytes:
        """A printable separator sheet (one A4 page of PDF) with the payload given, in a QR
        code or (``kind="code128"``) a Code 128 barcode."""
        if classification:
            optional_classification(classification)  # refuse a malformed code now
        return separator_sheet(customer, classification, kind)

    @action("batch.preview", Perm.CONTRACTS_INGEST, logged="no")
    def preview_path(
        self,
        path: Path,
        *,
        display_name: str | None = None,
        customer: str | None = None,
        classification: str | None = None,
        thumbnails: bool = False,
    ) -> BatchOutcome:
        """The planned split of a batch scan of the local file system; nothing is archived
        (it reads only the caller's own file)."""
        return batches.preview(
            self.archive,
            path,
            filename=display_name or path.name,
            customer=customer,
            classification=classification,
            thumbnails=thumbnails,
        )

    @action("batch.ingest", Perm.CONTRACTS_INGEST, logged="self")
    def ingest_path(
        self,
        path: Path,
        *,
        display_name: str | None = None,
        customer: str | None = None,
        classification: str | None = None,
    ) -> BatchOutcome:
        """Split a batch scan and archive the batch and each contract in it (each ingest
        logged as ``contract.ingest``)."""
        access = self.acting.access
        caller = self.acting.caller

        def ingest(request: IngestRequest, file: Path) -> IngestResult:
            with open(file, "rb") as fh:
                return access.ingest_request(caller, request, fh)

        def check(segments: tuple[Segment, ...]) -> None:
            if any(s.classification for s in segments):
                self.acting.require(Perm.CONTRACTS_CLASSIFY, action="batch.ingest")

        outcome = batches.commit(
            self.archive,
            ingest,
            path,
            filename=display_name or path.name,
            customer=customer,
            classification=classification,
            restricted=set(access.store.restrictions()),
            check=check,
        )
        return self._as_seen(outcome)

    @action("batch.ingest", Perm.CONTRACTS_INGEST, logged="self")
    def upload(
        self,
        source: IO[bytes],
        *,
        filename: str,
        customer: str | None = None,
        classification: str | None = None,
        preview: bool = False,
    ) -> BatchOutcome:
        """An uploaded batch scan: its planned split (``preview``), or split and archived."""
        settings = self.archive.settings
        tmp, _size, _sha = spool(source, settings.tmp_dir, settings.max_upload_bytes)
        name = safe_filename(filename, "batch.pdf")
        try:
            if preview:
                return self.preview_path(
                    tmp, display_name=name, customer=customer, classification=classification
                )
            return self.ingest_path(
                tmp, display_name=name, customer=customer, classification=classification
            )
        finally:
            tmp.unlink(missing_ok=True)

    def _as_seen(self, outcome: BatchOutcome) -> BatchOutcome:
        """A result that is a duplicate of a contract hidden from the caller names no id."""
        area = ContractsArea(self.acting)
        batch = area._as_seen(outcome.batch).result if outcome.batch else None
        results = tuple(area._as_seen(r).result for r in outcome.results)
        return replace(outcome, batch=batch, results=results)

    # -- the web's two steps: stage (preview), then commit ---------------------------------
    def _folder(self) -> Path:
        folder = self.archive.settings.tmp_dir / STAGED_DIR
        folder.mkdir(parents=True, exist_ok=True)
        return folder

    def _staged_path(self, token: str) -> Path:
        if not _TOKEN.fullmatch(token):
            raise NotFound("no such staged batch", hint="upload the batch again")
        user = hashlib.sha256(self.acting.caller.username.encode()).hexdigest()[:16]
        return self._folder() / f"{user}-{token}.pdf"

    def _meta(self, path: Path) -> dict[str, str | None]:
        try:
            data: dict[str, str | None] = json.loads(path.with_suffix(".json").read_text())
        except (OSError, ValueError) as exc:
            raise NotFound("no such staged batch", hint="upload the batch again") from exc
        return data

    @action("batch.preview", Perm.CONTRACTS_INGEST, logged="no")
    def stage(
        self,
        source: IO[bytes],
        *,
        filename: str,
        customer: str | None = None,
        classification: str | None = None,
    ) -> StagedBatch:
        """Keep an uploaded batch for its preview; a batch that cannot be read is refused and
        not kept."""
        self._sweep()
        settings = self.archive.settings
        tmp, _size, _sha = spool(source, settings.tmp_dir, settings.max_upload_bytes)
        token = secrets.token_urlsafe(24)
        path = self._staged_path(token)
        meta = {
            "filename": safe_filename(filename, "batch.pdf"),
            "customer": customer,
            "classification": classification,
        }
        try:
            os.replace(tmp, path)
            path.with_suffix(".json").write_text(json.dumps(meta))
            outcome = self.preview_path(
                path,
                display_name=meta["filename"],
                customer=customer,
                classification=classification,
                thumbnails=True,
            )
        except BaseException:
            self._drop(path)
            tmp.unlink(missing_ok=True)
            raise
        return StagedBatch(token, outcome)

    @action("batch.preview", Perm.CONTRACTS_INGEST, logged="no")
    def staged(self, token: str) -> StagedBatch:
        """The preview of a staged batch again."""
        path = self._staged_path(token)
        meta = self._meta(path)
        return StagedBatch(
            token,
            self.preview_path(
                path,
                display_name=meta["filename"],
                customer=meta["customer"],
                classification=meta["classification"],
                thumbnails=True,
            ),
        )

    @action("batch.ingest", Perm.CONTRACTS_INGEST, logged="self")
    def commit(self, token: str) -> BatchOutcome:
        """Split and archive a staged batch; it is no longer staged after (whatever the
        outcome, except a refusal of the caller's permission)."""
        path = self._staged_path(token)
        meta = self._meta(path)
        outcome = self.ingest_path(
            path,
            display_name=meta["filename"],
            customer=meta["customer"],
            classification=meta["classification"],
        )
        self._drop(path)
        return outcome

    @action("batch.discard", Perm.CONTRACTS_INGEST, logged="no")
    def discard(self, token: str) -> None:
        self._drop(self._staged_path(token))

    @staticmethod
    def _drop(path: Path) -> None:
        for p in (path, path.with_suffix(".json")):
            with contextlib.suppress(OSError):
                p.unlink()

    def _sweep(self) -> None:
        """Staged batches older than a day are removed (never committed)."""
        cutoff = time.time() - STAGED_SECONDS
        for p in self._folder().iterdir():
            with contextlib.suppress(OSError):
                if p.stat().st_mtime < cutoff:
                    p.unlink()
