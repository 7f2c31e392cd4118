"""A contract's verification report: its digests, seal, timestamp, record and embedded
signatures, each PASSED, FAILED or INDETERMINATE with a reason."""

from __future__ import annotations

from fastapi import APIRouter

from schemas.verification import VerificationPublic
from search_api.deps import AccessDep, ArchiveDep, CanVerify
from search_api.errors import ERROR_RESPONSES

router = APIRouter(prefix="/api/v1/contracts", tags=["verification"])


@router.get(
    "/{contract_id}/verification",
    response_model=VerificationPublic,
    responses=ERROR_RESPONSES,
    summary="Verify a contract's evidence package",
)
def get_verification(
    archive: ArchiveDep, access: AccessDep, caller: CanVerify, contract_id: int
) -> VerificationPublic:
    """Re-hash every file of the package and check the seal, the timestamp and the record.
    The answer is 200 whatever the result; `overall` says it. Logged (`contract.verify`)."""
    report = archive.seal.verify(contract_id)
    access.record(
        caller,
        "contract.verify",
        contract_id=contract_id,
        details={"overall": str(report.overall.value)},
    )
    return VerificationPublic.from_report(report)
