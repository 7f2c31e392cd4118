"""The SQL half of :class:`~storage.records.payments_base.PaymentStore`."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlalchemy import select

from core.errors import NotFound
from storage.records.contract_models import (
    ContractEvent,
    PaymentItem,
)
from storage.records.models import Contract, utcnow
from storage.records.payments_base import PaymentRecord
from storage.records.sql_common import SqlPart


def _payment(row: PaymentItem) -> PaymentRecord:
    return PaymentRecord(
        id=row.id,
        contract_id=row.contract_id,
        description=row.description,
        direction=row.direction,
        due_date=row.due_date,
        amount=row.amount,
        currency=row.currency,
        paid_amount=row.paid_amount,
        paid_date=row.paid_date,
        created_at=row.created_at,
        created_by=row.created_by,
    )


class SqlPayments(SqlPart):
    """Payment items (a part of ``SqlRecordStore``)."""

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
    ) -> PaymentRecord:
        with self._write_tx() as s:
            if s.get(Contract, contract_id) is None:
                raise NotFound(f"contract {contract_id} does not exist")
            now = utcnow()
            row = PaymentItem(
                contract_id=contract_id,
                description=description,
                direction=direction,
                due_date=due_date,
                amount=amount,
                currency=currency,
                paid_amount=paid_amount,
                paid_date=paid_date,
                created_at=now,
                created_by=actor,
                updated_at=now,
            )
            s.add(row)
            s.flush()
            s.add(
                ContractEvent(
                    contract_id=contract_id,
                    kind="payment_added",
                    to_value=f"{amount} {currency} due {due_date.isoformat()}",
                    actor=actor,
                    at=now,
                    data={"payment_id": row.id, "direction": direction},
                )
            )
            s.flush()
            return _payment(row)

    def record_payment(
        self,
        contract_id: int,
        item_id: int,
        *,
        paid_amount: Decimal,
        paid_date: date,
        actor: str,
    ) -> PaymentRecord:
        with self._write_tx() as s:
            row = s.get(PaymentItem, item_id, with_for_update=True)
            if row is None or row.contract_id != contract_id:
                raise NotFound(f"contract {contract_id} has no payment item {item_id}")
            old = row.paid_amount
            row.paid_amount = paid_amount
            row.paid_date = paid_date
            row.updated_at = utcnow()
            s.add(
                ContractEvent(
                    contract_id=contract_id,
                    kind="payment_recorded",
                    from_value=str(old),
                    to_value=f"{paid_amount} paid {paid_date.isoformat()}",
                    actor=actor,
                    at=utcnow(),
                    data={"payment_id": item_id},
                )
            )
            s.flush()
            return _payment(row)

    def list_payments(self, contract_id: int) -> list[PaymentRecord]:
        with self._session(write=False) as s:
            rows = s.scalars(
                select(PaymentItem)
                .where(PaymentItem.contract_id == contract_id)
                .order_by(PaymentItem.due_date, PaymentItem.id)
            )
            return [_payment(r) for r in rows]
