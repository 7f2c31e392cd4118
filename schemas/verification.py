"""The verification report as the API returns it (and ``verify --json`` prints it)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from signing.report import VerificationReport

StatusName = Literal["PASSED", "FAILED", "INDETERMINATE"]


class CheckPublic(BaseModel):
    id: str = Field(
        description="original_digests, derived_digests, seal_signature, seal_certificate, "
        "timestamp, record_agreement, embedded_signatures or manifest_chain."
    )
    title: str
    status: StatusName
    reason: str
    details: dict[str, Any] = Field(default_factory=dict)


class VerificationPublic(BaseModel):
    contract_id: int
    sha256: str
    overall: StatusName = Field(description="The worst status of the checks.")
    summary: str
    verified_at: datetime
    manifest_key: str | None
    manifest_version: int | None
    seal_state: str = Field(description="`sealed`, `pending` or `missing`.")
    key_id: str | None
    timestamp_time: datetime | None = Field(description="genTime of a valid timestamp.")
    development_keys: bool = Field(
        description="True when the archive runs on development keys, which prove nothing "
        "to a third party."
    )
    warnings: list[str]
    checks: list[CheckPublic]

    @classmethod
    def from_report(cls, report: VerificationReport) -> VerificationPublic:
        return cls.model_validate(report.to_dict())


class ManifestVersionPublic(BaseModel):
    """One manifest version of a contract: when, who, through which action, what changed (the
    contract's own fields only, ``{field: {"from": old, "to": new}}``)."""

    version: int
    issued_at: str
    by: str | None
    action: str | None
    reason: str | None
    changed: dict[str, Any]
    state: str
    manifest_sha256: str
    problem: str | None = None


class ManifestHistory(BaseModel):
    id: int
    versions: list[ManifestVersionPublic]
