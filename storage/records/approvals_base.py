"""The approvals area of the record store: versioned approval rules, customers' risk flags, and
the rounds of approval a contract goes through before signing.

Submitting a contract starts a round (the contract's status becomes ``in_approval`` in the same
transaction); each decision is written with the step it decides, and the last approval (or a
rejection) moves the contract on (``signing``, or back to ``draft``) in the same transaction
as the decision, with an event in the contract's history.

The Protocol :class:`ApprovalStore` and the plain records it returns. Its SQL implementation,
:class:`~storage.records.approvals_sql.SqlApprovals`, is a part of ``SqlRecordStore``.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol, runtime_checkable


@dataclass(frozen=True)
class RuleSetRecord:
    version: int
    created_at: datetime
    created_by: str
    note: str | None
    rules: dict[str, Any]


@dataclass(frozen=True)
class DecisionRecord:
    id: int
    round_id: int
    step_no: int
    actor: str
    decision: str
    comment: str | None
    at: datetime


@dataclass(frozen=True)
class RoundRecord:
    id: int
    contract_id: int
    round_no: int
    rules_version: int
    rule_names: tuple[str, ...]
    steps: tuple[dict[str, Any], ...]
    state: str
    current_step: int
    step_started_at: datetime
    submitted_by: str
    submitted_at: datetime
    finished_at: datetime | None
    reason: str | None
    reminded_at: datetime | None
    decisions: tuple[DecisionRecord, ...] = ()

    def approved_in(self, step_no: int) -> set[str]:
        return {d.actor for d in self.decisions if d.step_no == step_no and d.decision == "approve"}


@runtime_checkable
class ApprovalStore(Protocol):
    """Approval rules (versioned), risk flags, rounds and decisions."""

    def current_rules(self) -> RuleSetRecord | None: ...

    def rules_versions(self) -> list[RuleSetRecord]: ...

    def new_rules_version(
        self, rules: Mapping[str, Any], *, actor: str, note: str | None, based_on: int
    ) -> RuleSetRecord:
        """Save a new version; Conflict when ``based_on`` is no longer the current one."""

    def risk_flags(self, customer_id: int) -> frozenset[str]: ...

    def set_risk_flags(self, customer_id: int, flags: Collection[str], *, actor: str) -> None: ...

    def start_round(
        self,
        contract_id: int,
        *,
        rules_version: int,
        rule_names: Sequence[str],
        steps: Sequence[Mapping[str, Any]],
        actor: str,
        at: datetime,
    ) -> RoundRecord:
        """A contract in ``draft`` becomes ``in_approval`` with a new open round; Conflict if it
        is in another state."""

    def decide(
        self,
        round_id: int,
        *,
        step_no: int,
        actor: str,
        decision: str,
        comment: str | None,
        at: datetime,
    ) -> RoundRecord:
        """Record an approval or a rejection of step ``step_no`` of an open round (Conflict if
        it is no longer open or at that step); a rejection returns the contract to ``draft``,
        the last approval moves it to ``signing``: one transaction."""

    def get_round(self, round_id: int) -> RoundRecord: ...

    def open_round(self, contract_id: int) -> RoundRecord | None: ...

    def list_rounds(
        self, *, contract_id: int | None = None, states: Collection[str] = ()
    ) -> list[RoundRecord]: ...

    def mark_reminded(self, round_id: int, at: datetime) -> None: ...
