"""The ingest pipeline: spool the upload, run the stages, undo on failure.

A failure at any stage undoes the stages that ran, newest first, so a file is either archived
completely (objects, record, index entry) or not at all; a retry is always safe. A crash
(SIGKILL) cannot run the undo: ``contract-archive doctor`` finds and removes what it left.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import shutil
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import IO

from core.errors import ArchiveError
from ingest.context import IngestContext, IngestRequest, IngestResult, IngestWork
from ingest.errors import FileTooLarge, RejectFile
from ingest.stages import Duplicate, Stage, default_stages
from storage.errors import StorageFull
from storage.maintenance import owner_tag
from storage.objects.base import CHUNK_SIZE

log = logging.getLogger(__name__)


def spool(source: IO[bytes], tmp_dir: Path, max_bytes: int) -> tuple[Path, int, str]:
    """Copy ``source`` to a private temporary file, hashing it; refuse it past ``max_bytes``.

    Returns the path, the size and the SHA-256. The caller removes the file.
    """
    tmp_dir.mkdir(parents=True, exist_ok=True)
    path = tmp_dir / f"{owner_tag()}upload-{uuid.uuid4().hex}.part"
    digest = hashlib.sha256()
    size = 0
    try:
        with open(path, "xb") as out:
            while chunk := source.read(CHUNK_SIZE):
                size += len(chunk)
                if size > max_bytes:
                    raise FileTooLarge(
                        f"the file is larger than ARCHIVE_MAX_UPLOAD_BYTES ({max_bytes} bytes)",
                        hint="split the document or raise ARCHIVE_MAX_UPLOAD_BYTES",
                    )
                digest.update(chunk)
                out.write(chunk)
    except BaseException as exc:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
        if isinstance(exc, OSError):
            if exc.errno == 28:
                raise StorageFull(
                    "no space left on the device while receiving the file",
                    hint="free disk space under ARCHIVE_DATA_DIR, then retry",
                ) from exc
            raise RejectFile(f"the file could not be read: {exc.strerror or exc}") from exc
        raise
    return path, size, digest.hexdigest()


def check_free_space(directory: Path, min_free: int) -> None:
    """Refuse to start an ingest on a nearly full disk (ARCHIVE_MIN_FREE_BYTES)."""
    if min_free <= 0:
        return
    directory.mkdir(parents=True, exist_ok=True)
    free = shutil.disk_usage(directory).free
    if free < min_free:
        raise StorageFull(
            f"only {free // 1024**2} MB free on the device of the data directory, less than "
            f"ARCHIVE_MIN_FREE_BYTES ({min_free // 1024**2} MB): no space left on the device "
            "for new files",
            hint="free disk space under ARCHIVE_DATA_DIR, then retry: nothing was archived",
        )


class Pipeline:
    def __init__(self, stages: Sequence[Stage] | None = None) -> None:
        self.stages: list[Stage] = list(stages) if stages is not None else default_stages()

    def ingest(
        self, ctx: IngestContext, request: IngestRequest, source: IO[bytes], tmp_dir: Path
    ) -> IngestResult:
        """Archive one file. Never raises for a bad file: the result says what happened."""
        try:
            check_free_space(tmp_dir, ctx.limits.min_free_bytes)
            path, size, sha256 = spool(source, tmp_dir, ctx.limits.max_bytes)
        except RejectFile as exc:
            return _rejected(request, None, exc)
        except ArchiveError as exc:  # a full disk while receiving: nothing was kept
            return _failed(request, None, exc)
        work = IngestWork(request=request, spool=path, size=size, sha256=sha256)
        try:
            return self._run(ctx, work)
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(path)
            if work.rendition_path is not None:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(work.rendition_path)

    def _run(self, ctx: IngestContext, work: IngestWork) -> IngestResult:
        done: list[Stage] = []
        try:
            # A cheap look before parsing: re-uploads of large files end here.
            existing = ctx.records.find_by_sha256(work.sha256)
            if existing is not None:
                raise Duplicate(existing)
            for stage in self.stages:
                if stage.applies_to(ctx, work):
                    done.append(stage)
                    stage.run(ctx, work)
        except Duplicate as dup:
            self._undo(ctx, work, done)
            rec = dup.existing
            return IngestResult(
                file=work.request.filename,
                status="duplicate",
                id=rec.id,
                sha256=rec.sha256,
                reason=dup.message,
                title=rec.title,
                pages=rec.page_count,
                pages_needing_ocr=tuple(rec.pages_needing_ocr),
            )
        except RejectFile as exc:
            self._undo(ctx, work, done)
            return _rejected(work.request, work.sha256, exc)
        except ArchiveError as exc:
            self._undo(ctx, work, done)
            return _failed(work.request, work.sha256, exc)
        except BaseException:
            self._undo(ctx, work, done)
            raise
        finally:
            if work.claimed:
                with contextlib.suppress(ArchiveError):
                    ctx.records.release(work.sha256)
        archived = work.record
        assert archived is not None
        return IngestResult(
            file=work.request.filename,
            status="archived",
            id=archived.id,
            sha256=archived.sha256,
            title=archived.title,
            pages=archived.page_count,
            pages_needing_ocr=tuple(archived.pages_needing_ocr),
            warnings=tuple(work.warnings),
        )

    @staticmethod
    def _undo(ctx: IngestContext, work: IngestWork, done: list[Stage]) -> None:
        """Undo newest first. When one undo fails, the earlier stages are kept: what survives
        (a record, say) refers to their output (the objects), and a complete record with its
        objects is what ``doctor --repair`` can finish (by indexing it); a record whose objects
        were deleted could only be reported."""
        for stage in reversed(done):
            try:
                stage.undo(ctx, work)
            except Exception:
                log.exception(
                    "undo of stage %s for %s failed; earlier stages are kept and "
                    "`contract-archive doctor --repair` will complete or remove it",
                    stage.name,
                    work.request.filename,
                )
                return


def _failed(request: IngestRequest, sha256: str | None, exc: ArchiveError) -> IngestResult:
    log.warning("ingest of %s failed: %s", request.filename, exc.message)
    return IngestResult(
        file=request.filename,
        status="failed",
        sha256=sha256,
        reason=exc.message,
        hint=exc.hint,
        error_code=exc.code,
    )


def _rejected(request: IngestRequest, sha256: str | None, exc: RejectFile) -> IngestResult:
    return IngestResult(
        file=request.filename,
        status="rejected",
        sha256=sha256,
        reason=exc.message,
        hint=exc.hint,
        format=exc.details.get("format"),
    )
