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

from sqlalchemy import (
    ColumnElement,
    Select,
    and_,
    case,
    delete,
    exists,
    func,
    literal,
    or_,
    select,
)
from sqlalchemy.orm import aliased

from storage.records.contract_models import (
    ContractTerms,
    PaymentItem,
)
from storage.records.listing_base import (
    ColumnFilter,
    ContractFilter,
    ContractSummary,
    Money,
    SavedView,
)
from storage.records.models import Contract, utcnow
from storage.records.seal_models import FixityFinding, IntegrityAlert, PackageManifest
from storage.records.sql_common import LIVE, SqlPart
from storage.records.view_models import SavedViewRow


def _money(amounts: Mapping[str, Decimal] | None) -> tuple[Money, ...]:
    if not amounts:
        return ()
    return tuple(Money(currency=c, amount=a) for c, a in sorted(amounts.items()) if a)


def _like(text: str) -> str:
    """A LIKE pattern for text contained anywhere, its wildcards escaped (``\\``)."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _open_receivable() -> ColumnElement[bool]:
    return and_(
        PaymentItem.contract_id == Contract.id,
        PaymentItem.direction == "receivable",
        PaymentItem.paid_amount < PaymentItem.amount,
    )


def _outstanding_currency() -> ColumnElement[Any]:
    """The first currency (A-Z) the contract's unpaid receivables are in; NULL when none."""
    return (
        select(func.min(PaymentItem.currency))
        .where(_open_receivable())
        .correlate(Contract)
        .scalar_subquery()
    )


def _outstanding() -> ColumnElement[Any]:
    """Receivables not yet paid in the contract's first currency (:func:`_outstanding_currency`),
    NULL when nothing is owed. Amounts of different currencies are never added: a contract owed
    CNY 50 and USD 1,000 sorts as CNY 50 (among the CNY ones), not as 1,050 of anything."""
    return (
        select(func.sum(PaymentItem.amount - PaymentItem.paid_amount))
        .where(_open_receivable(), PaymentItem.currency == _outstanding_currency())
        .correlate(Contract)
        .scalar_subquery()
    )


def _verification() -> ColumnElement[Any]:
    """The contract's verification state (``VERIFICATION_STATES``), in SQL: an integrity alert,
    then its latest fixity finding when that failed, then the seal of its latest manifest."""
    latest_finding = (
        select(FixityFinding.overall)
        .where(FixityFinding.contract_id == Contract.id)
        .order_by(FixityFinding.run_id.desc())
        .limit(1)
        .correlate(Contract)
        .scalar_subquery()
    )
    latest_manifest = (
        select(PackageManifest.state)
        .where(PackageManifest.contract_id == Contract.id)
        .order_by(PackageManifest.version.desc())
        .limit(1)
        .correlate(Contract)
        .scalar_subquery()
    )
    return case(
        (exists().where(IntegrityAlert.contract_id == Contract.id), literal("alert")),
        (func.upper(latest_finding) == "FAILED", literal("failed")),
        (latest_manifest == "sealed", literal("sealed")),
        (latest_manifest == "pending", literal("pending")),
        else_=literal("unsealed"),
    )


def _columns(stmt: Select[Any], cols: ColumnFilter) -> Select[Any]:
    """The contract table's column filters (issue 15)."""
    if cols.title:
        stmt = stmt.where(Contract.title.ilike(_like(cols.title), escape="\\"))
    if cols.customer:
        stmt = stmt.where(Contract.customer.ilike(_like(cols.customer), escape="\\"))
    if cols.archival_code:
        stmt = stmt.where(ContractTerms.archival_code.ilike(_like(cols.archival_code), escape="\\"))
    if cols.filed is True:
        stmt = stmt.where(ContractTerms.archival_code.is_not(None))
    elif cols.filed is False:
        stmt = stmt.where(ContractTerms.archival_code.is_(None))
    if cols.signed_from is not None:
        stmt = stmt.where(ContractTerms.sign_date >= cols.signed_from)
    if cols.signed_to is not None:
        stmt = stmt.where(ContractTerms.sign_date <= cols.signed_to)
    if cols.expires_from is not None:
        stmt = stmt.where(ContractTerms.expiry_date >= cols.expires_from)
    if cols.expires_to is not None:
        stmt = stmt.where(ContractTerms.expiry_date <= cols.expires_to)
    if cols.amount_min is not None:
        stmt = stmt.where(ContractTerms.amount >= cols.amount_min)
    if cols.amount_max is not None:
        stmt = stmt.where(ContractTerms.amount <= cols.amount_max)
    if cols.currency is not None:  # bounds are in this currency; no other is compared with them
        stmt = stmt.where(ContractTerms.currency == cols.currency)
    if cols.outstanding is not None:
        owed = exists().where(_open_receivable())
        stmt = stmt.where(owed if cols.outstanding else ~owed)
    if cols.verification:
        stmt = stmt.where(_verification().in_(list(cols.verification)))
    return stmt


SORT_COLUMNS: dict[str, Any] = {
    "id": lambda: Contract.id,
    "title": lambda: Contract.title,
    "customer": lambda: Contract.customer,
    "classification": lambda: Contract.classification,
    "status": lambda: Contract.status,
    "archival_code": lambda: ContractTerms.archival_code,
    "sign_date": lambda: ContractTerms.sign_date,
    "expiry_date": lambda: ContractTerms.expiry_date,
    "amount": lambda: ContractTerms.amount,
    "outstanding": _outstanding,
    "verification": _verification,
    "created_at": lambda: Contract.created_at,
}


def _saved(row: SavedViewRow) -> SavedView:
    return SavedView(
        id=row.id,
        username=row.username,
        name=row.name,
        query=row.query,
        created_at=row.created_at,
    )


class SqlListing(SqlPart):
    """Filtered pages of contract summaries (a part of ``SqlRecordStore``)."""

    def _order(self, stmt: Select[Any], flt: ContractFilter) -> Select[Any]:
        """The list's order, in SQL: the sort column (empty values last either way), then id."""
        sort = flt.sort
        if sort is None or sort.key == "id":
            return stmt.order_by(Contract.id.desc() if sort and sort.descending else Contract.id)
        column = SORT_COLUMNS[sort.key]()
        # amounts are compared within a currency: CNY 500 and USD 500 are not the same sum, so
        # the contracts go by currency (A-Z), then by amount in the direction asked (what is
        # owed: by the first currency owed, then the amount owed in it)
        within: tuple[Any, ...] = ()
        if sort.key == "amount":
            within = (ContractTerms.currency.asc(),)
        elif sort.key == "outstanding":
            within = (_outstanding_currency().asc(),)
        return stmt.order_by(
            case((column.is_(None), 1), else_=0),
            *within,
            column.desc() if sort.descending else column.asc(),
            Contract.id.desc() if sort.descending else Contract.id.asc(),
        )

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
        unclassified = flt.columns is not None and flt.columns.unclassified
        if flt.classifications and unclassified:
            stmt = stmt.where(
                or_(
                    Contract.classification.in_(list(flt.classifications)),
                    Contract.classification.is_(None),
                )
            )
        elif flt.classifications:
            stmt = stmt.where(Contract.classification.in_(list(flt.classifications)))
        elif unclassified:
            stmt = stmt.where(Contract.classification.is_(None))
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
        if flt.columns is not None:
            stmt = _columns(stmt, flt.columns)
        return stmt

    def query_contracts(
        self, flt: ContractFilter, *, offset: int = 0, limit: int = 50
    ) -> tuple[int, list[ContractSummary]]:
        today = flt.today or date.today()
        with self._session(write=False) as s:
            ids_stmt = self._filtered(flt)
            total = int(s.scalar(select(func.count()).select_from(ids_stmt.subquery())) or 0)
            ids = list(s.scalars(self._order(ids_stmt, flt).offset(offset).limit(limit)))
            if not ids:
                return total, []
            place = {contract_id: n for n, contract_id in enumerate(ids)}
            rows = sorted(
                s.execute(
                    select(Contract, ContractTerms, _verification())
                    .outerjoin(ContractTerms, ContractTerms.contract_id == Contract.id)
                    .where(Contract.id.in_(ids))
                ).all(),
                key=lambda row: place[row[0].id],
            )
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
            for contract, terms, verification in rows:
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
                        verification=verification,
                    )
                )
            return total, result

    # -- saved views of the contract table ------------------------------------------------------
    def save_view(self, username: str, name: str, query: str) -> SavedView:
        with self._write_tx() as s:
            row = s.scalar(
                select(SavedViewRow).where(
                    SavedViewRow.username == username, SavedViewRow.name == name
                )
            )
            if row is None:
                row = SavedViewRow(username=username, name=name, query=query, created_at=utcnow())
                s.add(row)
            else:
                row.query = query
                row.created_at = utcnow()
            s.flush()
            return _saved(row)

    def list_views(self, username: str) -> list[SavedView]:
        with self._session(write=False) as s:
            rows = s.scalars(
                select(SavedViewRow)
                .where(SavedViewRow.username == username)
                .order_by(SavedViewRow.name, SavedViewRow.id)
            )
            return [_saved(r) for r in rows]

    def delete_view(self, username: str, view_id: int) -> bool:
        with self._write_tx() as s:
            done = s.execute(
                delete(SavedViewRow).where(
                    and_(SavedViewRow.id == view_id, SavedViewRow.username == username)
                )
            )
            return bool(getattr(done, "rowcount", 0))
