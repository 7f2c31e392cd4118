"""The SQL implementation of :class:`~storage.records.contract_base.ContractStore`.

A mixin of ``SqlRecordStore``: it uses the store's sessions (SQLite writers take
``BEGIN IMMEDIATE``; PostgreSQL rows are locked with ``SELECT ... FOR UPDATE``) and keeps every
change and the event recording it in one transaction.
"""

from __future__ import annotations

import contextlib
from collections import defaultdict
from collections.abc import Collection, Iterator, Mapping, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Select, and_, delete, exists, func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, aliased

from core.errors import Conflict, InvalidRequest, NotFound
from core.names import loose_key, name_key
from core.rules import LIVE_STATES, TRANSITIONS
from storage.records.contract_base import (
    ClassifierRecord,
    ContractFilter,
    ContractSummary,
    CustomerRecord,
    EventRecord,
    HoldRecord,
    Money,
    NewReminder,
    NewSuggestion,
    PartyRecord,
    PaymentRecord,
    ReminderRecord,
    SchemeCode,
    SchemeRecord,
    SuggestionRecord,
    TermsRecord,
)
from storage.records.contract_models import (
    ArchivalCounter,
    ClassificationCode,
    ClassificationScheme,
    ClassifierModel,
    ContractEvent,
    ContractHold,
    ContractParty,
    ContractTerms,
    Customer,
    CustomerAlias,
    ExtractionSuggestion,
    PaymentItem,
    Reminder,
)
from storage.records.models import Contract, utcnow

LIVE = tuple(sorted(LIVE_STATES))

_TERM_COLUMNS = tuple(
    c.key for c in ContractTerms.__table__.columns if c.key not in ("contract_id",)
)


def archival_series(fonds_code: str, year: int, retention: str, classification: str) -> str:
    """全宗号-HT·年度-保管期限-分类: the series an archival code's 件号 counts in."""
    return f"{fonds_code}-HT·{year}-{retention}-{classification}"


def archival_code(series: str, item_no: int) -> str:
    return f"{series}-{item_no:04d}"


def _str(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, date | datetime):
        return value.isoformat()
    return str(value)[:500]


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


def _terms(row: ContractTerms, parties: Sequence[ContractParty]) -> TermsRecord:
    values = {key: getattr(row, key) for key in _TERM_COLUMNS}
    return TermsRecord(
        contract_id=row.contract_id,
        parties=tuple(
            PartyRecord(
                role=p.role,
                name=p.name,
                role_label=p.role_label,
                customer_id=p.customer_id,
                is_us=p.is_us,
            )
            for p in sorted(parties, key=lambda p: p.position)
        ),
        **values,
    )


def _event(row: ContractEvent) -> EventRecord:
    return EventRecord(
        id=row.id,
        contract_id=row.contract_id,
        kind=row.kind,
        from_value=row.from_value,
        to_value=row.to_value,
        reason=row.reason,
        actor=row.actor,
        at=row.at,
        data=dict(row.data or {}),
    )


def _suggestion(row: ExtractionSuggestion) -> SuggestionRecord:
    return SuggestionRecord(
        id=row.id,
        contract_id=row.contract_id,
        field=row.field,
        value=row.value,
        display=row.display,
        confidence=row.confidence,
        method=row.method,
        page=row.page,
        char_start=row.char_start,
        char_end=row.char_end,
        evidence=row.evidence,
        state=row.state,
        extractor_version=row.extractor_version,
        created_at=row.created_at,
        decided_by=row.decided_by,
        decided_at=row.decided_at,
    )


def _hold(row: ContractHold) -> HoldRecord:
    return HoldRecord(
        id=row.id,
        contract_id=row.contract_id,
        reason=row.reason,
        placed_by=row.placed_by,
        placed_at=row.placed_at,
        released_by=row.released_by,
        released_at=row.released_at,
        release_reason=row.release_reason,
    )


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


def _reminder(row: Reminder) -> ReminderRecord:
    return ReminderRecord(
        id=row.id,
        key=row.key,
        contract_id=row.contract_id,
        kind=row.kind,
        tier_days=row.tier_days,
        due_date=row.due_date,
        payment_item_id=row.payment_item_id,
        message=row.message,
        created_at=row.created_at,
        emailed_at=row.emailed_at,
        email_error=row.email_error,
    )


def _classifier(row: ClassifierModel) -> ClassifierRecord:
    return ClassifierRecord(
        id=row.id,
        created_at=row.created_at,
        created_by=row.created_by,
        scheme_version=row.scheme_version,
        examples=row.examples,
        labels=tuple(row.labels),
        model=dict(row.model),
        accuracy=row.accuracy,
    )


class SqlContractStore:
    """Contract-model methods of the SQL record store (mixed into ``SqlRecordStore``)."""

    dialect: str

    def _session(self, *, write: bool) -> contextlib.AbstractContextManager[Session]:
        raise NotImplementedError  # provided by SqlRecordStore

    @contextlib.contextmanager
    def _write_tx(self) -> Iterator[Session]:
        """A write transaction; a broken unique constraint becomes a Conflict."""
        try:
            with self._session(write=True) as s:
                yield s
        except IntegrityError as exc:
            raise Conflict(
                f"the change conflicts with an existing record: {exc.orig}",
                hint="reload and retry; a name, alias, number or code may be taken already",
            ) from exc

    def _insert(self, table: Any) -> Any:
        if self.dialect == "postgresql":
            return postgresql.insert(table)
        return sqlite.insert(table)

    # -- customers ---------------------------------------------------------------------------
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

    # -- terms -------------------------------------------------------------------------------
    def _terms_row(self, s: Session, contract_id: int, *, lock: bool = False) -> ContractTerms:
        if s.get(Contract, contract_id) is None:
            raise NotFound(f"contract {contract_id} does not exist")
        row = s.get(ContractTerms, contract_id, with_for_update=True if lock else None)
        if row is None:
            s.execute(
                self._insert(ContractTerms.__table__)
                .values(contract_id=contract_id, updated_at=utcnow(), updated_by="system")
                .on_conflict_do_nothing(index_elements=["contract_id"])
            )
            row = s.get(
                ContractTerms,
                contract_id,
                with_for_update=True if lock else None,
                populate_existing=True,
            )
            assert row is not None
        return row

    def init_terms(
        self,
        contract_id: int,
        *,
        customer_text: str | None,
        actor: str,
        status: str,
        reason: str,
    ) -> TermsRecord:
        with self._write_tx() as s:
            row = self._terms_row(s, contract_id, lock=True)
            row.customer_text = customer_text
            row.updated_at = utcnow()
            row.updated_by = actor
            s.add(
                ContractEvent(
                    contract_id=contract_id,
                    kind="created",
                    to_value=status,
                    reason=reason,
                    actor=actor,
                    at=utcnow(),
                    data={"customer_text": customer_text} if customer_text else {},
                )
            )
            s.flush()
            return _terms(row, self._parties(s, contract_id))

    @staticmethod
    def _parties(s: Session, contract_id: int) -> list[ContractParty]:
        return list(
            s.scalars(select(ContractParty).where(ContractParty.contract_id == contract_id))
        )

    def get_terms(self, contract_id: int) -> TermsRecord:
        with self._session(write=False) as s:
            if s.get(Contract, contract_id) is None:
                raise NotFound(f"contract {contract_id} does not exist")
            row = s.get(ContractTerms, contract_id)
            if row is None:
                return TermsRecord(contract_id=contract_id)
            return _terms(row, self._parties(s, contract_id))

    def update_terms(
        self,
        contract_id: int,
        changes: Mapping[str, Any],
        *,
        actor: str,
        reason: str | None = None,
        kind: str = "confirmed",
    ) -> TermsRecord:
        with self._write_tx() as s:
            row = self._terms_row(s, contract_id, lock=True)
            for field, value in changes.items():
                if field not in _TERM_COLUMNS:
                    raise InvalidRequest(f"a contract has no term {field!r}")
                old = getattr(row, field)
                if old == value:
                    continue
                setattr(row, field, value)
                if kind == "confirmed":
                    if field == "classification" and old is not None:
                        event_kind = "reclassified"
                    else:
                        event_kind = "confirmed" if old is None else "corrected"
                else:
                    event_kind = kind
                s.add(
                    ContractEvent(
                        contract_id=contract_id,
                        kind=event_kind,
                        from_value=_str(old),
                        to_value=_str(value),
                        reason=reason,
                        actor=actor,
                        at=utcnow(),
                        data={"field": field},
                    )
                )
            row.updated_at = utcnow()
            row.updated_by = actor
            s.flush()
            return _terms(row, self._parties(s, contract_id))

    def set_parties(
        self, contract_id: int, parties: Sequence[PartyRecord], *, actor: str
    ) -> TermsRecord:
        with self._write_tx() as s:
            row = self._terms_row(s, contract_id, lock=True)
            old = [f"{p.role}:{p.name}" for p in self._parties(s, contract_id)]
            s.execute(delete(ContractParty).where(ContractParty.contract_id == contract_id))
            for position, p in enumerate(parties):
                s.add(
                    ContractParty(
                        contract_id=contract_id,
                        position=position,
                        role=p.role,
                        role_label=p.role_label,
                        name=p.name,
                        customer_id=p.customer_id,
                        is_us=p.is_us,
                    )
                )
            new = [f"{p.role}:{p.name}" for p in parties]
            if old != new:
                s.add(
                    ContractEvent(
                        contract_id=contract_id,
                        kind="confirmed" if not old else "corrected",
                        from_value=_str("; ".join(old) or None),
                        to_value=_str("; ".join(new) or None),
                        actor=actor,
                        at=utcnow(),
                        data={"field": "parties"},
                    )
                )
            row.updated_at = utcnow()
            row.updated_by = actor
            s.flush()
            return _terms(row, self._parties(s, contract_id))

    def set_effective(
        self,
        contract_id: int,
        *,
        customer: str | None = None,
        classification: str | None = None,
        set_customer: bool = False,
        set_classification: bool = False,
    ) -> None:
        values: dict[str, Any] = {}
        if set_customer:
            values["customer"] = customer[:500] if customer else None
        if set_classification:
            values["classification"] = classification
        if not values:
            return
        with self._write_tx() as s:
            done = s.execute(update(Contract).where(Contract.id == contract_id).values(**values))
            if not done.rowcount:  # type: ignore[attr-defined]
                raise NotFound(f"contract {contract_id} does not exist")

    # -- suggestions -------------------------------------------------------------------------
    def replace_suggestions(
        self, contract_id: int, suggestions: Sequence[NewSuggestion], *, version: str
    ) -> list[SuggestionRecord]:
        now = utcnow()
        with self._write_tx() as s:
            if s.get(Contract, contract_id) is None:
                raise NotFound(f"contract {contract_id} does not exist")
            s.execute(
                update(ExtractionSuggestion)
                .where(
                    ExtractionSuggestion.contract_id == contract_id,
                    ExtractionSuggestion.state == "open",
                )
                .values(state="superseded", decided_at=now, decided_by="system:extraction")
            )
            rows = [
                ExtractionSuggestion(
                    contract_id=contract_id,
                    field=g.field,
                    value=g.value,
                    display=g.display[:1000],
                    confidence=round(float(g.confidence), 4),
                    method=g.method,
                    page=g.page,
                    char_start=g.char_start,
                    char_end=g.char_end,
                    evidence=g.evidence,
                    state="open",
                    extractor_version=version,
                    created_at=now,
                )
                for g in suggestions
            ]
            s.add_all(rows)
            s.flush()
            return [_suggestion(r) for r in rows]

    def list_suggestions(
        self, contract_id: int, *, states: Collection[str] = ("open",)
    ) -> list[SuggestionRecord]:
        with self._session(write=False) as s:
            stmt = select(ExtractionSuggestion).where(
                ExtractionSuggestion.contract_id == contract_id
            )
            if states:
                stmt = stmt.where(ExtractionSuggestion.state.in_(list(states)))
            rows = s.scalars(
                stmt.order_by(
                    ExtractionSuggestion.field,
                    ExtractionSuggestion.confidence.desc(),
                    ExtractionSuggestion.id,
                )
            )
            return [_suggestion(r) for r in rows]

    def get_suggestion(self, suggestion_id: int) -> SuggestionRecord:
        with self._session(write=False) as s:
            row = s.get(ExtractionSuggestion, suggestion_id)
            if row is None:
                raise NotFound(f"suggestion {suggestion_id} does not exist")
            return _suggestion(row)

    def decide_suggestion(self, suggestion_id: int, state: str, *, actor: str) -> SuggestionRecord:
        if state not in ("accepted", "rejected"):
            raise InvalidRequest(f"a suggestion can be accepted or rejected, not {state!r}")
        with self._write_tx() as s:
            row = s.get(ExtractionSuggestion, suggestion_id, with_for_update=True)
            if row is None:
                raise NotFound(f"suggestion {suggestion_id} does not exist")
            if row.state != "open":
                raise Conflict(
                    f"suggestion {suggestion_id} is {row.state} already",
                    hint="only open suggestions can be accepted or rejected",
                )
            row.state = state
            row.decided_by = actor
            row.decided_at = utcnow()
            s.add(
                ContractEvent(
                    contract_id=row.contract_id,
                    kind=f"suggestion_{state}",
                    to_value=_str(row.display),
                    actor=actor,
                    at=utcnow(),
                    data={"field": row.field, "suggestion_id": row.id},
                )
            )
            s.flush()
            return _suggestion(row)

    # -- events and lifecycle ------------------------------------------------------------------
    def add_event(
        self,
        contract_id: int,
        kind: str,
        *,
        actor: str,
        from_value: str | None = None,
        to_value: str | None = None,
        reason: str | None = None,
        data: Mapping[str, Any] | None = None,
    ) -> EventRecord:
        with self._write_tx() as s:
            if s.get(Contract, contract_id) is None:
                raise NotFound(f"contract {contract_id} does not exist")
            row = ContractEvent(
                contract_id=contract_id,
                kind=kind,
                from_value=from_value,
                to_value=to_value,
                reason=reason,
                actor=actor,
                at=utcnow(),
                data=dict(data or {}),
            )
            s.add(row)
            s.flush()
            return _event(row)

    def list_events(self, contract_id: int) -> list[EventRecord]:
        with self._session(write=False) as s:
            if s.get(Contract, contract_id) is None:
                raise NotFound(f"contract {contract_id} does not exist")
            rows = s.scalars(
                select(ContractEvent)
                .where(ContractEvent.contract_id == contract_id)
                .order_by(ContractEvent.id)
            )
            return [_event(r) for r in rows]

    def transition(
        self,
        contract_id: int,
        to_state: str,
        *,
        allowed_from: Collection[str] | None,
        actor: str,
        reason: str | None,
        kind: str = "transition",
        terms: Mapping[str, Any] | None = None,
        data: Mapping[str, Any] | None = None,
    ) -> EventRecord:
        with self._write_tx() as s:
            contract = s.get(Contract, contract_id, with_for_update=True)
            if contract is None:
                raise NotFound(f"contract {contract_id} does not exist")
            current = contract.status
            if allowed_from is not None and current not in allowed_from:
                raise Conflict(
                    f"contract {contract_id} is {current}; it cannot become {to_state}",
                    hint=(
                        f"from {current} it may become: "
                        + (", ".join(sorted(_targets(current))) or "nothing (final state)")
                    ),
                    details={"status": current, "requested": to_state},
                )
            if current == to_state and kind == "transition":
                raise Conflict(f"contract {contract_id} is {current} already")
            contract.status = to_state
            if terms:
                row = self._terms_row(s, contract_id, lock=True)
                for field, value in terms.items():
                    setattr(row, field, value)
                row.updated_at = utcnow()
                row.updated_by = actor
            event = ContractEvent(
                contract_id=contract_id,
                kind=kind,
                from_value=current,
                to_value=to_state,
                reason=reason,
                actor=actor,
                at=utcnow(),
                data=dict(data or {}),
            )
            s.add(event)
            s.flush()
            return _event(event)

    # -- filing ------------------------------------------------------------------------------
    def file_contract(
        self,
        contract_id: int,
        *,
        fonds_code: str,
        year: int,
        retention: str,
        classification: str,
        disposal_due: date | None,
        actor: str,
        item_no: int | None = None,
    ) -> TermsRecord:
        series = archival_series(fonds_code, year, retention, classification)
        with self._write_tx() as s:
            row = self._terms_row(s, contract_id, lock=True)
            if row.archival_code is not None:
                raise Conflict(
                    f"contract {contract_id} is filed already as {row.archival_code}",
                    hint="an archival code is assigned once and never changed",
                    details={"archival_code": row.archival_code},
                )
            # The counter row of the series: created if missing, then locked until commit, so
            # that a concurrent filing in the same series waits and takes the next number.
            s.execute(
                self._insert(ArchivalCounter.__table__)
                .values(series=series, last_no=0)
                .on_conflict_do_nothing(index_elements=["series"])
            )
            counter = s.execute(
                select(ArchivalCounter)
                .where(ArchivalCounter.series == series)
                .with_for_update()
                .execution_options(populate_existing=True)
            ).scalar_one()
            if item_no is None:
                number = counter.last_no + 1
                counter.last_no = number
            else:
                # A legacy code brought in by an import: kept as it was, and the series goes
                # on after the highest number seen.
                taken = s.scalar(
                    select(ContractTerms.contract_id).where(
                        ContractTerms.archival_series == series,
                        ContractTerms.archival_item_no == item_no,
                    )
                )
                if taken is not None:
                    raise Conflict(
                        f"archival code {archival_code(series, item_no)} belongs to contract "
                        f"{taken} already"
                    )
                number = item_no
                counter.last_no = max(counter.last_no, item_no)
            code = archival_code(series, number)
            now = utcnow()
            row.fonds_code = fonds_code
            row.archival_year = year
            row.retention = retention
            row.archival_series = series
            row.archival_item_no = number
            row.archival_code = code
            row.filed_at = now
            row.filed_by = actor
            row.disposal_due = disposal_due
            row.updated_at = now
            row.updated_by = actor
            s.add(
                ContractEvent(
                    contract_id=contract_id,
                    kind="filed",
                    to_value=code,
                    actor=actor,
                    at=now,
                    data={
                        "series": series,
                        "item_no": number,
                        "classification": classification,
                        "retention": retention,
                        "disposal_due": _str(disposal_due),
                        "legacy": item_no is not None,
                    },
                )
            )
            s.flush()
            return _terms(row, self._parties(s, contract_id))

    # -- holds -------------------------------------------------------------------------------
    def place_hold(self, contract_id: int, reason: str, *, actor: str) -> HoldRecord:
        with self._write_tx() as s:
            if s.get(Contract, contract_id) is None:
                raise NotFound(f"contract {contract_id} does not exist")
            row = ContractHold(
                contract_id=contract_id, reason=reason, placed_by=actor, placed_at=utcnow()
            )
            s.add(row)
            s.flush()
            s.add(
                ContractEvent(
                    contract_id=contract_id,
                    kind="hold_placed",
                    to_value=str(row.id),
                    reason=reason,
                    actor=actor,
                    at=utcnow(),
                    data={"hold_id": row.id},
                )
            )
            return _hold(row)

    def release_hold(
        self, contract_id: int, hold_id: int, *, actor: str, reason: str
    ) -> HoldRecord:
        with self._write_tx() as s:
            row = s.get(ContractHold, hold_id, with_for_update=True)
            if row is None or row.contract_id != contract_id:
                raise NotFound(f"contract {contract_id} has no hold {hold_id}")
            if row.released_at is not None:
                raise Conflict(f"hold {hold_id} was released already")
            row.released_at = utcnow()
            row.released_by = actor
            row.release_reason = reason
            s.add(
                ContractEvent(
                    contract_id=contract_id,
                    kind="hold_released",
                    from_value=str(hold_id),
                    reason=reason,
                    actor=actor,
                    at=utcnow(),
                    data={"hold_id": hold_id},
                )
            )
            s.flush()
            return _hold(row)

    def list_holds(self, contract_id: int) -> list[HoldRecord]:
        with self._session(write=False) as s:
            rows = s.scalars(
                select(ContractHold)
                .where(ContractHold.contract_id == contract_id)
                .order_by(ContractHold.id)
            )
            return [_hold(r) for r in rows]

    # -- payments ----------------------------------------------------------------------------
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

    # -- classification scheme ------------------------------------------------------------------
    @staticmethod
    def _scheme(s: Session, row: ClassificationScheme) -> SchemeRecord:
        codes = s.scalars(
            select(ClassificationCode)
            .where(ClassificationCode.scheme_version == row.version)
            .order_by(ClassificationCode.code)
        )
        return SchemeRecord(
            version=row.version,
            created_at=row.created_at,
            created_by=row.created_by,
            note=row.note,
            codes=tuple(
                SchemeCode(
                    code=c.code,
                    name_zh=c.name_zh,
                    name_en=c.name_en,
                    retention=c.retention,
                    keywords=tuple(c.keywords or ()),
                )
                for c in codes
            ),
        )

    def current_scheme(self) -> SchemeRecord:
        with self._session(write=False) as s:
            row = s.scalars(
                select(ClassificationScheme).order_by(ClassificationScheme.version.desc()).limit(1)
            ).first()
            if row is None:
                raise NotFound("no classification scheme exists", hint="run migrate-db")
            return self._scheme(s, row)

    def get_scheme(self, version: int) -> SchemeRecord:
        with self._session(write=False) as s:
            row = s.get(ClassificationScheme, version)
            if row is None:
                raise NotFound(f"classification scheme version {version} does not exist")
            return self._scheme(s, row)

    def scheme_versions(self) -> list[SchemeRecord]:
        with self._session(write=False) as s:
            rows = s.scalars(select(ClassificationScheme).order_by(ClassificationScheme.version))
            return [self._scheme(s, r) for r in rows]

    def new_scheme_version(
        self, codes: Sequence[SchemeCode], *, actor: str, note: str | None, based_on: int
    ) -> SchemeRecord:
        try:
            with self._session(write=True) as s:
                current = s.scalar(select(func.max(ClassificationScheme.version)))
                if current != based_on:
                    raise Conflict(
                        f"the classification scheme changed meanwhile (now version {current})",
                        hint="reload the scheme and apply the change again",
                    )
                row = ClassificationScheme(
                    version=based_on + 1, created_at=utcnow(), created_by=actor, note=note
                )
                s.add(row)
                s.flush()
                for c in codes:
                    s.add(
                        ClassificationCode(
                            scheme_version=row.version,
                            code=c.code,
                            name_zh=c.name_zh,
                            name_en=c.name_en,
                            retention=c.retention,
                            keywords=list(c.keywords),
                        )
                    )
                s.flush()
                return self._scheme(s, row)
        except IntegrityError as exc:
            raise Conflict(
                "the classification scheme changed meanwhile",
                hint="reload the scheme and apply the change again",
            ) from exc

    # -- reminders ---------------------------------------------------------------------------
    def add_reminder(self, reminder: NewReminder) -> ReminderRecord | None:
        """Insert a reminder unless one with its key exists (a concurrent or repeated run)."""
        with self._session(write=True) as s:
            new_id = s.execute(
                self._insert(Reminder.__table__)
                .values(
                    key=reminder.key,
                    contract_id=reminder.contract_id,
                    kind=reminder.kind,
                    tier_days=reminder.tier_days,
                    due_date=reminder.due_date,
                    payment_item_id=reminder.payment_item_id,
                    message=reminder.message,
                    created_at=utcnow(),
                )
                .on_conflict_do_nothing(index_elements=["key"])
                .returning(Reminder.__table__.c.id)
            ).scalar()
            if new_id is None:
                return None
            row = s.get(Reminder, new_id)
            assert row is not None
            return _reminder(row)

    def list_reminders(
        self,
        *,
        since: datetime | None = None,
        kinds: Collection[str] = (),
        contract_id: int | None = None,
        limit: int = 100,
    ) -> list[ReminderRecord]:
        with self._session(write=False) as s:
            stmt = select(Reminder)
            if since is not None:
                stmt = stmt.where(Reminder.created_at >= since)
            if kinds:
                stmt = stmt.where(Reminder.kind.in_(list(kinds)))
            if contract_id is not None:
                stmt = stmt.where(Reminder.contract_id == contract_id)
            rows = s.scalars(stmt.order_by(Reminder.id.desc()).limit(limit))
            return [_reminder(r) for r in rows]

    def unsent_reminders(self) -> list[ReminderRecord]:
        with self._session(write=False) as s:
            rows = s.scalars(
                select(Reminder).where(Reminder.emailed_at.is_(None)).order_by(Reminder.id)
            )
            return [_reminder(r) for r in rows]

    def mark_emailed(
        self, reminder_ids: Sequence[int], *, at: datetime | None, error: str | None
    ) -> None:
        if not reminder_ids:
            return
        with self._session(write=True) as s:
            s.execute(
                update(Reminder)
                .where(Reminder.id.in_(list(reminder_ids)))
                .values(emailed_at=at, email_error=error)
            )

    # -- classifier --------------------------------------------------------------------------
    def save_classifier(
        self,
        *,
        actor: str,
        scheme_version: int,
        examples: int,
        labels: Sequence[str],
        model: Mapping[str, Any],
        accuracy: float | None,
    ) -> ClassifierRecord:
        with self._session(write=True) as s:
            row = ClassifierModel(
                created_at=utcnow(),
                created_by=actor,
                scheme_version=scheme_version,
                examples=examples,
                labels=list(labels),
                model=dict(model),
                accuracy=accuracy,
            )
            s.add(row)
            s.flush()
            return _classifier(row)

    def latest_classifier(self) -> ClassifierRecord | None:
        with self._session(write=False) as s:
            row = s.scalars(
                select(ClassifierModel).order_by(ClassifierModel.id.desc()).limit(1)
            ).first()
            return _classifier(row) if row else None

    # -- lists ---------------------------------------------------------------------------------
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

    def contracts_for_rules(self) -> list[tuple[int, str, TermsRecord]]:
        with self._session(write=False) as s:
            rows = s.execute(
                select(Contract.id, Contract.status, ContractTerms)
                .join(ContractTerms, ContractTerms.contract_id == Contract.id)
                .where(
                    or_(
                        Contract.status.in_(LIVE),
                        and_(Contract.status == "expired", ContractTerms.ended_on.is_(None)),
                    )
                )
                .order_by(Contract.id)
            ).all()
            return [(cid, status, _terms(t, ())) for cid, status, t in rows]

    def confirmed_classifications(self) -> list[tuple[int, str]]:
        with self._session(write=False) as s:
            rows = s.execute(
                select(ContractTerms.contract_id, ContractTerms.classification)
                .where(ContractTerms.classification.is_not(None))
                .order_by(ContractTerms.contract_id)
            ).all()
            return [(int(cid), str(code)) for cid, code in rows]

    def find_archival_code(self, code: str) -> int | None:
        with self._session(write=False) as s:
            found = s.scalar(
                select(ContractTerms.contract_id).where(ContractTerms.archival_code == code)
            )
            return int(found) if found is not None else None

    def children(self, contract_id: int) -> list[int]:
        with self._session(write=False) as s:
            return list(
                s.scalars(
                    select(ContractTerms.contract_id)
                    .where(ContractTerms.master_id == contract_id)
                    .order_by(ContractTerms.contract_id)
                )
            )

    def disposal_due_ids(self, today: date) -> list[int]:
        with self._session(write=False) as s:
            return list(
                s.scalars(
                    select(ContractTerms.contract_id)
                    .where(
                        ContractTerms.disposal_due.is_not(None),
                        ContractTerms.disposal_due <= today,
                    )
                    .order_by(ContractTerms.disposal_due, ContractTerms.contract_id)
                )
            )

    def successors(self, contract_id: int) -> list[int]:
        with self._session(write=False) as s:
            return list(
                s.scalars(
                    select(ContractTerms.contract_id).where(
                        ContractTerms.master_id == contract_id,
                        ContractTerms.relation == "renewal",
                    )
                )
            )


def _money(amounts: Mapping[str, Decimal] | None) -> tuple[Money, ...]:
    if not amounts:
        return ()
    return tuple(Money(currency=c, amount=a) for c, a in sorted(amounts.items()) if a)


def _targets(state: str) -> frozenset[str]:
    return TRANSITIONS.get(state, frozenset())
