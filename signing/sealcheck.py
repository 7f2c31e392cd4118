"""Checking a seal: the signature, the seal certificate and the timestamp, as three checks.

* **seal signature**: the manifest's digest equals the signed message-digest attribute
  (``intact``) and the signature over the signed attributes verifies (``valid``), with the ESS
  signing-certificate-v2 attribute naming the certificate that signed;
* **seal certificate**: it chains to a trust anchor and was valid at the timestamp's genTime
  (not at the time of checking: a seal stays good after its certificate expires);
* **timestamp**: the RFC 3161 token's signature is valid, its message imprint is the SHA-256 of
  the seal's signature value, and the TSA's certificate chains to a trust anchor.

Each check is judged on its own, so that a change to one part fails exactly one check: a changed
signed attribute breaks the signature but not the timestamp (which covers the signature value);
a changed timestamp breaks the timestamp but not the signature (it is an unsigned attribute).
pyHanko's ``async_validate_detached_cms`` does the cryptography and path building.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import logging
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from asn1crypto import cms, tsp
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from pyhanko.sign.validation.errors import SignatureValidationError
from pyhanko.sign.validation.generic_cms import async_validate_detached_cms
from pyhanko.sign.validation.settings import KeyUsageConstraints
from pyhanko_certvalidator import ValidationContext

from signing.keys import to_asn1
from signing.report import (
    SEAL_CERTIFICATE,
    SEAL_SIGNATURE,
    TIMESTAMP,
    Check,
    failed,
    indeterminate,
    passed,
)

log = logging.getLogger(__name__)


def _memoise_name_preparation() -> None:
    """asn1crypto prepares every certificate name for comparison (RFC 4518 string preparation,
    stringprep tables in pure Python) afresh for each parsed copy of a certificate, and pyHanko
    compares the seal's and the TSA's names several times per seal: about a third of a seal
    check's CPU, profiled over a fixity audit. The preparation is a pure function of the string,
    so it is memoised (bounded) for the process; a value that cannot be a key is prepared as
    before."""
    cls: Any = asn1_x509.NameTypeAndValue
    if getattr(cls, "_prep_memoised", False):
        return
    prepare = cls._ldap_string_prep

    @functools.lru_cache(maxsize=4096)
    def prepared(string: str) -> str:
        return str(prepare(None, string))

    def _ldap_string_prep(self: Any, string: Any) -> str:
        try:
            hash(string)
        except TypeError:
            return str(prepare(self, string))
        return prepared(string)

    cls._ldap_string_prep = _ldap_string_prep
    cls._prep_memoised = True
    cls._prep_unmemoised = prepare  # for the test that both agree


_memoise_name_preparation()


@functools.lru_cache(maxsize=8)
def _anchors_asn1(anchor_certs: tuple[x509.Certificate, ...]) -> list[Any]:
    """The trust anchors in asn1crypto's form, converted once per set of anchors (not once per
    seal: a fixity audit checks every seal against the same anchors)."""
    return [to_asn1(c) for c in anchor_certs]


_KEY_USAGE = KeyUsageConstraints(
    key_usage={"digital_signature", "non_repudiation"}, match_all_key_usages=False
)


@dataclass(frozen=True)
class SealChecks:
    signature: Check
    certificate: Check
    timestamp: Check
    timestamp_time: datetime | None = None
    signer_subject: str | None = None

    def all(self) -> tuple[Check, Check, Check]:
        return (self.signature, self.certificate, self.timestamp)


def _quiet() -> Any:
    """pyHanko logs a warning for every untrusted or broken signature; the report says it."""
    logger = logging.getLogger("pyhanko")
    return _Level(logger, logging.ERROR)


class _Level:
    def __init__(self, logger: logging.Logger, level: int) -> None:
        self.logger, self.level, self.saved = logger, level, logger.level

    def __enter__(self) -> None:
        self.logger.setLevel(self.level)

    def __exit__(self, *exc: object) -> None:
        self.logger.setLevel(self.saved)


def check_seal(
    manifest: bytes,
    p7s: bytes,
    anchors: Sequence[x509.Certificate],
    *,
    now: datetime | None = None,
) -> SealChecks:
    with _quiet(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return asyncio.run(_check(manifest, p7s, anchors, now or datetime.now(UTC)))


def _unreadable(reason: str) -> SealChecks:
    why = "the seal cannot be read, so this cannot be checked"
    return SealChecks(
        signature=failed(SEAL_SIGNATURE, reason),
        certificate=indeterminate(SEAL_CERTIFICATE, why),
        timestamp=indeterminate(TIMESTAMP, why),
    )


def _describe(cert: Any) -> dict[str, Any]:
    try:
        return {
            "subject": cert.subject.human_friendly,
            "issuer": cert.issuer.human_friendly,
            "serial": format(cert.serial_number, "x"),
            "not_before": cert["tbs_certificate"]["validity"]["not_before"].native.isoformat(),
            "not_after": cert["tbs_certificate"]["validity"]["not_after"].native.isoformat(),
            "sha256": hashlib.sha256(cert.dump()).hexdigest(),
        }
    except (ValueError, KeyError, AttributeError):
        return {}


async def _check(
    manifest: bytes, p7s: bytes, anchor_certs: Sequence[x509.Certificate], now: datetime
) -> SealChecks:
    try:
        content = cms.ContentInfo.load(p7s, strict=True)
        if content["content_type"].native != "signed_data":
            return _unreadable("the seal is not a CMS SignedData")
        signed_data = content["content"]
        signer_infos = signed_data["signer_infos"]
        if len(signer_infos) != 1:
            return _unreadable(f"the seal has {len(signer_infos)} signers instead of one")
        signer_info = signer_infos[0]
        signature_value: bytes = signer_info["signature"].native
        # Not ``signer_info.native``: asn1crypto takes 500 ms to build it (measured).
        signer_info["signed_attrs"].dump()
    except (ValueError, TypeError, KeyError) as exc:
        return _unreadable(f"the seal is not a readable CMS structure ({exc})")

    # --- the timestamp token, read but not yet trusted
    token = None
    gen_time: datetime | None = None
    imprint_ok = False
    token_problem = None
    try:
        for attr in signer_info["unsigned_attrs"] or []:
            if attr["type"].native == "signature_time_stamp_token":
                token = attr["values"][0]
                break
        if token is not None:
            info = token["content"]["encap_content_info"]["content"].parsed
            if not isinstance(info, tsp.TSTInfo):
                raise ValueError("the token does not hold a TSTInfo")
            gen_time = info["gen_time"].native
            algo = info["message_imprint"]["hash_algorithm"]["algorithm"].native
            stamped = info["message_imprint"]["hashed_message"].native
            imprint_ok = hashlib.new(algo, signature_value).digest() == stamped
    except (ValueError, TypeError, KeyError) as exc:
        token_problem = f"the timestamp token cannot be read ({exc})"
        token = None

    anchors = list(_anchors_asn1(tuple(anchor_certs)))

    def context(moment: datetime) -> ValidationContext:
        return ValidationContext(
            trust_roots=anchors, allow_fetching=False, revocation_mode="soft-fail", moment=moment
        )

    moment = gen_time or now
    try:
        status = await async_validate_detached_cms(
            manifest,
            signed_data,
            signer_validation_context=context(moment),
            ts_validation_context=context(moment),
            key_usage_settings=_KEY_USAGE,
        )
    except (SignatureValidationError, ValueError, TypeError, KeyError) as exc:
        # A damaged timestamp can stop pyHanko's whole validation; judge the signature alone.
        try:
            signed_data = _without_unsigned(signed_data)
            status = await async_validate_detached_cms(
                manifest,
                signed_data,
                signer_validation_context=context(now),
                key_usage_settings=_KEY_USAGE,
            )
            token_problem = token_problem or f"the timestamp token is damaged ({exc})"
            gen_time = None
        except (SignatureValidationError, ValueError, TypeError, KeyError) as exc2:
            return _unreadable(f"the seal could not be validated ({exc2})")

    signer = _describe(status.signing_cert)

    # --- 1. the seal signature
    if not status.intact:
        signature = failed(
            SEAL_SIGNATURE,
            "the manifest does not match the seal: its digest differs from the signed one",
            signer=signer,
        )
    elif not status.valid:
        signature = failed(
            SEAL_SIGNATURE,
            "the seal's signature value does not verify (the signed attributes were changed "
            "or the signature is damaged)",
            signer=signer,
        )
    else:
        signature = passed(
            SEAL_SIGNATURE,
            f"the manifest is exactly what {signer.get('subject', 'the seal key')} signed",
            signer=signer,
            algorithm=status.pkcs7_signature_mechanism,
            digest=status.md_algorithm,
            signing_time=_iso(status.signer_reported_dt),
        )

    # --- 3. the timestamp
    tst = status.timestamp_validity
    ts_details: dict[str, Any] = {"gen_time": _iso(gen_time)}
    timestamp_ok = False
    if token is None:
        timestamp = failed(
            TIMESTAMP, token_problem or "the seal carries no timestamp token", **ts_details
        )
    elif tst is None:
        timestamp = failed(TIMESTAMP, token_problem or "the timestamp token was not validated")
    else:
        ts_details["tsa"] = _describe(tst.signing_cert)
        if not imprint_ok:
            timestamp = failed(
                TIMESTAMP,
                "the timestamp's imprint is not the digest of the seal's signature: it stamps "
                "something else",
                **ts_details,
            )
        elif not (tst.intact and tst.valid):
            timestamp = failed(
                TIMESTAMP,
                "the timestamp token's signature does not verify (the token was changed)",
                **ts_details,
            )
        elif not tst.trusted:
            timestamp = indeterminate(
                TIMESTAMP,
                "the timestamp is intact but its TSA does not chain to a trust anchor "
                f"({_indic(tst.trust_problem_indic)})",
                **ts_details,
            )
        else:
            timestamp_ok = True
            timestamp = passed(
                TIMESTAMP,
                f"the seal existed at {_iso(gen_time)} (genTime), attested by "
                f"{ts_details['tsa'].get('subject', 'the TSA')}",
                **ts_details,
            )

    # --- 2. the seal certificate, at the timestamp time
    cert_details = {"certificate": signer, "checked_at": _iso(moment)}
    if not (status.intact and status.valid):
        certificate = indeterminate(
            SEAL_CERTIFICATE,
            "the seal signature does not verify, so its certificate proves nothing",
            **cert_details,
        )
    elif not timestamp_ok:
        certificate = indeterminate(
            SEAL_CERTIFICATE,
            "the time of sealing is not proven (the timestamp did not pass), so the "
            "certificate's validity at that time cannot be established",
            **cert_details,
        )
    elif status.trusted:
        certificate = passed(
            SEAL_CERTIFICATE,
            f"chains to the trust anchor {status.validation_path[0].subject.human_friendly} "  # type: ignore[index]
            f"and was valid at the timestamp time {_iso(gen_time)}",
            **cert_details,
        )
    else:
        indic = _indic(status.trust_problem_indic)
        window = _outside_validity(status.signing_cert, moment)
        if window is not None:
            certificate = failed(
                SEAL_CERTIFICATE,
                f"the seal certificate was not valid at the timestamp time: {window}",
                **cert_details,
            )
        elif indic.startswith("AdESFailure"):
            certificate = failed(
                SEAL_CERTIFICATE,
                f"the seal certificate failed validation ({indic})",
                **cert_details,
            )
        else:
            certificate = indeterminate(
                SEAL_CERTIFICATE,
                f"the seal certificate does not chain to a configured trust anchor ({indic})",
                **cert_details,
            )
    return SealChecks(
        signature=signature,
        certificate=certificate,
        timestamp=timestamp,
        timestamp_time=gen_time if timestamp_ok else None,
        signer_subject=signer.get("subject"),
    )


def _without_unsigned(signed_data: cms.SignedData) -> cms.SignedData:
    copy = cms.SignedData.load(signed_data.dump())
    si = copy["signer_infos"][0]
    si["unsigned_attrs"] = cms.CMSAttributes([])
    return cms.SignedData.load(copy.dump())


def _outside_validity(cert: Any, moment: datetime) -> str | None:
    validity = cert["tbs_certificate"]["validity"]
    not_before = validity["not_before"].native
    not_after = validity["not_after"].native
    if moment < not_before:
        return f"it became valid only at {_iso(not_before)}, after {_iso(moment)}"
    if moment > not_after:
        return f"it expired at {_iso(not_after)}, before {_iso(moment)}"
    return None


def _indic(indic: Any) -> str:
    if indic is None:
        return "no path to a trust anchor"
    return f"{type(indic).__name__}.{getattr(indic, 'name', indic)}"


def _iso(value: datetime | None) -> str | None:
    if value is None:
        return None
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")
