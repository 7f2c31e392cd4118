"""Lifecycle: status transitions, filing (档号, 保管期限), the holds that stop disposal, and
disposal."""

from __future__ import annotations

from typing import Any

from core.roles import Perm
from schemas.contract_model import ArchivalPublic, EventPublic, HoldPublic
from schemas.fourprops import FourPropsReport
from services.contracts.service import ContractService
from services.facade.base import Area, action


class LifecycleArea(Area):
    """Lifecycle: status transitions, filing (档号, 保管期限), disposal."""

    @property
    def model(self) -> ContractService:
        return self.archive.contracts

    @action("contract.transition", Perm.CONTRACTS_EDIT, logged="change", contract="contract_id")
    def transition(
        self, contract_id: int, to: str, reason: str | None = None, force: bool = False
    ) -> EventPublic:
        """Move a contract along its lifecycle (recorded with who, when and why); ``force``
        is a correction outside the rules and needs a reason."""
        event = self.model.transition(
            contract_id, to, actor=self.acting.actor, reason=reason, force=force
        )
        self.acting.note(from_value=event.from_value, to_value=event.to_value)
        return event

    @action("contract.file", Perm.CONTRACTS_EDIT, logged="change", contract="contract_id")
    def file(
        self,
        contract_id: int,
        fonds_code: str | None = None,
        retention: str | None = None,
        force_reason: str | None = None,
    ) -> ArchivalPublic:
        """Give the contract its archival code (档号), once, after the 四性检测 of its package
        (a FAILED item refuses it unless ``force_reason`` says why it is filed anyway)."""
        terms = self.model.file(
            contract_id,
            actor=self.acting.actor,
            fonds_code=fonds_code,
            retention=retention,
            force_reason=force_reason,
        )
        self.acting.note(archival_code=terms.archival_code, forced=force_reason is not None)
        held = any(h.active for h in self.model.store.list_holds(contract_id))
        return ArchivalPublic.from_record(terms, held=held)

    @action("contract.hold.place", Perm.CONTRACTS_EDIT, logged="change", contract="contract_id")
    def place_hold(self, contract_id: int, reason: str) -> HoldPublic:
        """A hold: the contract is never disposed of while it is held."""
        hold = self.model.place_hold(contract_id, reason, actor=self.acting.actor)
        self.acting.note(hold_id=hold.id)
        return hold

    @action("contract.hold.release", Perm.CONTRACTS_EDIT, logged="change", contract="contract_id")
    def release_hold(self, contract_id: int, hold_id: int, reason: str) -> HoldPublic:
        return self.model.release_hold(contract_id, hold_id, reason, actor=self.acting.actor)

    @action("contract.disposal.list", Perm.CONTRACTS_VIEW, logged="read")
    def disposal_due(self) -> list[dict[str, Any]]:
        """Filed contracts the caller may see whose disposal is due, and the holds that stop
        it."""
        due = [d for d in self.model.disposal_due() if self.acting.may_see_id(int(d["id"]))]
        self.acting.note(returned=[d["id"] for d in due])
        return due

    @action("contract.fourprops", Perm.CONTRACTS_VIEW, logged="read", contract="contract_id")
    def fourprops(self, contract_id: int) -> FourPropsReport:
        """The 四性检测 report made when the contract was filed (NotFound before)."""
        report = FourPropsReport.model_validate(self.model.fourprops(contract_id))
        self.acting.note(overall=report.overall, sha256=report.sha256)
        return report
