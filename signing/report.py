"""Verification results as data: one status per check, the worst of them overall.

The vocabulary is ETSI EN 319 102-1's: PASSED, FAILED, INDETERMINATE (the check could not be
completed: a signature algorithm that cannot be checked here, a certificate that does not chain
to a trust anchor, a seal still pending). A report never raises; it says.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any


class Status(StrEnum):
    PASSED = "PASSED"
    INDETERMINATE = "INDETERMINATE"
    FAILED = "FAILED"

    @property
    def rank(self) -> int:
        return _RANK[self]


_RANK = {Status.PASSED: 0, Status.INDETERMINATE: 1, Status.FAILED: 2}


def worst(statuses: Iterable[Status]) -> Status:
    result = Status.PASSED
    for status in statuses:
        if status.rank > result.rank:
            result = status
    return result


# The checks of a contract's verification, in report order.
ORIGINAL = "original_digests"
DERIVED = "derived_digests"
SEAL_SIGNATURE = "seal_signature"
SEAL_CERTIFICATE = "seal_certificate"
TIMESTAMP = "timestamp"
RECORD = "record_agreement"
EMBEDDED = "embedded_signatures"
CHAIN = "manifest_chain"
CHECK_ORDER = (
    ORIGINAL,
    DERIVED,
    SEAL_SIGNATURE,
    SEAL_CERTIFICATE,
    TIMESTAMP,
    RECORD,
    EMBEDDED,
    CHAIN,
)
CHECK_TITLES = {
    ORIGINAL: "the original's SHA-256 and SM3 equal the manifest's",
    DERIVED: "every derived file's SHA-256 and SM3 equal the manifest's",
    SEAL_SIGNATURE: "the seal signature over the manifest is valid",
    SEAL_CERTIFICATE: "the seal certificate chains to a trust anchor and was valid at the "
    "timestamp time",
    TIMESTAMP: "the timestamp token is valid, its imprint matches and its TSA is trusted",
    RECORD: "the manifest agrees with the record",
    EMBEDDED: "the signatures inside the original PDF",
    CHAIN: "every manifest version is the one issued and links to the one before it",
}


@dataclass(frozen=True)
class Check:
    id: str
    status: Status
    reason: str
    details: Mapping[str, Any] = field(default_factory=dict)

    @property
    def title(self) -> str:
        return CHECK_TITLES.get(self.id, self.id)

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "title": self.title,
            "status": self.status.value,
            "reason": self.reason,
            "details": dict(self.details),
        }


def passed(check_id: str, reason: str, **details: Any) -> Check:
    return Check(check_id, Status.PASSED, reason, details)


def failed(check_id: str, reason: str, **details: Any) -> Check:
    return Check(check_id, Status.FAILED, reason, details)


def indeterminate(check_id: str, reason: str, **details: Any) -> Check:
    return Check(check_id, Status.INDETERMINATE, reason, details)


@dataclass(frozen=True)
class VerificationReport:
    contract_id: int
    sha256: str
    checks: tuple[Check, ...]
    verified_at: datetime
    manifest_key: str | None = None
    manifest_version: int | None = None
    seal_state: str = "missing"
    """``sealed``, ``pending`` (with the reason in the checks) or ``missing``."""
    key_id: str | None = None
    timestamp_time: datetime | None = None
    development_keys: bool = False
    warnings: tuple[str, ...] = ()
    bytes_hashed: int = 0
    digests: tuple[str, ...] = ("sha256", "sm3")
    """The digests compared with the manifest's: both, or ``sha256`` alone on the fixity
    audit's cycles that leave SM3 out."""

    @property
    def overall(self) -> Status:
        return worst(c.status for c in self.checks)

    def check(self, check_id: str) -> Check:
        for c in self.checks:
            if c.id == check_id:
                return c
        raise KeyError(check_id)

    def by_status(self, status: Status) -> list[Check]:
        return [c for c in self.checks if c.status is status]

    def summary(self) -> str:
        """One line: the overall result and the checks that were not PASSED."""
        head = f"contract {self.contract_id}: {self.overall.value}"
        bad = [c for c in self.checks if c.status is not Status.PASSED]
        if bad:
            head += " (" + "; ".join(f"{c.id} {c.status.value}: {c.reason}" for c in bad) + ")"
        if self.development_keys:
            head += " [development keys]"
        return head

    def to_dict(self) -> dict[str, Any]:
        return {
            "contract_id": self.contract_id,
            "sha256": self.sha256,
            "overall": self.overall.value,
            "summary": self.summary(),
            "verified_at": _iso(self.verified_at),
            "manifest_key": self.manifest_key,
            "manifest_version": self.manifest_version,
            "seal_state": self.seal_state,
            "key_id": self.key_id,
            "timestamp_time": _iso(self.timestamp_time),
            "development_keys": self.development_keys,
            "warnings": list(self.warnings),
            "digests": list(self.digests),
            "checks": [c.to_dict() for c in self.checks],
        }


def _iso(value: datetime | None) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value is not None else None
