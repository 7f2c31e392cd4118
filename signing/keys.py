"""The seal's key material: development keys made on first start, or production keys from
files.

**Development** (no ``ARCHIVE_SEAL_KEY_FILE``): on first start a development root, a seal
certificate and a time-stamping certificate are generated under ``DATA_DIR/keys`` (EC P-256;
key files mode 0600, the folder 0700). They are made in a temporary folder that is renamed into
place, so two processes starting at once end up with the same keys. Every start logs a loud
warning and every verification report says that development keys are in use: a seal made with
them proves nothing to anybody who does not already trust this machine.

**Production**: the seal key and certificate come from a PEM key plus PEM certificate, or from a
PKCS#12 file; the passphrase comes from ``ARCHIVE_SEAL_KEY_PASSPHRASE`` in the environment; the
trust anchors from ``ARCHIVE_TRUST_ANCHORS_FILE``.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import shutil
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from asn1crypto import keys as asn1_keys
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from signing.errors import KeyMaterialError

log = logging.getLogger(__name__)

DEVELOPMENT_WARNING = (
    "DEVELOPMENT SEAL KEYS IN USE: seals and timestamps are made with keys generated on this "
    "machine ({where}); they prove nothing to a court or an auditor. For production set "
    "ARCHIVE_SEAL_KEY_FILE, ARCHIVE_TSA_URL and ARCHIVE_TRUST_ANCHORS_FILE."
)

ROOT_CERT = "root.pem"
ROOT_KEY = "root.key"
SEAL_CERT = "seal.pem"
SEAL_KEY = "seal.key"
TSA_CERT = "tsa.pem"
TSA_KEY = "tsa.key"
_KEY_FILES = (ROOT_KEY, SEAL_KEY, TSA_KEY)

SignableKey = ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey | ed25519.Ed25519PrivateKey


@dataclass(frozen=True)
class SealKeys:
    """Everything needed to seal and to check seals."""

    seal_cert: x509.Certificate
    seal_key: SignableKey
    chain: tuple[x509.Certificate, ...]
    """Certificates between the seal certificate and its root (the root included in
    development), embedded in every seal."""
    anchors: tuple[x509.Certificate, ...]
    """Roots trusted for the seal and for its timestamps."""
    development: bool
    location: str
    """Where the keys came from, for messages."""
    tsa_cert: x509.Certificate | None = None
    tsa_key: ec.EllipticCurvePrivateKey | None = None
    """The in-process development TSA's certificate and key (development only)."""
    tsa_chain: tuple[x509.Certificate, ...] = field(default_factory=tuple)

    @property
    def key_id(self) -> str:
        return key_id(self.seal_cert)

    @property
    def warning(self) -> str | None:
        if self.development:
            return DEVELOPMENT_WARNING.format(where=self.location)
        return None

    # asn1crypto forms, as pyHanko wants them
    def asn1_seal_cert(self) -> asn1_x509.Certificate:
        return to_asn1(self.seal_cert)

    def asn1_seal_key(self) -> asn1_keys.PrivateKeyInfo:
        return asn1_keys.PrivateKeyInfo.load(
            self.seal_key.private_bytes(
                serialization.Encoding.DER,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )


def to_asn1(cert: x509.Certificate) -> asn1_x509.Certificate:
    return asn1_x509.Certificate.load(cert.public_bytes(serialization.Encoding.DER))


def key_id(cert: x509.Certificate) -> str:
    """The key id: SHA-256 of the certificate's SubjectPublicKeyInfo, in hex."""
    spki = cert.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return "sha256:" + hashlib.sha256(spki).hexdigest()


def fingerprint(cert: x509.Certificate) -> str:
    return cert.fingerprint(hashes.SHA256()).hex()


def pem(certs: tuple[x509.Certificate, ...] | list[x509.Certificate]) -> bytes:
    return b"".join(c.public_bytes(serialization.Encoding.PEM) for c in certs)


def load_pem_bundle(path: Path, what: str) -> list[x509.Certificate]:
    """Every certificate in a PEM (or single DER) file; a clear error otherwise."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise KeyMaterialError(
            f"{what} {path} cannot be read: {exc.strerror or exc}",
            hint="check the path and its permissions",
        ) from exc
    try:
        if b"-----BEGIN" in data:
            certs = x509.load_pem_x509_certificates(data)
        else:
            certs = [x509.load_der_x509_certificate(data)]
    except ValueError as exc:
        raise KeyMaterialError(
            f"{what} {path} holds no readable certificate ({exc})",
            hint="give a PEM file with one or more '-----BEGIN CERTIFICATE-----' blocks",
        ) from exc
    if not certs:
        raise KeyMaterialError(f"{what} {path} holds no certificate")
    return certs


# --- production keys ------------------------------------------------------------------------
def load_production_keys(
    *,
    key_file: Path,
    cert_file: Path | None,
    chain_file: Path | None,
    passphrase: str | None,
    anchors: list[x509.Certificate],
) -> SealKeys:
    chain: list[x509.Certificate] = []
    if chain_file is not None:
        chain = load_pem_bundle(chain_file, "ARCHIVE_SEAL_CHAIN_FILE")
    password = passphrase.encode() if passphrase else None
    try:
        data = key_file.read_bytes()
    except OSError as exc:
        raise KeyMaterialError(
            f"ARCHIVE_SEAL_KEY_FILE {key_file} cannot be read: {exc.strerror or exc}",
            hint="check the path and that the archive's user may read it",
        ) from exc
    key: object
    cert: x509.Certificate | None = None
    if key_file.suffix.lower() in (".p12", ".pfx"):
        try:
            loaded = pkcs12.load_pkcs12(data, password)
        except (ValueError, UnsupportedAlgorithm) as exc:
            raise KeyMaterialError(
                f"the PKCS#12 file {key_file} cannot be opened ({exc})",
                hint="check ARCHIVE_SEAL_KEY_PASSPHRASE",
            ) from exc
        key = loaded.key
        cert = loaded.cert.certificate if loaded.cert else None
        chain = [c.certificate for c in loaded.additional_certs] + chain
    else:
        try:
            key = serialization.load_pem_private_key(data, password)
        except TypeError as exc:
            raise KeyMaterialError(
                f"the seal key {key_file} is encrypted and no passphrase was given"
                if password is None
                else f"the seal key {key_file} is not encrypted but a passphrase was given",
                hint="set ARCHIVE_SEAL_KEY_PASSPHRASE in the environment"
                if password is None
                else "unset ARCHIVE_SEAL_KEY_PASSPHRASE",
            ) from exc
        except (ValueError, UnsupportedAlgorithm) as exc:
            raise KeyMaterialError(
                f"the seal key {key_file} cannot be read ({exc})",
                hint="give a PEM private key (PKCS#8 or traditional) or a .p12/.pfx file; "
                "check ARCHIVE_SEAL_KEY_PASSPHRASE",
            ) from exc
        if cert_file is None:
            raise KeyMaterialError(
                "ARCHIVE_SEAL_CERT_FILE is not set",
                hint="give the seal certificate as PEM, or use a PKCS#12 file with both",
            )
    if cert_file is not None:
        cert = load_pem_bundle(cert_file, "ARCHIVE_SEAL_CERT_FILE")[0]
    if cert is None or key is None:
        raise KeyMaterialError(f"{key_file} does not hold both a key and a certificate")
    if isinstance(key, rsa.RSAPrivateKey):
        if key.key_size < 2048:
            raise KeyMaterialError(f"the seal key is RSA-{key.key_size}; at least 2048 bits")
    elif isinstance(key, ec.EllipticCurvePrivateKey):
        if key.curve.key_size < 256:
            raise KeyMaterialError(f"the seal key's curve {key.curve.name} is too small")
    elif isinstance(key, ed448.Ed448PrivateKey) or not isinstance(key, ed25519.Ed25519PrivateKey):
        raise KeyMaterialError(
            f"the seal key is a {type(key).__name__}; use EC P-256 (recommended) or RSA"
        )
    if _public_der(cert) != _public_der_of_key(key):
        raise KeyMaterialError(
            "the seal certificate does not belong to the seal key",
            hint="check that ARCHIVE_SEAL_CERT_FILE and ARCHIVE_SEAL_KEY_FILE are a pair",
        )
    return SealKeys(
        seal_cert=cert,
        seal_key=key,
        chain=tuple(c for c in chain if c != cert),
        anchors=tuple(anchors),
        development=False,
        location=str(key_file),
    )


def _public_der(cert: x509.Certificate) -> bytes:
    return cert.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def _public_der_of_key(key: SignableKey) -> bytes:
    return key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )


# --- development keys -----------------------------------------------------------------------
def load_or_create_development_keys(
    directory: Path, *, extra_anchors: list[x509.Certificate] | None = None
) -> SealKeys:
    """The development keys under ``directory``, generated on first use."""
    if not (directory / SEAL_KEY).is_file():
        _create_development_keys(directory)
    _check_private(directory)
    try:
        root = x509.load_pem_x509_certificate((directory / ROOT_CERT).read_bytes())
        seal_cert = x509.load_pem_x509_certificate((directory / SEAL_CERT).read_bytes())
        tsa_cert = x509.load_pem_x509_certificate((directory / TSA_CERT).read_bytes())
        seal_key = serialization.load_pem_private_key((directory / SEAL_KEY).read_bytes(), None)
        tsa_key = serialization.load_pem_private_key((directory / TSA_KEY).read_bytes(), None)
    except (OSError, ValueError) as exc:
        raise KeyMaterialError(
            f"the development keys under {directory} are damaged ({exc})",
            hint=f"remove {directory} to generate new ones (existing seals will then no "
            "longer chain to the new development root)",
        ) from exc
    assert isinstance(seal_key, ec.EllipticCurvePrivateKey)
    assert isinstance(tsa_key, ec.EllipticCurvePrivateKey)
    return SealKeys(
        seal_cert=seal_cert,
        seal_key=seal_key,
        chain=(root,),
        anchors=(root, *(extra_anchors or [])),
        development=True,
        location=str(directory),
        tsa_cert=tsa_cert,
        tsa_key=tsa_key,
        tsa_chain=(root,),
    )


def _check_private(directory: Path) -> None:
    for name in _KEY_FILES:
        path = directory / name
        with contextlib.suppress(FileNotFoundError):
            mode = path.stat().st_mode & 0o777
            if mode & 0o077:
                log.warning("%s has mode %o; tightening it to 0600", path, mode)
                os.chmod(path, 0o600)


def _write(path: Path, data: bytes, mode: int) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    os.chmod(path, mode)  # the umask may have taken bits away, never added any


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def _name(role: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "contract-archive development keys"),
            x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, "NOT FOR PRODUCTION"),
            x509.NameAttribute(NameOID.COMMON_NAME, f"contract-archive DEVELOPMENT {role}"),
        ]
    )


def make_certificate(
    *,
    subject: x509.Name,
    key: ec.EllipticCurvePrivateKey,
    issuer: x509.Name,
    issuer_key: ec.EllipticCurvePrivateKey,
    not_before: datetime,
    not_after: datetime,
    ca: bool = False,
    purpose: str = "seal",
) -> x509.Certificate:
    """An X.509 v3 certificate for a root (``ca``), a seal or a time-stamping authority."""
    public = key.public_key()
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(public)
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()),
            critical=False,
        )
    )
    if ca:
        builder = builder.add_extension(
            x509.BasicConstraints(ca=True, path_length=0), critical=True
        ).add_extension(
            x509.KeyUsage(
                digital_signature=False,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
    else:
        builder = builder.add_extension(
            x509.BasicConstraints(ca=False, path_length=None), critical=True
        ).add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=True,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        if purpose == "tsa":
            # RFC 3161 §2.3: the TSA certificate carries exactly this EKU, marked critical.
            builder = builder.add_extension(
                x509.ExtendedKeyUsage([ExtendedKeyUsageOID.TIME_STAMPING]), critical=True
            )
    return builder.sign(issuer_key, hashes.SHA256())


def _create_development_keys(directory: Path) -> None:
    directory.parent.mkdir(parents=True, exist_ok=True)
    staging = directory.parent / f".keys-{uuid.uuid4().hex}"
    staging.mkdir(mode=0o700)
    try:
        now = datetime.now(UTC).replace(microsecond=0)
        start = now - timedelta(days=1)
        root_key = ec.generate_private_key(ec.SECP256R1())
        seal_key = ec.generate_private_key(ec.SECP256R1())
        tsa_key = ec.generate_private_key(ec.SECP256R1())
        root_name = _name("root")
        root = make_certificate(
            subject=root_name,
            key=root_key,
            issuer=root_name,
            issuer_key=root_key,
            not_before=start,
            not_after=now + timedelta(days=365 * 30),
            ca=True,
        )
        seal = make_certificate(
            subject=_name("seal"),
            key=seal_key,
            issuer=root_name,
            issuer_key=root_key,
            not_before=start,
            not_after=now + timedelta(days=365 * 10),
        )
        tsa = make_certificate(
            subject=_name("time-stamping authority"),
            key=tsa_key,
            issuer=root_name,
            issuer_key=root_key,
            not_before=start,
            not_after=now + timedelta(days=365 * 10),
            purpose="tsa",
        )
        for name, key in ((ROOT_KEY, root_key), (SEAL_KEY, seal_key), (TSA_KEY, tsa_key)):
            _write(staging / name, _key_pem(key), 0o600)
        for name, cert in ((ROOT_CERT, root), (SEAL_CERT, seal), (TSA_CERT, tsa)):
            _write(staging / name, cert.public_bytes(serialization.Encoding.PEM), 0o600)
        _write(
            staging / "README.txt",
            b"DEVELOPMENT KEYS of contract-archive, generated on first start.\n"
            b"Seals made with them prove nothing to a third party. Do not use in production:\n"
            b"set ARCHIVE_SEAL_KEY_FILE, ARCHIVE_TSA_URL and ARCHIVE_TRUST_ANCHORS_FILE.\n",
            0o600,
        )
        try:
            os.rename(staging, directory)
        except OSError:
            # Another process made them first (or an empty folder is in the way).
            if directory.is_dir() and not any(directory.iterdir()):
                directory.rmdir()
                os.rename(staging, directory)
            elif not (directory / SEAL_KEY).is_file():
                raise
        else:
            log.warning("generated development seal keys under %s", directory)
    except OSError as exc:
        raise KeyMaterialError(
            f"development keys cannot be created under {directory}: {exc.strerror or exc}",
            hint="set ARCHIVE_DATA_DIR to a writable directory",
        ) from exc
    finally:
        shutil.rmtree(staging, ignore_errors=True)
