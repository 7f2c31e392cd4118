"""``contract-archive export ID DIR``: a contract's evidence, checkable without the archive.

The folder holds the original (``original.pdf``), its current text (``text.json``), the latest
manifest (``manifest.json``) and its seal (``manifest.p7s``), the certificates (``root.pem``: the
trust anchors; ``seal.pem``; ``tsa.pem``; ``chain.pem``: every certificate the seal and the
timestamp carry), the timestamp token (``timestamp.tst``) with the seal signature value it
stamps (``seal-signature.bin``), ``SHA256SUMS`` for the exported files (taken from the sealed
manifest), the archive's own verification report (``verification.json``) and a ``README.txt``
with the commands to check it all with OpenSSL and coreutils (the same as in the project README).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from asn1crypto import cms
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization

from core.errors import ConfigurationError, InvalidRequest, NotFound
from signing.errors import ManifestError
from signing.keys import pem
from signing.manifest import parse_manifest

if TYPE_CHECKING:
    from signing.service import SealService

README = """\
Evidence exported from contract-archive: contract {id}, manifest version {version}.
{dev}
Check it with OpenSSL and coreutils, in this folder:

1. The seal: manifest.json is exactly what the archive signed.
   openssl cms -verify -binary -inform DER -in manifest.p7s -content manifest.json \\
       -CAfile root.pem -purpose any -out /dev/null

2. The files: they are what the sealed manifest lists.
   sha256sum -c SHA256SUMS
   (each digest in SHA256SUMS appears in manifest.json: grep <digest> manifest.json)

3. The timestamp: the seal existed at the time the TSA attests.
   openssl ts -verify -in timestamp.tst -token_in -data seal-signature.bin \\
       -CAfile root.pem -untrusted chain.pem
   (seal-signature.bin is the signature value inside manifest.p7s; the timestamp covers it.
    See it with: openssl cms -cmsout -print -inform DER -in manifest.p7s)
"""


@dataclass(frozen=True)
class ExportResult:
    directory: Path
    files: tuple[str, ...]


def _write(path: Path, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)


def export_contract(service: SealService, contract_id: int, directory: Path) -> ExportResult:
    record = service.records.get_contract(contract_id)
    row = service.seals.latest_manifest(record.id)
    if row is None:
        raise NotFound(
            f"contract {contract_id} has no manifest to export",
            hint="run `contract-archive seal --pending` first",
        )
    if row.state != "sealed" or row.seal_key is None:
        raise InvalidRequest(
            f"the manifest of contract {contract_id} is not sealed yet ({row.reason})",
            hint="run `contract-archive seal --pending` first",
        )
    manifest_data = service.read(row.manifest_key)
    try:
        manifest = parse_manifest(manifest_data)
    except ManifestError as exc:
        raise ManifestError(
            f"the manifest of contract {contract_id} cannot be read: {exc.message}",
            hint=f"run `contract-archive verify {contract_id}`",
        ) from exc
    p7s = service.read(row.seal_key)
    try:
        signer_info = cms.ContentInfo.load(p7s)["content"]["signer_infos"][0]
        signature = signer_info["signature"].native
        token = None
        for attr in signer_info["unsigned_attrs"] or []:
            if attr["type"].native == "signature_time_stamp_token":
                token = attr["values"][0]
        if token is None:
            raise ValueError("the seal carries no timestamp")
        seal_certs = [
            x509.load_der_x509_certificate(c.chosen.dump())
            for c in cms.ContentInfo.load(p7s)["content"]["certificates"]
        ]
        tsa_certs = [
            x509.load_der_x509_certificate(c.chosen.dump())
            for c in token["content"]["certificates"]
        ]
    except (ValueError, KeyError, TypeError) as exc:
        raise ManifestError(
            f"the seal of contract {contract_id} cannot be read ({exc})",
            hint=f"run `contract-archive verify {contract_id}`",
        ) from exc

    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigurationError(
            f"{directory} cannot be created: {exc.strerror or exc}",
            hint="choose a writable folder",
        ) from exc
    if any(directory.iterdir()):
        raise InvalidRequest(f"{directory} is not empty", hint="export into a new or empty folder")

    files = {str(f["name"]): f for f in manifest["files"]}
    text_name = str(manifest["contract"]["text_file"])
    exported: dict[str, bytes] = {
        "original.pdf": service.read(f"{manifest['package']}original"),
        "text.json": service.read(f"{manifest['package']}{text_name}"),
    }
    sums = [
        f"{files['original']['sha256']}  original.pdf",
        f"{files[text_name]['sha256']}  text.json",
    ]
    for name, entry in files.items():
        if name in ("original", text_name):
            continue
        exported[name] = service.read(f"{manifest['package']}{name}")
        sums.append(f"{entry['sha256']}  {name}")

    seal_cert = service.keys.seal_cert
    sid = signer_info["sid"]
    serial = sid.chosen["serial_number"].native if sid.name == "issuer_and_serial_number" else None
    sealing = [c for c in seal_certs if c.serial_number == serial] or [seal_cert]
    report = service.verify(contract_id)
    exported.update(
        {
            "manifest.json": manifest_data,
            "manifest.p7s": p7s,
            "timestamp.tst": token.dump(),
            "seal-signature.bin": signature,
            "root.pem": pem(list(service.keys.anchors)),
            "seal.pem": sealing[0].public_bytes(serialization.Encoding.PEM),
            "tsa.pem": pem(tsa_certs[:1]),
            "chain.pem": pem(_unique(seal_certs + tsa_certs)),
            "SHA256SUMS": ("\n".join(sums) + "\n").encode(),
            "verification.json": json.dumps(report.to_dict(), ensure_ascii=False, indent=2).encode(
                "utf-8"
            ),
            "README.txt": README.format(
                id=contract_id,
                version=row.version,
                dev=(
                    "\nWARNING: sealed with DEVELOPMENT keys; root.pem is the development root.\n"
                    if manifest.get("seal", {}).get("development_keys")
                    else ""
                ),
            ).encode(),
        }
    )
    for name, data in exported.items():
        _write(directory / name, data)
    return ExportResult(directory=directory, files=tuple(sorted(exported)))


def _unique(certs: list[x509.Certificate]) -> list[x509.Certificate]:
    seen: dict[bytes, x509.Certificate] = {}
    for c in certs:
        seen.setdefault(c.fingerprint(hashes.SHA256()), c)
    return list(seen.values())
