"""Changing a contract's metadata and classification, logged in the same transaction."""

from __future__ import annotations

from fastapi import APIRouter

from core.errors import InvalidRequest
from schemas.access import ContractUpdate
from schemas.contracts import ContractPublic
from search_api.deps import ActsEditing
from search_api.errors import ERROR_RESPONSES

router = APIRouter(tags=["contracts"])


@router.patch(
    "/api/v1/contracts/{contract_id}",
    response_model=ContractPublic,
    responses=ERROR_RESPONSES,
    summary="Change a contract's title, customer or classification",
)
def update_contract(contract_id: int, body: ContractUpdate, f: ActsEditing) -> ContractPublic:
    """The change and its access log entry are written in one transaction; the search index
    follows before the answer. A classification change also needs the classify permission.
    `null` clears customer or classification."""
    changes = body.model_dump(exclude_unset=True, exclude={"purpose"})
    if not changes:
        raise InvalidRequest("nothing to change: give title, customer or classification")
    record = f.contracts.update(contract_id, changes, purpose=body.purpose)
    return ContractPublic.from_record(record)
