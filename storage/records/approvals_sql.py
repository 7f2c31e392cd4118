"""The SQL half of :class:`~storage.records.approvals_base.ApprovalStore`.

A round starts, and a decision finishes a step, in the transaction that changes the contract's
status and writes the event: the contract row is locked first, so two decisions on one round
(or a decision and a plain transition) are serialized, and the second sees the first.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from core.errors import Conflict, NotFound
from storage.records.approvals_base import DecisionRecord, RoundRecord, RuleSetRecord
from storage.records.contract_models import ContractEvent
from storage.records.models import Contract
from storage.records.sql_common import SqlPart
from storage.records.workflow_models import (
    ApprovalDecision,
    ApprovalRound,
    ApprovalRuleSet,
    CustomerRiskFlag,
)


def _rules(row: ApprovalRuleSet) -> RuleSetRecord:
    return RuleSetRecord(
        version=row.version,
        created_at=row.created_at,
        created_by=row.created_by,
        note=row.note,
        rules=dict(row.rules or {}),
    )


def _decision(row: ApprovalDecision) -> DecisionRecord:
    return DecisionRecord(
        id=row.id,
        round_id=row.round_id,
        step_no=row.step_no,
        actor=row.actor,
        decision=row.decision,
        comment=row.comment,
        at=row.at,
    )


class SqlApprovals(SqlPart):
    """Approval rules, risk flags, rounds and decisions (a part of ``SqlRecordStore``)."""

    @staticmethod
    def _round(s: Session, row: ApprovalRound) -> RoundRecord:
        decisions = s.scalars(
            select(ApprovalDecision)
            .where(ApprovalDecision.round_id == row.id)
            .order_by(ApprovalDecision.id)
        )
        return RoundRecord(
            id=row.id,
            contract_id=row.contract_id,
            round_no=row.round_no,
            rules_version=row.rules_version,
            rule_names=tuple(row.rule_names or ()),
            steps=tuple(dict(s) for s in row.steps or ()),
            state=row.state,
            current_step=row.current_step,
            step_started_at=row.step_started_at,
            submitted_by=row.submitted_by,
            submitted_at=row.submitted_at,
            finished_at=row.finished_at,
            reason=row.reason,
            reminded_at=row.reminded_at,
            decisions=tuple(_decision(d) for d in decisions),
        )

    # -- rules -------------------------------------------------------------------------------
    def current_rules(self) -> RuleSetRecord | None:
        with self._session(write=False) as s:
            row = s.scalars(
                select(ApprovalRuleSet).order_by(ApprovalRuleSet.version.desc()).limit(1)
            ).first()
            return _rules(row) if row else None

    def rules_versions(self) -> list[RuleSetRecord]:
        with self._session(write=False) as s:
            return [
                _rules(r)
                for r in s.scalars(select(ApprovalRuleSet).order_by(ApprovalRuleSet.version))
            ]

    def new_rules_version(
        self, rules: Mapping[str, Any], *, actor: str, note: str | None, based_on: int
    ) -> RuleSetRecord:
        with self._write_tx() as s:
            current = s.scalar(select(func.max(ApprovalRuleSet.version))) or 0
            if current != based_on:
                raise Conflict(
                    f"the approval rules changed meanwhile (now version {current})",
                    hint="reload the rules and apply the change again",
                )
            row = ApprovalRuleSet(
                version=based_on + 1, created_by=actor, note=note, rules=dict(rules)
            )
            s.add(row)
            s.flush()
            return _rules(row)

    # -- risk flags --------------------------------------------------------------------------
    def risk_flags(self, customer_id: int) -> frozenset[str]:
        with self._session(write=False) as s:
            return frozenset(
                s.scalars(
                    select(CustomerRiskFlag.flag).where(CustomerRiskFlag.customer_id == customer_id)
                )
            )

    def set_risk_flags(self, customer_id: int, flags: Collection[str], *, actor: str) -> None:
        with self._write_tx() as s:
            s.execute(delete(CustomerRiskFlag).where(CustomerRiskFlag.customer_id == customer_id))
            for flag in sorted(set(flags)):
                s.add(CustomerRiskFlag(customer_id=customer_id, flag=flag, set_by=actor))

    # -- rounds ------------------------------------------------------------------------------
    @staticmethod
    def _lock_contract(s: Session, contract_id: int) -> Contract:
        contract = s.get(Contract, contract_id, with_for_update=True)
        if contract is None:
            raise NotFound(f"contract {contract_id} does not exist")
        return contract

    @staticmethod
    def _event(
        s: Session,
        contract: Contract,
        to: str,
        *,
        kind: str,
        actor: str,
        reason: str | None,
        at: datetime,
        data: Mapping[str, Any],
    ) -> None:
        s.add(
            ContractEvent(
                contract_id=contract.id,
                kind=kind,
                from_value=contract.status,
                to_value=to,
                reason=reason,
                actor=actor,
                at=at,
                data=dict(data),
            )
        )
        contract.status = to

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
        with self._write_tx() as s:
            contract = self._lock_contract(s, contract_id)
            if contract.status != "draft":
                raise Conflict(
                    f"contract {contract_id} is {contract.status}; only a draft can be "
                    "submitted for approval",
                    details={"status": contract.status},
                )
            previous = s.scalar(
                select(func.max(ApprovalRound.round_no)).where(
                    ApprovalRound.contract_id == contract_id
                )
            )
            row = ApprovalRound(
                contract_id=contract_id,
                round_no=(previous or 0) + 1,
                rules_version=rules_version,
                rule_names=list(rule_names),
                steps=[dict(st) for st in steps],
                state="open",
                current_step=0,
                step_started_at=at,
                submitted_by=actor,
                submitted_at=at,
            )
            s.add(row)
            s.flush()
            self._event(
                s,
                contract,
                "in_approval",
                kind="approval.submit",
                actor=actor,
                reason=None,
                at=at,
                data={"round_id": row.id, "round": row.round_no, "rules_version": rules_version},
            )
            s.flush()
            return self._round(s, row)

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
        with self._write_tx() as s:
            peek = s.get(ApprovalRound, round_id)
            if peek is None:
                raise NotFound(f"approval round {round_id} does not exist")
            contract = self._lock_contract(s, peek.contract_id)
            row = s.get(ApprovalRound, round_id, with_for_update=True, populate_existing=True)
            assert row is not None
            if row.state != "open" or contract.status != "in_approval":
                raise Conflict(
                    f"contract {contract.id} is not in approval (it is {contract.status})",
                    details={"status": contract.status},
                )
            if row.current_step != step_no:
                raise Conflict(
                    "the approval moved on meanwhile", hint="reload the queue and decide again"
                )
            done = s.scalars(
                select(ApprovalDecision.actor).where(
                    ApprovalDecision.round_id == round_id,
                    ApprovalDecision.step_no == step_no,
                    ApprovalDecision.decision == "approve",
                )
            ).all()
            if actor in done:
                raise Conflict(f"{actor} approved this step already")
            s.add(
                ApprovalDecision(
                    round_id=round_id,
                    step_no=step_no,
                    actor=actor,
                    decision=decision,
                    comment=comment,
                    at=at,
                )
            )
            step = dict(row.steps[step_no])
            data = {"round_id": row.id, "round": row.round_no, "step": step_no + 1}
            if decision == "reject":
                row.state = "rejected"
                row.finished_at = at
                row.reason = comment
                self._event(
                    s,
                    contract,
                    "draft",
                    kind="approval.reject",
                    actor=actor,
                    reason=comment,
                    at=at,
                    data=data,
                )
            else:
                approvers = set(done) | {actor}
                complete = step.get("mode") != "all" or set(step.get("approvers", ())) <= approvers
                kind = "approval.approve"
                if complete and step_no + 1 >= len(row.steps):
                    row.state = "approved"
                    row.finished_at = at
                    self._event(
                        s,
                        contract,
                        "signing",
                        kind=kind,
                        actor=actor,
                        reason=comment,
                        at=at,
                        data={**data, "final": True},
                    )
                else:
                    if complete:
                        row.current_step = step_no + 1
                        row.step_started_at = at
                        row.reminded_at = None
                    s.add(
                        ContractEvent(
                            contract_id=contract.id,
                            kind=kind,
                            from_value=contract.status,
                            to_value=contract.status,
                            reason=comment,
                            actor=actor,
                            at=at,
                            data={**data, "step_complete": complete},
                        )
                    )
            s.flush()
            return self._round(s, row)

    def get_round(self, round_id: int) -> RoundRecord:
        with self._session(write=False) as s:
            row = s.get(ApprovalRound, round_id)
            if row is None:
                raise NotFound(f"approval round {round_id} does not exist")
            return self._round(s, row)

    def open_round(self, contract_id: int) -> RoundRecord | None:
        with self._session(write=False) as s:
            row = s.scalars(
                select(ApprovalRound)
                .where(ApprovalRound.contract_id == contract_id, ApprovalRound.state == "open")
                .order_by(ApprovalRound.id.desc())
                .limit(1)
            ).first()
            return self._round(s, row) if row else None

    def list_rounds(
        self, *, contract_id: int | None = None, states: Collection[str] = ()
    ) -> list[RoundRecord]:
        with self._session(write=False) as s:
            stmt = select(ApprovalRound)
            if contract_id is not None:
                stmt = stmt.where(ApprovalRound.contract_id == contract_id)
            if states:
                stmt = stmt.where(ApprovalRound.state.in_(list(states)))
            rows = s.scalars(stmt.order_by(ApprovalRound.id).limit(1000)).all()
            return [self._round(s, r) for r in rows]

    def mark_reminded(self, round_id: int, at: datetime) -> None:
        with self._write_tx() as s:
            s.execute(
                update(ApprovalRound).where(ApprovalRound.id == round_id).values(reminded_at=at)
            )
