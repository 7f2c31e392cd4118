"""The evidence ledger as the API returns it: checkpoints, inclusion and consistency proofs, the
ledger's verification report (the same shapes ``contract-archive ledger ... --json`` prints)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from signing.ledger import InclusionProof, b64
from signing.ledger_service import ConsistencyProof, LedgerReport
from storage.records.ledger_base import CheckpointRow


class CheckpointPublic(BaseModel):
    id: int
    tree_size: int
    root: str = Field(description="The tree's root hash, base64 (as in the note).")
    note: str = Field(description="The signed c2sp.org/tlog-checkpoint note, as issued.")
    issued_at: datetime
    timestamp_time: datetime | None = Field(description="genTime of its RFC 3161 timestamp.")
    timestamp_error: str | None = Field(description="Why it has no timestamp, if it has none.")

    @classmethod
    def from_row(cls, row: CheckpointRow) -> CheckpointPublic:
        return cls(
            id=row.id,
            tree_size=row.tree_size,
            root=b64(bytes.fromhex(row.root_hash)),
            note=row.note,
            issued_at=row.issued_at,
            timestamp_time=row.timestamp_time,
            timestamp_error=row.timestamp_error,
        )


class CheckpointList(BaseModel):
    key: str = Field(description="The ledger's verifier key: <name>+<key id>+<base64 key>.")
    checkpoints: list[CheckpointPublic]


class LeafPublic(BaseModel):
    contract: int
    version: int
    manifest_sha256: str
    data: str = Field(description="The exact leaf data (ASCII JSON).")
    hash: str = Field(description="SHA-256(0x00 || data), base64.")


class InclusionProofPublic(BaseModel):
    format: str
    leaf: LeafPublic
    leaf_index: int
    tree_size: int
    inclusion_path: list[str] = Field(description="RFC 9162 audit path, base64 hashes.")
    checkpoint: str = Field(description="The signed checkpoint whose root the path reaches.")

    @classmethod
    def from_proof(cls, proof: InclusionProof) -> InclusionProofPublic:
        return cls.model_validate(proof.to_dict())


class ConsistencyProofPublic(BaseModel):
    format: str
    old_size: int
    new_size: int
    old_root: str
    new_root: str
    consistency_path: list[str]
    checkpoints: list[str]
    verified: bool

    @classmethod
    def from_proof(cls, proof: ConsistencyProof) -> ConsistencyProofPublic:
        return cls.model_validate({**proof.to_dict(), "verified": proof.verified()})


class LedgerProblemPublic(BaseModel):
    kind: str
    message: str


class LedgerReportPublic(BaseModel):
    status: Literal["PASSED", "FAILED"]
    tree_size: int
    root: str
    checkpoints_checked: int
    problems: list[LedgerProblemPublic]
    warnings: list[str]
    summary: str

    @classmethod
    def from_report(cls, report: LedgerReport) -> LedgerReportPublic:
        return cls.model_validate(report.to_dict())
