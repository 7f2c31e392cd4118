"""The OCR queue part of the record store: the Protocol and the plain records it returns.

:class:`~storage.records.base.RecordStore` includes this Protocol; the SQL store implements it
in :mod:`storage.records.ocr_sql`.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from storage.records.contracts_base import ContractRecord, PageRecord

JOB_STATES = ("queued", "running", "done", "failed")
BATCH_STATES = ("pending", "finalizing", "done", "incomplete", "failed")
BATCH_OPEN = ("pending", "finalizing")


@dataclass(frozen=True)
class OcrClaim:
    """A page a worker has taken: it holds it until ``lease_until``."""

    job_id: int
    contract_id: int
    page_no: int
    sha256: str
    original_key: str
    attempts: int
    owner: str


@dataclass(frozen=True)
class OcrJobRecord:
    job_id: int
    contract_id: int
    page_no: int
    status: str
    attempts: int
    error: str | None
    result: dict[str, Any] | None
    layer: bytes | None
    queued_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    retry_at: datetime | None = None
    """A page waiting for its next attempt (its ``error`` says why the last one failed)."""
    traceback: str | None = None


@dataclass(frozen=True)
class OcrBatchRecord:
    contract_id: int
    state: str
    searchable_key: str | None
    searchable_sha256: str | None
    error: str | None
    """Why the searchable copy could not be made, when it could not."""
    created_at: datetime
    updated_at: datetime
    finished_at: datetime | None
    attempts: int = 0
    retry_at: datetime | None = None
    last_error: str | None = None
    """Why the last attempt at finishing failed; the reason of a ``failed`` batch."""
    traceback: str | None = None


@dataclass(frozen=True)
class OcrCounts:
    total: int = 0
    queued: int = 0
    running: int = 0
    done: int = 0
    failed: int = 0

    @property
    def finished(self) -> int:
        return self.done + self.failed


class OcrRecords(Protocol):
    def queue_ocr(self, contract_id: int, pages: Sequence[int]) -> int:
        """Queue these pages of the contract (pages already queued or done are kept);
        returns how many pages were added or re-queued."""

    def enqueue_missing_ocr(self) -> int:
        """Queue every page whose record says OCR is pending but that has no job (records
        written before the queue existed, or rebuilt ones). Returns the number queued."""

    def claim_ocr_page(
        self,
        owner: str,
        lease_seconds: float,
        *,
        max_attempts: int = 3,
        contract_ids: Collection[int] | None = None,
    ) -> OcrClaim | None:
        """Take the oldest queued page (or one whose lease ran out) for ``owner``, of these
        contracts only when given. A page whose attempts are used up is failed instead. None
        when nothing is waiting."""

    def complete_ocr_page(
        self,
        job_id: int,
        owner: str,
        *,
        result: dict[str, Any],
        layer: bytes | None,
        confidence: float | None,
    ) -> bool:
        """Store the page's result; False when ``owner`` no longer holds the page."""

    def fail_ocr_page(
        self,
        job_id: int,
        owner: str,
        error: str,
        *,
        retry_in: float | None = None,
        traceback: str | None = None,
    ) -> bool:
        """Record a failed attempt: with ``retry_in`` the page goes back to the queue, not to
        be taken before that many seconds; without, it is ``failed`` for good. False when
        ``owner`` no longer holds the page."""

    def release_ocr_page(self, job_id: int, owner: str) -> None:
        """Give an unfinished page back to the queue (shutdown), not counting the attempt."""

    def requeue_ocr_owned_by(self, owners: Collection[str]) -> int:
        """Give back every page and finalisation held by these (dead) owners."""

    def ocr_owners(self) -> set[str]:
        """Owners of running pages and finalisations."""

    def try_finalize_ocr(self, contract_id: int, owner: str, lease_seconds: float) -> bool:
        """Take the contract's finalisation when none of its pages is open any more (and it
        is not waiting for a retry); counts an attempt."""

    def claim_stale_finalization(
        self,
        owner: str,
        lease_seconds: float,
        *,
        max_attempts: int = 3,
        contract_ids: Collection[int] | None = None,
    ) -> int | None:
        """Take a finalisation whose holder vanished, or that nobody took, or whose backoff is
        over; its contract id. One whose holders vanished ``max_attempts`` times is failed
        instead."""

    def ocr_jobs(self, contract_id: int, *, with_layers: bool = False) -> list[OcrJobRecord]:
        """The contract's pages on the queue; their PDF layers only when asked for."""

    def ocr_batch(self, contract_id: int) -> OcrBatchRecord | None: ...

    def ocr_counts(self, contract_ids: Collection[int] | None = None) -> OcrCounts:
        """Page counts of the queue, for some contracts or for all."""

    def open_ocr_contracts(self, contract_ids: Collection[int] | None = None) -> set[int]:
        """Those of ``contract_ids`` (all contracts when None) whose OCR is not finished."""

    def finish_ocr(
        self,
        contract_id: int,
        owner: str,
        *,
        state: str,
        text_key: str,
        text_sha256: str,
        pages: Sequence[PageRecord],
        searchable_key: str | None,
        searchable_sha256: str | None,
        error: str | None,
    ) -> ContractRecord | None:
        """In one transaction: point the contract at its new text, update its pages, record
        the searchable copy, and close the batch. None when ``owner`` lost the finalisation."""

    def abandon_finalization(self, contract_id: int, owner: str) -> None:
        """Give the finalisation back without counting the attempt (shutdown)."""

    def fail_finalization(
        self,
        contract_id: int,
        owner: str,
        error: str,
        *,
        retry_in: float | None,
        traceback: str | None = None,
    ) -> bool:
        """Record a failed attempt at finishing (nothing was written to the record): with
        ``retry_in`` it is taken again after that many seconds; without, the batch is
        ``failed`` with the reason, and its pages say so. False when ``owner`` lost it."""

    def retry_ocr(self, contract_id: int) -> list[int]:
        """Queue the contract's failed pages again, their attempts reset, and give a failed
        finalisation a new set of attempts; the page numbers re-queued."""

    def failed_ocr(self, contract_ids: Collection[int] | None = None) -> list[OcrBatchRecord]:
        """Batches whose finishing failed for good (for operators)."""

    def failed_ocr_pages(self, contract_ids: Collection[int] | None = None) -> list[OcrJobRecord]:
        """Pages whose OCR failed for good (their attempts used up), by contract and page;
        without their layers (for operators: the failed-jobs list, ``doctor``)."""
