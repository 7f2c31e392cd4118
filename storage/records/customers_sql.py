"""The SQL half of :class:`~storage.records.customers_base.CustomerStore`.

A name or alias is taken when its key is some customer's name key or alias key; every check and
the write it guards run in one write transaction.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import delete, exists, func, or_, select, update
from sqlalchemy.orm import Session

from core.errors import Conflict, InvalidRequest, NotFound
from core.names import loose_key, name_key
from storage.records.contract_models import (
    ContractEvent,
    ContractParty,
    ContractTerms,
    Customer,
    CustomerAlias,
)
from storage.records.customers_base import CustomerRecord
from storage.records.models import Contract, utcnow
from storage.records.sql_common import SqlPart


def _customer(row: Customer, aliases: Sequence[str]) -> CustomerRecord:
    return CustomerRecord(
        id=row.id,
        name=row.name,
        registration_no=row.registration_no,
        registration_kind=row.registration_kind,
        contacts=tuple(dict(c) for c in row.contacts or ()),
        notes=row.notes,
        aliases=tuple(aliases),
        created_at=row.created_at,
        created_by=row.created_by,
        updated_at=row.updated_at,
    )


class SqlCustomers(SqlPart):
    """Customers (a part of ``SqlRecordStore``)."""

    @staticmethod
    def _aliases(s: Session, customer_id: int) -> list[str]:
        return list(
            s.scalars(
                select(CustomerAlias.alias)
                .where(CustomerAlias.customer_id == customer_id)
                .order_by(CustomerAlias.id)
            )
        )

    @staticmethod
    def _customer_row(s: Session, customer_id: int) -> Customer:
        row = s.get(Customer, customer_id)
        if row is None:
            raise NotFound(f"customer {customer_id} does not exist")
        return row

    @staticmethod
    def _key_taken(s: Session, key: str, *, except_customer: int | None = None) -> int | None:
        owner = s.scalar(select(Customer.id).where(Customer.name_key == key))
        if owner is None:
            owner = s.scalar(
                select(CustomerAlias.customer_id).where(CustomerAlias.alias_key == key)
            )
        if owner is not None and owner != except_customer:
            return int(owner)
        return None

    def create_customer(
        self,
        name: str,
        *,
        actor: str,
        registration_no: str | None = None,
        registration_kind: str | None = None,
        contacts: Sequence[Mapping[str, Any]] = (),
        notes: str | None = None,
        aliases: Sequence[str] = (),
    ) -> CustomerRecord:
        key = name_key(name)
        now = utcnow()
        with self._write_tx() as s:
            owner = self._key_taken(s, key)
            if owner is not None:
                raise Conflict(
                    f"the name {name!r} already belongs to customer {owner}",
                    hint="add the contracts to that customer, or use a distinct name",
                    details={"customer_id": owner},
                )
            row = Customer(
                name=name,
                name_key=key,
                loose_key=loose_key(name),
                registration_no=registration_no,
                registration_kind=registration_kind,
                contacts=[dict(c) for c in contacts],
                notes=notes,
                created_at=now,
                created_by=actor,
                updated_at=now,
            )
            s.add(row)
            s.flush()
            for alias in aliases:
                self._add_alias(s, row.id, alias, actor)
            return _customer(row, self._aliases(s, row.id))

    def _add_alias(self, s: Session, customer_id: int, alias: str, actor: str) -> None:
        key = name_key(alias)
        owner = self._key_taken(s, key)
        if owner == customer_id:
            return
        if owner is not None:
            raise Conflict(
                f"the name {alias!r} already belongs to customer {owner}",
                hint="merge the two customers if they are the same company",
                details={"customer_id": owner},
            )
        s.add(
            CustomerAlias(
                customer_id=customer_id,
                alias=alias,
                alias_key=key,
                loose_key=loose_key(alias),
                created_by=actor,
                created_at=utcnow(),
            )
        )
        s.flush()

    def update_customer(
        self, customer_id: int, changes: Mapping[str, Any], *, actor: str
    ) -> CustomerRecord:
        with self._write_tx() as s:
            row = self._customer_row(s, customer_id)
            for field, value in changes.items():
                if field == "name":
                    key = name_key(str(value))
                    owner = self._key_taken(s, key, except_customer=customer_id)
                    if owner is not None:
                        raise Conflict(
                            f"the name {value!r} already belongs to customer {owner}",
                            details={"customer_id": owner},
                        )
                    old_key, old_name = row.name_key, row.name
                    # The old name stays findable as an alias.
                    s.execute(
                        delete(CustomerAlias).where(
                            CustomerAlias.customer_id == customer_id,
                            CustomerAlias.alias_key == key,
                        )
                    )
                    row.name = str(value)
                    row.name_key = key
                    row.loose_key = loose_key(str(value))
                    s.flush()
                    if old_key != key:
                        s.add(
                            CustomerAlias(
                                customer_id=customer_id,
                                alias=old_name,
                                alias_key=old_key,
                                loose_key=loose_key(old_name),
                                created_by=actor,
                                created_at=utcnow(),
                            )
                        )
                elif field in ("registration_no", "registration_kind", "notes"):
                    setattr(row, field, value)
                elif field == "contacts":
                    row.contacts = [dict(c) for c in value]
                else:
                    raise InvalidRequest(f"a customer has no field {field!r}")
            row.updated_at = utcnow()
            s.flush()
            return _customer(row, self._aliases(s, customer_id))

    def add_alias(self, customer_id: int, alias: str, *, actor: str) -> CustomerRecord:
        with self._write_tx() as s:
            row = self._customer_row(s, customer_id)
            self._add_alias(s, customer_id, alias, actor)
            return _customer(row, self._aliases(s, customer_id))

    def remove_alias(self, customer_id: int, alias: str) -> CustomerRecord:
        with self._write_tx() as s:
            row = self._customer_row(s, customer_id)
            gone = s.execute(
                delete(CustomerAlias).where(
                    CustomerAlias.customer_id == customer_id,
                    CustomerAlias.alias_key == name_key(alias),
                )
            )
            if not gone.rowcount:  # type: ignore[attr-defined]
                raise NotFound(f"customer {customer_id} has no alias {alias!r}")
            return _customer(row, self._aliases(s, customer_id))

    def delete_customer_if_unused(self, customer_id: int) -> bool:
        with self._write_tx() as s:
            used = s.scalar(
                select(func.count())
                .select_from(ContractTerms)
                .where(ContractTerms.customer_id == customer_id)
            )
            used = (used or 0) + (
                s.scalar(
                    select(func.count())
                    .select_from(ContractParty)
                    .where(ContractParty.customer_id == customer_id)
                )
                or 0
            )
            row = s.get(Customer, customer_id)
            if row is None or used:
                return False
            s.delete(row)
            return True

    def get_customer(self, customer_id: int) -> CustomerRecord:
        with self._session(write=False) as s:
            row = self._customer_row(s, customer_id)
            return _customer(row, self._aliases(s, customer_id))

    def find_customer(self, key: str) -> CustomerRecord | None:
        with self._session(write=False) as s:
            owner = self._key_taken(s, key)
            if owner is None:
                return None
            row = self._customer_row(s, owner)
            return _customer(row, self._aliases(s, owner))

    def find_customers_loose(self, key: str) -> list[CustomerRecord]:
        """Customers whose name or an alias has the loose key ``key`` (legal form ignored)."""
        if not key:
            return []
        with self._session(write=False) as s:
            ids = set(s.scalars(select(Customer.id).where(Customer.loose_key == key)))
            ids |= set(
                s.scalars(select(CustomerAlias.customer_id).where(CustomerAlias.loose_key == key))
            )
            return [_customer(self._customer_row(s, i), self._aliases(s, i)) for i in sorted(ids)]

    def list_customers(
        self,
        *,
        q: str | None = None,
        offset: int = 0,
        limit: int = 50,
        hidden: Sequence[str] = (),
    ) -> tuple[int, list[CustomerRecord]]:
        """``hidden``: restricted classes the caller may not see; a customer known only through
        contracts of those classes is left out of the page and of the total."""
        with self._session(write=False) as s:
            stmt = select(Customer)
            if hidden:
                linked = select(ContractTerms.contract_id).where(
                    ContractTerms.customer_id == Customer.id
                )
                visible = (
                    select(ContractTerms.contract_id)
                    .join(Contract, Contract.id == ContractTerms.contract_id)
                    .where(
                        ContractTerms.customer_id == Customer.id,
                        or_(
                            Contract.classification.is_(None),
                            Contract.classification.not_in(list(hidden)),
                        ),
                    )
                )
                stmt = stmt.where(or_(~exists(linked), exists(visible)))
            if q:
                pattern = f"%{name_key(q)}%"
                alias_hit = select(CustomerAlias.customer_id).where(
                    CustomerAlias.alias_key.like(pattern)
                )
                stmt = stmt.where(
                    or_(
                        Customer.name_key.like(pattern),
                        Customer.registration_no == q.strip().upper(),
                        Customer.id.in_(alias_hit),
                    )
                )
            total = int(s.scalar(select(func.count()).select_from(stmt.subquery())) or 0)
            rows = list(s.scalars(stmt.order_by(Customer.name_key).offset(offset).limit(limit)))
            aliases: dict[int, list[str]] = defaultdict(list)
            if rows:
                for cid, alias in s.execute(
                    select(CustomerAlias.customer_id, CustomerAlias.alias)
                    .where(CustomerAlias.customer_id.in_([r.id for r in rows]))
                    .order_by(CustomerAlias.id)
                ):
                    aliases[cid].append(alias)
            return total, [_customer(r, aliases[r.id]) for r in rows]

    def merge_customers(self, target_id: int, source_id: int, *, actor: str) -> CustomerRecord:
        if target_id == source_id:
            raise InvalidRequest("a customer cannot be merged into itself")
        with self._write_tx() as s:
            target = self._customer_row(s, target_id)
            source = self._customer_row(s, source_id)
            moved = list(
                s.scalars(
                    select(ContractTerms.contract_id).where(ContractTerms.customer_id == source_id)
                )
            )
            s.execute(
                update(ContractTerms)
                .where(ContractTerms.customer_id == source_id)
                .values(customer_id=target_id)
            )
            s.execute(
                update(ContractParty)
                .where(ContractParty.customer_id == source_id)
                .values(customer_id=target_id)
            )
            s.execute(
                update(CustomerAlias)
                .where(CustomerAlias.customer_id == source_id)
                .values(customer_id=target_id)
            )
            if target.registration_no is None and source.registration_no is not None:
                reg, kind = source.registration_no, source.registration_kind
                source.registration_no = None
                s.flush()
                target.registration_no, target.registration_kind = reg, kind
            target.contacts = [*(target.contacts or []), *(source.contacts or [])]
            name, key = source.name, source.name_key
            s.delete(source)
            s.flush()
            s.add(
                CustomerAlias(
                    customer_id=target_id,
                    alias=name,
                    alias_key=key,
                    loose_key=loose_key(name),
                    created_by=actor,
                    created_at=utcnow(),
                )
            )
            for contract_id in moved:
                s.add(
                    ContractEvent(
                        contract_id=contract_id,
                        kind="customer_merged",
                        from_value=str(source_id),
                        to_value=str(target_id),
                        reason=f"customer {name!r} merged into {target.name!r}",
                        actor=actor,
                        at=utcnow(),
                        data={},
                    )
                )
            target.updated_at = utcnow()
            s.flush()
            return _customer(target, self._aliases(s, target_id))
