"""The OCR queue: status, retry, the searchable copy, and working the queue."""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass
from typing import IO

from core.roles import Perm
from ingest.ocr.check import check_tesseract
from ingest.ocr.errors import OcrNotReady
from schemas.ocr import OcrStatus
from services.facade.base import Area, action
from services.ocr import OcrEvent, OcrService
from storage.records.base import ContractRecord
from storage.records.ocr_base import OcrCounts

__all__ = ["OcrArea", "OcrCounts", "OcrEvent", "OcrService", "SearchableCopy", "check_tesseract"]


@dataclass(frozen=True)
class SearchableCopy:
    """The searchable copy once its download is checked and logged; ``stream`` is None when
    the client already has these bytes (If-None-Match)."""

    record: ContractRecord
    sha256: str
    size: int
    stream: IO[bytes] | None


class OcrArea(Area):
    """The OCR queue: status, retry, the searchable copy, and working the queue."""

    @action("contract.ocr", Perm.CONTRACTS_VIEW, logged="read", contract="contract_id")
    def status(self, contract_id: int) -> OcrStatus:
        """Per page: queued, running, done (with its confidence) or failed (with the reason)."""
        return self._status(contract_id)

    def _status(self, contract_id: int) -> OcrStatus:
        records = self.archive.records
        return OcrStatus.build(
            self.archive.get(contract_id),
            records.ocr_batch(contract_id),
            records.ocr_jobs(contract_id),
        )

    @action("contract.ocr_retry", Perm.CONTRACTS_EDIT, logged="change", contract="contract_id")
    def retry(self, contract_id: int) -> list[int]:
        """Queue the failed pages of a contract again; the pages queued."""
        pages = self.archive.records.retry_ocr(contract_id)
        self.acting.note(pages=pages)
        return pages

    @action("contract.download", Perm.CONTRACTS_DOWNLOAD, logged="self", contract="contract_id")
    def searchable(
        self, contract_id: int, *, purpose: str | None = None, etags: tuple[str, ...] = ()
    ) -> SearchableCopy:
        """The searchable copy (the original with an invisible OCR text layer), once its
        download is logged; a restricted class needs a purpose, as for the original."""
        access, caller = self.acting.access, self.acting.caller
        record, purpose = access.may_download(
            caller, contract_id, purpose=purpose, file="searchable"
        )
        batch = self.archive.records.ocr_batch(contract_id)
        if batch is None:
            raise OcrNotReady(
                f"contract {contract_id} has a text layer on every page: there is no searchable "
                "copy, the original is searchable as it is",
                hint=f"download /api/v1/contracts/{contract_id}/original",
            )
        if batch.state in ("pending", "finalizing"):
            status = self._status(contract_id)
            raise OcrNotReady(
                f"OCR of contract {contract_id} is still running "
                f"({status.pages_done + len(status.pages_failed)} of {status.pages_total} pages)",
                hint=f"poll /api/v1/contracts/{contract_id}/ocr until its state is done",
            )
        if batch.searchable_key is None or batch.searchable_sha256 is None:
            reason = batch.error or "OCR read no page of it"
            raise OcrNotReady(
                f"contract {contract_id} has no searchable copy: {reason}",
                hint=f"contract-archive ocr --retry {contract_id}",
            )
        not_modified = f'"{batch.searchable_sha256}"' in etags
        stream: IO[bytes] | None = None
        if not not_modified:
            stream, _checked = access.open_checked(
                caller,
                batch.searchable_key,
                batch.searchable_sha256,
                contract_id=contract_id,
                purpose=purpose,
                file="searchable",
            )
        self.acting.log(
            "contract.download",
            outcome="not_modified" if not_modified else "ok",
            contract_id=contract_id,
            purpose=purpose,
            details={"file": "searchable", "sha256": batch.searchable_sha256},
        )
        size = self.archive.objects.stat(batch.searchable_key).size
        return SearchableCopy(record, batch.searchable_sha256, size, stream)

    # -- working the queue ----------------------------------------------------------------------
    @action("ocr.worker", Perm.CONTRACTS_INGEST, logged="no")
    def service(
        self,
        *,
        only: Collection[int] | None = None,
        workers: int | None = None,
        on_event: Callable[[OcrEvent], None] | None = None,
    ) -> OcrService:
        """An OCR service on this archive (not started): all of the queue, or only the pages of
        the contracts in ``only`` (a set the caller may add to). Checks that Tesseract and its
        languages are installed before anything is queued. Not logged: a worker reveals nothing
        to its caller, and the pages it reads were queued by logged actions (an ingest, a
        retry)."""
        service = OcrService(
            self.archive,
            workers=workers,
            only=set(only) if only is not None else None,
            on_event=on_event,
        )
        service.check()
        return service

    @action("ocr.queue", Perm.CONTRACTS_INGEST, logged="no")
    def queue_empty(self) -> bool:
        """Whether no page of any contract waits for OCR (reveals no archive data)."""
        return not self.archive.records.open_ocr_contracts()

    @action("ocr.info", Perm.CONTRACTS_INGEST, logged="no")
    def languages(self) -> str:
        """The OCR languages of the archive (a setting, no archive data)."""
        return self.archive.settings.ocr_languages

    @action("ocr.info", Perm.CONTRACTS_INGEST, logged="no")
    def wait_limit(self) -> float:
        """How long the CLI waits for OCR in the foreground by default (a setting)."""
        return self.archive.settings.ocr_wait_seconds
