"""A contract's verification report: its digests, seal, timestamp, record and embedded
signatures, each PASSED, FAILED or INDETERMINATE with a reason."""

from __future__ import annotations

from fastapi import APIRouter

from schemas.verification import ManifestHistory, ManifestVersionPublic, VerificationPublic
from search_api.deps import ActsVerifying, ActsViewing
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


@router.get(
    "/{contract_id}/manifests",
    response_model=ManifestHistory,
    responses=ERROR_RESPONSES,
    summary="A contract's manifest history",
)
def get_manifests(f: ActsViewing, contract_id: int) -> ManifestHistory:
    """Every manifest version, oldest first: version, time, who, through which action, why,
    and which of the contract's own fields changed. Logged (`contract.manifests`)."""
    return ManifestHistory(
        id=contract_id,
        versions=[ManifestVersionPublic(**v.to_dict()) for v in f.seals.manifests(contract_id)],
    )
