"""The evidence package manifest: what the package holds, who archived it, and when.

One canonical JSON document (RFC 8785) per package version, written write-once next to the files
it describes as ``manifest.v<N>.json`` and sealed as ``manifest.v<N>.p7s``. It holds enough to
rebuild the contract's record without the database (``contract-archive recover``): the record's
fields, the per-page summary, and the size, SHA-256 and SM3 of every file in the package.

When the package changes (OCR adds ``text.v2.json``, a searchable copy) or what the manifest
covers changes (title, customer, classification, confirmed terms, filing, holds), a new version
is issued listing the current files and record, pointing to the previous manifest by its digest,
with a ``change`` section: who, when, through which action, and which of the contract's own
fields changed.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from signing.canonical import FileDigest, canonical_json
from signing.errors import ManifestError
from storage.objects.base import FOURPROPS_NAME, RENDITION_INFO_NAME, RENDITION_NAME
from storage.records.base import ContractRecord
from storage.records.terms_base import EDITABLE_TERMS

MANIFEST_SCHEMA = "contract-archive/manifest/1"
SCHEMA_VERSION = 1

_MANIFEST = re.compile(r"^manifest\.v(\d+)\.json$")
_SEAL = re.compile(r"^manifest\.v(\d+)\.p7s$")
_TEXT = re.compile(r"^text\.v(\d+)\.json$")
_SEARCHABLE = re.compile(r"^searchable\.v(\d+)\.pdf$")

RENDITION = RENDITION_NAME
"""A PDF made from an original that is not one (an image): what pages and OCR read."""
RENDITION_INFO = RENDITION_INFO_NAME
"""How the rendition was made (tool, version, from which original): its ``made_by``."""


def manifest_name(version: int) -> str:
    return f"manifest.v{version}.json"


def seal_name(version: int) -> str:
    return f"manifest.v{version}.p7s"


def manifest_version_of(name: str) -> int | None:
    m = _MANIFEST.match(name)
    return int(m.group(1)) if m else None


def is_package_file(name: str) -> bool:
    """Files a manifest lists: everything in the package but the manifests and seals."""
    return not (_MANIFEST.match(name) or _SEAL.match(name))


def role_of(name: str) -> str:
    if name == "original":
        return "original"
    if _TEXT.match(name):
        return "text"
    if _SEARCHABLE.match(name):
        return "searchable"
    if name == RENDITION:
        return "rendition"
    if name == FOURPROPS_NAME:
        return "fourprops"
    return "derived"


def content_type_of(name: str, original_type: str) -> str:
    if name == "original":
        return original_type
    if name.endswith(".json"):
        return "application/json"
    if name.endswith(".pdf"):
        return "application/pdf"
    return "application/octet-stream"


@dataclass(frozen=True)
class ManifestFile:
    name: str
    digest: FileDigest
    content_type: str
    made_by: Mapping[str, Any] | None = None
    """For a rendition: the tool and version that made it, and from what."""

    def to_dict(self) -> dict[str, Any]:
        entry = {
            "name": self.name,
            "role": role_of(self.name),
            "content_type": self.content_type,
            **self.digest.to_dict(),
        }
        if self.made_by is not None:
            entry["made_by"] = dict(self.made_by)
        return entry


@dataclass(frozen=True)
class IssuedManifest:
    """What issuing a manifest did, so that ingest can take it back."""

    contract_id: int
    version: int
    manifest_key: str
    manifest_sha256: str
    state: str
    """``sealed`` or ``pending``."""
    reason: str | None = None
    seal_key: str | None = None
    created_keys: tuple[str, ...] = ()


def iso(value: datetime) -> str:
    if value.tzinfo is None:
        raise ManifestError("a naive datetime cannot go into a manifest")
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def parse_time(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(UTC)


def record_section(record: ContractRecord) -> dict[str, Any]:
    return {
        "id": record.id,
        "sha256": record.sha256,
        "size": record.size,
        "content_type": record.content_type,
        "filename": record.filename,
        "title": record.title,
        "customer": record.customer,
        "classification": record.classification,
        "status": record.status,
        "page_count": record.page_count,
        "created_at": iso(record.created_at),
        "ingested_by": record.ingested_by,
        "text_file": record.text_key.rsplit("/", 1)[-1],
        "warnings": list(record.warnings),
        "pages": [
            {
                "page": p.page_no,
                "text_source": p.text_source,
                "chars": p.chars,
                "needs_ocr": p.needs_ocr,
                "ocr_status": p.ocr_status,
                "ocr_confidence": p.ocr_confidence,
                "ocr_error": p.ocr_error,
            }
            for p in record.pages
        ],
    }


# The contract's own confirmed terms a manifest covers (issue 13): every term a person edits,
# and what filing sets. Never another contract's: no master_id (a related contract's id), no
# customer_id (a customer record shared by others), nothing of the parties but their role and
# name on this contract; the classification is in the ``contract`` section.
_NOT_OWN = frozenset({"customer_id", "master_id", "classification"})
FILING_FIELDS = (
    "archival_year",
    "archival_series",
    "archival_item_no",
    "archival_code",
    "filed_at",
    "filed_by",
)
MODEL_FIELDS = tuple(f for f in EDITABLE_TERMS if f not in _NOT_OWN) + FILING_FIELDS
"""What verification compares with the database (the contract's own, edited by people and
by filing; what rules move on their own, status, end and disposal dates, is not compared)."""


def _plain_value(value: Any) -> Any:
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, datetime):
        return iso(value)
    return str(value)  # Decimal, date


def model_section(
    terms: Any, holds: Iterable[Any], approvals: Iterable[Any] | None = None
) -> dict[str, Any]:
    """The contract's own model: its confirmed terms, its filing (档号), its holds and, when
    the store keeps them, its approval rounds with every decision (who, when, what, the
    comment). Built from a :class:`storage.records.terms_base.TermsRecord`, its hold records
    and its :class:`storage.records.approvals_base.RoundRecord` list."""
    out: dict[str, Any] = {name: _plain_value(getattr(terms, name, None)) for name in MODEL_FIELDS}
    out["has_master"] = getattr(terms, "master_id", None) is not None
    out["parties"] = [
        {"role": p.role, "name": p.name, "role_label": p.role_label, "is_us": bool(p.is_us)}
        for p in getattr(terms, "parties", ())
    ]
    out["holds"] = [
        {
            "reason": h.reason,
            "placed_by": h.placed_by,
            "placed_at": _plain_value(h.placed_at),
            "released_at": _plain_value(h.released_at),
        }
        for h in sorted(holds, key=lambda h: (h.placed_at, h.id))
    ]
    if approvals is not None:
        out["approvals"] = [approval_round(r) for r in sorted(approvals, key=lambda r: r.round_no)]
    return out


def approval_round(r: Any) -> dict[str, Any]:
    """One approval round as a manifest seals it (issue 18): the chain the rules selected and
    each decision. Approver lists are kept as resolved at submission."""
    return {
        "round_no": r.round_no,
        "rules_version": r.rules_version,
        "rule_names": list(r.rule_names),
        "steps": [dict(s) for s in r.steps],
        "state": r.state,
        "submitted_by": r.submitted_by,
        "submitted_at": _plain_value(r.submitted_at),
        "finished_at": _plain_value(r.finished_at),
        "reason": r.reason,
        "decisions": [
            {
                "step": d.step_no + 1,
                "actor": d.actor,
                "decision": d.decision,
                "comment": d.comment,
                "at": _plain_value(d.at),
            }
            for d in sorted(r.decisions, key=lambda d: (d.at, d.id))
        ],
    }


def changed_fields(
    previous: Mapping[str, Any] | None, current: Mapping[str, Any]
) -> dict[str, dict[str, Any]]:
    """What differs between two manifests' own sections (contract fields and model), as
    ``{field: {"from": old, "to": new}}``. Only the contract's own fields are ever named."""
    if previous is None:
        return {}
    out: dict[str, dict[str, Any]] = {}
    for section in ("contract", "model"):
        old = previous.get(section) or {}
        new = current.get(section) or {}
        for name in sorted(set(old) | set(new)):
            if name == "pages":
                if old.get(name) != new.get(name):
                    out["pages"] = {"from": "(page summary)", "to": "(page summary)"}
                continue
            if old.get(name) != new.get(name):
                out[name] = {"from": old.get(name), "to": new.get(name)}
    old_files = {f.get("name"): f.get("sha256") for f in previous.get("files") or []}
    new_files = {f.get("name"): f.get("sha256") for f in current.get("files") or []}
    if old_files != new_files:
        out["files"] = {"from": sorted(old_files), "to": sorted(new_files)}
    return out


def build_manifest(
    *,
    record: ContractRecord,
    version: int,
    files: Iterable[ManifestFile],
    embedded_signatures: Mapping[str, Any] | None,
    key_id: str,
    development_keys: bool,
    issued_at: datetime,
    previous: Mapping[str, Any] | None,
    software: str,
    model: Mapping[str, Any] | None = None,
    change: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    ordered = sorted(files, key=lambda f: (f.name != "original", f.name))
    if not ordered or ordered[0].name != "original":
        raise ManifestError(f"the package of contract {record.id} has no original")
    manifest: dict[str, Any] = {
        "schema": MANIFEST_SCHEMA,
        "schema_version": SCHEMA_VERSION,
        "manifest_version": version,
        "issued_at": iso(issued_at),
        "software": software,
        "package": f"packages/{record.sha256[:2]}/{record.sha256}/",
        "contract": record_section(record),
        "ingest": {
            "time": iso(record.created_at),
            "user": record.ingested_by,
            "source_filename": record.filename,
        },
        "files": [f.to_dict() for f in ordered],
        "embedded_signatures": dict(embedded_signatures) if embedded_signatures else None,
        "seal": {
            "key_id": key_id,
            "development_keys": development_keys,
            "format": "CAdES-B-T detached (CMS SignedData, RFC 3161 signature timestamp)",
            "file": seal_name(version),
        },
        "previous": dict(previous) if previous else None,
    }
    if model is not None:
        manifest["model"] = dict(model)
    if change is not None:
        manifest["change"] = dict(change)
    return manifest


def manifest_bytes(manifest: Mapping[str, Any]) -> bytes:
    return canonical_json(manifest)


def parse_manifest(data: bytes) -> dict[str, Any]:
    """A manifest read back; ManifestError when it is not one."""
    try:
        value = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise ManifestError(f"the manifest is not valid JSON ({exc})") from exc
    if not isinstance(value, dict) or value.get("schema") != MANIFEST_SCHEMA:
        raise ManifestError("the file is not a contract-archive manifest")
    for name in ("contract", "files", "manifest_version"):
        if name not in value:
            raise ManifestError(f"the manifest has no {name!r}")
    return value


def same_content(a: Mapping[str, Any], b: Mapping[str, Any]) -> bool:
    """Whether two manifests describe the same package (ignoring version, time, chain)."""
    ignore = {"manifest_version", "issued_at", "previous", "seal", "software", "change"}
    return {k: v for k, v in a.items() if k not in ignore} == {
        k: v for k, v in b.items() if k not in ignore
    }
