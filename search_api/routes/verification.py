"""A contract's verification report: its digests, seal, timestamp, record and embedded
signatures, each PASSED, FAILED or INDETERMINATE with a reason."""

from __future__ import annotations

from fastapi import APIRouter

from schemas.verification import VerificationPublic
from search_api.deps import ActsVerifying
from search_api.errors import ERROR_RESPONSES

router = APIRouter(prefix="/api/v1/contracts", tags=["verification"])


@router.get(
    "/{contract_id}/verification",
    response_model=VerificationPublic,
    responses=ERROR_RESPONSES,
    summary="Verify a contract's evidence package",
)
def get_verification(f: ActsVerifying, contract_id: int) -> VerificationPublic:
    """Re-hash every file of the package and check the seal, the timestamp and the record.
    The answer is 200 whatever the result; `overall` says it. Logged (`contract.verify`)."""
    return VerificationPublic.from_report(f.seals.verify(contract_id))
