"""RFC 3161 timestamps for the seal: an external TSA in production, an in-process development
TSA otherwise.

:class:`DevelopmentTimeStampAuthority` answers RFC 3161 requests in process with the development
TSA key. Its tokens are real RFC 3161 tokens (``openssl ts -verify`` accepts them), but the
authority is this machine itself: the class name says so, and it logs a warning when made.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
import uuid
from datetime import UTC, datetime
from typing import Any

from asn1crypto import algos, cms, core, tsp
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from pyhanko.sign.general import as_signing_certificate_v2, simple_cms_attribute
from pyhanko.sign.timestamps import HTTPTimeStamper
from pyhanko.sign.timestamps.api import TimeStamper

from signing.keys import to_asn1

log = logging.getLogger(__name__)

_DIGESTS = {"sha256": 32, "sha384": 48, "sha512": 64}


def development_policy_oid(cert: x509.Certificate) -> str:
    """A policy OID of the development TSA under the UUID arc 2.25 (ITU-T X.667), derived from
    its certificate, so that it names this authority and nobody else's policy."""
    digest = hashlib.sha256(cert.fingerprint(hashes.SHA256())).digest()[:16]
    return f"2.25.{uuid.UUID(bytes=digest, version=4).int}"


def _attr(name: str, value: Any) -> Any:
    return simple_cms_attribute(name, value)  # type: ignore[no-untyped-call]


class DevelopmentTimeStampAuthority(TimeStamper):
    """An RFC 3161 time-stamping authority inside this process, for development only."""

    def __init__(
        self,
        cert: x509.Certificate,
        key: ec.EllipticCurvePrivateKey,
        chain: tuple[x509.Certificate, ...] = (),
        *,
        clock: type[datetime] = datetime,
    ) -> None:
        super().__init__(include_nonce=True)  # type: ignore[no-untyped-call]
        self._cert = cert
        self._chain_certs = tuple(chain)
        self._key = key
        self._policy = development_policy_oid(cert)
        self._clock = clock
        log.warning(
            "timestamps come from the in-process DevelopmentTimeStampAuthority; "
            "set ARCHIVE_TSA_URL to use a real time-stamping authority"
        )

    def respond(self, request: tsp.TimeStampReq) -> tsp.TimeStampResp:
        """Answer one request, as a TSA server would."""
        imprint: tsp.MessageImprint = request["message_imprint"]
        algorithm = imprint["hash_algorithm"]["algorithm"].native
        hashed = imprint["hashed_message"].native
        if algorithm not in _DIGESTS or len(hashed) != _DIGESTS[algorithm]:
            return tsp.TimeStampResp(
                {
                    "status": tsp.PKIStatusInfo(
                        {
                            "status": tsp.PKIStatus("rejection"),
                            "fail_info": tsp.PKIFailureInfo({"bad_alg"}),
                        }
                    )
                }
            )
        # Fresh asn1crypto objects per response: an object reused inside several structures
        # is re-tagged and copied by asn1crypto on every use (seals then took 400 ms).
        tsa_cert = to_asn1(self._cert)
        chain = [to_asn1(c) for c in self._chain_certs]
        now = self._clock.now(UTC)
        if not self._cert.not_valid_before_utc <= now <= self._cert.not_valid_after_utc:
            # A TSA does not stamp with a certificate that is not valid (RFC 3161 §2.4.2).
            return tsp.TimeStampResp(
                {
                    "status": tsp.PKIStatusInfo(
                        {
                            "status": tsp.PKIStatus("rejection"),
                            "status_string": ["the TSA certificate is not valid now"],
                            "fail_info": tsp.PKIFailureInfo({"system_failure"}),
                        }
                    )
                }
            )
        info: dict[str, object] = {
            "version": "v1",
            "policy": tsp.ObjectIdentifier(self._policy),
            "message_imprint": imprint,
            "serial_number": secrets.randbits(63) | 1,
            "gen_time": core.GeneralizedTime(now),
            "accuracy": tsp.Accuracy({"seconds": 1}),
            "ordering": False,
            "tsa": asn1_x509.GeneralName(name="directory_name", value=tsa_cert.subject),
        }
        if request["nonce"].native is not None:
            info["nonce"] = request["nonce"]
        tst_info = tsp.TSTInfo(info).dump()
        signed_attrs = cms.CMSAttributes(
            [
                _attr("content_type", "tst_info"),
                _attr("signing_time", cms.Time({"utc_time": core.UTCTime(now)})),
                _attr("message_digest", hashlib.sha256(tst_info).digest()),
                _attr("signing_certificate_v2", as_signing_certificate_v2(tsa_cert)),
            ]
        )
        signature = self._key.sign(signed_attrs.dump(), ec.ECDSA(hashes.SHA256()))
        digest_algorithm = algos.DigestAlgorithm({"algorithm": "sha256"})
        signer_info = cms.SignerInfo(
            {
                "version": "v1",
                "sid": cms.SignerIdentifier(
                    {
                        "issuer_and_serial_number": cms.IssuerAndSerialNumber(
                            {
                                "issuer": tsa_cert.issuer,
                                "serial_number": tsa_cert.serial_number,
                            }
                        )
                    }
                ),
                "digest_algorithm": digest_algorithm,
                "signature_algorithm": algos.SignedDigestAlgorithm({"algorithm": "sha256_ecdsa"}),
                "signed_attrs": signed_attrs,
                "signature": signature,
            }
        )
        signed_data = cms.SignedData(
            {
                "version": "v3",
                "digest_algorithms": cms.DigestAlgorithms([digest_algorithm]),
                "encap_content_info": cms.EncapsulatedContentInfo(
                    {
                        "content_type": "tst_info",
                        "content": cms.ParsableOctetString(tst_info),
                    }
                ),
                "certificates": [tsa_cert, *chain],
                "signer_infos": [signer_info],
            }
        )
        token = cms.ContentInfo({"content_type": "signed_data", "content": signed_data})
        return tsp.TimeStampResp(
            {
                "status": tsp.PKIStatusInfo({"status": tsp.PKIStatus("granted")}),
                "time_stamp_token": token,
            }
        )

    async def async_request_tsa_response(self, req: tsp.TimeStampReq) -> tsp.TimeStampResp:
        # Through bytes, as from a TSA server: a freshly built asn1crypto tree placed inside the
        # seal's unsigned attributes is deep-copied and re-encoded by asn1crypto's re-tagging
        # (400 ms a seal, measured), a parsed one is not (20 ms).
        return tsp.TimeStampResp.load(self.respond(req).dump())


def http_timestamper(url: str, timeout: float) -> TimeStamper:
    """The client of an external RFC 3161 TSA (pyHanko's, on aiohttp)."""
    return HTTPTimeStamper(url, timeout=timeout)
