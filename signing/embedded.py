"""The signatures already inside an uploaded PDF (PAdES, CAdES, PKCS#7), checked with pyHanko.

:func:`validate_embedded_signatures` runs in the ingest worker process (``ingest.isolation``):
the PDF is untrusted input and pyHanko's parser and diff analysis can be made to loop or to
balloon, so the worker is killed after ``ARCHIVE_SIGNATURE_TIMEOUT_SECONDS``. It returns plain
data (:class:`EmbeddedReport`), which goes into the manifest as it is.

Per signature the report keeps: field name, signer subject, issuer and serial, the algorithms,
the claimed signing time and the timestamp time, intact / valid / trusted, the coverage
(``ENTIRE_FILE``, ``ENTIRE_REVISION``, ...), the modification level and the DocMDP result from
pyHanko's diff analysis. Its status:

* FAILED: the signed bytes or the signature value do not verify, the signature does not cover
  its revision, or the file was changed after signing beyond what the signature permits
  (pyHanko's diff analysis: a suspicious modification, level ``OTHER``, DocMDP violated);
* INDETERMINATE: the signature is intact and valid but the signer's certificate does not chain
  to a configured trust anchor (the corpus' test certificates never do), or its algorithm cannot
  be checked here: SM2 (OID 1.2.156.10197.1.501) and SM3 are not in ``cryptography``, so an
  SM2 signature is INDETERMINATE with that reason, never VALID and never INVALID;
* PASSED: intact, valid, trusted, and the file unchanged since or changed only as permitted.

How each category of later change or attack is judged (legitimate LTV updates, document
timestamps, further signatures and form filling; shadow attacks, spoofed or wrapped byte ranges,
xref manipulation; an expired signer with a later proof of existence) is in the README, "How
embedded signatures are judged". pyHanko's diff analysis runs with
:func:`signing.embedded_structure.pades_diff_policy`; the whole-file checks of
:mod:`signing.embedded_structure` add their findings (a signature with a finding is FAILED); a
signature whose certificate is no longer valid is validated again at the time of a later trusted
timestamp (:func:`_with_proof_of_existence`). A signature dictionary pyHanko cannot read (no
/ByteRange, say) is FAILED, not skipped; a file pyHanko cannot open at all is "cannot be
checked", unless its raw bytes already prove a forgery (two signature dictionaries sharing one
/ByteRange, objects in a signature's gap).

Apart from the status, ``unmodified`` says whether the signature covers the entire file with no
change after it: a file changed after signing, even in a permitted way (form filling, a second
signature, validation data), is never reported as intact and unmodified.

Poppler's ``pdfsig`` is not used: it exits 0 on "Digest Mismatch" and calls a malicious
appended revision valid.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import mmap
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from core.plural import count
from signing.report import Status, worst

# pyHanko and asn1crypto are imported in the functions that validate: the report classes are
# used by every command (ingest, show), the validation only when a file is checked.

EMBEDDED_SCHEMA = "contract-archive/embedded-signatures/1"
MAX_SIGNATURES = 64

SM2_OIDS = {
    "1.2.156.10197.1.501": "SM2 with SM3",
    "1.2.156.10197.1.301.1": "SM2 signature",
    "1.2.156.10197.1.301": "SM2 (sm2p256v1)",
    "1.2.156.10197.1.502": "SM2 with SHA-1",
    "1.2.156.10197.1.503": "SM2 with SHA-256",
}
SM3_OIDS = {"1.2.156.10197.1.401": "SM3", "1.2.156.10197.1.401.1": "SM3"}

VERDICT_NONE = "no embedded signatures"
VERDICT_UNMODIFIED = "intact and unmodified"
VERDICT_PERMITTED = "intact; changed after signing only as the signatures permit"
VERDICT_MODIFIED = "modified after signing or broken"
VERDICT_UNCHECKABLE = "cannot be checked"


@dataclass(frozen=True)
class SignatureResult:
    field: str
    kind: str
    """``signature`` or ``document_timestamp``."""
    status: Status
    reason: str
    intact: bool | None = None
    valid: bool | None = None
    trusted: bool | None = None
    unmodified: bool = False
    signer_subject: str | None = None
    signer_issuer: str | None = None
    signer_serial: str | None = None
    signer_cert_sha256: str | None = None
    signature_algorithm: str | None = None
    signature_algorithm_oid: str | None = None
    digest_algorithm: str | None = None
    signing_time: str | None = None
    """The signer's claim (CMS signing-time or the PDF's /M), ISO 8601."""
    timestamp_time: str | None = None
    timestamp_valid: bool | None = None
    timestamp_trusted: bool | None = None
    trust_problem: str | None = None
    coverage: str | None = None
    modification_level: str | None = None
    docmdp_ok: bool | None = None
    diff_problem: str | None = None
    findings: tuple[str, ...] = ()
    """What the whole-file checks (:mod:`signing.embedded_structure`) found against this
    signature: a shared or wrapped /ByteRange, xref manipulation, a signed value replaced."""
    proof_of_existence: str | None = None
    """When the signer's certificate is no longer valid: the time of the timestamp that proves
    the signature existed while it was, at which the signature was validated."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "field": self.field,
            "kind": self.kind,
            "status": self.status.value,
            "reason": self.reason,
            "intact": self.intact,
            "valid": self.valid,
            "trusted": self.trusted,
            "unmodified": self.unmodified,
            "signer": {
                "subject": self.signer_subject,
                "issuer": self.signer_issuer,
                "serial": self.signer_serial,
                "certificate_sha256": self.signer_cert_sha256,
            },
            "algorithm": {
                "signature": self.signature_algorithm,
                "signature_oid": self.signature_algorithm_oid,
                "digest": self.digest_algorithm,
            },
            "signing_time": self.signing_time,
            "timestamp": {
                "time": self.timestamp_time,
                "valid": self.timestamp_valid,
                "trusted": self.timestamp_trusted,
            },
            "trust_problem": self.trust_problem,
            "coverage": self.coverage,
            "modification_level": self.modification_level,
            "docmdp_ok": self.docmdp_ok,
            "diff_problem": self.diff_problem,
            "findings": list(self.findings),
            "proof_of_existence": self.proof_of_existence,
        }


@dataclass(frozen=True)
class EmbeddedReport:
    validated_at: str
    signatures: tuple[SignatureResult, ...] = ()
    notes: tuple[str, ...] = ()
    trust_anchors: tuple[str, ...] = ()
    """SHA-256 fingerprints of the roots trusted for embedded signatures at validation."""
    problem: str | None = None
    """Set when the signatures could not be examined at all (then the status is
    INDETERMINATE)."""

    @property
    def status(self) -> Status:
        if self.problem is not None:
            return Status.INDETERMINATE
        return worst(s.status for s in self.signatures)

    @property
    def verdict(self) -> str:
        if self.problem is not None:
            return f"{VERDICT_UNCHECKABLE}: {self.problem}"
        if not self.signatures:
            return VERDICT_NONE
        if any(s.status is Status.FAILED for s in self.signatures):
            return VERDICT_MODIFIED
        if any(s.intact is not True or s.valid is not True for s in self.signatures):
            return VERDICT_UNCHECKABLE
        if all(s.unmodified for s in self.signatures):
            return VERDICT_UNMODIFIED
        return VERDICT_PERMITTED

    @property
    def intact_and_unmodified(self) -> bool:
        return bool(self.signatures) and self.verdict == VERDICT_UNMODIFIED

    def summary(self) -> str:
        if not self.signatures and self.problem is None:
            return VERDICT_NONE
        trusted = all(s.trusted for s in self.signatures) if self.signatures else False
        parts = [self.verdict]
        if self.signatures:
            parts.append(count(len(self.signatures), "signatures"))
            parts.append("trusted" if trusted else "not trusted")
        return ", ".join(parts)

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema": EMBEDDED_SCHEMA,
            "validated_at": self.validated_at,
            "status": self.status.value,
            "verdict": self.verdict,
            "problem": self.problem,
            "trust_anchors": list(self.trust_anchors),
            "notes": list(self.notes),
            "signatures": [s.to_dict() for s in self.signatures],
        }


def report_from_dict(data: dict[str, Any]) -> EmbeddedReport:
    """Read back what :meth:`EmbeddedReport.to_dict` wrote (from a manifest)."""
    sigs = []
    for s in data.get("signatures", []):
        signer = s.get("signer") or {}
        algo = s.get("algorithm") or {}
        ts = s.get("timestamp") or {}
        sigs.append(
            SignatureResult(
                field=str(s.get("field")),
                kind=str(s.get("kind", "signature")),
                status=Status(s["status"]),
                reason=str(s.get("reason", "")),
                intact=s.get("intact"),
                valid=s.get("valid"),
                trusted=s.get("trusted"),
                unmodified=bool(s.get("unmodified")),
                signer_subject=signer.get("subject"),
                signer_issuer=signer.get("issuer"),
                signer_serial=signer.get("serial"),
                signer_cert_sha256=signer.get("certificate_sha256"),
                signature_algorithm=algo.get("signature"),
                signature_algorithm_oid=algo.get("signature_oid"),
                digest_algorithm=algo.get("digest"),
                signing_time=s.get("signing_time"),
                timestamp_time=ts.get("time"),
                timestamp_valid=ts.get("valid"),
                timestamp_trusted=ts.get("trusted"),
                trust_problem=s.get("trust_problem"),
                coverage=s.get("coverage"),
                modification_level=s.get("modification_level"),
                docmdp_ok=s.get("docmdp_ok"),
                diff_problem=s.get("diff_problem"),
                findings=tuple(s.get("findings") or ()),
                proof_of_existence=s.get("proof_of_existence"),
            )
        )
    return EmbeddedReport(
        validated_at=str(data.get("validated_at", "")),
        signatures=tuple(sigs),
        notes=tuple(data.get("notes", ())),
        trust_anchors=tuple(data.get("trust_anchors", ())),
        problem=data.get("problem"),
    )


def _iso(value: datetime | None) -> str | None:
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _short(exc: BaseException) -> str:
    text = " ".join((str(exc).strip() or type(exc).__name__).split())
    return text[:300]


# --- the worker-side validation ---------------------------------------------------------------
def validate_embedded_signatures(
    path: Path, *, trust_roots_pem: bytes = b"", now: datetime | None = None
) -> EmbeddedReport:
    """Validate every signature and document timestamp in the PDF at ``path``.

    Never raises for a bad file: what could not be examined is said in the report.
    """
    validated_at = _iso(now or datetime.now(UTC)) or ""
    notes: list[str] = []
    handler = _Collect(notes)
    loggers = [logging.getLogger(n) for n in ("pyhanko", "pyhanko_certvalidator")]
    saved = [(lg.level, lg.propagate) for lg in loggers]
    for lg in loggers:
        lg.addHandler(handler)
        lg.propagate = False
        lg.setLevel(logging.WARNING)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return asyncio.run(_validate(path, trust_roots_pem, now, validated_at, notes))
    finally:
        for lg, (level, propagate) in zip(loggers, saved, strict=True):
            lg.removeHandler(handler)
            lg.setLevel(level)
            lg.propagate = propagate


async def _validate(
    path: Path,
    trust_roots_pem: bytes,
    now: datetime | None,
    validated_at: str,
    notes: list[str],
) -> EmbeddedReport:
    from asn1crypto import pem as asn1_pem
    from asn1crypto import x509 as asn1_x509
    from pyhanko.pdf_utils.reader import PdfFileReader

    roots = (
        [
            asn1_x509.Certificate.load(der)
            for _type, _headers, der in asn1_pem.unarmor(trust_roots_pem, multiple=True)
        ]
        if trust_roots_pem.strip()
        else []
    )
    anchors = tuple(hashlib.sha256(r.dump()).hexdigest() for r in roots)

    def report(
        signatures: list[SignatureResult] | None = None, problem: str | None = None
    ) -> EmbeddedReport:
        return EmbeddedReport(
            validated_at=validated_at,
            signatures=tuple(signatures or ()),
            notes=tuple(_dedupe(notes)),
            trust_anchors=anchors,
            problem=problem,
        )

    from signing.embedded_structure import orphaned_signatures, pades_diff_policy, raw_problems

    policy = pades_diff_policy()
    with open(path, "rb") as fh, _mapped(fh) as data:
        malformed: list[SignatureResult] = []
        try:
            reader = PdfFileReader(fh, strict=False)
            try:
                embedded = list(reader.embedded_signatures)
            except Exception:  # noqa: BLE001 - then field by field: one bad one is a finding
                embedded, malformed = _field_by_field(reader)
        except Exception as exc:  # noqa: BLE001 - hostile input: any parser failure is a finding
            if not _looks_signed(path):
                notes.append(f"pyHanko could not read the file's form ({_short(exc)})")
                return report()
            forged = raw_problems(data)
            if forged:
                notes.append(f"pyHanko could not read the signatures ({_short(exc)})")
                return report([_forged(forged)])
            return report(problem=f"the signatures could not be read ({_short(exc)})")
        referenced, unsupported = _referenced(reader)
        malformed += unsupported
        if not embedded:
            forged = raw_problems(data) if _looks_signed(path) else []
            forged = forged or orphaned_signatures(data, referenced)
            return report(malformed + ([_forged(forged)] if forged else []))
        findings = _findings(reader, embedded[:MAX_SIGNATURES], data, notes)
        pairs: list[tuple[Any, SignatureResult]] = []
        results: list[SignatureResult] = list(malformed)
        for index, sig in enumerate(embedded):
            if index >= MAX_SIGNATURES:
                notes.append(f"only the first {MAX_SIGNATURES} signatures were checked")
                results.append(
                    SignatureResult(
                        field="(more)",
                        kind="signature",
                        status=Status.INDETERMINATE,
                        reason=f"the file has more than {MAX_SIGNATURES} signatures",
                    )
                )
                break
            try:
                result = await _one(sig, roots, now, policy)
            except Exception as exc:  # noqa: BLE001 - one bad signature must not hide the rest
                result = SignatureResult(
                    field=_field_name(sig),
                    kind="signature",
                    status=Status.INDETERMINATE,
                    reason=f"the signature could not be validated ({_short(exc)})",
                )
            if findings.get(index):
                result = replace(
                    result,
                    status=Status.FAILED,
                    reason="modified after signing: " + "; ".join(findings[index]),
                    findings=tuple(findings[index]),
                    unmodified=False,
                )
            pairs.append((sig, result))
        results[:0] = await _with_proof_of_existence(pairs, roots, policy)
        orphans = orphaned_signatures(data, referenced + _byte_ranges(embedded))
        if orphans:
            results.append(_forged(orphans))
        return report(results)


@contextlib.contextmanager
def _mapped(fh: Any) -> Iterator[Any]:
    """The file's bytes without reading them all into memory."""
    try:
        view = mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ)
    except ValueError:  # an empty file cannot be mapped
        yield b""
        return
    try:
        yield view
    finally:
        view.close()


def _field_by_field(reader: Any) -> tuple[list[Any], list[SignatureResult]]:
    """The signatures pyHanko can read, and a FAILED result for each signature dictionary it
    cannot: a signature without its /ByteRange or /Contents (the "universal signature forgery"
    of the PDF-insecurity research) is broken, not merely uncheckable."""
    from pyhanko.sign.fields import enumerate_sig_fields
    from pyhanko.sign.validation.pdf_embedded import EmbeddedPdfSignature

    good: list[Any] = []
    bad: list[SignatureResult] = []
    for name, sig_obj, field in enumerate_sig_fields(reader, filled_status=True):
        try:
            if _subfilter(sig_obj) not in _SUPPORTED_SUBFILTERS:
                continue  # reported by _unsupported
            sig = EmbeddedPdfSignature(reader, field, name)
            int(sig.signed_revision)
            good.append(sig)
        except Exception as exc:  # noqa: BLE001 - the finding is the report
            problem = f"its signature dictionary is malformed ({_short(exc)})"
            bad.append(
                SignatureResult(
                    field=str(name),
                    kind="signature",
                    status=Status.FAILED,
                    reason=f"the signature is broken: {problem}",
                    findings=(problem,),
                )
            )
    good.sort(key=lambda s: int(s.signed_revision))
    return good, bad


_SUPPORTED_SUBFILTERS = {
    "/adbe.pkcs7.detached",
    "/ETSI.CAdES.detached",
    "/ETSI.RFC3161",
    "/PBAD.PAdES",
}


def _subfilter(sig_obj: Any) -> str:
    try:
        return str(sig_obj.get_object().get("/SubFilter"))
    except Exception:  # noqa: BLE001 - a damaged dictionary
        return "(unreadable)"


def _referenced(reader: Any) -> tuple[list[tuple[int, ...]], list[SignatureResult]]:
    """The /ByteRange of every filled signature field the document refers to, and an
    INDETERMINATE result for each whose /SubFilter pyHanko does not validate (the old
    ``adbe.pkcs7.sha1`` and ``adbe.x509.rsa_sha1``): never silently left out."""
    from pyhanko.sign.fields import enumerate_sig_fields

    ranges: list[tuple[int, ...]] = []
    unsupported: list[SignatureResult] = []
    try:
        for name, sig_obj, _field in enumerate_sig_fields(reader, filled_status=True):
            with contextlib.suppress(Exception):
                ranges.append(tuple(int(x) for x in sig_obj.get_object()["/ByteRange"]))
            subfilter = _subfilter(sig_obj)
            if subfilter not in _SUPPORTED_SUBFILTERS:
                unsupported.append(
                    SignatureResult(
                        field=str(name),
                        kind="signature",
                        status=Status.INDETERMINATE,
                        reason=f"its signature format (/SubFilter {subfilter}) cannot be "
                        "checked here: neither valid nor invalid",
                    )
                )
    except Exception:  # noqa: BLE001, S110 - a damaged form: the signatures found are judged
        pass
    return ranges, unsupported


def _byte_ranges(embedded: list[Any]) -> list[tuple[int, ...]]:
    out = []
    for sig in embedded:
        try:
            out.append(tuple(int(x) for x in sig.byte_range))
        except Exception:  # noqa: BLE001, S112 - a malformed one is reported on its own
            continue
    return out


def _forged(problems: list[str]) -> SignatureResult:
    return SignatureResult(
        field="(unreadable)",
        kind="signature",
        status=Status.FAILED,
        reason="the signatures are broken or forged: " + "; ".join(problems),
        findings=tuple(problems),
    )


def _findings(
    reader: Any, embedded: list[Any], data: Any, notes: list[str]
) -> dict[int, list[str]]:
    """The whole-file checks of :mod:`signing.embedded_structure`, per signature index."""
    from signing.embedded_structure import (
        byte_range_problems,
        changed_signed_values,
        xref_problems,
    )

    found: dict[int, list[str]] = {}
    ranges: list[tuple[str, Any]] = []
    for sig in embedded:
        try:
            ranges.append((_field_name(sig), list(sig.byte_range)))
        except Exception:  # noqa: BLE001 - a missing /ByteRange is judged as malformed
            ranges.append((_field_name(sig), None))
    for index, problems in byte_range_problems(data, ranges).items():
        found.setdefault(index, []).extend(problems)
    try:
        by_revision = xref_problems(reader)
    except Exception as exc:  # noqa: BLE001 - the xref check is best effort on a broken file
        notes.append(f"the cross-reference sections could not be compared ({_short(exc)})")
        by_revision = {}
    for index, sig in enumerate(embedded):
        try:
            signed = int(sig.signed_revision)
        except Exception:  # noqa: BLE001, S112 - no revision: pyHanko reports the damage
            continue
        for revision, problems in sorted(by_revision.items()):
            if revision > signed:
                found.setdefault(index, []).extend(problems)
        if signed < reader.xrefs.total_revisions - 1:
            found.setdefault(index, []).extend(changed_signed_values(reader, signed))
    return {i: list(dict.fromkeys(p)) for i, p in found.items() if p}


# a signer certificate that was valid once: a proof of existence from then makes it valid
_TIME_PROBLEMS = {"OUT_OF_BOUNDS_NO_POE", "EXPIRED", "OUT_OF_BOUNDS_NOT_REVOKED"}


async def _with_proof_of_existence(
    pairs: list[tuple[Any, SignatureResult]], roots: list[Any], policy: Any
) -> list[SignatureResult]:
    """Signatures and document timestamps whose certificate is no longer valid are validated
    again at the time of the earliest trusted timestamp that proves they existed: a signature's
    own signature timestamp, or a document timestamp in a later revision (PAdES-LTA, as the EU
    DSS validator does). Newest first, so that a document timestamp proven by a later one
    proves what came before it in turn: its own certificate is then checked at its own time."""
    proofs: list[tuple[int, datetime]] = []
    out: list[SignatureResult] = []
    for sig, res in reversed(pairs):
        revision = int(sig.signed_revision)
        if (
            res.status is Status.INDETERMINATE
            and res.intact
            and res.valid
            and res.trust_problem in _TIME_PROBLEMS
        ):
            times = [t for rev, t in proofs if rev > revision]
            if (
                res.kind == "signature"
                and res.timestamp_time
                and res.timestamp_valid
                and res.timestamp_trusted
            ):
                times.append(_parse_iso(res.timestamp_time))
            if times and res.kind == "document_timestamp" and res.timestamp_time:
                # a later timestamp proves this token existed by then: its TSA certificate is
                # checked at the token's own time, as long as that is not after the proof
                own = _parse_iso(res.timestamp_time)
                if own <= min(times):
                    res = await _validated_at(sig, res, roots, own, min(times), policy)
            elif times:
                res = await _validated_at(sig, res, roots, min(times), min(times), policy)
        if (
            res.kind == "document_timestamp"
            and res.status is Status.PASSED
            and res.timestamp_valid
            and res.timestamp_time
        ):
            proofs.append((revision, _parse_iso(res.timestamp_time)))
        out.append(res)
    return out[::-1]


async def _validated_at(
    sig: Any,
    first: SignatureResult,
    roots: list[Any],
    moment: datetime,
    proof: datetime,
    policy: Any,
) -> SignatureResult:
    """``sig`` validated again at ``moment``, which the timestamp of time ``proof`` proves it
    existed by; the first answer when it does not pass then either."""
    try:
        again = await _one(sig, roots, moment, policy)
    except Exception:  # noqa: BLE001 - keep the first answer
        return first
    if again.status is not Status.PASSED:
        return first
    changed = (
        ""
        if again.unmodified
        else f"; changed after signing as permitted ({again.modification_level})"
    )
    return replace(
        again,
        reason=(
            f"intact, valid and trusted at {_iso(moment)}, which a later timestamp "
            f"({_iso(proof)}) proves it existed by; its certificate is no longer valid "
            f"today{changed}"
        ),
        proof_of_existence=_iso(proof),
    )


def _parse_iso(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def _looks_signed(path: Path) -> bool:
    with open(path, "rb") as fh:
        while chunk := fh.read(1 << 20):
            if b"/ByteRange" in chunk or b"/Sig" in chunk:
                return True
    return False


def _field_name(sig: Any) -> str:
    try:
        return str(sig.field_name)
    except Exception:  # noqa: BLE001 - a damaged field dictionary
        return "(unnamed)"


def _name(name: Any) -> str:
    try:
        return str(name.human_friendly)
    except Exception:  # noqa: BLE001 - unusual name encodings
        return "(unreadable name)"


def _cert_facts(cert: Any) -> dict[str, Any]:
    if cert is None:
        return {}
    return {
        "signer_subject": _name(cert.subject),
        "signer_issuer": _name(cert.issuer),
        "signer_serial": format(cert.serial_number, "x"),
        "signer_cert_sha256": hashlib.sha256(cert.dump()).hexdigest(),
    }


def _sm_algorithm(sig: Any) -> str | None:
    """The name of an SM2/SM3 algorithm the signature uses, if it does."""
    si = sig.signer_info
    oids = [
        si["signature_algorithm"]["algorithm"].dotted,
        si["digest_algorithm"]["algorithm"].dotted,
    ]
    try:
        cert = sig.signer_cert
        oids.append(cert["signature_algorithm"]["algorithm"].dotted)
        key_algo = cert.public_key["algorithm"]
        oids.append(key_algo["algorithm"].dotted)
        params = key_algo["parameters"]
        if params.name == "named":
            oids.append(params.chosen.dotted)
    except Exception:  # noqa: BLE001, S110 - no certificate: the algorithms above decide
        pass
    for oid in oids:
        if oid in SM2_OIDS:
            return f"{SM2_OIDS[oid]} (OID {oid})"
        if oid in SM3_OIDS:
            return f"{SM3_OIDS[oid]} (OID {oid})"
    return None


def _claimed_time(sig: Any) -> str | None:
    from pyhanko.sign.validation.generic_cms import extract_self_reported_ts

    try:
        claimed = extract_self_reported_ts(sig.signer_info)
        if claimed is None:
            claimed = sig.self_reported_timestamp
        return _iso(claimed)
    except Exception:  # noqa: BLE001 - a malformed time is simply not reported
        return None


async def _one(
    sig: Any, roots: list[Any], now: datetime | None, policy: Any = None
) -> SignatureResult:
    from pyhanko.sign.diff_analysis import DiffResult, ModificationLevel
    from pyhanko.sign.validation import async_validate_pdf_signature
    from pyhanko.sign.validation.pdf_embedded import async_validate_pdf_timestamp
    from pyhanko.sign.validation.status import SignatureCoverageLevel
    from pyhanko_certvalidator import ValidationContext

    name = _field_name(sig)
    kind = "document_timestamp" if str(sig.sig_object_type) == "/DocTimeStamp" else "signature"
    si = sig.signer_info
    facts: dict[str, Any] = {
        "field": name,
        "kind": kind,
        "signature_algorithm": str(si["signature_algorithm"]["algorithm"].native),
        "signature_algorithm_oid": si["signature_algorithm"]["algorithm"].dotted,
        "digest_algorithm": str(si["digest_algorithm"]["algorithm"].native),
        "signing_time": _claimed_time(sig),
    }
    try:
        facts.update(_cert_facts(sig.signer_cert))
    except Exception as exc:  # noqa: BLE001 - a CMS without its signer certificate
        facts["trust_problem"] = f"signer certificate missing ({_short(exc)})"

    sm = _sm_algorithm(sig)
    if sm is not None:
        return _sm2_result(sig, facts, sm)

    def context() -> ValidationContext:
        return ValidationContext(
            trust_roots=roots,
            allow_fetching=False,
            revocation_mode="soft-fail",
            moment=now,
        )

    if kind == "document_timestamp":
        ts_status = await async_validate_pdf_timestamp(
            sig, validation_context=context(), diff_policy=policy
        )
        status_obj: Any = ts_status
        facts["timestamp_time"] = _iso(ts_status.timestamp)
        facts["timestamp_valid"] = ts_status.intact and ts_status.valid
        facts["timestamp_trusted"] = ts_status.trusted
    else:
        status_obj = await async_validate_pdf_signature(
            sig,
            signer_validation_context=context(),
            ts_validation_context=context(),
            diff_policy=policy,
        )
        tst = status_obj.timestamp_validity
        if tst is not None:
            facts["timestamp_time"] = _iso(tst.timestamp)
            facts["timestamp_valid"] = tst.intact and tst.valid
            facts["timestamp_trusted"] = tst.trusted
    coverage = status_obj.coverage
    level = status_obj.modification_level
    diff = status_obj.diff_result
    indic = status_obj.trust_problem_indic
    facts.update(
        intact=bool(status_obj.intact),
        valid=bool(status_obj.valid),
        trusted=bool(status_obj.trusted),
        coverage=coverage.name if coverage is not None else None,
        modification_level=level.name if level is not None else None,
        docmdp_ok=getattr(status_obj, "docmdp_ok", None),
        diff_problem=None if diff is None or isinstance(diff, DiffResult) else _short(diff),
        unmodified=(
            coverage == SignatureCoverageLevel.ENTIRE_FILE and level == ModificationLevel.NONE
        ),
    )
    if indic is not None:
        facts["trust_problem"] = getattr(indic, "name", str(indic))

    status, reason = _judge(facts, indic)
    return SignatureResult(status=status, reason=reason, **facts)


def _judge(facts: dict[str, Any], indic: Any) -> tuple[Status, str]:
    from pyhanko.sign.ades.report import AdESFailure

    if not facts["intact"]:
        return Status.FAILED, "the signed bytes were changed: their digest does not match"
    if not facts["valid"]:
        return Status.FAILED, "the signature value does not verify"
    coverage = facts["coverage"]
    if coverage not in ("ENTIRE_FILE", "ENTIRE_REVISION"):
        return Status.FAILED, (
            f"the signature does not cover its whole revision (coverage {coverage}): "
            "bytes outside the signed range can be changed unseen"
        )
    if facts["diff_problem"] is not None or facts["modification_level"] == "OTHER":
        return Status.FAILED, (
            "the file was changed after signing beyond what the signature permits"
            + (f": {facts['diff_problem']}" if facts["diff_problem"] else "")
        )
    if facts["docmdp_ok"] is False:
        return Status.FAILED, "the changes after signing violate the signature's DocMDP policy"
    if isinstance(indic, AdESFailure):
        return Status.FAILED, f"the signer's certificate failed validation ({indic.name})"
    changed = (
        ""
        if facts["unmodified"]
        else (f"; changed after signing as permitted ({facts['modification_level']})")
    )
    if not facts["trusted"]:
        problem = facts.get("trust_problem") or "NO_CERTIFICATE_CHAIN_FOUND"
        explained = _TRUST_PROBLEMS.get(problem, problem)
        return Status.INDETERMINATE, f"intact and valid, but {explained}{changed}"
    return Status.PASSED, "intact, valid and trusted" + changed


_TRUST_PROBLEMS = {
    "NO_CERTIFICATE_CHAIN_FOUND": "the signer's certificate does not chain to a trust anchor "
    "(add its root to ARCHIVE_EMBEDDED_TRUST_ANCHORS_FILE if it should)",
    "CHAIN_CONSTRAINTS_FAILURE": "the signer's certificate chain does not meet its constraints "
    "(self-signed, expired, or a wrong key usage)",
    "CRYPTO_CONSTRAINTS_FAILURE": "it uses an algorithm or key the validation policy does not "
    "allow",
    "OUT_OF_BOUNDS_NO_POE": "the signer's certificate was not valid at the validation time and "
    "no proof of existence covers the signing",
    "OUT_OF_BOUNDS_NOT_REVOKED": "the signer's certificate was not valid at the validation time",
    "REVOCATION_OUT_OF_BOUNDS_NO_POE": "the signer's certificate may be revoked",
    "TRY_LATER": "revocation information is not available yet",
    "SIGNED_DATA_NOT_FOUND": "the signed data could not be found",
}


def _sm2_result(sig: Any, facts: dict[str, Any], algorithm: str) -> SignatureResult:
    """An SM2/SM3 signature: say what can be said, and INDETERMINATE for the rest."""
    from pyhanko.sign.validation.utils import extract_message_digest

    coverage = None
    intact: bool | None = None
    try:
        sig.compute_integrity_info(skip_diff=True)
        cov = sig.coverage
        coverage = cov.name if cov is not None else None
    except Exception:  # noqa: BLE001, S110 - coverage needs the digest pyHanko cannot compute
        pass
    try:
        digest_oid = sig.signer_info["digest_algorithm"]["algorithm"].dotted
        digest_name = "sm3" if digest_oid in SM3_OIDS else str(facts["digest_algorithm"])
        h = hashlib.new(digest_name)
        stream = sig.reader.stream
        ranges = [int(x) for x in list(sig.byte_range)]
        for start, length in zip(ranges[::2], ranges[1::2], strict=True):
            stream.seek(int(start))
            h.update(stream.read(int(length)))
        intact = h.digest() == extract_message_digest(sig.signer_info)
    except Exception:  # noqa: BLE001, S110 - the digest itself cannot be computed here
        pass
    facts.update(intact=intact, valid=None, trusted=None, coverage=coverage)
    facts.setdefault("trust_problem", None)
    reason = (
        f"the signature uses {algorithm}, which cannot be checked here (the cryptography "
        "library has no SM2/SM3): neither valid nor invalid"
    )
    if intact is True:
        reason += "; the signed bytes' digest matches"
    elif intact is False:
        return SignatureResult(
            status=Status.FAILED,
            reason=f"the signed bytes were changed: their digest does not match ({algorithm})",
            **facts,
        )
    return SignatureResult(status=Status.INDETERMINATE, reason=reason, **facts)


class _Collect(logging.Handler):
    def __init__(self, sink: list[str]) -> None:
        super().__init__(logging.WARNING)
        self.sink = sink

    def emit(self, record: logging.LogRecord) -> None:
        self.sink.append(f"{record.name}: {record.getMessage()}"[:300])


def _dedupe(items: list[str]) -> list[str]:
    seen: dict[str, None] = {}
    for item in items:
        seen.setdefault(item, None)
    return list(seen)[:20]


__all__ = [
    "VERDICT_MODIFIED",
    "VERDICT_NONE",
    "VERDICT_PERMITTED",
    "VERDICT_UNCHECKABLE",
    "VERDICT_UNMODIFIED",
    "EmbeddedReport",
    "SignatureResult",
    "report_from_dict",
    "validate_embedded_signatures",
]
