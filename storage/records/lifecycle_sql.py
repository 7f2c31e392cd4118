"""The SQL half of :class:`~storage.records.lifecycle_base.LifecycleStore`.

A transition locks the contract row and checks the status it is in; filing locks the counter
row of its series, so concurrent filings in one series take consecutive numbers.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from datetime import date
from typing import Any

from sqlalchemy import and_, or_, select

from core.errors import Conflict, NotFound
from core.rules import TRANSITIONS
from storage.records.contract_models import (
    ArchivalCounter,
    ContractEvent,
    ContractHold,
    ContractTerms,
)
from storage.records.lifecycle_base import EventRecord, HoldRecord
from storage.records.models import Contract, utcnow
from storage.records.sql_common import LIVE, SqlPart, short_str, terms_record
from storage.records.terms_base import TermsRecord


def archival_series(fonds_code: str, year: int, retention: str, classification: str) -> str:
    """全宗号-HT·年度-保管期限-分类: the series an archival code's 件号 counts in."""
    return f"{fonds_code}-HT·{year}-{retention}-{classification}"


def archival_code(series: str, item_no: int) -> str:
    return f"{series}-{item_no:04d}"


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


def _targets(state: str) -> frozenset[str]:
    return TRANSITIONS.get(state, frozenset())


class SqlLifecycle(SqlPart):
    """Status, events, filing, holds, expiry and disposal (a part of ``SqlRecordStore``)."""

    # -- events and transitions ------------------------------------------------------------
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

    # -- filing ----------------------------------------------------------------------------
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
                        "disposal_due": short_str(disposal_due),
                        "legacy": item_no is not None,
                    },
                )
            )
            s.flush()
            return terms_record(row, self._parties(s, contract_id))

    def find_archival_code(self, code: str) -> int | None:
        with self._session(write=False) as s:
            found = s.scalar(
                select(ContractTerms.contract_id).where(ContractTerms.archival_code == code)
            )
            return int(found) if found is not None else None

    # -- holds -----------------------------------------------------------------------------
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

    # -- what the rules and disposal look at -----------------------------------------------
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
            return [(cid, status, terms_record(t, ())) for cid, status, t in rows]

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
