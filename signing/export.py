"""``contract-archive export ID DIR``: a contract's evidence, checkable without the archive.

The folder holds the original (``original.pdf``), its current text (``text.json``), the latest
manifest (``manifest.json``) and its seal (``manifest.p7s``), the certificates (``root.pem``: the
trust anchors; ``seal.pem``; ``tsa.pem``; ``chain.pem``: every certificate the seal and the
timestamp carry), the timestamp token (``timestamp.tst``) with the seal signature value it
stamps (``seal-signature.bin``), ``SHA256SUMS`` for the exported files (taken from the sealed
manifest), the archive's own verification report (``verification.json``), the evidence ledger's
inclusion proof of the manifest with its signed checkpoint, timestamp and key (``ledger-*``) and
``verify_proof.py``, which checks them with the Python standard library alone, and a
``README.txt`` with the commands to check it all with OpenSSL and coreutils (the same as in the
project README).

A **proof-only** export (``content=False``: ``contract-archive export --proof-only``, the
contract page's "Proof package" for whoever may verify but not download) holds everything that
proves integrity (manifest and seal, certificates, timestamps, the ledger's proof, the
verification report, the 四性检测 report when there is one) and ``SHA256SUMS`` with the sealed
digests of every file of the package, but none of the contract's content: not the original, not
its text, not the searchable copy or any other rendition. Its ``README.txt`` (:data:`PROOF_README`)
says how to check a copy of the original the verifier holds elsewhere against it with OpenSSL.
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
from signing.notes import Note

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
4. The ledger: this manifest was in the archive's evidence ledger when the checkpoint was
   signed (and timestamped). With Python 3 alone (nothing else installed):
   python3 verify_proof.py
   It checks original.pdf against manifest.json, manifest.json against the proof's leaf, the
   inclusion path against the checkpoint's root (RFC 9162) and the checkpoint's Ed25519
   signature (c2sp.org/signed-note) with ledger-key.txt. With OpenSSL instead:
   openssl pkeyutl -verify -pubin -inkey ledger-key.pem -rawin \\
       -in ledger-checkpoint-body.txt -sigfile ledger-checkpoint.sig
   openssl ts -verify -in ledger-checkpoint.tst -token_in -data ledger-checkpoint.txt \\
       -CAfile root.pem -untrusted chain.pem
   Compare ledger-key.txt with the key the archive publishes (`contract-archive ledger
   checkpoints`) before trusting the result.
"""


PROOF_README = """\
Proof of integrity exported from contract-archive: contract {id}, manifest version {version}.
{dev}
This package holds NO content: not the original ({original}), not its text, not the searchable
copy. It proves what the archive holds, so that a copy of the original you hold elsewhere can be
checked against it. SHA256SUMS lists the sealed digest of every file of the archive's package
under the name a full export gives it ({original} for the original).

Check it with OpenSSL and coreutils, in this folder:

1. The seal: manifest.json is exactly what the archive signed.
   openssl cms -verify -binary -inform DER -in manifest.p7s -content manifest.json -CAfile root.pem -purpose any -out /dev/null

2. The timestamp: the seal existed at the time the TSA attests.
   openssl ts -verify -in timestamp.tst -token_in -data seal-signature.bin -CAfile root.pem -untrusted chain.pem

3. The digests: every digest in SHA256SUMS is in the sealed manifest (this prints nothing).
   for d in $(cut -c1-64 SHA256SUMS); do grep -q "\\"sha256\\":\\"$d\\"" manifest.json || echo "not in the manifest: $d"; done

4. Your copy of the original: copy it into this folder as {original}, then compare its SHA-256
   with the sealed one (prints "{original}: OK"; fails when the copy differs):
   test "$(openssl dgst -sha256 -r {original} | cut -c1-64)" = "$(grep ' {original}$' SHA256SUMS | cut -c1-64)" && echo "{original}: OK"
   (with coreutils instead: sha256sum -c --ignore-missing SHA256SUMS; a copy of the
   searchable copy or the text is checked the same way under its name in SHA256SUMS)

5. The ledger: this manifest was in the archive's evidence ledger when the checkpoint was
   signed. With Python 3 alone (it checks {original} too when you copied it here):
   python3 verify_proof.py
   With OpenSSL instead:
   openssl pkeyutl -verify -pubin -inkey ledger-key.pem -rawin -in ledger-checkpoint-body.txt -sigfile ledger-checkpoint.sig
   Compare ledger-key.txt with the key the archive publishes (`contract-archive ledger
   checkpoints`) before trusting the result, and root.pem with the archive's published root.
"""  # noqa: E501 (one command a line, to be copied whole)
PROOF_FILES = frozenset({"fourprops.json"})
"""Package files a proof-only export carries: reports about the contract, not its content."""

_EXTENSIONS = {
    "image/png": ".png",
    "image/jpeg": ".jpg",
    "image/tiff": ".tif",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": ".docx",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": ".xlsx",
    "application/vnd.oasis.opendocument.text": ".odt",
    "application/vnd.oasis.opendocument.spreadsheet": ".ods",
    "application/x-ole-storage": ".doc",
    "application/ofd": ".ofd",
    "message/rfc822": ".eml",
}
"""The original's file name extension by its content type (``ingest.formats`` has the same:
this layer cannot import it); anything else is ``original.pdf``."""


@dataclass(frozen=True)
class ExportResult:
    directory: Path
    files: tuple[str, ...]


def _write(path: Path, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)


def export_contract(
    service: SealService, contract_id: int, directory: Path, *, content: bool = True
) -> ExportResult:
    """Write the contract's evidence into ``directory`` (new or empty); ``content=False``: the
    proof-only package (see the module's text), without the original, text or renditions."""
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
    # original.pdf; another original keeps its kind: original.png, .docx, .ofd, .eml, ...
    original_name = "original" + (
        _EXTENSIONS.get(str(files["original"].get("content_type", "")), ".pdf")
    )
    exported: dict[str, bytes] = {}
    sums = [
        f"{files['original']['sha256']}  {original_name}",
        f"{files[text_name]['sha256']}  text.json",
    ]
    if content:
        exported[original_name] = service.read(f"{manifest['package']}original")
        exported["text.json"] = service.read(f"{manifest['package']}{text_name}")
    for name, entry in files.items():
        if name in ("original", text_name):
            continue
        if content or name in PROOF_FILES:
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
            "README.txt": (README if content else PROOF_README)
            .format(
                id=contract_id,
                version=row.version,
                original=original_name,
                dev=(
                    "\nWARNING: sealed with DEVELOPMENT keys; root.pem is the development root.\n"
                    if manifest.get("seal", {}).get("development_keys")
                    else ""
                ),
            )
            .encode(),
        }
    )
    exported.update(_ledger_files(service, contract_id, row.version, row.manifest_sha256))
    for name, data in exported.items():
        _write(directory / name, data)
    return ExportResult(directory=directory, files=tuple(sorted(exported)))


def _ledger_files(
    service: SealService, contract_id: int, version: int, manifest_sha256: str
) -> dict[str, bytes]:
    """The inclusion proof of the exported manifest, its signed checkpoint (and the parts
    OpenSSL needs: the signed body, the bare signature), the checkpoint's timestamp token, the
    ledger's public key and ``verify_proof.py``."""
    ledger = service.ledger
    proof = ledger.prove(contract_id)
    if (proof.version, proof.manifest_sha256) != (version, manifest_sha256):
        raise ManifestError(
            f"the ledger's latest leaf of contract {contract_id} is not the exported manifest",
            hint="run `contract-archive ledger verify`",
        )
    note = Note.from_text(proof.checkpoint)
    signature = next(
        raw[4:]
        for name, raw in note.signatures
        if name == ledger.verifier.name and raw[:4] == ledger.verifier.id
    )
    files = {
        "ledger-proof.json": (json.dumps(proof.to_dict(), indent=2) + "\n").encode(),
        "ledger-checkpoint.txt": proof.checkpoint.encode("utf-8"),
        "ledger-checkpoint-body.txt": note.text.encode("utf-8"),
        "ledger-checkpoint.sig": signature,
        "ledger-key.txt": (ledger.verifier.to_text() + "\n").encode(),
        "ledger-key.pem": ledger.verifier.to_pem(),
        "verify_proof.py": (Path(__file__).parent / "standalone" / "verify_proof.py").read_bytes(),
    }
    token = next(
        (c.timestamp_token for c in ledger.records.checkpoints() if c.note == proof.checkpoint),
        None,
    )
    if token:
        files["ledger-checkpoint.tst"] = token
    return files


def _unique(certs: list[x509.Certificate]) -> list[x509.Certificate]:
    seen: dict[bytes, x509.Certificate] = {}
    for c in certs:
        seen.setdefault(c.fingerprint(hashes.SHA256()), c)
    return list(seen.values())
