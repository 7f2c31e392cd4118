"""The contracts area of the record store: archived contracts, their pages, ingest claims.

The Protocol :class:`IngestedContracts` and the plain records it returns (frozen dataclasses,
never ORM objects, so nothing outside ``storage.records`` holds a session or loads lazily). The
SQL implementation is :class:`~storage.records.contracts_sql.SqlContracts`.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol, runtime_checkable


@dataclass(frozen=True)
class PageRecord:
    page_no: int
    text_source: str
    """``text-layer``, ``ocr`` or ``none`` (no usable text yet)."""
    chars: int
    needs_ocr: bool
    ocr_status: str | None = None
    ocr_confidence: float | None = None
    ocr_error: str | None = None


@dataclass(frozen=True)
class Claim:
    """An ingest in progress (or interrupted): who holds the SHA-256 and since when."""

    sha256: str
    owner: str
    claimed_at: datetime


@dataclass(frozen=True)
class NewContract:
    sha256: str
    size: int
    content_type: str
    filename: str
    title: str
    customer: str | None
    page_count: int
    ingested_by: str
    original_key: str
    text_key: str
    text_sha256: str
    pages: Sequence[PageRecord]
    warnings: Sequence[str] = ()
    created_at: datetime | None = None
    classification: str | None = None
    id: int | None = None
    """Only set when a record is rebuilt with its original id (``recover``)."""
    status: str = "signed"
    """The lifecycle status it starts in (``core.rules``)."""


@dataclass(frozen=True)
class ContractRecord:
    id: int
    sha256: str
    size: int
    content_type: str
    filename: str
    title: str
    customer: str | None
    page_count: int
    status: str
    created_at: datetime
    ingested_by: str
    original_key: str
    text_key: str
    text_sha256: str
    classification: str | None = None
    warnings: tuple[str, ...] = ()
    pages: tuple[PageRecord, ...] = field(default_factory=tuple)

    @property
    def pages_needing_ocr(self) -> list[int]:
        return [p.page_no for p in self.pages if p.needs_ocr]


@runtime_checkable
class IngestedContracts(Protocol):
    """Contracts as the ingest spine writes them, and the claims that serialise ingests."""

    # ingest coordination
    def claim(self, sha256: str, owner: str) -> bool:
        """Take the ingest claim on ``sha256``; False if another ingest holds it."""

    def release(self, sha256: str) -> None: ...

    def stale_claims(self, older_than: datetime) -> list[str]: ...

    def claims(self) -> list[Claim]:
        """Every ingest claim held now."""

    def take_over_claim(self, sha256: str, old_owner: str, new_owner: str) -> bool:
        """Move a claim from ``old_owner`` (a dead process) to ``new_owner``; False if the claim
        is gone or someone else took it first."""

    # contracts
    def add_contract(self, new: NewContract) -> ContractRecord: ...

    def delete_contract(self, contract_id: int) -> None: ...

    def get_contract(self, contract_id: int) -> ContractRecord:
        """The contract, or NotFound."""

    def find_by_sha256(self, sha256: str) -> ContractRecord | None: ...

    def list_contracts(self, *, offset: int = 0, limit: int = 50) -> list[ContractRecord]: ...

    def count_contracts(self) -> int: ...

    def page_totals(self, hidden: Collection[str] = ()) -> tuple[int, int]:
        """Pages of all contracts (but those of the ``hidden`` classes), and how many of them
        await OCR."""

    def iter_contracts(self, batch_size: int = 500) -> Iterator[ContractRecord]:
        """Every contract, in id order, without loading them all at once."""

    def contract_ids(self) -> set[int]: ...

    def fix_sequences(self) -> None:
        """After inserting explicit ids (``recover``), let new contracts get ids above them."""
