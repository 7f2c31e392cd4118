"""A contract's terms: view, confirm, suggestions, relations (master/amendments), history.

Related contracts (the master, amendments, renewals) the caller may not see are left out of a
contract's view, and linking a contract to one gives the answer a missing contract gives.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from core.errors import NotFound
from core.roles import Perm
from schemas.contract_model import ClausePublic, ContractTermsView, EventPublic
from services.contracts.service import ContractService
from services.facade.base import Area, action
from services.facade.pages import restricted


class TermsArea(Area):
    """A contract's terms: view, confirm, suggestions, relations (master/amendments), history."""

    @property
    def model(self) -> ContractService:
        return self.archive.contracts

    def visible_view(self, contract_id: int, purpose: str | None = None) -> ContractTermsView:
        """The contract's terms with only the related contracts the caller may see (for the
        actions of this and other areas that answer with the terms); the suggestions' evidence
        as :meth:`excerpts_shown` allows."""
        view = self.model.view(contract_id)
        master = view.master
        if master is not None and not self.acting.may_see_id(master.id):
            master = None
        related = [r for r in view.related if self.acting.may_see_id(r.id)]
        update: dict[str, Any] = {"master": master, "related": related}
        if not self.excerpts_shown(contract_id, purpose):
            update["suggested"] = {
                name: [
                    s.model_copy(update={"evidence": s.evidence.model_copy(update={"text": ""})})
                    if s.evidence is not None
                    else s
                    for s in found
                ]
                for name, found in view.suggested.items()
            }
        confirmed = view.confirmed
        if confirmed.master_id is not None and not self.acting.may_see_id(confirmed.master_id):
            update["confirmed"] = confirmed.model_copy(update={"master_id": None})
        return view.model_copy(update=update)

    def excerpts_shown(self, contract_id: int, purpose: str | None = None) -> bool:
        """Whether the caller sees excerpts of the contract's text (a suggestion's evidence, a
        clause's sentence): they are its content, so they need ``contracts:read``, and for a
        restricted class a purpose (借阅登记, recorded in the access-log entry of the view, as
        for the pages and downloads) or a live grant (借阅). Otherwise the excerpt is empty;
        page and span stay."""
        caller = self.acting.caller
        if not caller.can(Perm.CONTRACTS_READ):
            return False
        record = self.archive.get(contract_id)
        return (
            not restricted(self.acting, record)
            or bool((purpose or "").strip())
            or caller.grant_for(contract_id) is not None
        )

    @action("contract.terms.view", Perm.CONTRACTS_VIEW, logged="read", contract="contract_id")
    def view(self, contract_id: int, purpose: str | None = None) -> ContractTermsView:
        """Confirmed values and suggestions apart, parties, payments, holds, archival fields,
        the master contract and related contracts, the allowed transitions (the evidence of a
        restricted contract's suggestions with a ``purpose``, logged)."""
        return self.visible_view(contract_id, purpose)

    def _check_links(self, changes: Mapping[str, Any]) -> None:
        """A master contract or a customer the caller may not see is missing, in its words."""
        master_id = changes.get("master_id")
        if master_id is not None and not self.acting.may_see_id(int(master_id)):
            raise NotFound(f"contract {int(master_id)} does not exist")
        customer_ids = [changes.get("customer_id")] + [
            p.get("customer_id") if isinstance(p, Mapping) else getattr(p, "customer_id", None)
            for p in changes.get("parties") or ()
        ]
        if any(c is not None for c in customer_ids):
            from services.facade.customers import CustomersArea

            customers = CustomersArea(self.acting)
            for customer_id in customer_ids:
                if customer_id is not None:
                    customers.visible(int(customer_id), "contract.terms.update")

    @action("contract.terms.update", Perm.CONTRACTS_EDIT, logged="change", contract="contract_id")
    def update(
        self, contract_id: int, changes: Mapping[str, Any], reason: str | None = None
    ) -> ContractTermsView:
        """Confirm or correct terms (each changed field is recorded with who and why)."""
        if "classification" in changes:
            self.acting.require(
                Perm.CONTRACTS_CLASSIFY, action="contract.terms.update", contract_id=contract_id
            )
        self._check_links(changes)
        self.model.confirm(contract_id, changes, actor=self.acting.actor, reason=reason)
        return self.visible_view(contract_id)

    @action(
        "contract.suggestion.accept", Perm.CONTRACTS_EDIT, logged="change", contract="contract_id"
    )
    def accept(self, contract_id: int, suggestion_id: int) -> ContractTermsView:
        """Accept a suggestion as the confirmed value."""
        self.model.accept_suggestion(contract_id, suggestion_id, actor=self.acting.actor)
        return self.visible_view(contract_id)

    @action(
        "contract.suggestion.reject", Perm.CONTRACTS_EDIT, logged="change", contract="contract_id"
    )
    def reject(self, contract_id: int, suggestion_id: int) -> ContractTermsView:
        """Reject a suggestion."""
        self.model.reject_suggestion(contract_id, suggestion_id, actor=self.acting.actor)
        return self.visible_view(contract_id)

    @action("contract.history", Perm.CONTRACTS_VIEW, logged="read", contract="contract_id")
    def history(self, contract_id: int) -> list[EventPublic]:
        """Every recorded change: who, when, what and why."""
        return self.model.events(contract_id)

    @action("contract.clauses", Perm.CONTRACTS_VIEW, logged="read", contract="contract_id")
    def clauses(self, contract_id: int, purpose: str | None = None) -> list[ClausePublic]:
        """The clauses found in the contract (CUAD's clause types, Chinese clause headings):
        type, page, character span, sentence, confidence and whether a person confirmed it
        (the sentence only where :meth:`excerpts_shown`; ``purpose`` is logged)."""
        found = self.model.clauses(contract_id)
        if self.excerpts_shown(contract_id, purpose):
            return found
        return [c.model_copy(update={"sentence": ""}) for c in found]
