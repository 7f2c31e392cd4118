"""Legal hold and retention of a contract's evidence package."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from schemas.locks import ContractLocks
from search_api.deps import ActsEditing, ActsViewing
from search_api.errors import ERROR_RESPONSES

router = APIRouter(prefix="/api/v1/contracts", tags=["retention"])

LOCK_RESPONSES: dict[int | str, dict[str, Any]] = {
    **ERROR_RESPONSES,
    409: {**ERROR_RESPONSES[400], "description": "the object store cannot enforce legal holds"},
}


@router.get(
    "/{contract_id}/locks",
    response_model=ContractLocks,
    responses=ERROR_RESPONSES,
    summary="Retention and legal hold of a contract's package",
)
def get_locks(f: ActsViewing, contract_id: int) -> ContractLocks:
    return f.holds.locks(contract_id)


@router.put(
    "/{contract_id}/legal-hold",
    response_model=ContractLocks,
    responses=LOCK_RESPONSES,
    summary="Set a legal hold on a contract's package",
)
def put_legal_hold(f: ActsEditing, contract_id: int) -> ContractLocks:
    """Nothing of the package can be deleted until the hold is released, whatever its
    retention date."""
    return f.holds.set(contract_id, True)


@router.delete(
    "/{contract_id}/legal-hold",
    response_model=ContractLocks,
    responses=LOCK_RESPONSES,
    summary="Release the legal hold of a contract's package",
)
def delete_legal_hold(f: ActsEditing, contract_id: int) -> ContractLocks:
    """Retention still applies after the release."""
    return f.holds.set(contract_id, False)
