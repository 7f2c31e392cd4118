"""The evidence ledger: verify the tree against every checkpoint, inclusion and consistency
proofs, checkpoints (list, issue now), a proof or checkpoint file checked."""

from __future__ import annotations

import builtins
import re
from collections.abc import Sequence
from dataclasses import replace

from core.roles import Perm
from services.facade.base import Area, action
from signing.ledger import InclusionProof, LedgerError
from signing.ledger_service import (
    KINDS,
    ConsistencyProof,
    LedgerProblem,
    LedgerReport,
    ProofCheck,
)
from storage.records.ledger_base import CheckpointRow

__all__ = [
    "KINDS",
    "CheckpointRow",
    "ConsistencyProof",
    "InclusionProof",
    "LedgerArea",
    "LedgerError",
    "LedgerReport",
    "ProofCheck",
]

_CONTRACT = re.compile(r"contract (\d+)")


class LedgerArea(Area):
    """The evidence ledger: verify, prove, consistency, checkpoints."""

    def _redact(self, text: str) -> str:
        """A message about a contract the caller may not see names no contract."""

        def one(m: re.Match[str]) -> str:
            return m.group(0) if self.acting.may_see_id(int(m.group(1))) else "a contract"

        return _CONTRACT.sub(one, text)

    @action("ledger.verify", Perm.CONTRACTS_VERIFY, logged="read")
    def verify(self, extra: Sequence[tuple[str, str]] = ()) -> LedgerReport:
        """The whole tree against every stored checkpoint and the given ones (name, text),
        each problem named. A malformed extra checkpoint is an error naming it (LedgerError),
        before anything is checked."""
        ledger = self.archive.seal.ledger
        for name, text in extra:
            ledger.read_checkpoint(text, what=name)
        report = ledger.verify(extra)
        report = replace(
            report,
            problems=tuple(LedgerProblem(p.kind, self._redact(p.message)) for p in report.problems),
            warnings=tuple(self._redact(w) for w in report.warnings),
        )
        self.acting.note(status=report.status, problems=len(report.problems))
        return report

    @action("ledger.prove", Perm.CONTRACTS_VERIFY, logged="read", contract="contract_id")
    def prove(self, contract_id: int) -> InclusionProof:
        """The inclusion proof of the contract's latest manifest version in the latest signed
        checkpoint (one is issued first when the version is newer than the last checkpoint)."""
        return self.archive.seal.ledger.prove(contract_id)

    @action("ledger.consistency", Perm.CONTRACTS_VERIFY, logged="read")
    def consistency(self, old: int, new: int) -> ConsistencyProof:
        """That the tree of ``old`` leaves is a prefix of the tree of ``new`` leaves."""
        return self.archive.seal.ledger.consistency(old, new)

    @action("ledger.checkpoints", Perm.CONTRACTS_VERIFY, logged="read")
    def checkpoints(self) -> builtins.list[CheckpointRow]:
        """Every signed checkpoint, in the order issued."""
        return self.archive.seal.ledger.records.checkpoints()

    @action("ledger.checkpoint", Perm.CONTRACTS_VERIFY, logged="change", unit=False)
    def checkpoint(self) -> CheckpointRow | None:
        """Sign (and timestamp) a checkpoint of the tree now."""
        row = self.archive.seal.ledger.checkpoint(force=True)
        if row is not None:
            self.acting.note(checkpoint=row.id, tree_size=row.tree_size)
        return row

    @action("ledger.after_batch", Perm.CONTRACTS_INGEST, logged="no")
    def after_batch(self) -> CheckpointRow | None:
        """After an ingest batch: a checkpoint when the tree grew (reveals no archive data)."""
        return self.archive.seal.ledger.checkpoint(force=False)

    @action("ledger.public_key", Perm.CONTRACTS_VERIFY, logged="no")
    def public_key(self) -> str:
        """The ledger's verifier key (signed-note form: name+id+base64 key)."""
        return self.archive.seal.ledger.verifier.to_text()

    @action("ledger.check_proof", Perm.CONTRACTS_VERIFY, logged="read")
    def check_proof(self, text: str | bytes, *, what: str) -> ProofCheck:
        """An inclusion proof file: the checkpoint's signature and origin, the path to its root,
        and (for a contract the caller may see) the archive's manifest digest."""
        proof = InclusionProof.from_json(text, what=what)
        ledger = self.archive.seal.ledger
        result = ledger.check_proof(proof, what=what)
        if not self.acting.may_see_id(proof.contract_id):
            lines = tuple(
                line
                for line in result.lines
                if "this archive's manifest" not in line and "holds no manifest" not in line
            )
            result = ProofCheck(ok=result.ok, lines=tuple(self._redact(x) for x in lines))
        return result
