"""The SQL half of :class:`~storage.records.ledger_base.LedgerStore`.

A leaf's position is the next free ``idx``, taken in the write transaction that inserts it; two
writers racing for one position (PostgreSQL) meet the primary key and the loser takes the next.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError

from core.errors import Conflict
from storage.records.ledger_base import CheckpointRow, LeafRow, NewLeaf
from storage.records.ledger_models import LedgerCheckpoint, LedgerLeaf
from storage.records.models import utcnow
from storage.records.seal_models import PackageManifest
from storage.records.sql_common import SqlPart

PAGE = 5000


def _leaf(r: LedgerLeaf) -> LeafRow:
    return LeafRow(
        idx=r.idx,
        contract_id=r.contract_id,
        version=r.version,
        manifest_sha256=r.manifest_sha256,
        data=r.data,
        leaf_hash=r.leaf_hash,
        appended_at=r.appended_at,
    )


def _checkpoint(r: LedgerCheckpoint) -> CheckpointRow:
    return CheckpointRow(
        id=r.id,
        tree_size=r.tree_size,
        root_hash=r.root_hash,
        note=r.note,
        issued_at=r.issued_at,
        timestamp_token=r.timestamp_token,
        timestamp_time=r.timestamp_time,
        timestamp_error=r.timestamp_error,
    )


class SqlLedger(SqlPart):
    """The evidence ledger's leaves and checkpoints (a part of ``SqlRecordStore``)."""

    def _existing_leaf(self, leaf: NewLeaf) -> LeafRow | None:
        with self._session(write=False) as s:
            row = s.scalars(
                select(LedgerLeaf).where(
                    LedgerLeaf.contract_id == leaf.contract_id,
                    LedgerLeaf.version == leaf.version,
                    LedgerLeaf.manifest_sha256 == leaf.manifest_sha256,
                )
            ).first()
            return _leaf(row) if row else None

    def append_leaf(self, leaf: NewLeaf) -> tuple[LeafRow, bool]:
        for _ in range(20):
            existing = self._existing_leaf(leaf)
            if existing is not None:
                return existing, False
            try:
                with self._session(write=True) as s:
                    nxt = s.scalar(select(func.coalesce(func.max(LedgerLeaf.idx) + 1, 0)))
                    row = LedgerLeaf(
                        idx=int(nxt or 0),
                        contract_id=leaf.contract_id,
                        version=leaf.version,
                        manifest_sha256=leaf.manifest_sha256,
                        data=leaf.data,
                        leaf_hash=leaf.leaf_hash,
                        appended_at=utcnow(),
                    )
                    s.add(row)
                    s.flush()
                    return _leaf(row), True
            except IntegrityError:
                continue  # another writer took the position (or appended the same leaf)
        existing = self._existing_leaf(leaf)
        if existing is not None:
            return existing, False
        raise RuntimeError("no free ledger position after 20 tries")

    def withdraw_leaf(self, contract_id: int, version: int, manifest_sha256: str) -> bool:
        with self._session(write=True) as s:
            last = s.scalars(select(LedgerLeaf).order_by(LedgerLeaf.idx.desc()).limit(1)).first()
            if last is None or (last.contract_id, last.version, last.manifest_sha256) != (
                contract_id,
                version,
                manifest_sha256,
            ):
                return False
            covered = s.scalar(select(func.coalesce(func.max(LedgerCheckpoint.tree_size), 0)))
            if int(covered or 0) > last.idx:
                return False
            s.execute(delete(LedgerLeaf).where(LedgerLeaf.idx == last.idx))
            return True

    def leaf_count(self) -> int:
        with self._session(write=False) as s:
            return int(s.scalar(select(func.count()).select_from(LedgerLeaf)) or 0)

    def iter_leaves(self, *, start: int = 0, stop: int | None = None) -> Iterator[LeafRow]:
        after = start - 1
        while True:
            with self._session(write=False) as s:
                q = select(LedgerLeaf).where(LedgerLeaf.idx > after)
                if stop is not None:
                    q = q.where(LedgerLeaf.idx < stop)
                rows = [_leaf(r) for r in s.scalars(q.order_by(LedgerLeaf.idx).limit(PAGE))]
            if not rows:
                return
            yield from rows
            after = rows[-1].idx

    def leaves_of(self, contract_id: int) -> list[LeafRow]:
        with self._session(write=False) as s:
            rows = s.scalars(
                select(LedgerLeaf)
                .where(LedgerLeaf.contract_id == contract_id)
                .order_by(LedgerLeaf.idx)
            )
            return [_leaf(r) for r in rows]

    def manifests_without_leaf(self, *, limit: int = 500) -> list[tuple[int, int, str, datetime]]:
        with self._session(write=False) as s:
            has = select(LedgerLeaf.idx).where(
                LedgerLeaf.contract_id == PackageManifest.contract_id,
                LedgerLeaf.version == PackageManifest.version,
                LedgerLeaf.manifest_sha256 == PackageManifest.manifest_sha256,
            )
            rows = s.execute(
                select(
                    PackageManifest.contract_id,
                    PackageManifest.version,
                    PackageManifest.manifest_sha256,
                    PackageManifest.issued_at,
                )
                .where(~has.exists())
                .order_by(
                    PackageManifest.issued_at, PackageManifest.contract_id, PackageManifest.version
                )
                .limit(limit)
            )
            return [(int(c), int(v), str(d), t) for c, v, d, t in rows]

    def manifest_digests(self) -> dict[tuple[int, int], str]:
        with self._session(write=False) as s:
            rows = s.execute(
                select(
                    PackageManifest.contract_id,
                    PackageManifest.version,
                    PackageManifest.manifest_sha256,
                )
            )
            return {(int(c), int(v)): str(d) for c, v, d in rows}

    def add_checkpoint(
        self, *, tree_size: int, root_hash: str, note: str, issued_at: datetime
    ) -> CheckpointRow:
        with self._session(write=True) as s:
            count = s.scalar(select(func.count()).select_from(LedgerLeaf))
            if int(count or 0) != tree_size:
                raise Conflict(f"the ledger has {count} leaves, not {tree_size}")
            row = LedgerCheckpoint(
                tree_size=tree_size, root_hash=root_hash, note=note, issued_at=issued_at
            )
            s.add(row)
            s.flush()
            return _checkpoint(row)

    def set_checkpoint_timestamp(
        self,
        checkpoint_id: int,
        *,
        token: bytes | None,
        time: datetime | None,
        error: str | None,
    ) -> None:
        with self._session(write=True) as s:
            row = s.get(LedgerCheckpoint, checkpoint_id)
            if row is not None:
                row.timestamp_token = token
                row.timestamp_time = time
                row.timestamp_error = error

    def checkpoints(self) -> list[CheckpointRow]:
        with self._session(write=False) as s:
            return [
                _checkpoint(r)
                for r in s.scalars(select(LedgerCheckpoint).order_by(LedgerCheckpoint.id))
            ]

    def latest_checkpoint(self) -> CheckpointRow | None:
        with self._session(write=False) as s:
            row = s.scalars(
                select(LedgerCheckpoint).order_by(LedgerCheckpoint.id.desc()).limit(1)
            ).first()
            return _checkpoint(row) if row else None
