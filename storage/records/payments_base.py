"""The payments area of the record store: the payment items (receivables, payables) of a contract.

Adding an item and recording a payment each write an event in the same transaction.

The Protocol :class:`PaymentStore` and the plain records it returns (frozen dataclasses, never ORM
objects). Its SQL implementation, :class:`~storage.records.payments_sql.SqlPayments`, is a part of
``SqlRecordStore``; :class:`~storage.records.base.RecordStore` includes the Protocol.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Protocol, runtime_checkable


@dataclass(frozen=True)
class PaymentRecord:
    id: int
    contract_id: int
    description: str | None
    direction: str
    due_date: date
    amount: Decimal
    currency: str
    paid_amount: Decimal
    paid_date: date | None
    created_at: datetime
    created_by: str

    @property
    def outstanding(self) -> Decimal:
        return max(self.amount - self.paid_amount, Decimal("0"))

    def overdue(self, today: date) -> bool:
        return self.outstanding > 0 and self.due_date < today


@runtime_checkable
class PaymentStore(Protocol):
    """Payment items of a contract and what was paid of them."""

    def add_payment(
        self,
        contract_id: int,
        *,
        due_date: date,
        amount: Decimal,
        currency: str,
        actor: str,
        direction: str = "receivable",
        description: str | None = None,
        paid_amount: Decimal = Decimal("0"),
        paid_date: date | None = None,
    ) -> PaymentRecord: ...

    def record_payment(
        self,
        contract_id: int,
        item_id: int,
        *,
        paid_amount: Decimal,
        paid_date: date,
        actor: str,
    ) -> PaymentRecord: ...

    def list_payments(self, contract_id: int) -> list[PaymentRecord]: ...
