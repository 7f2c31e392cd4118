"""The seal: a detached CAdES-B-T signature over the manifest bytes.

CMS SignedData (RFC 5652) with the ESS signing-certificate-v2 attribute (RFC 5035) and a
signing-time, made with pyHanko's ``Signer.async_sign_general_data(..., use_cades=True)``, then
an RFC 3161 timestamp over the signature value (the signature-time-stamp-token unsigned
attribute, which turns CAdES-B-B into B-T). Anyone can check it with ``openssl cms -verify``
(the seal) and ``openssl ts -verify`` (the timestamp).

The timestamp is requested through pyHanko's ``TimeStamper`` (the external TSA's HTTP client, or
the development TSA) and added to the signature in :mod:`signing.der`: see there for why.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from dataclasses import dataclass
from datetime import UTC, datetime

from asn1crypto import cms, tsp
from pyhanko.sign.general import SigningError as PyHankoSigningError
from pyhanko.sign.signers import SimpleSigner
from pyhanko.sign.timestamps.api import TimeStamper
from pyhanko.sign.timestamps.common_utils import TimestampRequestError
from pyhanko_certvalidator.registry import SimpleCertificateStore

from signing.der import add_signature_timestamp
from signing.errors import SealFailed, TimestampUnavailable
from signing.keys import SealKeys, to_asn1

log = logging.getLogger(__name__)

DIGEST = "sha256"
_TSA_HINT = (
    "check ARCHIVE_TSA_URL and the network; `contract-archive seal --pending` seals the "
    "waiting manifests later"
)


@dataclass(frozen=True)
class SealResult:
    p7s: bytes
    """The DER-encoded CMS ContentInfo."""
    key_id: str


class Sealer:
    """Seals manifests with one key and one timestamper."""

    def __init__(self, keys: SealKeys, timestamper: TimeStamper) -> None:
        self.keys = keys
        self.timestamper = timestamper

    def _signer(self) -> SimpleSigner:
        return SimpleSigner(
            signing_cert=self.keys.asn1_seal_cert(),
            signing_key=self.keys.asn1_seal_key(),
            cert_registry=SimpleCertificateStore.from_certs(  # type: ignore[no-untyped-call]
                [to_asn1(c) for c in self.keys.chain]
            ),
        )

    def seal(self, manifest: bytes) -> SealResult:
        return asyncio.run(self.async_seal(manifest))

    async def async_seal(self, manifest: bytes) -> SealResult:
        cert = self.keys.seal_cert
        now = datetime.now(UTC)
        if not cert.not_valid_before_utc <= now <= cert.not_valid_after_utc:
            raise SealFailed(
                f"the seal certificate is not valid now (valid from "
                f"{cert.not_valid_before_utc:%Y-%m-%d} to {cert.not_valid_after_utc:%Y-%m-%d})",
                hint="renew the seal certificate (ARCHIVE_SEAL_CERT_FILE); the manifests wait "
                "as pending until `contract-archive seal --pending`",
            )
        try:
            signed = await self._signer().async_sign_general_data(
                manifest, DIGEST, detached=True, use_cades=True, timestamper=None
            )
        except (PyHankoSigningError, ValueError, TypeError) as exc:
            raise SealFailed(f"the manifest could not be signed: {exc}") from exc
        b_b = signed.dump()
        signature = cms.ContentInfo.load(b_b)["content"]["signer_infos"][0]["signature"].native
        imprint = hashlib.sha256(signature).digest()
        try:
            token = await self.timestamper.async_timestamp(imprint, DIGEST)
        except TimestampRequestError as exc:
            cause = exc.__cause__ or exc
            raise TimestampUnavailable(
                f"the time-stamping authority did not grant a timestamp: {cause}",
                hint=_TSA_HINT,
            ) from exc
        except (OSError, ValueError) as exc:
            raise TimestampUnavailable(
                f"the time-stamping authority cannot be reached: {exc}", hint=_TSA_HINT
            ) from exc
        token_der = token.dump()
        _check_token(token_der, imprint)
        p7s = add_signature_timestamp(b_b, token_der)
        # Parse the result back: the seal must be what we meant, or nothing.
        si = cms.ContentInfo.load(p7s)["content"]["signer_infos"][0]
        if si["signature"].native != signature or si["unsigned_attrs"][0]["values"][0].dump() != (
            token_der
        ):
            raise SealFailed("the timestamped seal did not round-trip")
        return SealResult(p7s=p7s, key_id=self.keys.key_id)


def _check_token(token_der: bytes, imprint: bytes) -> None:
    """The TSA must have stamped what we asked for."""
    try:
        token = cms.ContentInfo.load(token_der)
        info = token["content"]["encap_content_info"]["content"].parsed
        assert isinstance(info, tsp.TSTInfo)
        stamped = info["message_imprint"]["hashed_message"].native
    except (ValueError, KeyError, TypeError, AssertionError) as exc:
        raise TimestampUnavailable(
            f"the time-stamping authority answered with an unreadable token ({exc})",
            hint=_TSA_HINT,
        ) from exc
    if stamped != imprint:
        raise TimestampUnavailable(
            "the time-stamping authority stamped a different digest than the one sent",
            hint=_TSA_HINT,
        )
