#!/usr/bin/env python3
"""Check a contract-archive export's ledger proof with nothing but Python's standard library.

Run it in the export folder: ``python3 verify_proof.py`` (or give the folder as argument). It
checks, and says for each PASSED or FAILED:

1. the original: ``original.pdf`` has the SHA-256 that ``manifest.json`` lists for it;
2. the leaf: SHA-256 of ``manifest.json``, its ``contract.id`` and ``manifest_version`` give
   exactly the leaf data of ``ledger-proof.json`` (RFC 9162 leaf hash SHA-256(0x00 || data));
3. the inclusion: the proof's path leads from that leaf to the checkpoint's root hash (RFC 9162
   section 2.1.3.2), for the checkpoint's tree size;
4. the checkpoint: ``ledger-checkpoint.txt`` (c2sp.org/tlog-checkpoint) carries an Ed25519
   signature (c2sp.org/signed-note) by the key in ``ledger-key.txt`` that verifies (RFC 8032,
   implemented below in pure Python);
5. the timestamp: ``ledger-checkpoint.tst`` is an RFC 3161 token over SHA-256 of the checkpoint;
   here only that it names that digest. Its signature needs OpenSSL (the command is printed).

The key in ``ledger-key.txt`` is the archive's; compare it with the one the archive publishes
(``contract-archive ledger checkpoints`` prints it) before you trust a PASSED.
Exit status 0 when every check passed, 1 otherwise.
"""

from __future__ import annotations

import base64
import hashlib
import json
import sys
from pathlib import Path

# --- Ed25519 signature verification (RFC 8032 section 5.1.7), pure Python --------------------
P = 2**255 - 19
L = 2**252 + 27742317777372353535851937790883648493
D = -121665 * pow(121666, P - 2, P) % P
SQRT_M1 = pow(2, (P - 1) // 4, P)

Point = tuple[int, int, int, int]  # extended coordinates (X, Y, Z, T): x=X/Z, y=Y/Z, xy=T/Z


def _add(a: Point, b: Point) -> Point:
    e1 = (a[1] - a[0]) * (b[1] - b[0]) % P
    e2 = (a[1] + a[0]) * (b[1] + b[0]) % P
    c = 2 * a[3] * b[3] * D % P
    dd = 2 * a[2] * b[2] % P
    e, f, g, h = e2 - e1, dd - c, dd + c, e2 + e1
    return (e * f % P, g * h % P, f * g % P, e * h % P)


def _mul(s: int, a: Point) -> Point:
    q: Point = (0, 1, 1, 0)
    while s:
        if s & 1:
            q = _add(q, a)
        a = _add(a, a)
        s >>= 1
    return q


def _equal(a: Point, b: Point) -> bool:
    return (a[0] * b[2] - b[0] * a[2]) % P == 0 and (a[1] * b[2] - b[1] * a[2]) % P == 0


def _x_of(y: int, sign: int) -> int | None:
    if y >= P:
        return None
    x2 = (y * y - 1) * pow(D * y * y + 1, P - 2, P) % P
    if x2 == 0:
        return None if sign else 0
    x = pow(x2, (P + 3) // 8, P)
    if (x * x - x2) % P:
        x = x * SQRT_M1 % P
    if (x * x - x2) % P:
        return None
    return P - x if (x & 1) != sign else x


def _decode(s: bytes) -> Point | None:
    if len(s) != 32:
        return None
    y = int.from_bytes(s, "little")
    sign, y = y >> 255, y & ((1 << 255) - 1)
    x = _x_of(y, sign)
    return None if x is None else (x, y, 1, x * y % P)


_GY = 4 * pow(5, P - 2, P) % P
_GX = _x_of(_GY, 0)
assert _GX is not None
G: Point = (_GX, _GY, 1, _GX * _GY % P)


def ed25519_verify(public: bytes, message: bytes, signature: bytes) -> bool:
    if len(signature) != 64:
        return False
    a = _decode(public)
    r = _decode(signature[:32])
    s = int.from_bytes(signature[32:], "little")
    if a is None or r is None or s >= L:
        return False
    h = int.from_bytes(hashlib.sha512(signature[:32] + public + message).digest(), "little") % L
    return _equal(_mul(s, G), _add(r, _mul(h, a)))


# --- RFC 9162 ----------------------------------------------------------------------------------
def _node(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def verify_inclusion(leaf: bytes, index: int, size: int, path: list[bytes], root: bytes) -> bool:
    if not 0 <= index < size:
        return False
    fn, sn, r = index, size - 1, leaf
    for p in path:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = _node(p, r)
            while fn and not fn & 1:
                fn >>= 1
                sn >>= 1
        else:
            r = _node(r, p)
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == root


# --- the checks --------------------------------------------------------------------------------
class Checks:
    def __init__(self) -> None:
        self.failed = 0

    def result(self, ok: bool, what: str) -> bool:
        print(("PASSED  " if ok else "FAILED  ") + what)
        self.failed += not ok
        return ok


def main(folder: Path) -> int:
    c = Checks()
    try:
        manifest_bytes = (folder / "manifest.json").read_bytes()
        manifest = json.loads(manifest_bytes)
        proof = json.loads((folder / "ledger-proof.json").read_bytes())
        note = (folder / "ledger-checkpoint.txt").read_text(encoding="utf-8")
        key_text = (folder / "ledger-key.txt").read_text(encoding="utf-8").strip()
    except (OSError, ValueError) as exc:
        print(f"FAILED  the export is incomplete or damaged: {exc}")
        return 1

    # 1. the original
    # original.pdf, or original.png/.jpg/.tif/.docx/.ofd/.eml/... for another original
    originals = sorted(folder.glob("original.*"))
    original = originals[0] if originals else folder / "original.pdf"
    listed = {f.get("name"): f.get("sha256") for f in manifest.get("files", [])}
    if original.exists():
        digest = hashlib.sha256(original.read_bytes()).hexdigest()
        c.result(
            digest == listed.get("original"), f"{original.name} is the file the manifest lists"
        )

    # 2. the leaf
    data = json.dumps(
        {
            "contract": manifest["contract"]["id"],
            "manifest_sha256": hashlib.sha256(manifest_bytes).hexdigest(),
            "version": manifest["manifest_version"],
        },
        sort_keys=True,
        separators=(",", ":"),
    ).encode("ascii")
    leaf = hashlib.sha256(b"\x00" + data).digest()
    c.result(
        proof.get("leaf", {}).get("data") == data.decode("ascii"),
        f"the proof's leaf is manifest.json (contract {manifest['contract']['id']}, "
        f"version {manifest['manifest_version']})",
    )

    # 3. the checkpoint's body and the inclusion
    text, _, sigs = note.rstrip("\n").rpartition("\n\n")
    lines = (text + "\n").split("\n")
    try:
        origin, size, root = lines[0], int(lines[1]), base64.b64decode(lines[2], validate=True)
    except (IndexError, ValueError) as exc:
        print(f"FAILED  ledger-checkpoint.txt is not a checkpoint: {exc}")
        return 1
    c.result(proof.get("checkpoint") == note, "the proof names this checkpoint")
    try:
        path = [base64.b64decode(p, validate=True) for p in proof["inclusion_path"]]
        index, proof_size = int(proof["leaf_index"]), int(proof["tree_size"])
    except (KeyError, TypeError, ValueError) as exc:
        print(f"FAILED  ledger-proof.json is damaged: {exc}")
        return 1
    c.result(
        proof_size == size and verify_inclusion(leaf, index, size, path, root),
        f"leaf {index} is in the tree of {size} leaves whose root the checkpoint signs",
    )

    # 4. the signature
    name, _, rest = key_text.partition("+")
    key_id_hex, _, key_b64 = rest.partition("+")
    try:
        key = base64.b64decode(key_b64, validate=True)
    except ValueError:
        key = b""
    ok_key = (
        len(key) == 33
        and key[0] == 1
        and hashlib.sha256(name.encode() + b"\n" + key).digest()[:4].hex() == key_id_hex
    )
    c.result(ok_key, f"ledger-key.txt is an Ed25519 signed-note key ({name}, id {key_id_hex})")
    c.result(origin == name, f"the checkpoint's origin is the key's name ({origin})")
    signed = False
    for line in sigs.split("\n"):
        if not line.startswith("\u2014 "):
            continue
        signer, _, sig_b64 = line[2:].partition(" ")
        try:
            raw = base64.b64decode(sig_b64, validate=True)
        except ValueError:
            continue
        if signer == name and raw[:4].hex() == key_id_hex and ok_key:
            signed = ed25519_verify(key[1:], (text + "\n").encode("utf-8"), raw[4:])
    c.result(signed, "the checkpoint's Ed25519 signature verifies with that key")

    # 5. the timestamp
    tst = folder / "ledger-checkpoint.tst"
    if tst.exists():
        stamped = hashlib.sha256(note.encode("utf-8")).digest() in tst.read_bytes()
        c.result(stamped, "the timestamp token names the checkpoint's SHA-256")
        print(
            "NOT CHECKED here: the TSA's signature on the token. With OpenSSL:\n"
            "        openssl ts -verify -in ledger-checkpoint.tst -token_in "
            "-data ledger-checkpoint.txt -CAfile root.pem -untrusted chain.pem"
        )
    else:
        print("NOT CHECKED: the export holds no timestamp of the checkpoint")
    print(
        "\nAll checks PASSED." if not c.failed else f"\n{c.failed} check(s) FAILED.",
    )
    return 1 if c.failed else 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path(".")))
