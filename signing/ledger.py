"""The evidence ledger's pure parts: RFC 9162 Merkle hashing and proofs, leaf data, checkpoints.

Every manifest version the archive issues is a leaf of one append-only Merkle tree
(:mod:`signing.ledger_service` appends it; ``storage.records.ledger_*`` keeps it). This module
has no I/O: the same functions serve the archive, the tests and (re-implemented in a page of
standard-library Python) the ``verify_proof.py`` script of an export.

* **Leaf data** (what is hashed into a leaf), exactly: the ASCII bytes of the JSON object
  ``{"contract":<id>,"manifest_sha256":"<64 lower-case hex>","version":<n>}``: keys in this
  order, no spaces (the RFC 8785 canonical form of that object; Python's ``json.dumps(...,
  sort_keys=True, separators=(",", ":"))`` gives the same bytes). ``manifest_sha256`` is the
  SHA-256 of the manifest file as stored (its RFC 8785 canonical bytes), ``version`` its
  ``manifest_version``, ``contract`` its ``contract.id``.
* **Hashing** (RFC 9162 §2.1.1): leaf hash ``SHA-256(0x00 || data)``, node hash
  ``SHA-256(0x01 || left || right)``, the empty tree's root ``SHA-256("")``.
* **Proofs**: inclusion (§2.1.3) and consistency (§2.1.4), made and verified with the RFC's
  algorithms.
* **Checkpoints** (c2sp.org/tlog-checkpoint): the note text ``<origin>\\n<tree size>\\n<base64
  root hash>\\n``, signed as a c2sp.org/signed-note with the ledger's Ed25519 key
  (:mod:`signing.notes`).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from core.errors import ArchiveError

HASH_SIZE = 32
EMPTY_ROOT = hashlib.sha256(b"").digest()
PROOF_FORMAT = "contract-archive ledger inclusion proof v1"
CONSISTENCY_FORMAT = "contract-archive ledger consistency proof v1"
MAX_CHECKPOINT_BYTES = 64 * 1024
MAX_PROOF_BYTES = 1024 * 1024


class LedgerError(ArchiveError):
    """A checkpoint or a proof that is malformed, truncated, or of another ledger."""

    code = "invalid_ledger_file"
    http_status = 400


# --- hashing ---------------------------------------------------------------------------------
def leaf_data(contract_id: int, version: int, manifest_sha256: str) -> bytes:
    """The bytes a manifest version contributes to the tree (see the module docstring)."""
    if len(manifest_sha256) != 64 or any(c not in "0123456789abcdef" for c in manifest_sha256):
        raise LedgerError(f"not a lower-case hex SHA-256: {manifest_sha256[:80]!r}")
    return json.dumps(
        {"contract": int(contract_id), "manifest_sha256": manifest_sha256, "version": int(version)},
        sort_keys=True,
        separators=(",", ":"),
    ).encode("ascii")


def parse_leaf_data(data: bytes) -> tuple[int, int, str]:
    """(contract id, version, manifest SHA-256) of leaf data; LedgerError when it is not."""
    try:
        value = json.loads(data.decode("ascii"))
        parsed = (int(value["contract"]), int(value["version"]), str(value["manifest_sha256"]))
    except (UnicodeDecodeError, ValueError, KeyError, TypeError) as exc:
        raise LedgerError(f"not ledger leaf data ({exc})") from exc
    if leaf_data(*parsed) != data:
        raise LedgerError("leaf data is not in its canonical form")
    return parsed


def leaf_hash(data: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def _split(n: int) -> int:
    """The largest power of two smaller than ``n`` (n > 1)."""
    k = 1
    while k << 1 < n:
        k <<= 1
    return k


def root_of(leaves: Sequence[bytes]) -> bytes:
    """MTH(D[n]) of the given leaf hashes (RFC 9162 §2.1.1)."""
    n = len(leaves)
    if n == 0:
        return EMPTY_ROOT
    if n == 1:
        return leaves[0]
    k = _split(n)
    return node_hash(root_of(leaves[:k]), root_of(leaves[k:]))


def roots_at(leaves: Iterable[bytes], sizes: Iterable[int]) -> dict[int, bytes]:
    """The root of the tree of each size in ``sizes``, in one pass over the leaf hashes (a stack
    of perfect subtrees, folded right to left: the same value as :func:`root_of`)."""
    wanted = set(sizes)
    out: dict[int, bytes] = {}
    if 0 in wanted:
        out[0] = EMPTY_ROOT
    stack: list[tuple[int, bytes]] = []  # (height, hash)
    for n, h in enumerate(leaves, 1):
        node = (0, h)
        while stack and stack[-1][0] == node[0]:
            left = stack.pop()
            node = (node[0] + 1, node_hash(left[1], node[1]))
        stack.append(node)
        if n in wanted:
            root = stack[-1][1]
            for _, left_hash in reversed(stack[:-1]):
                root = node_hash(left_hash, root)
            out[n] = root
    return out


# --- proofs (RFC 9162 §2.1.3, §2.1.4) ---------------------------------------------------------
def inclusion_path(index: int, leaves: Sequence[bytes]) -> list[bytes]:
    """PATH(m, D[n]): the audit path of leaf ``index`` in the tree of ``leaves``."""
    n = len(leaves)
    if not 0 <= index < n:
        raise LedgerError(f"leaf {index} is not in a tree of {n} leaves")
    if n == 1:
        return []
    k = _split(n)
    if index < k:
        return [*inclusion_path(index, leaves[:k]), root_of(leaves[k:])]
    return [*inclusion_path(index - k, leaves[k:]), root_of(leaves[:k])]


def consistency_path(old: int, leaves: Sequence[bytes]) -> list[bytes]:
    """PROOF(m, D[n]): that the tree of ``old`` leaves is a prefix of the tree of ``leaves``."""
    n = len(leaves)
    if not 0 <= old <= n:
        raise LedgerError(f"a tree of {old} leaves is not a prefix of a tree of {n}")
    if old in (0, n):
        return []
    return _subproof(old, leaves, True)


def _subproof(m: int, leaves: Sequence[bytes], complete: bool) -> list[bytes]:
    n = len(leaves)
    if m == n:
        return [] if complete else [root_of(leaves)]
    k = _split(n)
    if m <= k:
        return [*_subproof(m, leaves[:k], complete), root_of(leaves[k:])]
    return [*_subproof(m - k, leaves[k:], False), root_of(leaves[:k])]


def verify_inclusion(
    leaf: bytes, index: int, size: int, path: Sequence[bytes], root: bytes
) -> bool:
    """RFC 9162 §2.1.3.2: whether ``path`` proves leaf hash ``leaf`` at ``index`` under
    ``root`` of a tree of ``size`` leaves."""
    if not 0 <= index < size:
        return False
    fn, sn, r = index, size - 1, leaf
    for p in path:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == root


def verify_consistency(
    old: int, new: int, old_root: bytes, new_root: bytes, path: Sequence[bytes]
) -> bool:
    """RFC 9162 §2.1.4.2: whether ``path`` proves the tree (old, old_root) is a prefix of the
    tree (new, new_root)."""
    if old < 0 or new < old:
        return False
    if old == new:
        return not path and old_root == new_root
    if old == 0:
        return not path and old_root == EMPTY_ROOT
    if not path:
        return False
    nodes = list(path)
    if old & (old - 1) == 0:  # an exact power of two
        nodes.insert(0, old_root)
    fn, sn = old - 1, new - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = nodes[0]
    for c in nodes[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    return fr == old_root and sr == new_root and sn == 0


# --- checkpoints (c2sp.org/tlog-checkpoint) ---------------------------------------------------
@dataclass(frozen=True)
class CheckpointBody:
    origin: str
    size: int
    root: bytes

    def text(self) -> str:
        return f"{self.origin}\n{self.size}\n{base64.b64encode(self.root).decode()}\n"

    @classmethod
    def from_text(cls, text: str, *, what: str = "the checkpoint") -> CheckpointBody:
        """The body of a checkpoint note's text (its extension lines, if any, are ignored)."""
        lines = text.split("\n")
        if len(lines) < 4 or lines[-1] != "":
            raise LedgerError(
                f"{what} is not a tlog checkpoint: it needs an origin, a tree size and a root "
                "hash, one a line"
            )
        origin, size_text, root_text = lines[0], lines[1], lines[2]
        if not origin or any(c.isspace() for c in origin):
            raise LedgerError(f"{what} has no valid origin line")
        if not size_text.isdigit() or (size_text != "0" and size_text.startswith("0")):
            raise LedgerError(f"{what}: the tree size {size_text[:40]!r} is not a decimal number")
        try:
            root = base64.b64decode(root_text, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise LedgerError(f"{what}: the root hash is not base64 ({exc})") from exc
        if len(root) != HASH_SIZE:
            raise LedgerError(f"{what}: the root hash has {len(root)} bytes, not {HASH_SIZE}")
        return cls(origin=origin, size=int(size_text), root=root)


# --- proof files -----------------------------------------------------------------------------
def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def unb64(value: Any, what: str) -> bytes:
    if not isinstance(value, str):
        raise LedgerError(f"{what} is not a base64 string")
    try:
        raw = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise LedgerError(f"{what} is not base64 ({exc})") from exc
    if len(raw) != HASH_SIZE:
        raise LedgerError(f"{what} has {len(raw)} bytes, not {HASH_SIZE}")
    return raw


@dataclass(frozen=True)
class InclusionProof:
    """A leaf, its audit path, and the signed checkpoint whose tree holds it."""

    contract_id: int
    version: int
    manifest_sha256: str
    leaf_index: int
    tree_size: int
    path: tuple[bytes, ...]
    checkpoint: str
    """The signed checkpoint note, as issued."""

    @property
    def data(self) -> bytes:
        return leaf_data(self.contract_id, self.version, self.manifest_sha256)

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": PROOF_FORMAT,
            "leaf": {
                "contract": self.contract_id,
                "version": self.version,
                "manifest_sha256": self.manifest_sha256,
                "data": self.data.decode("ascii"),
                "hash": b64(leaf_hash(self.data)),
            },
            "leaf_index": self.leaf_index,
            "tree_size": self.tree_size,
            "inclusion_path": [b64(p) for p in self.path],
            "checkpoint": self.checkpoint,
        }

    @classmethod
    def from_json(cls, text: str | bytes, *, what: str = "the proof") -> InclusionProof:
        if len(text) > MAX_PROOF_BYTES:
            raise LedgerError(f"{what} is too large to be a ledger proof")
        try:
            value = json.loads(text)
        except (UnicodeDecodeError, ValueError) as exc:
            raise LedgerError(f"{what} is not JSON (truncated?): {exc}") from exc
        if not isinstance(value, dict) or value.get("format") != PROOF_FORMAT:
            raise LedgerError(
                f"{what} is not a contract-archive ledger inclusion proof",
                hint="make one with `contract-archive ledger prove ID --json`",
            )
        try:
            leaf = value["leaf"]
            proof = cls(
                contract_id=int(leaf["contract"]),
                version=int(leaf["version"]),
                manifest_sha256=str(leaf["manifest_sha256"]),
                leaf_index=int(value["leaf_index"]),
                tree_size=int(value["tree_size"]),
                path=tuple(
                    unb64(p, f"{what}: path node {i}")
                    for i, p in enumerate(value["inclusion_path"])
                ),
                checkpoint=str(value["checkpoint"]),
            )
        except (KeyError, TypeError, ValueError) as exc:
            if isinstance(exc, LedgerError):
                raise
            raise LedgerError(f"{what} lacks a field or has a wrong one ({exc})") from exc
        if str(leaf.get("data", "")) != proof.data.decode("ascii"):
            raise LedgerError(f"{what}: the leaf data does not match the leaf's fields")
        return proof
