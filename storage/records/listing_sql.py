"""The SQL half of :class:`~storage.records.listing_base.ListingStore`.

One query selects the ids of a page (and counts them) under the filter, hidden classes left out;
a second loads those contracts with their terms, and a third their open payment items.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import Select, exists, func, or_, select
from sqlalchemy.orm import aliased

from storage.records.contract_models import (
    ContractTerms,
    PaymentItem,
)
from storage.records.listing_base import ContractFilter, ContractSummary, Money
from storage.records.models import Contract
from storage.records.sql_common import LIVE, SqlPart


def _money(amounts: Mapping[str, Decimal] | None) -> tuple[Money, ...]:
    if not amounts:
        return ()
    return tuple(Money(currency=c, amount=a) for c, a in sorted(amounts.items()) if a)


class SqlListing(SqlPart):
    """Filtered pages of contract summaries (a part of ``SqlRecordStore``)."""

    def _filtered(self, flt: ContractFilter) -> Select[Any]:
        today = flt.today or date.today()
        stmt = select(Contract.id).outerjoin(
            ContractTerms, ContractTerms.contract_id == Contract.id
        )
        if flt.contract_ids:
            stmt = stmt.where(Contract.id.in_(list(flt.contract_ids)))
        if flt.customer_id is not None:
            stmt = stmt.where(ContractTerms.customer_id == flt.customer_id)
        if flt.customer_text is not None:
            stmt = stmt.where(Contract.customer == flt.customer_text)
        if flt.statuses:
            stmt = stmt.where(Contract.status.in_(list(flt.statuses)))
        if flt.classifications:
            stmt = stmt.where(Contract.classification.in_(list(flt.classifications)))
        if flt.hidden_classifications:
            stmt = stmt.where(
                or_(
                    Contract.classification.is_(None),
                    Contract.classification.not_in(list(flt.hidden_classifications)),
                )
            )
        if flt.expiring_before is not None:
            stmt = stmt.where(
                ContractTerms.expiry_date >= today,
                ContractTerms.expiry_date <= flt.expiring_before,
                Contract.status.in_(LIVE),
            )
        if flt.overdue_payments:
            stmt = stmt.where(
                exists().where(
                    PaymentItem.contract_id == Contract.id,
                    PaymentItem.due_date < today,
                    PaymentItem.paid_amount < PaymentItem.amount,
                )
            )
        if flt.expired_unrenewed:
            successor = aliased(ContractTerms)
            stmt = stmt.where(
                Contract.status == "expired",
                ~exists().where(
                    successor.master_id == Contract.id, successor.relation == "renewal"
                ),
            )
        return stmt

    def query_contracts(
        self, flt: ContractFilter, *, offset: int = 0, limit: int = 50
    ) -> tuple[int, list[ContractSummary]]:
        today = flt.today or date.today()
        with self._session(write=False) as s:
            ids_stmt = self._filtered(flt)
            total = int(s.scalar(select(func.count()).select_from(ids_stmt.subquery())) or 0)
            ids = list(s.scalars(ids_stmt.order_by(Contract.id).offset(offset).limit(limit)))
            if not ids:
                return total, []
            rows = s.execute(
                select(Contract, ContractTerms)
                .outerjoin(ContractTerms, ContractTerms.contract_id == Contract.id)
                .where(Contract.id.in_(ids))
                .order_by(Contract.id)
            ).all()
            outstanding: dict[int, dict[str, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
            overdue: dict[int, dict[str, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
            overdue_items: dict[int, int] = defaultdict(int)
            for item in s.scalars(select(PaymentItem).where(PaymentItem.contract_id.in_(ids))):
                rest = item.amount - item.paid_amount
                if rest <= 0:
                    continue
                late = item.due_date < today
                if late:
                    overdue_items[item.contract_id] += 1
                if item.direction != "receivable":
                    continue
                outstanding[item.contract_id][item.currency] += rest
                if late:
                    overdue[item.contract_id][item.currency] += rest
            result = []
            for contract, terms in rows:
                t = terms or ContractTerms()
                result.append(
                    ContractSummary(
                        id=contract.id,
                        title=contract.title,
                        customer=contract.customer,
                        customer_id=t.customer_id,
                        status=contract.status,
                        classification=contract.classification,
                        classification_confirmed=t.classification is not None
                        and t.classification == contract.classification,
                        contract_no=t.contract_no,
                        amount=t.amount,
                        currency=t.currency,
                        sign_date=t.sign_date,
                        effective_date=t.effective_date,
                        expiry_date=t.expiry_date,
                        renewal_type=t.renewal_type,
                        archival_code=t.archival_code,
                        created_at=contract.created_at,
                        outstanding=_money(outstanding.get(contract.id)),
                        overdue=_money(overdue.get(contract.id)),
                        overdue_items=overdue_items.get(contract.id, 0),
                    )
                )
            return total, result
