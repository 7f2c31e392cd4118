"""The SQL half of :class:`~storage.records.terms_base.TermsStore`.

The terms row is locked (``SELECT ... FOR UPDATE``) while it changes; each changed field is an
event in the same transaction.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from typing import Any

from sqlalchemy import delete, select, update

from core.clauses import decision_key
from core.errors import Conflict, InvalidRequest, NotFound
from storage.records.contract_models import (
    ContractEvent,
    ContractParty,
    ContractTerms,
    ExtractionSuggestion,
)
from storage.records.models import Contract, utcnow
from storage.records.sql_common import TERM_COLUMNS, SqlPart, short_str, terms_record
from storage.records.terms_base import NewSuggestion, PartyRecord, SuggestionRecord, TermsRecord


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


class SqlTerms(SqlPart):
    """Terms, parties, suggestions and master links (a part of ``SqlRecordStore``)."""

    # -- terms -----------------------------------------------------------------------------
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
            return terms_record(row, self._parties(s, contract_id))

    def get_terms(self, contract_id: int) -> TermsRecord:
        with self._session(write=False) as s:
            if s.get(Contract, contract_id) is None:
                raise NotFound(f"contract {contract_id} does not exist")
            row = s.get(ContractTerms, contract_id)
            if row is None:
                return TermsRecord(contract_id=contract_id)
            return terms_record(row, self._parties(s, contract_id))

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
                if field not in TERM_COLUMNS:
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
                        from_value=short_str(old),
                        to_value=short_str(value),
                        reason=reason,
                        actor=actor,
                        at=utcnow(),
                        data={"field": field},
                    )
                )
            row.updated_at = utcnow()
            row.updated_by = actor
            s.flush()
            return terms_record(row, self._parties(s, contract_id))

    def set_parties(
        self,
        contract_id: int,
        parties: Sequence[PartyRecord],
        *,
        actor: str,
        reason: str | None = None,
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
                        from_value=short_str("; ".join(old) or None),
                        to_value=short_str("; ".join(new) or None),
                        reason=reason,
                        actor=actor,
                        at=utcnow(),
                        data={"field": "parties"},
                    )
                )
            row.updated_at = utcnow()
            row.updated_by = actor
            s.flush()
            return terms_record(row, self._parties(s, contract_id))

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

    # -- suggestions -----------------------------------------------------------------------
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
            # What a person rejected is not suggested again (after OCR or a new extraction).
            rejected = {
                decision_key(r.field, r.value)
                for r in s.scalars(
                    select(ExtractionSuggestion).where(
                        ExtractionSuggestion.contract_id == contract_id,
                        ExtractionSuggestion.state == "rejected",
                    )
                )
            }
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
                if decision_key(g.field, g.value) not in rejected
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
                    to_value=short_str(row.display),
                    actor=actor,
                    at=utcnow(),
                    data={"field": row.field, "suggestion_id": row.id},
                )
            )
            s.flush()
            return _suggestion(row)

    # -- master and amendment links --------------------------------------------------------
    def children(self, contract_id: int) -> list[int]:
        with self._session(write=False) as s:
            return list(
                s.scalars(
                    select(ContractTerms.contract_id)
                    .where(ContractTerms.master_id == contract_id)
                    .order_by(ContractTerms.contract_id)
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
