"""The ledger area of the record store: the leaves of the evidence ledger and its checkpoints.

The Protocol :class:`LedgerStore` and the plain rows it returns; its SQL half is
:class:`~storage.records.ledger_sql.SqlLedger` (tables in ``ledger_models``). Leaves are only
appended; the one exception is :meth:`LedgerStore.withdraw_leaf`, for the leaf of a manifest that
an ingest undid at once, which goes only while it is the last leaf and no checkpoint covers it.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol, runtime_checkable


@dataclass(frozen=True)
class LeafRow:
    idx: int
    contract_id: int
    version: int
    manifest_sha256: str
    data: str
    leaf_hash: str
    appended_at: datetime


@dataclass(frozen=True)
class CheckpointRow:
    id: int
    tree_size: int
    root_hash: str
    note: str
    issued_at: datetime
    timestamp_token: bytes | None = None
    timestamp_time: datetime | None = None
    timestamp_error: str | None = None


@dataclass(frozen=True)
class NewLeaf:
    contract_id: int
    version: int
    manifest_sha256: str
    data: str
    leaf_hash: str


@runtime_checkable
class LedgerStore(Protocol):
    def append_leaf(self, leaf: NewLeaf) -> tuple[LeafRow, bool]:
        """Append ``leaf`` at the next position, or return the leaf already there for the same
        (contract, version, manifest digest); the flag says whether it was appended now."""

    def withdraw_leaf(self, contract_id: int, version: int, manifest_sha256: str) -> bool:
        """Remove that leaf if it is the last one and no checkpoint covers it."""

    def leaf_count(self) -> int: ...

    def iter_leaves(self, *, start: int = 0, stop: int | None = None) -> Iterator[LeafRow]:
        """Leaves in position order, from ``start`` to ``stop`` (exclusive)."""

    def leaves_of(self, contract_id: int) -> list[LeafRow]:
        """A contract's leaves, in position order."""

    def manifests_without_leaf(self, *, limit: int = 500) -> list[tuple[int, int, str, datetime]]:
        """(contract id, version, manifest SHA-256, issued at) of manifest versions that have
        no leaf, in the order they were issued (manifests issued before the ledger existed)."""

    def manifest_digests(self) -> dict[tuple[int, int], str]:
        """The manifest SHA-256 of every (contract id, version) the archive holds."""

    def add_checkpoint(
        self, *, tree_size: int, root_hash: str, note: str, issued_at: datetime
    ) -> CheckpointRow:
        """Store a checkpoint; Conflict when the tree no longer has ``tree_size`` leaves."""

    def set_checkpoint_timestamp(
        self,
        checkpoint_id: int,
        *,
        token: bytes | None,
        time: datetime | None,
        error: str | None,
    ) -> None: ...

    def checkpoints(self) -> list[CheckpointRow]:
        """Every checkpoint, in the order it was issued."""

    def latest_checkpoint(self) -> CheckpointRow | None: ...
