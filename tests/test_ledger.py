"""The evidence ledger's pure parts: RFC 9162 hashing and proofs (known vectors, properties),
checkpoints and proof files (round trips, bad input), the pure-Python Ed25519 of the export's
``verify_proof.py`` against the ``cryptography`` package."""

from __future__ import annotations

import importlib.util
import json
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from hypothesis import given, settings
from hypothesis import strategies as st

from core.errors import Conflict
from signing.ledger import (
    EMPTY_ROOT,
    CheckpointBody,
    InclusionProof,
    LedgerError,
    consistency_path,
    inclusion_path,
    leaf_data,
    leaf_hash,
    parse_leaf_data,
    root_of,
    roots_at,
    verify_consistency,
    verify_inclusion,
)
from signing.notes import NoteSigner
from storage.records.ledger_base import NewLeaf
from storage.records.sql import SqlRecordStore

# The RFC 6962 test leaves and the roots of their first n leaves (certificate-transparency's
# merkle tree tests; RFC 9162 hashes leaves and nodes the same way).
CT_LEAVES = [
    b"",
    b"\x00",
    b"\x10",
    b"\x20\x21",
    b"\x30\x31",
    b"\x40\x41\x42\x43",
    bytes(range(0x50, 0x58)),
    bytes(range(0x60, 0x70)),
]
CT_ROOTS = [
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
]
SCRIPT = Path(__file__).parents[1] / "signing" / "standalone" / "verify_proof.py"


def _script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("verify_proof", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_roots_match_the_known_vectors() -> None:
    hashes = [leaf_hash(d) for d in CT_LEAVES]
    for n in range(1, 9):
        assert root_of(hashes[:n]).hex() == CT_ROOTS[n - 1]
    assert roots_at(hashes, range(9)) == {n: root_of(hashes[:n]) for n in range(9)}
    assert root_of([]) == EMPTY_ROOT


@settings(max_examples=60, deadline=None)
@given(n=st.integers(1, 70), data=st.data())
def test_inclusion_and_consistency_proofs_verify_and_tampered_ones_do_not(
    n: int, data: st.DataObject
) -> None:
    hashes = [leaf_hash(i.to_bytes(4, "big")) for i in range(n)]
    root = root_of(hashes)
    i = data.draw(st.integers(0, n - 1))
    path = inclusion_path(i, hashes)
    assert verify_inclusion(hashes[i], i, n, path, root)
    assert not verify_inclusion(leaf_hash(b"other"), i, n, path, root)
    if path:
        bad = [*path]
        bad[0] = bytes(32)
        assert not verify_inclusion(hashes[i], i, n, bad, root)
        assert not verify_inclusion(hashes[i], i, n, path[:-1], root)
    m = data.draw(st.integers(0, n))
    proof = consistency_path(m, hashes)
    old = root_of(hashes[:m])
    assert verify_consistency(m, n, old, root, proof)
    if 0 < m < n:
        assert not verify_consistency(m, n, leaf_hash(b"x"), root, proof)
        assert not verify_consistency(m, n, old, leaf_hash(b"x"), proof)
        forked = [*hashes[: m - 1], leaf_hash(b"fork"), *hashes[m:]]
        assert not verify_consistency(m, n, old, root_of(forked), consistency_path(m, forked))


def test_the_script_verifies_inclusion_as_the_library_does() -> None:
    script = _script()
    hashes = [leaf_hash(i.to_bytes(2, "big")) for i in range(13)]
    root = root_of(hashes)
    for i in range(13):
        path = inclusion_path(i, hashes)
        assert script.verify_inclusion(hashes[i], i, 13, path, root)
        assert not script.verify_inclusion(hashes[(i + 1) % 13], i, 13, path, root)


def test_pure_python_ed25519_agrees_with_cryptography() -> None:
    script = _script()
    for n in range(4):
        key = Ed25519PrivateKey.generate()
        public = key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        message = f"contract-archive/ledger\n{n}\nroot\n".encode()
        signature = key.sign(message)
        assert script.ed25519_verify(public, message, signature)
        assert not script.ed25519_verify(public, message + b"x", signature)
        flipped = bytes([signature[0] ^ 1]) + signature[1:]
        assert not script.ed25519_verify(public, message, flipped)
        other = (
            Ed25519PrivateKey.generate().public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        )
        assert not script.ed25519_verify(other, message, signature)
    assert not script.ed25519_verify(bytes(32), b"m", bytes(63))


def test_leaf_data_is_exact_and_round_trips() -> None:
    digest = "ab" * 32
    data = leaf_data(7, 2, digest)
    assert data == (b'{"contract":7,"manifest_sha256":"' + digest.encode() + b'","version":2}')
    assert json.dumps(json.loads(data), sort_keys=True, separators=(",", ":")).encode() == data
    assert parse_leaf_data(data) == (7, 2, digest)
    with pytest.raises(LedgerError):
        leaf_data(7, 2, "AB" * 32)
    with pytest.raises(LedgerError):
        parse_leaf_data(
            b'{"contract": 7, "manifest_sha256": "' + digest.encode() + b'", "version": 2}'
        )


def test_checkpoint_text_round_trips_and_bad_ones_are_named() -> None:
    body = CheckpointBody("example.org/ledger", 5, leaf_hash(b"r"))
    signer = NoteSigner("example.org/ledger", Ed25519PrivateKey.generate())
    note = signer.sign(body.text())
    assert note.startswith("example.org/ledger\n5\n")
    assert CheckpointBody.from_text(body.text()) == body
    for bad, words in [
        ("example.org/ledger\n5\n", "not a tlog checkpoint"),
        ("example.org/ledger\nfive\nAAAA\n", "not a decimal"),
        ("example.org/ledger\n05\n" + body.text().split("\n")[2] + "\n", "not a decimal"),
        ("example.org/ledger\n5\n!!notbase64\n", "not base64"),
        ("example.org/ledger\n5\nAAAA\n", "has 3 bytes"),
    ]:
        with pytest.raises(LedgerError, match=words) as info:
            CheckpointBody.from_text(bad, what="the file x.txt")
        assert "x.txt" in info.value.message


def test_proof_files_round_trip_and_bad_ones_are_named() -> None:
    hashes = [leaf_hash(leaf_data(i, 1, f"{i:064x}")) for i in range(1, 6)]
    proof = InclusionProof(
        contract_id=3,
        version=1,
        manifest_sha256=f"{3:064x}",
        leaf_index=2,
        tree_size=5,
        path=tuple(inclusion_path(2, hashes)),
        checkpoint="x\n5\nAAAA\n\n— x AAAAAAA=\n",
    )
    text = json.dumps(proof.to_dict())
    assert InclusionProof.from_json(text) == proof
    for bad, words in [
        (text[: len(text) // 2], "not JSON"),
        ("[]", "not a contract-archive ledger inclusion proof"),
        (json.dumps({**proof.to_dict(), "format": "other"}), "not a contract-archive"),
        (json.dumps({**proof.to_dict(), "inclusion_path": ["AAAA"]}), "path node 0"),
        (json.dumps({**proof.to_dict(), "leaf_index": None}), "lacks a field"),
        (
            json.dumps({**proof.to_dict(), "leaf": {**proof.to_dict()["leaf"], "version": 2}}),
            "does not match",
        ),
    ]:
        with pytest.raises(LedgerError, match=words) as info:
            InclusionProof.from_json(bad, what="proof.json")
        assert "proof.json" in info.value.message


def new_leaf(cid: int, version: int = 1) -> NewLeaf:
    digest = f"{cid * 100 + version:064x}"
    data = leaf_data(cid, version, digest)
    return NewLeaf(cid, version, digest, data.decode(), leaf_hash(data).hex())


def test_the_store_appends_once_withdraws_only_the_uncommitted_last_and_pages(
    store: SqlRecordStore,
) -> None:
    rows = [store.append_leaf(new_leaf(c))[0] for c in range(1, 8)]
    assert [r.idx for r in rows] == list(range(7))
    again, appended = store.append_leaf(new_leaf(3))
    assert (again.idx, appended) == (2, False)
    assert store.leaf_count() == 7
    assert [r.idx for r in store.iter_leaves(start=2, stop=5)] == [2, 3, 4]
    assert [r.contract_id for r in store.leaves_of(4)] == [4]

    with pytest.raises(Conflict):
        store.add_checkpoint(
            tree_size=6, root_hash="00" * 32, note="n", issued_at=datetime.now(UTC)
        )
    cp = store.add_checkpoint(
        tree_size=7, root_hash="00" * 32, note="n", issued_at=datetime.now(UTC)
    )
    store.set_checkpoint_timestamp(cp.id, token=b"tok", time=None, error=None)
    assert store.latest_checkpoint() == store.checkpoints()[-1]
    assert store.checkpoints()[-1].timestamp_token == b"tok"

    assert not store.withdraw_leaf(7, 1, new_leaf(7).manifest_sha256)  # covered
    store.append_leaf(new_leaf(8))
    assert not store.withdraw_leaf(1, 1, new_leaf(1).manifest_sha256)  # not the last
    assert store.withdraw_leaf(8, 1, new_leaf(8).manifest_sha256)
    assert store.leaf_count() == 7
    assert store.manifests_without_leaf() == [] and store.manifest_digests() == {}
