"""Verifying one contract's evidence package: eight checks, each PASSED, FAILED or
INDETERMINATE with a reason, and the worst of them overall.

1. ``original_digests``: the original's size, SHA-256 and SM3 equal the manifest's;
2. ``derived_digests``: the same for every other file the manifest lists;

   (with ``sm3=False``, as the fixity audit does on most of its cycles, size and SHA-256 only;
   the check's details and the report's ``digests`` say which were compared)
3. ``seal_signature``, 4. ``seal_certificate``, 5. ``timestamp``: see :mod:`signing.sealcheck`;
6. ``record_agreement``: the manifest agrees with the database record (title, customer, pages,
   digests, and the fields that never change: id, file name, size, ingest time and user);
7. ``embedded_signatures``: the report of the signatures inside the original, as validated at
   ingest and sealed in the manifest;
8. ``manifest_chain``: every manifest version from the first to the latest is stored, every
   earlier one is the one issued (its SHA-256 equals the one recorded; the latest is the seal's
   to judge), and each names the one before it by its SHA-256.

Verification compares the record with the LATEST manifest version: editing a contract issues
the next version (:meth:`signing.service.SealService.refresh`), so an edit is no alarm.

The checks are independent: one changed byte fails the check that covers it and no other.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from core.errors import ArchiveError, NotFound
from core.plural import count
from signing.canonical import FileCheck, FileDigest, check_stream
from signing.errors import ManifestError
from signing.manifest import MODEL_FIELDS, manifest_name, parse_manifest, parse_time, seal_name
from signing.report import (
    CHAIN,
    CHECK_ORDER,
    DERIVED,
    EMBEDDED,
    ORIGINAL,
    RECORD,
    SEAL_CERTIFICATE,
    SEAL_SIGNATURE,
    TIMESTAMP,
    Check,
    Status,
    VerificationReport,
    failed,
    indeterminate,
    passed,
)
from storage.objects.base import package_key
from storage.records.base import ContractRecord

if TYPE_CHECKING:
    from cryptography import x509

    from signing.sealcheck import SealChecks
    from signing.service import SealService

Digester = Callable[[str], FileDigest | FileCheck]
SealChecker = Callable[[bytes, bytes, Sequence["x509.Certificate"], datetime], "SealChecks"]
"""Checks a seal: ``(manifest, p7s, trust anchors, now)``, as :func:`signing.sealcheck.check_seal`
does here; the fixity audit gives one that checks in a worker process (:mod:`signing.audit`)."""


def verify_contract(
    service: SealService,
    record: ContractRecord,
    *,
    digester: Digester | None = None,
    now: datetime | None = None,
    sm3: bool = True,
    seal_checker: SealChecker | None = None,
) -> VerificationReport:
    """Verify one contract; ``sm3=False`` compares each file's size and SHA-256 but not its
    SM3 (the fixity audit's slower SM3 cycle), and says so in the report; ``seal_checker``
    checks the seal (by default in this process)."""
    now = now or datetime.now(UTC)
    keys = service.keys
    warnings = (keys.warning,) if keys.warning else ()
    hashed = [0]
    digests = ("sha256", "sm3") if sm3 else ("sha256",)

    def digest(key: str) -> FileDigest | FileCheck:
        if digester is not None:
            result = digester(key)
        else:
            with service.objects.open(key) as fh:
                result = check_stream(fh, sm3=sm3)
        hashed[0] += result.size
        return result

    def report(checks: list[Check], **extra: Any) -> VerificationReport:
        order = {c: i for i, c in enumerate(CHECK_ORDER)}
        return VerificationReport(
            contract_id=record.id,
            sha256=record.sha256,
            checks=tuple(sorted(checks, key=lambda c: order.get(c.id, 99))),
            verified_at=now,
            development_keys=keys.development,
            warnings=warnings,
            bytes_hashed=hashed[0],
            digests=digests,
            **extra,
        )

    row = service.seals.latest_manifest(record.id)
    if row is None:
        why = (
            "the contract has no manifest (archived before sealing existed, or its manifest "
            "record was lost); run `contract-archive seal --pending` to issue one"
        )
        return report([indeterminate(c, why) for c in CHECK_ORDER])

    checks: list[Check] = []
    manifest_data: bytes | None
    try:
        manifest_data = service.read(row.manifest_key)
    except NotFound:
        manifest_data = None
    except ArchiveError as exc:
        return report(
            [
                indeterminate(c, f"the manifest cannot be read: {exc.message}")
                for c in (
                    ORIGINAL,
                    DERIVED,
                    SEAL_SIGNATURE,
                    SEAL_CERTIFICATE,
                    TIMESTAMP,
                    RECORD,
                    EMBEDDED,
                    CHAIN,
                )
            ],
            manifest_key=row.manifest_key,
            manifest_version=row.version,
            seal_state=row.state,
        )

    manifest: dict[str, Any] | None = None
    manifest_problem = None
    if manifest_data is None:
        manifest_problem = f"the manifest {row.manifest_key} is missing from storage"
    else:
        try:
            manifest = parse_manifest(manifest_data)
        except ManifestError as exc:
            manifest_problem = f"the manifest cannot be read: {exc.message}"

    # --- 3-5: the seal
    timestamp_time = None
    key_id = row.key_id
    if manifest_data is None:
        checks += [
            failed(SEAL_SIGNATURE, manifest_problem or "the manifest is missing"),
            indeterminate(SEAL_CERTIFICATE, "there is no manifest to check a seal of"),
            indeterminate(TIMESTAMP, "there is no manifest to check a seal of"),
        ]
    elif row.state != "sealed":
        recorded = hashlib.sha256(manifest_data).hexdigest() == row.manifest_sha256
        why = f"the seal is pending: {row.reason or 'not sealed yet'}"
        checks += [
            indeterminate(
                SEAL_SIGNATURE,
                why + "; the manifest matches the digest recorded when it was issued",
                pending=True,
            )
            if recorded
            else failed(
                SEAL_SIGNATURE,
                "the manifest changed after it was issued (its digest "
                "differs from the one recorded) and it is not sealed",
            ),
            indeterminate(SEAL_CERTIFICATE, why),
            indeterminate(TIMESTAMP, why),
        ]
    else:
        seal_key = row.seal_key or package_key(record.sha256, seal_name(row.version))
        try:
            p7s = service.read(seal_key)
        except NotFound:
            checks += [
                failed(SEAL_SIGNATURE, f"the seal {seal_key} is missing from storage"),
                indeterminate(SEAL_CERTIFICATE, "the seal is missing"),
                indeterminate(TIMESTAMP, "the seal is missing"),
            ]
        else:
            if seal_checker is None:
                from signing.sealcheck import check_seal  # pyHanko: loaded when a seal is checked

                sealed = check_seal(manifest_data, p7s, keys.anchors, now=now)
            else:
                sealed = seal_checker(manifest_data, p7s, keys.anchors, now)
            checks += list(sealed.all())
            timestamp_time = sealed.timestamp_time

    # --- 1-2: the files
    if manifest is None:
        why = manifest_problem or "the manifest cannot be read"
        checks += [indeterminate(ORIGINAL, why), indeterminate(DERIVED, why)]
    else:
        checks += _file_checks(service, record, manifest, digest, digests)

    # --- 6: the record
    if manifest is None:
        checks.append(indeterminate(RECORD, manifest_problem or "the manifest cannot be read"))
    else:
        checks.append(_record_check(record, manifest, service.model_of(record)))

    # --- 7: the embedded signatures
    if manifest is None:
        checks.append(indeterminate(EMBEDDED, manifest_problem or "no manifest"))
    else:
        checks.append(_embedded_check(manifest))

    # --- 8: the chain of versions
    checks.append(_chain_check(service, record))

    if manifest is not None:
        key_id = (manifest.get("seal") or {}).get("key_id", key_id)
    return report(
        checks,
        manifest_key=row.manifest_key,
        manifest_version=row.version,
        seal_state=row.state,
        key_id=key_id,
        timestamp_time=timestamp_time,
    )


def _file_checks(
    service: SealService,
    record: ContractRecord,
    manifest: dict[str, Any],
    digest: Digester,
    digests: tuple[str, ...],
) -> list[Check]:
    files = manifest.get("files") or []
    by_name = {str(f.get("name")): f for f in files if isinstance(f, dict)}

    def compare(name: str) -> tuple[bool | None, str, dict[str, Any]]:
        expected = by_name[name]
        key = package_key(record.sha256, name)
        try:
            actual = digest(key)
        except NotFound:
            return False, f"{name} is missing from storage", {"file": name}
        except ArchiveError as exc:
            return None, f"{name} cannot be read: {exc.message}", {"file": name}
        compared = ("size", *digests)
        details = {
            "file": name,
            "expected": _pick(expected),
            "actual": actual.to_dict(),
            "compared": list(compared),
        }
        wrong = [what for what in compared if expected.get(what) != getattr(actual, what)]
        if wrong:
            return False, f"{name}: {', '.join(wrong)} differ from the manifest", details
        if "sm3" not in digests:
            return True, f"{name} matches ({actual.size} bytes; SHA-256, SM3 not checked)", details
        return True, f"{name} matches ({actual.size} bytes)", details

    checks = []
    if "original" not in by_name:
        checks.append(failed(ORIGINAL, "the manifest lists no original"))
    else:
        ok, reason, details = compare("original")
        if ok:
            checks.append(passed(ORIGINAL, reason, **details))
        elif ok is None:
            checks.append(indeterminate(ORIGINAL, reason, **details))
        else:
            checks.append(failed(ORIGINAL, reason, **details))

    derived = [n for n in by_name if n != "original"]
    results = [(n, *compare(n)) for n in derived]
    unlisted = [n for n in service.package_files(record.sha256) if n not in by_name]
    summary: dict[str, Any] = {"files": {n: d for n, _ok, _r, d in results}}
    if unlisted:
        summary["not_in_manifest"] = unlisted
    bad = [r for _n, ok, r, _d in results if ok is False]
    unsure = [r for _n, ok, r, _d in results if ok is None]
    if bad:
        checks.append(failed(DERIVED, "; ".join(bad), **summary))
    elif unsure:
        checks.append(indeterminate(DERIVED, "; ".join(unsure), **summary))
    elif not derived:
        checks.append(
            failed(
                DERIVED, "the manifest lists no derived file (the text is always one)", **summary
            )
        )
    elif unlisted:
        checks.append(
            indeterminate(
                DERIVED,
                f"{_match(len(derived), 'listed files')}, but {', '.join(unlisted)} "
                f"{'is' if len(unlisted) == 1 else 'are'} in the package and not in the "
                "manifest, so nothing proves them",
                **summary,
            )
        )
    else:
        checks.append(
            passed(DERIVED, f"{_match(len(derived), 'files')}: {', '.join(derived)}", **summary)
        )
    return checks


def _match(n: int, noun: str) -> str:
    """ "1 file matches", "2 files match" (``noun`` in the plural, an adjective allowed)."""
    return f"{count(n, noun)} {'matches' if n == 1 else 'match'}"


def _pick(entry: dict[str, Any]) -> dict[str, Any]:
    return {k: entry.get(k) for k in ("size", "sha256", "sm3")}


def _chain_check(service: SealService, record: ContractRecord) -> Check:
    """Every version from 1 to the latest: stored, the one issued, linked to the one before."""
    rows = sorted(service.seals.manifests(record.id), key=lambda r: r.version)
    versions = [r.version for r in rows]
    problems: list[str] = []
    broken: list[int] = []
    expected = list(range(1, (versions[-1] if versions else 0) + 1))
    for missing in sorted(set(expected) - set(versions)):
        problems.append(f"version {missing} has no record (a missing link)")
        broken.append(missing)
    previous_sha: dict[int, str] = {}
    for row in rows:
        try:
            data = service.read(row.manifest_key)
        except NotFound:
            problems.append(f"version {row.version} ({manifest_name(row.version)}) is missing")
            broken.append(row.version)
            continue
        except ArchiveError as exc:
            return indeterminate(
                CHAIN, f"version {row.version} cannot be read: {exc.message}", versions=versions
            )
        actual = hashlib.sha256(data).hexdigest()
        previous_sha[row.version] = actual
        latest = row.version == versions[-1]
        # The latest version's own bytes are the seal's to judge (seal_signature): one changed
        # byte fails exactly one check. Here: every earlier version, and every link.
        if actual != row.manifest_sha256 and not latest:
            problems.append(
                f"version {row.version} ({manifest_name(row.version)}) changed after it was "
                "issued (its SHA-256 differs from the one recorded)"
            )
            broken.append(row.version)
            continue
        try:
            parsed = parse_manifest(data)
        except ManifestError as exc:
            if latest:
                continue
            problems.append(f"version {row.version} is not a manifest: {exc.message}")
            broken.append(row.version)
            continue
        link = parsed.get("previous")
        if row.version == 1:
            continue
        if not isinstance(link, dict):
            problems.append(f"version {row.version} does not name version {row.version - 1}")
            broken.append(row.version)
            continue
        before = previous_sha.get(row.version - 1)
        if link.get("version") != row.version - 1 or (
            before is not None and link.get("sha256") != before
        ):
            problems.append(
                f"version {row.version} names a version {row.version - 1} that is not the one "
                "stored (the link is broken)"
            )
            broken.append(row.version)
    if not rows:
        return indeterminate(CHAIN, "the contract has no manifest", versions=versions)
    if problems:
        return failed(
            CHAIN,
            "; ".join(problems),
            versions=versions,
            broken=sorted(set(broken)),
        )
    return passed(
        CHAIN,
        f"{count(len(rows), 'versions')}, each the one issued and linked to the one before",
        versions=versions,
    )


def _record_check(
    record: ContractRecord, manifest: dict[str, Any], model: dict[str, Any] | None = None
) -> Check:
    c = manifest.get("contract") or {}
    files = {str(f.get("name")): f for f in manifest.get("files") or [] if isinstance(f, dict)}
    text_name = record.text_key.rsplit("/", 1)[-1]
    text_entry = files.get(text_name) or {}
    try:
        created = parse_time(str(c.get("created_at")))
    except ValueError:
        created = None
    comparisons: list[tuple[str, Any, Any]] = [
        ("id", record.id, c.get("id")),
        ("sha256", record.sha256, c.get("sha256")),
        ("size", record.size, c.get("size")),
        ("title", record.title, c.get("title")),
        ("customer", record.customer, c.get("customer")),
        ("classification", record.classification, c.get("classification")),
        ("page_count", record.page_count, c.get("page_count")),
        ("filename", record.filename, c.get("filename")),
        ("ingested_by", record.ingested_by, c.get("ingested_by")),
        ("created_at", record.created_at, created),
        ("text_file", text_name, c.get("text_file")),
        ("text_sha256", record.text_sha256, text_entry.get("sha256")),
        ("original_sha256", record.sha256, (files.get("original") or {}).get("sha256")),
    ]
    sealed_model = manifest.get("model")
    if isinstance(sealed_model, dict) and model is not None:
        # The contract's own terms, filing and holds (a manifest issued before the model was
        # covered has no such section, and is compared as before).
        comparisons += [
            (name, model.get(name), sealed_model.get(name))
            for name in (*MODEL_FIELDS, "parties", "holds")
        ]
        if "approvals" in sealed_model:
            # sealed since approvals are covered (issue 18); an older version has no such key
            comparisons.append(("approvals", model.get("approvals"), sealed_model.get("approvals")))
    differ = {
        name: {"record": _plain(mine), "manifest": _plain(theirs)}
        for name, mine, theirs in comparisons
        if mine != theirs
    }
    if differ:
        return failed(
            RECORD,
            "the record and the manifest disagree on " + ", ".join(differ),
            differences=differ,
        )
    return passed(
        RECORD,
        "title, customer, classification, pages, digests, file name, size, ingest time and "
        "user agree"
        + (
            ", and the confirmed terms, filing, holds"
            + (" and approvals" if "approvals" in sealed_model else "")
            if isinstance(sealed_model, dict)
            else ""
        ),
        compared=[name for name, _a, _b in comparisons],
    )


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    return value


def _embedded_check(manifest: dict[str, Any]) -> Check:
    report = manifest.get("embedded_signatures")
    if not isinstance(report, dict):
        return indeterminate(
            EMBEDDED, "the manifest holds no embedded-signature report (not validated)"
        )
    try:
        status = Status(str(report.get("status")))
    except ValueError:
        return indeterminate(EMBEDDED, "the embedded-signature report is not readable")
    verdict = str(report.get("verdict", ""))
    sigs = report.get("signatures") or []
    when = report.get("validated_at")
    if not sigs and status is Status.PASSED:
        reason = "the original carries no embedded signatures"
    else:
        reasons = [f"{s.get('field')}: {s.get('status')} ({s.get('reason')})" for s in sigs]
        reason = f"{verdict}; validated at ingest ({when}): " + "; ".join(reasons)
        if report.get("problem"):
            reason = f"{verdict} (validated at ingest, {when})"
    return Check(EMBEDDED, status, reason, {"report": report})
