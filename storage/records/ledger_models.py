"""Tables of the evidence ledger (signing/ledger.py).

``ledger_leaves``: one row per leaf of the append-only Merkle tree, at its position ``idx``
(0, 1, 2, ...): the manifest version it stands for (contract id, version, the manifest's
SHA-256), the exact leaf data and its RFC 9162 leaf hash. No foreign key to the contract: a leaf
outlives whatever happens to the record, it is evidence that the manifest existed.
``ledger_checkpoints``: every signed checkpoint (c2sp.org/tlog-checkpoint note) as issued, with
the RFC 3161 timestamp token over the note's bytes (or why there is none).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Index, Integer, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from storage.records.models import Base, BigIntId, utcnow


class LedgerLeaf(Base):
    __tablename__ = "ledger_leaves"
    __table_args__ = (
        UniqueConstraint("contract_id", "version", "manifest_sha256", name="uq_ledger_leaf"),
        Index("ix_ledger_leaves_contract", "contract_id", "version"),
    )

    idx: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    contract_id: Mapped[int] = mapped_column(BigInteger)
    version: Mapped[int] = mapped_column(Integer)
    manifest_sha256: Mapped[str] = mapped_column(String(64))
    data: Mapped[str] = mapped_column(Text)
    """The leaf data (ASCII JSON, signing.ledger.leaf_data)."""
    leaf_hash: Mapped[str] = mapped_column(String(64))
    appended_at: Mapped[datetime] = mapped_column(default=utcnow)


class LedgerCheckpoint(Base):
    __tablename__ = "ledger_checkpoints"

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True, autoincrement=True)
    tree_size: Mapped[int] = mapped_column(BigInteger, index=True)
    root_hash: Mapped[str] = mapped_column(String(64))
    note: Mapped[str] = mapped_column(Text)
    """The signed checkpoint note, exactly as issued."""
    issued_at: Mapped[datetime] = mapped_column(default=utcnow)
    timestamp_token: Mapped[bytes | None] = mapped_column(LargeBinary)
    """DER RFC 3161 TimeStampToken over SHA-256 of the note's bytes."""
    timestamp_time: Mapped[datetime | None] = mapped_column()
    timestamp_error: Mapped[str | None] = mapped_column(Text)
