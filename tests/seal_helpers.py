"""Helpers for the seal tests: test certificates, a real RFC 3161 TSA over HTTP on localhost,
signed PDFs made with pyHanko, changing one byte of a stored object, and a small archive of
English corpus contracts to check."""

from __future__ import annotations

import asyncio
import contextlib
import io
import os
import stat
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from asn1crypto import tsp
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from signing.keys import make_certificate
from signing.timestamp import DevelopmentTimeStampAuthority


def name(cn: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "contract-archive tests"),
            x509.NameAttribute(NameOID.COMMON_NAME, cn),
        ]
    )


@dataclass(frozen=True)
class Pki:
    root: x509.Certificate
    root_key: ec.EllipticCurvePrivateKey
    leaf: x509.Certificate
    leaf_key: ec.EllipticCurvePrivateKey


def make_pki(
    label: str,
    *,
    purpose: str = "seal",
    not_before: datetime | None = None,
    leaf_days: int = 3650,
) -> Pki:
    start = not_before or datetime.now(UTC) - timedelta(days=1)
    root_key = ec.generate_private_key(ec.SECP256R1())
    leaf_key = ec.generate_private_key(ec.SECP256R1())
    root = make_certificate(
        subject=name(f"{label} root"),
        key=root_key,
        issuer=name(f"{label} root"),
        issuer_key=root_key,
        not_before=start,
        not_after=start + timedelta(days=365 * 40),
        ca=True,
    )
    leaf = make_certificate(
        subject=name(f"{label} {purpose}"),
        key=leaf_key,
        issuer=name(f"{label} root"),
        issuer_key=root_key,
        not_before=start,
        not_after=start + timedelta(days=leaf_days),
        purpose=purpose,
    )
    return Pki(root, root_key, leaf, leaf_key)


def pem_cert(*certs: x509.Certificate) -> bytes:
    return b"".join(c.public_bytes(serialization.Encoding.PEM) for c in certs)


def pem_key(key: ec.EllipticCurvePrivateKey, passphrase: bytes | None = None) -> bytes:
    encryption: serialization.KeySerializationEncryption = (
        serialization.BestAvailableEncryption(passphrase)
        if passphrase
        else serialization.NoEncryption()
    )
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption
    )


# --- a real TSA over HTTP ------------------------------------------------------------------------
@contextlib.contextmanager
def http_tsa(pki: Pki) -> Iterator[str]:
    """An RFC 3161 time-stamping authority answering HTTP POSTs on 127.0.0.1."""
    authority = DevelopmentTimeStampAuthority(pki.leaf, pki.leaf_key, (pki.root,))
    requests: list[int] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            requests.append(len(body))
            reply = authority.respond(tsp.TimeStampReq.load(body)).dump()
            self.send_response(200)
            self.send_header("Content-Type", "application/timestamp-reply")
            self.send_header("Content-Length", str(len(reply)))
            self.end_headers()
            self.wfile.write(reply)

        def log_message(self, *args: object) -> None:
            return None

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/tsa"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def closed_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# --- signed PDFs --------------------------------------------------------------------------------
def sign_pdf(source: Path, pki: Pki, field: str = "Signature1") -> bytes:
    """``source`` signed (PAdES-B-B) by ``pki``'s leaf with pyHanko."""
    from asn1crypto import keys as asn1_keys
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.sign import signers
    from pyhanko_certvalidator.registry import SimpleCertificateStore

    from signing.keys import to_asn1

    signer = signers.SimpleSigner(
        signing_cert=to_asn1(pki.leaf),
        signing_key=asn1_keys.PrivateKeyInfo.load(
            pki.leaf_key.private_bytes(
                serialization.Encoding.DER,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        ),
        cert_registry=SimpleCertificateStore.from_certs([to_asn1(pki.root)]),
    )
    out = io.BytesIO()
    with open(source, "rb") as fh:
        writer = IncrementalPdfFileWriter(fh, strict=False)
        meta = signers.PdfSignatureMetadata(field_name=field)
        asyncio.run(signers.PdfSigner(meta, signer=signer).async_sign_pdf(writer, output=out))
    return out.getvalue()


ECDSA_SHA256_HEX = "2a8648ce3d040302"  # 1.2.840.10045.4.3.2, DER contents
SM2_WITH_SM3_HEX = "2a811ccf55018375"  # 1.2.156.10197.1.501, DER contents: the same length


def as_sm2(signed: bytes) -> bytes:
    """A signed PDF whose CMS names SM2-with-SM3 as its signature algorithm, as Chinese
    e-signing platforms' do. The OID is swapped inside /Contents (outside the signed byte
    range, same length), so the signed bytes and their digest are unchanged."""
    start = signed.rindex(b"/Contents <") + len(b"/Contents <")
    end = signed.index(b">", start)
    contents = signed[start:end].decode("ascii")
    lowered = contents.lower()
    assert ECDSA_SHA256_HEX in lowered, "expected an ECDSA-with-SHA256 signature"
    swapped = lowered.replace(ECDSA_SHA256_HEX, SM2_WITH_SM3_HEX)
    if contents.isupper() or contents != lowered:
        swapped = swapped.upper()
    return signed[:start] + swapped.encode("ascii") + signed[end:]


# --- changing stored bytes ------------------------------------------------------------------------
def flip_byte(path: Path, offset: int) -> None:
    """Change one byte of a (read-only) stored object in place."""
    mode = path.stat().st_mode
    os.chmod(path, mode | stat.S_IWUSR)
    try:
        with open(path, "r+b") as fh:
            fh.seek(offset)
            old = fh.read(1)
            fh.seek(offset)
            fh.write(bytes([old[0] ^ 0x01]))
    finally:
        os.chmod(path, mode)


def replace_byte(path: Path, offset: int, value: int) -> None:
    mode = path.stat().st_mode
    os.chmod(path, mode | stat.S_IWUSR)
    try:
        with open(path, "r+b") as fh:
            fh.seek(offset)
            fh.write(bytes([value]))
    finally:
        os.chmod(path, mode)


def small_english() -> list[Path]:
    """Four CUAD contracts under 200 kB: quick to archive, real to check."""
    from tests.conftest import corpus_files

    return [p for p in corpus_files("en-cuad", ".pdf") if p.stat().st_size < 200_000][:4]


def archive_small_english(data: Path) -> list[int]:
    """A new archive at ``data`` holding :func:`small_english` (customer Acme); their ids."""
    from services.archive import Archive
    from tests.conftest import make_settings

    with Archive(make_settings(data), parser_workers=2).open() as archive:
        ids = []
        for path in small_english():
            result = archive.ingest_path(path, customer="Acme")
            assert result.status == "archived" and result.id is not None
            ids.append(result.id)
    return ids
