"""The evidence ledger: every manifest version a leaf of one append-only Merkle tree, signed
checkpoints over it, proofs, and the verification that names what was tampered with.

* :meth:`LedgerService.append` is called by :meth:`signing.service.SealService.issue` for every
  manifest version it writes (idempotent: the same contract, version and manifest digest is one
  leaf). :meth:`LedgerService.sync` appends the manifest versions that have no leaf yet (those
  issued before the ledger existed); it runs before every checkpoint.
* :meth:`LedgerService.checkpoint` signs the tree's size and root as a c2sp.org/tlog-checkpoint
  note with the ledger's Ed25519 key (``DATA_DIR/keys/ledger-ed25519.pem``, key name = origin =
  ``ARCHIVE_LEDGER_ORIGIN``), and has the note's SHA-256 timestamped by the archive's TSA (the
  configured ``ARCHIVE_TSA_URL``, or the development TSA with development keys); the token is
  stored with the checkpoint. A TSA that fails leaves the checkpoint signed, without a token,
  with the reason.
* :meth:`LedgerService.verify` recomputes the tree and checks it against every checkpoint, and
  names each kind of damage (see :data:`KINDS`).
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from core.errors import ArchiveError, Conflict, NotFound
from core.settings import Settings
from signing.ledger import (
    CONSISTENCY_FORMAT,
    MAX_CHECKPOINT_BYTES,
    CheckpointBody,
    InclusionProof,
    LedgerError,
    b64,
    consistency_path,
    inclusion_path,
    leaf_data,
    leaf_hash,
    roots_at,
    verify_consistency,
    verify_inclusion,
)
from signing.notes import Note, NoteError, NoteSigner, VerifierKey, load_or_create_signer
from storage.records.base import RecordStore
from storage.records.ledger_base import CheckpointRow, LeafRow, NewLeaf

if TYPE_CHECKING:
    from cryptography import x509
    from pyhanko.sign.timestamps.api import TimeStamper

log = logging.getLogger(__name__)

KEY_FILE = "ledger-ed25519.pem"
MAX_WARNINGS = 50

KINDS = {
    "leaf_removed": "a leaf is missing from the tree",
    "leaf_altered": "a leaf's data, hash or manifest digest was changed",
    "leaf_reordered": "leaves are not in the order they were appended",
    "checkpoint_forged": "a checkpoint's signature does not verify with the ledger key",
    "checkpoint_wrong_key": "a checkpoint is signed by another key than the ledger's",
    "checkpoint_malformed": "a checkpoint is not a readable signed tlog checkpoint",
    "checkpoint_mismatch": "the tree no longer hashes to a checkpoint's root",
    "tree_rolled_back": "the tree is smaller than a checkpoint, or a later checkpoint is "
    "smaller than an earlier one, or two checkpoints of one size disagree",
    "timestamp_invalid": "a checkpoint's RFC 3161 timestamp does not verify",
}
"""The problems :meth:`LedgerService.verify` names, each FAILED."""


@dataclass(frozen=True)
class LedgerProblem:
    kind: str
    message: str

    def to_dict(self) -> dict[str, str]:
        return {"kind": self.kind, "message": self.message}


@dataclass(frozen=True)
class LedgerReport:
    tree_size: int
    root: bytes
    checkpoints_checked: int
    problems: tuple[LedgerProblem, ...] = ()
    warnings: tuple[str, ...] = ()

    @property
    def status(self) -> str:
        return "FAILED" if self.problems else "PASSED"

    def summary(self) -> str:
        if not self.problems:
            return (
                f"PASSED: {self.tree_size} leaves, root {b64(self.root)}; "
                f"{self.checkpoints_checked} signed checkpoints agree"
            )
        kinds = sorted({p.kind for p in self.problems})
        return f"FAILED: {len(self.problems)} problems ({', '.join(kinds)})"

    def to_dict(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "tree_size": self.tree_size,
            "root": b64(self.root),
            "checkpoints_checked": self.checkpoints_checked,
            "problems": [p.to_dict() for p in self.problems],
            "warnings": list(self.warnings),
            "summary": self.summary(),
        }


@dataclass(frozen=True)
class ConsistencyProof:
    old_size: int
    new_size: int
    old_root: bytes
    new_root: bytes
    path: tuple[bytes, ...]
    checkpoints: tuple[str, ...] = field(default_factory=tuple)
    """The signed checkpoints of those sizes, where there are."""

    def verified(self) -> bool:
        return verify_consistency(
            self.old_size, self.new_size, self.old_root, self.new_root, self.path
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": CONSISTENCY_FORMAT,
            "old_size": self.old_size,
            "new_size": self.new_size,
            "old_root": b64(self.old_root),
            "new_root": b64(self.new_root),
            "consistency_path": [b64(p) for p in self.path],
            "checkpoints": list(self.checkpoints),
        }


@dataclass(frozen=True)
class ProofCheck:
    """What :meth:`LedgerService.check_proof` found about an inclusion proof file."""

    ok: bool
    lines: tuple[str, ...]


def _now() -> datetime:
    return datetime.now(UTC)


class LedgerService:
    def __init__(
        self,
        settings: Settings,
        records: RecordStore,
        *,
        timestamper: Callable[[], TimeStamper] | None = None,
        anchors: Callable[[], Sequence[x509.Certificate]] | None = None,
    ) -> None:
        self.settings = settings
        self.records = records
        self.origin = settings.ledger_origin
        self._timestamper = timestamper
        self._anchors = anchors
        self._signer: NoteSigner | None = None

    # -- keys ------------------------------------------------------------------------------
    @property
    def signer(self) -> NoteSigner:
        if self._signer is None:
            self._signer = load_or_create_signer(
                self.settings.keys_dir, self.origin, file=KEY_FILE, what="the ledger key"
            )
        return self._signer

    @property
    def verifier(self) -> VerifierKey:
        return self.signer.verifier

    # -- appending -------------------------------------------------------------------------
    def append(self, contract_id: int, version: int, manifest_sha256: str) -> LeafRow:
        data = leaf_data(contract_id, version, manifest_sha256)
        row, _ = self.records.append_leaf(
            NewLeaf(
                contract_id=contract_id,
                version=version,
                manifest_sha256=manifest_sha256,
                data=data.decode("ascii"),
                leaf_hash=leaf_hash(data).hex(),
            )
        )
        return row

    def withdraw(self, contract_id: int, version: int, manifest_sha256: str) -> bool:
        """Take back the leaf of a manifest that ingest withdrew, if nothing committed to it."""
        return self.records.withdraw_leaf(contract_id, version, manifest_sha256)

    def sync(self) -> int:
        """Append every manifest version that has no leaf yet; how many were appended."""
        appended = 0
        while True:
            missing = self.records.manifests_without_leaf(limit=500)
            if not missing:
                return appended
            for contract_id, version, digest, _ in missing:
                self.append(contract_id, version, digest)
                appended += 1

    def leaf_hashes(self, stop: int | None = None) -> list[bytes]:
        """The leaf hashes of the stored leaf data, in position order (a damaged leaf hashes
        as it now is: `verify` names it)."""
        return [leaf_hash(r.data.encode("utf-8")) for r in self.records.iter_leaves(stop=stop)]

    # -- checkpoints -----------------------------------------------------------------------
    def checkpoint_due(self, now: datetime | None = None) -> bool:
        """Whether a checkpoint is due: the tree grew since the last one, or the last one is
        older than ARCHIVE_LEDGER_CHECKPOINT_HOURS."""
        now = now or _now()
        latest = self.records.latest_checkpoint()
        if latest is None:
            return True
        if self.records.leaf_count() != latest.tree_size:
            return True
        if self.records.manifests_without_leaf(limit=1):
            return True
        return now - latest.issued_at >= timedelta(hours=self.settings.ledger_checkpoint_hours)

    def checkpoint(self, *, force: bool = True) -> CheckpointRow | None:
        """Sign a checkpoint of the tree now (after appending missing manifests) and have it
        timestamped. Without ``force``, only when the tree grew since the last one."""
        self.sync()
        for _ in range(5):
            hashes = self.leaf_hashes()
            size = len(hashes)
            latest = self.records.latest_checkpoint()
            if not force and latest is not None and latest.tree_size == size:
                return None
            root = roots_at(hashes, [size])[size]
            body = CheckpointBody(origin=self.origin, size=size, root=root)
            note = self.signer.sign(body.text())
            try:
                row = self.records.add_checkpoint(
                    tree_size=size, root_hash=root.hex(), note=note, issued_at=_now()
                )
            except Conflict:
                continue  # a leaf came or went meanwhile: take the tree again
            self._timestamp(row)
            return self.records.latest_checkpoint()
        raise Conflict("the ledger kept changing while a checkpoint was being made; retry")

    def _timestamp(self, row: CheckpointRow) -> None:
        if self._timestamper is None:
            self.records.set_checkpoint_timestamp(
                row.id, token=None, time=None, error="no time-stamping authority configured"
            )
            return
        from asn1crypto import tsp
        from pyhanko.sign.timestamps.common_utils import TimestampRequestError

        digest = hashlib.sha256(row.note.encode("utf-8")).digest()
        try:
            stamper = self._timestamper()
            token = asyncio.run(stamper.async_timestamp(digest, "sha256"))
            info = token["content"]["encap_content_info"]["content"].parsed
            if not isinstance(info, tsp.TSTInfo):
                raise ValueError("the token holds no TSTInfo")
            if info["message_imprint"]["hashed_message"].native != digest:
                raise ValueError("the TSA stamped another digest than the one sent")
            when = info["gen_time"].native
        except (
            ArchiveError,
            TimestampRequestError,
            OSError,
            ValueError,
            KeyError,
            TypeError,
        ) as exc:
            cause = exc.__cause__ or exc
            reason = getattr(exc, "message", None) or str(cause) or type(cause).__name__
            log.warning("ledger checkpoint %s not timestamped: %s", row.id, reason)
            self.records.set_checkpoint_timestamp(row.id, token=None, time=None, error=reason)
            return
        self.records.set_checkpoint_timestamp(row.id, token=token.dump(), time=when, error=None)

    def covering_checkpoint(self, leaf_index: int) -> CheckpointRow:
        """The latest checkpoint that covers ``leaf_index``; one is issued when none does."""
        latest = self.records.latest_checkpoint()
        if latest is None or latest.tree_size <= leaf_index:
            latest = self.checkpoint(force=True)
            assert latest is not None
        if latest.tree_size <= leaf_index:
            raise NotFound(f"no checkpoint covers ledger leaf {leaf_index}")
        return latest

    # -- proofs ----------------------------------------------------------------------------
    def prove(self, contract_id: int) -> InclusionProof:
        """The inclusion proof of the contract's latest manifest version in the latest
        checkpoint (issuing a checkpoint first when the leaf is newer than the last one)."""
        row = self.records.latest_manifest(contract_id)
        if row is None:
            raise NotFound(
                f"contract {contract_id} has no manifest, so nothing in the ledger",
                hint="run `contract-archive seal --pending`",
            )
        leaf = next(
            (
                lf
                for lf in reversed(self.records.leaves_of(contract_id))
                if lf.version == row.version and lf.manifest_sha256 == row.manifest_sha256
            ),
            None,
        )
        if leaf is None:
            leaf = self.append(contract_id, row.version, row.manifest_sha256)
        cp = self.covering_checkpoint(leaf.idx)
        hashes = self.leaf_hashes(stop=cp.tree_size)
        if len(hashes) != cp.tree_size:
            raise LedgerError(
                f"the ledger has {len(hashes)} leaves below checkpoint {cp.id}'s size "
                f"{cp.tree_size}: it was damaged",
                hint="run `contract-archive ledger verify`",
            )
        return InclusionProof(
            contract_id=contract_id,
            version=row.version,
            manifest_sha256=row.manifest_sha256,
            leaf_index=leaf.idx,
            tree_size=cp.tree_size,
            path=tuple(inclusion_path(leaf.idx, hashes)),
            checkpoint=cp.note,
        )

    def consistency(self, old: int, new: int) -> ConsistencyProof:
        size = self.records.leaf_count()
        if not 0 <= old <= new:
            raise LedgerError(f"OLD ({old}) must be at least 0 and at most NEW ({new})")
        if new > size:
            raise NotFound(f"the ledger has {size} leaves, not {new}")
        hashes = self.leaf_hashes(stop=new)
        roots = roots_at(hashes, [old, new])
        notes = tuple(c.note for c in self.records.checkpoints() if c.tree_size in (old, new))
        return ConsistencyProof(
            old_size=old,
            new_size=new,
            old_root=roots[old],
            new_root=roots[new],
            path=tuple(consistency_path(old, hashes)),
            checkpoints=notes,
        )

    # -- files from outside ----------------------------------------------------------------
    def read_checkpoint(self, text: str, *, what: str) -> tuple[Note, CheckpointBody]:
        """A checkpoint file someone kept: parsed and its signature checked against the
        ledger key; LedgerError naming ``what`` when it is malformed, truncated or foreign."""
        if len(text) > MAX_CHECKPOINT_BYTES:
            raise LedgerError(f"{what} is too large to be a ledger checkpoint")
        try:
            note = Note.from_text(text)
        except NoteError as exc:
            raise LedgerError(
                f"{what} is not a signed checkpoint (truncated?): {exc.message}"
            ) from exc
        body = CheckpointBody.from_text(note.text, what=what)
        if body.origin != self.origin:
            raise LedgerError(
                f"{what} is a checkpoint of another ledger ({body.origin!r}); this archive's "
                f"ledger is {self.origin!r}",
                hint="check it with the archive that issued it",
            )
        if not note.verified_by(self.verifier):
            mine = any(
                n == self.verifier.name and r[:4] == self.verifier.id for n, r in note.signatures
            )
            raise LedgerError(
                f"{what}: its signature does not verify with this archive's ledger key "
                f"({self.verifier.to_text()})"
                if mine
                else f"{what} is not signed by this archive's ledger key "
                f"({self.verifier.to_text()})",
            )
        return note, body

    def check_proof(self, proof: InclusionProof, *, what: str) -> ProofCheck:
        """An inclusion proof file: its checkpoint (signature, origin), the path to the root,
        and whether the leaf is this archive's manifest."""
        _, body = self.read_checkpoint(proof.checkpoint, what=f"the checkpoint in {what}")
        lines = [f"checkpoint: signed by {self.verifier.name}, {body.size} leaves"]
        ok = True
        if proof.tree_size != body.size:
            lines.append(
                f"FAILED: the proof is for {proof.tree_size} leaves, the checkpoint {body.size}"
            )
            ok = False
        elif verify_inclusion(
            leaf_hash(proof.data), proof.leaf_index, proof.tree_size, proof.path, body.root
        ):
            lines.append(
                f"inclusion: leaf {proof.leaf_index} (contract {proof.contract_id} manifest "
                f"v{proof.version}) is in the tree of the checkpoint"
            )
        else:
            lines.append("FAILED: the inclusion path does not lead to the checkpoint's root")
            ok = False
        rows = {r.version: r for r in self.records.manifests(proof.contract_id)}
        row = rows.get(proof.version)
        if row is None:
            lines.append(f"note: this archive holds no manifest v{proof.version} of that contract")
        elif row.manifest_sha256 != proof.manifest_sha256:
            lines.append("FAILED: this archive's manifest of that version has another digest")
            ok = False
        return ProofCheck(ok=ok, lines=tuple(lines))

    # -- verification ----------------------------------------------------------------------
    def verify(self, extra: Sequence[tuple[str, str]] = ()) -> LedgerReport:
        """The whole tree against every stored checkpoint and the ``extra`` ones (name, text),
        each problem named (:data:`KINDS`)."""
        problems: list[LedgerProblem] = []
        warnings: list[str] = []

        def bad(kind: str, message: str) -> None:
            problems.append(LedgerProblem(kind, message))

        leaves = list(self.records.iter_leaves())
        digests = self.records.manifest_digests()
        hashes: list[bytes] = []
        last_version: dict[int, tuple[int, int]] = {}
        previous_time: datetime | None = None
        expected_idx = 0
        for leaf in leaves:
            label = f"leaf {leaf.idx} (contract {leaf.contract_id} v{leaf.version})"
            if leaf.idx != expected_idx:
                gone = (
                    f"leaf {expected_idx} is"
                    if leaf.idx == expected_idx + 1
                    else f"leaves {expected_idx} to {leaf.idx - 1} are"
                )
                bad("leaf_removed", f"{gone} missing: positions jump to {leaf.idx}")
            expected_idx = leaf.idx + 1
            data = leaf.data.encode("utf-8", "surrogateescape")
            hashes.append(leaf_hash(data))
            try:
                expected = leaf_data(leaf.contract_id, leaf.version, leaf.manifest_sha256)
            except LedgerError:
                expected = b""
            if expected != data:
                bad("leaf_altered", f"{label}: its data does not match its fields")
            elif leaf_hash(data).hex() != leaf.leaf_hash:
                bad("leaf_altered", f"{label}: its data does not hash to its recorded leaf hash")
            recorded = digests.get((leaf.contract_id, leaf.version))
            if recorded is not None and recorded != leaf.manifest_sha256:
                bad(
                    "leaf_altered",
                    f"{label}: the leaf says manifest SHA-256 {leaf.manifest_sha256[:16]}…, the "
                    f"archive's manifest v{leaf.version} has {recorded[:16]}…",
                )
            elif recorded is None:
                warnings.append(
                    f"{label}: the archive no longer holds that manifest version (withdrawn by "
                    "a failed ingest, or the contract was removed); the leaf stays as evidence"
                )
            before = last_version.get(leaf.contract_id)
            if before is not None and before[0] >= leaf.version:
                bad(
                    "leaf_reordered",
                    f"{label} comes after leaf {before[1]} (v{before[0]}) of the same contract",
                )
            last_version[leaf.contract_id] = (leaf.version, leaf.idx)
            if previous_time is not None and leaf.appended_at < previous_time:
                bad(
                    "leaf_reordered",
                    f"{label} was appended at {leaf.appended_at:%Y-%m-%d %H:%M:%S}, before the "
                    "leaf ahead of it",
                )
            previous_time = leaf.appended_at

        size = len(hashes)
        stored = self.records.checkpoints()
        named: list[tuple[str, str, CheckpointRow | None]] = [
            (f"checkpoint #{c.id}", c.note, c) for c in stored
        ]
        named += [(name, text, None) for name, text in extra]
        sizes = set()
        parsed: list[tuple[str, CheckpointBody, CheckpointRow | None]] = []
        for name, text, row in named:
            try:
                note = Note.from_text(text)
                body = CheckpointBody.from_text(note.text, what=name)
            except (NoteError, LedgerError) as exc:
                bad("checkpoint_malformed", f"{name}: {exc.message}")
                continue
            if body.origin != self.origin:
                bad("checkpoint_wrong_key", f"{name} is of another ledger ({body.origin!r})")
                continue
            ours = [
                r
                for n, r in note.signatures
                if n == self.verifier.name and r[:4] == self.verifier.id
            ]
            if not ours:
                signers = ", ".join(f"{n} (key id {r[:4].hex()})" for n, r in note.signatures)
                bad(
                    "checkpoint_wrong_key",
                    f"{name} is signed by {signers}, not by the ledger key "
                    f"{self.verifier.name} (key id {self.verifier.id_hex})",
                )
                continue
            if not note.verified_by(self.verifier):
                bad(
                    "checkpoint_forged",
                    f"{name}: its signature does not verify with the ledger key",
                )
                continue
            if row is not None and (row.tree_size, row.root_hash) != (body.size, body.root.hex()):
                bad(
                    "checkpoint_forged",
                    f"{name}: its stored size or root differs from its signed note",
                )
            parsed.append((name, body, row))
            sizes.add(body.size)

        roots = roots_at(hashes, [s for s in sizes if s <= size])
        high: tuple[str, int] | None = None
        by_size: dict[int, tuple[str, bytes]] = {}
        for name, body, row in parsed:
            if body.size > size:
                bad(
                    "tree_rolled_back",
                    f"the tree has {size} leaves but {name} covers {body.size}: leaves were "
                    "cut off the end",
                )
            elif roots[body.size] != body.root:
                bad(
                    "checkpoint_mismatch",
                    f"the first {body.size} leaves no longer hash to {name}'s root: a leaf "
                    "below it was removed, reordered or altered",
                )
            if row is not None:  # stored checkpoints, in issue order
                if high is not None and body.size < high[1]:
                    bad(
                        "tree_rolled_back",
                        f"{name} covers {body.size} leaves, fewer than the earlier {high[0]} "
                        f"({high[1]})",
                    )
                if high is None or body.size >= high[1]:
                    high = (name, body.size)
            seen = by_size.get(body.size)
            if seen is not None and seen[1] != body.root:
                bad(
                    "tree_rolled_back",
                    f"{seen[0]} and {name} both cover {body.size} leaves but have different roots",
                )
            by_size.setdefault(body.size, (name, body.root))
            if row is not None:
                problem = self._check_timestamp(row)
                if problem == "missing":
                    warnings.append(f"{name} has no timestamp: {row.timestamp_error or 'none'}")
                elif problem:
                    bad("timestamp_invalid", f"{name}: {problem}")

        latest = stored[-1] if stored else None
        if latest is not None:
            for contract_id, version, _, when in self.records.manifests_without_leaf(limit=50):
                if when < latest.issued_at:
                    bad(
                        "leaf_removed",
                        f"the leaf of contract {contract_id} manifest v{version} is gone: it was "
                        f"issued before checkpoint #{latest.id} (which appends every manifest) "
                        "and is not in the tree",
                    )
                else:
                    warnings.append(
                        f"contract {contract_id} manifest v{version} is not in the ledger yet "
                        "(the next checkpoint appends it)"
                    )
        if not stored:
            warnings.append(
                "no checkpoint has been issued yet: `contract-archive ledger checkpoint`"
            )
        if len(warnings) > MAX_WARNINGS:
            more = len(warnings) - MAX_WARNINGS
            warnings = [*warnings[:MAX_WARNINGS], f"... and {more} more warnings like these"]
        return LedgerReport(
            tree_size=size,
            root=roots_at(hashes, [size])[size],
            checkpoints_checked=len(parsed),
            problems=tuple(problems),
            warnings=tuple(warnings),
        )

    def _check_timestamp(self, row: CheckpointRow) -> str | None:
        """None when the token verifies, ``"missing"`` without one, else the problem."""
        if row.timestamp_token is None:
            return "missing"
        from asn1crypto import cms, tsp

        digest = hashlib.sha256(row.note.encode("utf-8")).digest()
        try:
            token = cms.ContentInfo.load(row.timestamp_token)
            signed = token["content"]
            info = signed["encap_content_info"]["content"].parsed
            if not isinstance(info, tsp.TSTInfo):
                return "the timestamp token holds no TSTInfo"
            algo = info["message_imprint"]["hash_algorithm"]["algorithm"].native
            stamped = info["message_imprint"]["hashed_message"].native
        except (ValueError, KeyError, TypeError) as exc:
            return f"the timestamp token cannot be read ({exc})"
        if hashlib.new(algo, row.note.encode("utf-8")).digest() != stamped or (
            algo == "sha256" and stamped != digest
        ):
            return "the timestamp token stamps another text than the checkpoint"
        if self._anchors is None:
            return None
        return _validate_token(signed, stamped, algo, self._anchors())


def _validate_token(
    signed: Any, imprint: bytes, algo: str, anchors: Sequence[x509.Certificate]
) -> str | None:
    from pyhanko.sign.validation.errors import SignatureValidationError
    from pyhanko.sign.validation.generic_cms import validate_tst_signed_data
    from pyhanko_certvalidator import ValidationContext

    from signing.keys import to_asn1

    info = signed["encap_content_info"]["content"].parsed
    context = ValidationContext(
        trust_roots=[to_asn1(c) for c in anchors],
        allow_fetching=False,
        revocation_mode="soft-fail",
        moment=info["gen_time"].native,
    )
    try:
        status = asyncio.run(validate_tst_signed_data(signed, context, lambda _a: imprint))
    except (SignatureValidationError, ValueError, TypeError, KeyError) as exc:
        return f"the timestamp token does not validate ({exc})"
    if not status.get("intact") or not status.get("valid"):
        return "the timestamp token's signature does not verify"
    if status.get("trust_problem_indic") is not None:
        return "the timestamp token's authority is not trusted by the archive's anchors"
    return None
