"""Payments (receivables) of a contract."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from core.roles import Perm
from schemas.contract_model import PaymentPublic
from services.facade.base import Area, action


class PaymentsArea(Area):
    """Payments (receivables) of a contract."""

    @action("contract.payments.view", Perm.CONTRACTS_VIEW, logged="read", contract="contract_id")
    def list_items(self, contract_id: int) -> list[PaymentPublic]:
        """The payment plan: what is due when, what was paid, what is overdue."""
        return self.archive.contracts.view(contract_id).payments

    @action("contract.payment.add", Perm.CONTRACTS_EDIT, logged="change", contract="contract_id")
    def add(
        self,
        contract_id: int,
        due_date: date,
        amount: Decimal,
        currency: str = "CNY",
        direction: str = "receivable",
        description: str | None = None,
        paid_amount: Decimal = Decimal("0"),
        paid_date: date | None = None,
    ) -> PaymentPublic:
        item = self.archive.contracts.add_payment(
            contract_id,
            actor=self.acting.actor,
            due_date=due_date,
            amount=amount,
            currency=currency,
            direction=direction,
            description=description,
            paid_amount=paid_amount,
            paid_date=paid_date,
        )
        self.acting.note(item_id=item.id)
        return item

    @action("contract.payment.record", Perm.CONTRACTS_EDIT, logged="change", contract="contract_id")
    def record(
        self, contract_id: int, item_id: int, paid_amount: Decimal, paid_date: date
    ) -> PaymentPublic:
        """Record what was paid so far on a payment item, and when."""
        return self.archive.contracts.record_payment(
            contract_id,
            item_id,
            paid_amount=paid_amount,
            paid_date=paid_date,
            actor=self.acting.actor,
        )
