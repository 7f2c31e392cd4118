"""Customers: list, view, create, update, aliases, merge (hidden classes applied).

A customer known only through contracts of classes the caller is not cleared for is hidden as
such contracts are: left out of the list, and missing (404, the same answer as for a customer
that does not exist) to every read or change by id, name or alias.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from core.errors import NotFound
from core.roles import Perm
from schemas.contract_model import CustomerPage, CustomerPublic, CustomerView
from services.contracts.service import ContractService
from services.facade.base import Area, action
from storage.records.contract_base import ContractFilter, CustomerRecord


def _missing(ref: str | int) -> NotFound:
    """What the records answer for a customer that does not exist (the same words)."""
    if isinstance(ref, int) or str(ref).strip().isdigit():
        return NotFound(f"customer {int(ref)} does not exist")
    return NotFound(
        f"no customer is named {ref!r}",
        hint="`contract-archive customer list --query ...` finds customers by part of a name",
    )


class CustomersArea(Area):
    """Customers: list, view, create, update, aliases, merge (hidden classes applied)."""

    @property
    def model(self) -> ContractService:
        return self.archive.contracts

    # -- visibility -------------------------------------------------------------------------------
    def hides(self, customer_id: int) -> bool:
        """Whether the customer is known to the caller only through contracts they may not
        see (a customer without contracts is visible: it reveals nothing restricted)."""
        hidden = self.acting.hidden
        if not hidden:
            return False
        store = self.model.store
        visible, _ = store.query_contracts(
            ContractFilter(customer_id=customer_id, hidden_classifications=hidden), limit=1
        )
        if visible:
            return False
        linked, _ = store.query_contracts(ContractFilter(customer_id=customer_id), limit=1)
        return linked > 0

    def visible(self, ref: str | int, action: str) -> CustomerRecord:
        """The customer by id, name or alias; NotFound (the attempt logged) for a hidden one,
        in the words of a missing one."""
        customer = self.model.resolve_customer(ref)
        if self.hides(customer.id):
            self.acting.log(action, outcome="denied", details={"customer_id": customer.id})
            raise _missing(ref)
        return customer

    # -- reads ----------------------------------------------------------------------------------
    @action("customer.list", Perm.CONTRACTS_VIEW, logged="read")
    def list_page(self, q: str | None = None, offset: int = 0, limit: int = 50) -> CustomerPage:
        """Customers with their totals, without those known only through hidden contracts and
        without hidden contracts in any total."""
        page = self.model.list_customers(q=q, offset=offset, limit=limit, hidden=self.acting.hidden)
        self.acting.note(total=page.total, returned=[i.customer.id for i in page.items])
        return page

    @action("customer.view", Perm.CONTRACTS_VIEW, logged="read")
    def view(self, ref: str) -> CustomerView:
        """One customer (id, name or alias) with every contract the caller may see."""
        customer = self.visible(ref, "customer.view")
        view = self.model.customer_view(customer.id, hidden=self.acting.hidden)
        self.acting.note(customer_id=customer.id, returned=[c.id for c in view.contracts])
        return view

    # -- changes --------------------------------------------------------------------------------
    @action("customer.create", Perm.CONTRACTS_EDIT, logged="change")
    def create(
        self,
        name: str,
        registration_no: str | None = None,
        aliases: Sequence[str] = (),
        contacts: Sequence[Mapping[str, Any]] = (),
        notes: str | None = None,
    ) -> CustomerPublic:
        customer = self.model.create_customer(
            name,
            actor=self.acting.actor,
            registration_no=registration_no,
            aliases=aliases,
            contacts=contacts,
            notes=notes,
        )
        self.acting.note(customer_id=customer.id)
        return CustomerPublic.from_record(customer)

    @action("customer.update", Perm.CONTRACTS_EDIT, logged="change")
    def update(self, customer_id: int, changes: Mapping[str, Any]) -> CustomerPublic:
        self.visible(customer_id, "customer.update")
        return CustomerPublic.from_record(
            self.model.update_customer(customer_id, changes, actor=self.acting.actor)
        )

    @action("customer.alias", Perm.CONTRACTS_EDIT, logged="change")
    def add_alias(self, customer_id: int, alias: str) -> CustomerPublic:
        self.visible(customer_id, "customer.alias")
        return CustomerPublic.from_record(
            self.model.add_alias(customer_id, alias, actor=self.acting.actor)
        )

    @action("customer.merge", Perm.CONTRACTS_EDIT, logged="change")
    def merge(self, target_id: int, source_id: int) -> CustomerPublic:
        """Merge ``source_id`` into ``target_id``: both must be customers the caller sees."""
        self.visible(target_id, "customer.merge")
        self.visible(source_id, "customer.merge")
        return CustomerPublic.from_record(
            self.model.merge_customers(target_id, source_id, actor=self.acting.actor)
        )
