"""Approval before signing (合同审批): the versioned rules, customers' risk flags, submitting a
draft, and each approver's decision.

A draft submitted for approval gets the chain of steps the current rules select
(:func:`core.workflows.select_chain`); each step's approvers are resolved when the chain starts:
enabled users the step names (by user, role or group), cleared for the contract's class, other
than the submitter (nobody approves their own submission). A step that resolves to no one
refuses the submission (422), and nothing changes. A decision is checked against the user as they
are at that moment: an approver who lost the role or group, or was disabled, is refused (409).
Approving or rejecting a contract that is not in approval is a 409. Every step is an event of the
contract's history and an entry of the access log (``logged="change"``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from core.access_errors import Forbidden
from core.errors import Conflict, InvalidRequest, Unprocessable
from core.roles import Perm
from core.workflows import (
    Facts,
    Step,
    parse_rules,
    rules_to_json,
    select_chain,
    valid_comment,
    valid_flag,
)
from schemas.contract_model import ConfirmedTerms
from schemas.workflows import (
    ApprovalList,
    ApprovalPublic,
    ApprovalReminderRun,
    ApprovalRulesPublic,
    DecisionPublic,
    StepPublic,
)
from services.approvals import approval_reminders
from services.facade.base import Area, action
from storage.records.access_base import UserRecord
from storage.records.approvals_base import RoundRecord
from storage.records.base import RecordStore


def step_of(raw: dict[str, Any]) -> Step:
    return Step(
        users=tuple(raw.get("users", ())),
        roles=tuple(raw.get("roles", ())),
        groups=tuple(raw.get("groups", ())),
        mode=str(raw.get("mode", "any")),
    )


class ApprovalsArea(Area):
    """Approval rules, submission, approval and rejection, the approvers' queue."""

    @property
    def store(self) -> RecordStore:
        return self.archive.records

    # -- rules ---------------------------------------------------------------------------------
    @action("approval.rules.view", Perm.CONTRACTS_VIEW, logged="no")
    def rules(self) -> ApprovalRulesPublic:
        """The current approval rules (the archive's configuration, not archive data)."""
        current = self.store.current_rules()
        if current is None:
            return ApprovalRulesPublic(
                version=0, created_at=None, created_by=None, note=None, rules=[]
            )
        return ApprovalRulesPublic(
            version=current.version,
            created_at=current.created_at,
            created_by=current.created_by,
            note=current.note,
            rules=list(current.rules.get("rules", [])),
        )

    @action("approval.rules.set", Perm.SETTINGS_MANAGE, logged="change")
    def set_rules(
        self, rules: Any, note: str | None = None, based_on: int | None = None
    ) -> ApprovalRulesPublic:
        """Replace the rule set: a new version (a running chain keeps the version it started
        with). ``based_on``: the version the change starts from (Conflict if it changed)."""
        parsed = parse_rules(rules)
        current = self.store.current_rules()
        base = current.version if current else 0
        if based_on is not None and based_on != base:
            raise Conflict(
                f"the approval rules changed meanwhile (now version {base})",
                hint="reload the rules and apply the change again",
            )
        saved = self.store.new_rules_version(
            rules_to_json(parsed),
            actor=self.acting.actor,
            note=valid_comment(note, required=False, what="note"),
            based_on=base,
        )
        self.acting.note(version=saved.version)
        return self.rules()

    @action("approval.risk_flags.set", Perm.SETTINGS_MANAGE, logged="change")
    def set_risk_flags(self, customer: str, flags: Sequence[str]) -> list[str]:
        """Set a customer's risk flags (what the ``customer_flag`` condition selects on)."""
        from services.facade.customers import CustomersArea

        found = CustomersArea(self.acting).visible(customer, "approval.risk_flags.set")
        cleaned = sorted({valid_flag(f) for f in flags})
        self.store.set_risk_flags(found.id, cleaned, actor=self.acting.actor)
        self.acting.note(customer_id=found.id)
        return cleaned

    # -- the chain -----------------------------------------------------------------------------
    def _facts(self, contract_id: int) -> Facts:
        record = self.archive.get(contract_id)
        terms = self.archive.contracts.store.get_terms(contract_id)
        flags = self.store.risk_flags(terms.customer_id) if terms.customer_id else frozenset()
        return Facts(
            classification=terms.classification or record.classification,
            amount=terms.amount,
            currency=terms.currency,
            customer_flags=frozenset(flags),
            department=terms.department,
        )

    def _cleared(self, user: UserRecord, classification: str | None) -> bool:
        groups = self.acting.access.store.restrictions().get(classification or "", frozenset())
        return not groups or bool(groups & set(user.groups))

    def _qualifies(self, user: UserRecord | None, step: Step, classification: str | None) -> bool:
        return (
            user is not None
            and not user.disabled
            and step.qualifies(user.username, user.roles, user.groups)
            and self._cleared(user, classification)
        )

    @action("approval.submit", Perm.CONTRACTS_EDIT, logged="change", contract="contract_id")
    def submit(self, contract_id: int) -> ApprovalPublic:
        """Submit a draft for approval: the rules select the chain, its approvers are resolved,
        and the contract becomes ``in_approval`` (one transaction)."""
        record = self.archive.get(contract_id)
        if record.status != "draft":
            raise Conflict(
                f"contract {contract_id} is {record.status}; only a draft can be submitted for "
                "approval",
                details={"status": record.status},
            )
        current = self.store.current_rules()
        if current is None:
            raise Unprocessable(
                "there are no approval rules, so no chain can be selected",
                hint="an administrator sets them: contract-archive approvals rules set FILE",
            )
        facts = self._facts(contract_id)
        names, steps = select_chain(parse_rules(current.rules), facts)
        if not steps:
            raise Unprocessable(
                f"no approval rule selects contract {contract_id}",
                hint="add a rule that applies (a rule without conditions applies to every "
                "contract)",
                details={"rules_version": current.version},
            )
        users = self.acting.access.store.list_users()
        resolved: list[dict[str, Any]] = []
        for n, step in enumerate(steps, 1):
            approvers = sorted(
                u.username
                for u in users
                if u.username != self.acting.actor
                and self._qualifies(u, step, facts.classification)
            )
            if not approvers:
                raise Unprocessable(
                    f"step {n} ({step.describe()}) selects no one who may approve contract "
                    f"{contract_id}",
                    hint="nobody approves their own submission; approvers must be enabled and "
                    "cleared for the contract's class; change the rules or the users",
                    details={"step": n, "rules_version": current.version},
                )
            resolved.append({**step.to_dict(), "approvers": approvers})
        started = self.store.start_round(
            contract_id,
            rules_version=current.version,
            rule_names=names,
            steps=resolved,
            actor=self.acting.actor,
            at=self.acting.now(),
        )
        self.archive.contracts.refresh(contract_id)
        self.acting.note(round_id=started.id, rules=names, steps=len(resolved))
        return self._public(started)

    def _decide(self, contract_id: int, decision: str, comment: str | None) -> ApprovalPublic:
        record = self.archive.get(contract_id)
        current = self.store.open_round(contract_id)
        if current is None or record.status != "in_approval":
            raise Conflict(
                f"contract {contract_id} is not in approval (it is {record.status})",
                hint="only a contract submitted for approval can be approved or rejected",
                details={"status": record.status},
            )
        me = self.acting.actor
        if me == current.submitted_by:
            raise Forbidden(
                "nobody approves or rejects their own submission",
                hint="one of the step's approvers decides",
            )
        raw = current.steps[current.current_step]
        step = step_of(raw)
        if me not in raw.get("approvers", ()):
            raise Forbidden(
                f"{me} is not an approver of step {current.current_step + 1} of contract "
                f"{contract_id} ({step.describe()})",
                details={"approvers": list(raw.get("approvers", ()))},
            )
        user = self.acting.access.store.get_user(me)
        if not self._qualifies(user, step, self._facts(contract_id).classification):
            raise Conflict(
                f"{me} is no longer one of the approvers of step {current.current_step + 1} "
                f"({step.describe()}): the role, group or clearance that made them one is gone",
                hint="an administrator restores it, or the submission is withdrawn by a "
                "rejection from another approver",
            )
        decided = self.store.decide(
            current.id,
            step_no=current.current_step,
            actor=me,
            decision=decision,
            comment=comment,
            at=self.acting.now(),
        )
        self.archive.contracts.refresh(contract_id)
        self.acting.note(round_id=decided.id, step=current.current_step + 1, state=decided.state)
        return self._public(decided)

    @action("approval.approve", Perm.CONTRACTS_VIEW, logged="change", contract="contract_id")
    def approve(self, contract_id: int, comment: str | None = None) -> ApprovalPublic:
        """Approve the current step; the last approval moves the contract to ``signing``."""
        return self._decide(contract_id, "approve", valid_comment(comment, required=False))

    @action("approval.reject", Perm.CONTRACTS_VIEW, logged="change", contract="contract_id")
    def reject(self, contract_id: int, comment: str) -> ApprovalPublic:
        """Reject (a comment is required): the contract returns to ``draft`` with the reason."""
        return self._decide(contract_id, "reject", valid_comment(comment, required=True))

    # -- reads -------------------------------------------------------------------------------
    def _public(self, r: RoundRecord, *, full: bool = False) -> ApprovalPublic:
        record = self.archive.get(r.contract_id)
        steps: list[StepPublic] = []
        for n, raw in enumerate(r.steps):
            approved = sorted(r.approved_in(n))
            if r.state == "approved" or n < r.current_step:
                state = "done"
            elif n == r.current_step and r.state == "open":
                state = "waiting"
            else:
                state = "pending"
            steps.append(
                StepPublic(
                    number=n + 1,
                    mode=str(raw.get("mode", "any")),
                    users=list(raw.get("users", ())),
                    roles=list(raw.get("roles", ())),
                    groups=list(raw.get("groups", ())),
                    approvers=list(raw.get("approvers", ())),
                    approved_by=approved,
                    state=state,
                )
            )
        me = self.acting.actor
        waiting = r.steps[r.current_step] if r.state == "open" else None
        may_decide = bool(
            waiting
            and me in waiting.get("approvers", ())
            and me not in r.approved_in(r.current_step)
        )
        out = ApprovalPublic(
            id=r.id,
            contract_id=r.contract_id,
            title=record.title,
            status=record.status,
            round_no=r.round_no,
            state=r.state,
            rules_version=r.rules_version,
            rule_names=list(r.rule_names),
            submitted_by=r.submitted_by,
            submitted_at=r.submitted_at,
            current_step=r.current_step + 1 if r.state == "open" else None,
            waiting_since=r.step_started_at if r.state == "open" else None,
            finished_at=r.finished_at,
            reason=r.reason,
            steps=steps,
            decisions=[DecisionPublic.of(d) for d in r.decisions],
            may_decide=may_decide,
        )
        if full:
            out.terms = {
                k: v
                for k, v in ConfirmedTerms.from_record(
                    self.archive.contracts.store.get_terms(r.contract_id)
                )
                .model_dump(mode="json")
                .items()
                if v not in (None, [], {})
            }
            out.changes_since_last_round = self._changes(r)
        return out

    def _changes(self, r: RoundRecord) -> list[dict[str, Any]]:
        """What changed in the contract since the previous round ended (its rejection): the
        events recorded after that one, in order."""
        events = self.archive.contracts.store.list_events(r.contract_id)
        ends = [
            i
            for i, e in enumerate(events)
            if e.kind == "approval.reject" and e.data.get("round") == r.round_no - 1
        ]
        if not ends:
            return []
        return [
            {
                "at": e.at.isoformat(),
                "actor": e.actor,
                "kind": e.kind,
                "field": e.data.get("field"),
                "from": e.from_value,
                "to": e.to_value,
            }
            for e in events[ends[-1] + 1 :]
            if not e.kind.startswith("approval.")
        ]

    @action("approval.list", Perm.CONTRACTS_VIEW, logged="read")
    def queue(self, mine: bool = False, state: str | None = "open") -> ApprovalList:
        """Rounds of approval of contracts the caller may see (``mine``: those waiting for
        the caller's decision), with the contract's terms and what changed since the last
        round."""
        if state is not None and state not in ("open", "approved", "rejected"):
            raise InvalidRequest(
                f"unknown approval state {state!r}", hint="open, approved or rejected"
            )
        rounds = self.store.list_rounds(states=(state,) if state else ())
        items = []
        for r in rounds:
            if not self.acting.may_see_id(r.contract_id):
                continue
            public = self._public(r, full=True)
            if mine and not public.may_decide:
                continue
            items.append(public)
        self.acting.note(returned=[i.contract_id for i in items])
        return ApprovalList(items=items)

    @action("approval.view", Perm.CONTRACTS_VIEW, logged="read", contract="contract_id")
    def view(self, contract_id: int) -> ApprovalList:
        """Every round of approval of one contract, newest last."""
        rounds = self.store.list_rounds(contract_id=contract_id)
        return ApprovalList(items=[self._public(r, full=True) for r in rounds])

    @action("approval.remind", Perm.SETTINGS_MANAGE, logged="change", unit=False)
    def remind(self) -> ApprovalReminderRun:
        """Reminders for steps waiting longer than ARCHIVE_APPROVAL_REMINDER_HOURS (in the
        reminder feed; e-mailed when SMTP is configured). The reminder job runs this too."""
        run = approval_reminders(self.archive.contracts, now=self.acting.now())
        visible = [r for r in run.reminders if self.acting.may_see_id(r.contract_id)]
        self.acting.note(reminders=len(run.reminders))
        return run.model_copy(update={"reminders": visible})
