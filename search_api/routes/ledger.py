"""The evidence ledger: its signed checkpoints, a contract's inclusion proof, consistency
proofs between tree sizes, and the whole tree verified against every checkpoint."""

from __future__ import annotations

from fastapi import APIRouter

from schemas.ledger import (
    CheckpointList,
    CheckpointPublic,
    ConsistencyProofPublic,
    InclusionProofPublic,
    LedgerReportPublic,
)
from search_api.deps import ActsVerifying
from search_api.errors import ERROR_RESPONSES

router = APIRouter(prefix="/api/v1", tags=["ledger"])


@router.get(
    "/ledger/checkpoints",
    response_model=CheckpointList,
    responses=ERROR_RESPONSES,
    summary="The ledger's signed checkpoints",
)
def list_checkpoints(f: ActsVerifying) -> CheckpointList:
    """Every signed checkpoint (c2sp.org/tlog-checkpoint notes), oldest first, with the key
    that signs them."""
    return CheckpointList(
        key=f.ledger.public_key(),
        checkpoints=[CheckpointPublic.from_row(r) for r in f.ledger.checkpoints()],
    )


@router.get(
    "/ledger/consistency",
    response_model=ConsistencyProofPublic,
    responses=ERROR_RESPONSES,
    summary="A consistency proof between two tree sizes",
)
def get_consistency(
    f: ActsVerifying, old: int = 0, new: int | None = None
) -> ConsistencyProofPublic:
    """That the tree of `old` leaves is a prefix of the tree of `new` leaves (default: the
    latest checkpoint's size), RFC 9162 §2.1.4."""
    if new is None:
        rows = f.ledger.checkpoints()
        new = rows[-1].tree_size if rows else 0
    return ConsistencyProofPublic.from_proof(f.ledger.consistency(old, new))


@router.get(
    "/ledger/verification",
    response_model=LedgerReportPublic,
    responses=ERROR_RESPONSES,
    summary="Verify the whole ledger against every checkpoint",
)
def get_ledger_verification(f: ActsVerifying) -> LedgerReportPublic:
    """Recompute the tree and check it against every signed checkpoint; 200 whatever the
    result, `status` says it and `problems` names each."""
    return LedgerReportPublic.from_report(f.ledger.verify())


@router.get(
    "/contracts/{contract_id}/proof",
    response_model=InclusionProofPublic,
    responses=ERROR_RESPONSES,
    summary="A contract's inclusion proof",
)
def get_proof(f: ActsVerifying, contract_id: int) -> InclusionProofPublic:
    """The inclusion proof of the contract's latest manifest version in the latest signed
    checkpoint (RFC 9162 §2.1.3), as `contract-archive ledger prove ID --json` prints it."""
    return InclusionProofPublic.from_proof(f.ledger.prove(contract_id))
