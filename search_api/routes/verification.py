"""A contract's verification report: its digests, seal, timestamp, record and embedded
signatures, each PASSED, FAILED or INDETERMINATE with a reason."""

from __future__ import annotations

import shutil

from fastapi import APIRouter
from fastapi.responses import FileResponse
from starlette.background import BackgroundTask

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
    "/{contract_id}/proof.zip",
    response_class=FileResponse,
    responses={
        200: {"content": {"application/zip": {}}, "description": "the proof-only package"},
        **ERROR_RESPONSES,
    },
    summary="Export the proof-only evidence package (no content), to verify a copy",
)
def export_proof(f: ActsVerifying, contract_id: int) -> FileResponse:
    """What proves the contract's integrity, without its content: manifest, seal,
    certificates, timestamps, the ledger's inclusion proof, the verification report and the
    sealed digests of the original and the searchable copy (`SHA256SUMS`), with a README.txt
    saying how to check a copy of the original held elsewhere with OpenSSL. No original, no
    text, no searchable copy. For whoever may verify (an auditor); logged as an export
    (`contract.export_proof`), not as a download."""
    path = f.seals.export_proof_zip(contract_id)
    return FileResponse(
        path,
        media_type="application/zip",
        filename=path.name,
        background=BackgroundTask(shutil.rmtree, path.parent, ignore_errors=True),
    )


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
