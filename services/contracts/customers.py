"""Customers (names, 统一社会信用代码, aliases, merges, their contracts and totals) and
contract lists."""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Mapping, Sequence
from datetime import date
from typing import TYPE_CHECKING, Any

from core.errors import InvalidRequest, NotFound
from core.names import is_valid_uscc, looks_like_uscc, loose_key, name_key
from core.rules import (
    LIVE_STATES,
    STATES,
    expiring_window,
    is_expiring,
    valid_classification,
)
from schemas.contract_model import (
    ContractLine,
    ContractLinePage,
    CustomerPage,
    CustomerPublic,
    CustomerSummary,
    CustomerTotals,
    CustomerView,
    Facet,
)
from storage.records.contract_base import (
    ContractFilter,
    ContractSummary,
    CustomerRecord,
)

if TYPE_CHECKING:
    pass

from services.contracts.base import MAX_LIST, ContractServiceBase, _money_sum, parse_window

log = logging.getLogger(__name__)


class CustomersMixin(ContractServiceBase):
    # -- customers ----------------------------------------------------------------------------
    def _name(self, name: str | None) -> str:
        """A customer's name, its spaces tidied; null or no letters or digits is refused (a
        null name in a change was stored as the text "None")."""
        name = " ".join((name or "").split())
        if not name_key(name):
            raise InvalidRequest("a customer needs a name with letters or digits")
        return name

    def _registration(self, number: str | None) -> tuple[str | None, str | None]:
        if number is None or not number.strip():
            return None, None
        number = number.strip().upper()
        if looks_like_uscc(number):
            if not is_valid_uscc(number):
                raise InvalidRequest(
                    f"{number} is not a valid 统一社会信用代码 (its check character is wrong)",
                    hint="check the 18 characters against the business licence",
                )
            return number, "uscc"
        return number, "other"

    def resolve_customer(self, ref: str | int) -> CustomerRecord:
        """A customer by id, name or alias."""
        if isinstance(ref, int) or (isinstance(ref, str) and ref.strip().isdigit()):
            return self.store.get_customer(int(ref))
        found = self.store.find_customer(name_key(str(ref)))
        if found is None:
            variants = self.store.find_customers_loose(loose_key(str(ref)))
            if len(variants) == 1:  # the name without its legal form, or with another one
                return variants[0]
            raise NotFound(
                f"no customer is named {ref!r}",
                hint="`contract-archive customer list --query ...` finds customers by part of "
                "a name",
            )
        return found

    def create_customer(
        self,
        name: str,
        *,
        actor: str,
        registration_no: str | None = None,
        aliases: Sequence[str] = (),
        contacts: Sequence[Mapping[str, Any]] = (),
        notes: str | None = None,
    ) -> CustomerRecord:
        name = self._name(name)
        number, kind = self._registration(registration_no)
        return self.store.create_customer(
            name,
            actor=actor,
            registration_no=number,
            registration_kind=kind,
            aliases=[" ".join(a.split()) for a in aliases if name_key(a)],
            contacts=contacts,
            notes=notes,
        )

    def update_customer(
        self, customer_id: int, changes: Mapping[str, Any], *, actor: str
    ) -> CustomerRecord:
        values = dict(changes)
        if "registration_no" in values:
            number, kind = self._registration(values["registration_no"])
            values["registration_no"] = number
            values["registration_kind"] = kind
        if "name" in values:
            values["name"] = self._name(values["name"])
        if "contacts" in values and values["contacts"] is None:
            values["contacts"] = []  # null clears them, as null clears the notes
        customer = self.store.update_customer(customer_id, values, actor=actor)
        if "name" in values:
            for summary in self._customer_contracts(customer_id):
                self.refresh(summary.id)
        return customer

    def add_alias(self, customer_id: int, alias: str, *, actor: str) -> CustomerRecord:
        alias = " ".join(alias.split())
        if not name_key(alias):
            raise InvalidRequest("an alias needs letters or digits")
        return self.store.add_alias(customer_id, alias, actor=actor)

    def merge_customers(self, target_id: int, source_id: int, *, actor: str) -> CustomerRecord:
        merged = self.store.merge_customers(target_id, source_id, actor=actor)
        for summary in self._customer_contracts(target_id):
            self.refresh(summary.id)
        return merged

    def _totals(self, contracts: Sequence[ContractSummary], today: date) -> CustomerTotals:
        window = expiring_window(self.settings.reminder_tiers)
        expiring = sum(1 for c in contracts if is_expiring(c.status, c.expiry_date, today, window))
        expired_ids = [c.id for c in contracts if c.status == "expired"]
        unrenewed = sum(1 for cid in expired_ids if not self.store.successors(cid))
        return CustomerTotals(
            contracts=len(contracts),
            live=sum(1 for c in contracts if c.status in LIVE_STATES),
            expiring=expiring,
            expired_unrenewed=unrenewed,
            amount=_money_sum([(c.currency, c.amount) for c in contracts]),
            outstanding=_money_sum(
                [(m.currency, m.amount) for c in contracts for m in c.outstanding]
            ),
            overdue=_money_sum([(m.currency, m.amount) for c in contracts for m in c.overdue]),
        )

    def customer_view(
        self, ref: str | int, *, today: date | None = None, hidden: Sequence[str] = ()
    ) -> CustomerView:
        """``hidden``: restricted classes the caller may not see (their contracts are left
        out of the list, the totals and the facets)."""
        day = self._today(today)
        customer = self.resolve_customer(ref)
        contracts = self._customer_contracts(customer.id, day, tuple(hidden))
        facets = {
            "status": Counter(c.status for c in contracts),
            "classification": Counter(c.classification or "(none)" for c in contracts),
            "year": Counter(
                str((c.sign_date or c.effective_date or c.created_at.date()).year)
                for c in contracts
            ),
        }
        return CustomerView(
            customer=CustomerPublic.from_record(customer),
            totals=self._totals(contracts, day),
            facets={
                name: [Facet(value=v, count=n) for v, n in counts.most_common()]
                for name, counts in facets.items()
            },
            contracts=[ContractLine.from_summary(c) for c in contracts],
        )

    def _customer_contracts(
        self, customer_id: int, day: date | None = None, hidden: tuple[str, ...] = ()
    ) -> list[ContractSummary]:
        """Every contract of the customer (all pages), as seen on ``day`` (for what is
        overdue or expiring) and without the ``hidden`` classes."""
        items: list[ContractSummary] = []
        offset = 0
        while True:
            total, page = self.store.query_contracts(
                ContractFilter(customer_id=customer_id, today=day, hidden_classifications=hidden),
                offset=offset,
                limit=MAX_LIST,
            )
            items += page
            offset += len(page)
            if not page or offset >= total:
                return items

    def list_customers(
        self,
        *,
        q: str | None = None,
        offset: int = 0,
        limit: int = 50,
        today: date | None = None,
        hidden: Sequence[str] = (),
    ) -> CustomerPage:
        """``hidden``: restricted classes the caller may not see: their contracts are left out
        of the totals, and a customer known only through them is left out."""
        day = self._today(today)
        total, customers = self.store.list_customers(
            q=q, offset=offset, limit=limit, hidden=tuple(hidden)
        )
        items = []
        for c in customers:
            contracts = self._customer_contracts(c.id, day, tuple(hidden))
            items.append(
                CustomerSummary(
                    customer=CustomerPublic.from_record(c), totals=self._totals(contracts, day)
                )
            )
        return CustomerPage(total=total, offset=offset, limit=limit, items=items)

    # -- contract lists ----------------------------------------------------------------------------
    def contract_filter(
        self,
        *,
        customer: str | None = None,
        status: str | None = None,
        classification: str | None = None,
        expiring_within: str | None = None,
        overdue_payments: bool = False,
        expired_unrenewed: bool = False,
        today: date | None = None,
    ) -> ContractFilter:
        day = self._today(today)
        statuses = tuple(s.strip() for s in (status or "").split(",") if s.strip())
        unknown = [s for s in statuses if s not in STATES]
        if unknown:
            raise InvalidRequest(
                f"unknown status {', '.join(unknown)}", hint="one of: " + ", ".join(STATES)
            )
        classes = tuple(
            valid_classification(c) for c in (classification or "").split(",") if c.strip()
        )
        customer_id = None
        customer_text = None
        if customer:
            try:
                customer_id = self.resolve_customer(customer).id
            except NotFound:
                customer_text = customer  # a name given at upload but not a customer (yet)
        expiring_before = None
        if expiring_within:
            expiring_before = date.fromordinal(day.toordinal() + parse_window(expiring_within))
        return ContractFilter(
            customer_id=customer_id,
            customer_text=customer_text,
            statuses=statuses,
            classifications=classes,
            expiring_before=expiring_before,
            today=day,
            overdue_payments=overdue_payments,
            expired_unrenewed=expired_unrenewed,
        )

    def list_contracts(
        self, flt: ContractFilter, *, offset: int = 0, limit: int = 50
    ) -> ContractLinePage:
        total, items = self.store.query_contracts(flt, offset=offset, limit=min(limit, MAX_LIST))
        return ContractLinePage(
            total=total,
            offset=offset,
            limit=limit,
            items=[ContractLine.from_summary(s) for s in items],
        )
