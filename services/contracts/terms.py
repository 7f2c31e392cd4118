"""One contract's terms: re-extraction, the terms view, confirming and correcting values,
parties, suggestions and clauses."""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Mapping, Sequence
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from core.clauses import CLAUSE_FIELD
from core.errors import Conflict, InvalidRequest, NotFound
from core.names import name_key
from core.rules import (
    FALLBACK_CODE,
    RETENTIONS,
    STATE_NAMES_ZH,
    TRANSITIONS,
    WHOLE_TERMS,
    valid_classification,
)
from ingest.extraction import ClassifierInput, CodeKeywords, extract_terms
from ingest.extraction.dates import add_months
from ingest.linking import link_customer, store_extraction
from schemas.contract_model import (
    ArchivalPublic,
    ClausePublic,
    ConfirmedTerms,
    ContractTermsView,
    EventPublic,
    HoldPublic,
    PartyPublic,
    PaymentPublic,
    RelatedContract,
    SuggestionPublic,
)
from schemas.contracts import ContractPublic
from storage.records.contract_base import (
    EDITABLE_TERMS,
    PartyRecord,
    SuggestionRecord,
    TermsRecord,
)

if TYPE_CHECKING:
    pass

from services.contracts.base import ContractServiceBase

log = logging.getLogger(__name__)


def _whole(field: str, value: Any, low: int, high: int) -> int:
    """A whole number from ``low`` to ``high`` for ``field``, else InvalidRequest (the same
    rule for the API, the web form and the command line)."""
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise InvalidRequest(f"{field} must be a whole number from {low} to {high}")
    text = str(value).strip()
    if not text.isdigit() or not low <= int(text) <= high:
        raise InvalidRequest(f"{field} must be a whole number from {low} to {high}")
    return int(text)


def _parties(terms: TermsRecord) -> list[PartyPublic]:
    """The contract's parties as the API shows them."""
    return [
        PartyPublic(
            role=p.role,
            name=p.name,
            role_label=p.role_label,
            customer_id=p.customer_id,
            is_us=p.is_us,
        )
        for p in terms.parties
    ]


class TermsMixin(ContractServiceBase):
    def reextract(self, contract_id: int) -> int:
        """Run extraction again on the contract's current text (after OCR added text): open
        suggestions are replaced, decided ones kept. Returns the number of suggestions."""
        if not self.settings.extract_terms:
            return 0
        record = self.archive.get(contract_id)
        scheme = self.store.current_scheme()
        model = self.store.latest_classifier()
        classifier = (
            ClassifierInput(model.id, model.model)
            if model is not None and model.examples >= self.settings.classifier_min_examples
            else None
        )
        try:
            extraction = extract_terms(
                self.archive.page_texts(record),
                title=record.title,
                our_entities=self.settings.our_entity_names,
                codes=[CodeKeywords(c.code, c.keywords) for c in scheme.codes],
                fallback_code=FALLBACK_CODE if scheme.get(FALLBACK_CODE) else "",
                classifier=classifier,
            )
        except Exception:  # advisory, as at ingest: the new text stays, the cause is logged
            log.exception("term extraction after OCR failed for contract %s", contract_id)
            self.store.add_event(
                contract_id,
                "extraction_failed",
                actor="system:extraction",
                reason="an error in term extraction after OCR; see the server log",
            )
            return 0
        stored = store_extraction(self.store, contract_id, extraction)
        self.refresh(contract_id)
        return len(stored)

    # -- one contract ------------------------------------------------------------------------------
    def view(self, contract_id: int, *, today: date | None = None) -> ContractTermsView:
        day = self._today(today)
        record = self.archive.get(contract_id)
        terms = self.store.get_terms(contract_id)
        suggestions = self.store.list_suggestions(contract_id, states=())
        suggested: dict[str, list[SuggestionPublic]] = defaultdict(list)
        for s in sorted(suggestions, key=lambda s: -s.confidence):
            if s.field != CLAUSE_FIELD:  # clauses are listed apart (``clauses``)
                suggested[s.field].append(SuggestionPublic.from_record(s))
        holds = self.store.list_holds(contract_id)
        master = None
        if terms.master_id is not None:
            try:
                m = self.archive.get(terms.master_id)
                master = RelatedContract(
                    id=m.id, title=m.title, relation=terms.relation, status=m.status
                )
            except NotFound:
                master = None
        related = []
        for child_id in self._children(contract_id):
            child = self.archive.get(child_id)
            relation = self.store.get_terms(child_id).relation
            related.append(
                RelatedContract(
                    id=child.id, title=child.title, relation=relation, status=child.status
                )
            )
        return ContractTermsView(
            contract=ContractPublic.from_record(record),
            status=record.status,
            status_zh=STATE_NAMES_ZH.get(record.status, record.status),
            allowed_transitions=sorted(
                TRANSITIONS.get(record.status, frozenset()) - {"in_approval"}
            )
            if record.status != "in_approval"
            else [],
            confirmed=ConfirmedTerms.from_record(terms),
            parties=_parties(terms),
            suggested=dict(suggested),
            archival=ArchivalPublic.from_record(terms, held=any(h.active for h in holds)),
            payments=[
                PaymentPublic.from_record(p, day) for p in self.store.list_payments(contract_id)
            ],
            holds=[HoldPublic.from_record(h) for h in holds],
            master=master,
            related=related,
        )

    def _children(self, contract_id: int) -> list[int]:
        return self.store.children(contract_id)

    def events(self, contract_id: int) -> list[EventPublic]:
        return [EventPublic.from_record(e) for e in self.store.list_events(contract_id)]

    # -- confirming and correcting -----------------------------------------------------------------
    def _validate_changes(
        self, contract_id: int, changes: dict[str, Any], terms: TermsRecord
    ) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for field, value in changes.items():
            if field not in EDITABLE_TERMS:
                raise InvalidRequest(f"{field!r} cannot be set here")
            if isinstance(value, str):
                value = " ".join(value.split()) or None
            if field == "classification" and value is not None:
                value = valid_classification(str(value))
                scheme = self.store.current_scheme()
                if scheme.get(value) is None:
                    raise InvalidRequest(
                        f"{value} is not a code of the classification scheme (version "
                        f"{scheme.version})",
                        hint="codes: " + ", ".join(c.code for c in scheme.codes),
                    )
                out["classification_version"] = scheme.version
            if field == "customer_id" and value is not None:
                self.store.get_customer(int(value))
            if field == "master_id" and value is not None:
                if int(value) == contract_id:
                    raise InvalidRequest("a contract cannot be its own master contract")
                self.archive.get(int(value))
                if contract_id in self._ancestors(int(value)):
                    raise InvalidRequest("that would make the contracts each other's master")
            if field in WHOLE_TERMS and value is not None:
                value = _whole(field, value, *WHOLE_TERMS[field])
            if field == "retention" and value is not None and value not in RETENTIONS:
                raise InvalidRequest(f"retention must be one of {', '.join(RETENTIONS)}")
            if (
                field == "fonds_code"
                and terms.archival_code is not None
                and value != terms.fonds_code
            ):
                raise Conflict(
                    f"contract {contract_id} is filed as {terms.archival_code}; its fonds code "
                    "is part of the archival code and cannot change"
                )
            out[field] = value
        merged = {**{k: getattr(terms, k) for k in EDITABLE_TERMS}, **out}
        if (
            (merged.get("amount") is None) != (merged.get("currency") is None)
            and ("amount" in out or "currency" in out)
            and merged.get("amount") is not None
            and merged.get("currency") is None
        ):
            out["currency"] = "CNY"
        for a, b in (("effective_date", "expiry_date"), ("sign_date", "expiry_date")):
            if merged.get(a) and merged.get(b) and merged[b] < merged[a]:
                raise InvalidRequest(f"{b} ({merged[b]}) is before {a} ({merged[a]})")
        if merged.get("relation") and not merged.get("master_id"):
            raise InvalidRequest("a relation (amendment, supplement, ...) needs a master_id")
        return out

    def _ancestors(self, contract_id: int) -> set[int]:
        seen: set[int] = set()
        current: int | None = contract_id
        while current is not None and current not in seen:
            seen.add(current)
            current = self.store.get_terms(current).master_id
        return seen

    def confirm(
        self,
        contract_id: int,
        changes: Mapping[str, Any],
        *,
        actor: str,
        reason: str | None = None,
        kind: str = "confirmed",
    ) -> TermsRecord:
        """Confirm or correct terms; each changed field is recorded as an event."""
        self.archive.get(contract_id)
        values = dict(changes)
        parties = values.pop("parties", None)
        customer_name = values.pop("customer", None)
        terms = self.store.get_terms(contract_id)
        if (
            "retention" in values
            and terms.archival_code
            and values["retention"] != terms.retention
            and not reason
        ):
            raise InvalidRequest(
                "changing the retention of a filed contract is an appraisal: give a reason"
            )
        validated = self._validate_changes(contract_id, values, terms)
        if validated:
            terms = self.store.update_terms(
                contract_id, validated, actor=actor, reason=reason, kind=kind
            )
        if customer_name:
            link_customer(self.store, contract_id, customer_name, actor=actor)
        if parties is not None:
            self.set_parties(contract_id, parties, actor=actor, reason=reason)
        terms = self._update_disposal(contract_id, actor)
        self.refresh(contract_id)
        return terms

    def set_parties(
        self,
        contract_id: int,
        parties: Sequence[Mapping[str, Any] | PartyPublic],
        *,
        actor: str,
        reason: str | None = None,
    ) -> TermsRecord:
        records = []
        our = {name_key(n) for n in self.settings.our_entity_names}
        for p in parties:
            data = p.model_dump() if isinstance(p, PartyPublic) else dict(p)
            name = " ".join(str(data.get("name") or "").split())
            if not name:
                raise InvalidRequest("every party needs a name")
            customer_id = data.get("customer_id")
            if customer_id is not None:
                self.store.get_customer(int(customer_id))
            else:
                match = self.store.find_customer(name_key(name))
                customer_id = match.id if match else None
            records.append(
                PartyRecord(
                    role=str(data.get("role") or "party"),
                    name=name,
                    role_label=data.get("role_label"),
                    customer_id=customer_id,
                    is_us=bool(data.get("is_us")) or name_key(name) in our,
                )
            )
        return self.store.set_parties(contract_id, records, actor=actor, reason=reason)

    def _suggestion_of(self, contract_id: int, suggestion_id: int) -> SuggestionRecord:
        """The contract's suggestion; a missing one and another contract's (perhaps one the
        caller may not see) are the same NotFound, in the same words."""
        try:
            suggestion = self.store.get_suggestion(suggestion_id)
        except NotFound:
            suggestion = None
        if suggestion is None or suggestion.contract_id != contract_id:
            raise NotFound(f"contract {contract_id} has no suggestion {suggestion_id}")
        return suggestion

    def accept_suggestion(self, contract_id: int, suggestion_id: int, *, actor: str) -> TermsRecord:
        suggestion = self._suggestion_of(contract_id, suggestion_id)
        if suggestion.state != "open":
            raise Conflict(f"suggestion {suggestion_id} is {suggestion.state} already")
        value = suggestion.value
        terms = self.store.get_terms(contract_id)
        changes: dict[str, Any] = {}
        field = suggestion.field
        if field in ("sign_date", "effective_date", "expiry_date"):
            changes[field] = date.fromisoformat(str(value))
        elif field in ("contract_no", "governing_law"):
            changes[field] = str(value)
        elif field == "classification":
            changes["classification"] = str(value)
        elif field == "amount":
            changes["amount"] = Decimal(str(value["amount"]))
            changes["currency"] = str(value["currency"])
        elif field == "renewal":
            changes["renewal_type"] = value.get("type")
            if value.get("term_months"):
                changes["renewal_term_months"] = int(value["term_months"])
            if value.get("notice_days") is not None:
                changes["notice_days"] = int(value["notice_days"])
            # the limit: a stated number of renewals, or none at all when the text renews
            # without end; a suggestion that says neither leaves the confirmed limit alone
            if value.get("renewals") is not None:
                changes["renewal_max_count"] = int(value["renewals"])
            elif value.get("perpetual"):
                changes["renewal_max_count"] = None
        elif field == "term":
            if value.get("perpetual"):
                changes["expiry_date"] = None
            else:
                start = terms.effective_date or terms.sign_date
                if start is None:
                    raise Conflict(
                        "a term needs a confirmed effective or signing date to give an expiry",
                        hint="confirm the effective date first",
                    )
                changes["expiry_date"] = add_months(start, int(value["months"]))
        elif field == "party":
            current = _parties(terms)
            if all(name_key(p.name) != name_key(value["name"]) for p in current):
                current.append(
                    PartyPublic(
                        role=value.get("role") or "party",
                        name=value["name"],
                        role_label=value.get("role_label"),
                    )
                )
            changes["parties"] = current
        elif field == "counterparty":
            changes["customer"] = str(value)
        elif field == CLAUSE_FIELD:
            # A clause confirmed is a fact about the text, not a term: the suggestion's state
            # is the record; search sees it at once.
            self.store.decide_suggestion(suggestion_id, "accepted", actor=actor)
            self.store.add_event(
                contract_id,
                "clause_confirmed",
                actor=actor,
                to_value=str(value.get("type")),
                reason=f"accepted suggestion {suggestion_id}",
            )
            self.refresh(contract_id)
            return self.store.get_terms(contract_id)
        else:
            raise InvalidRequest(f"suggestions of {field!r} cannot be accepted")
        result = self.confirm(
            contract_id, changes, actor=actor, reason=f"accepted suggestion {suggestion_id}"
        )
        self.store.decide_suggestion(suggestion_id, "accepted", actor=actor)
        return result

    def reject_suggestion(self, contract_id: int, suggestion_id: int, *, actor: str) -> None:
        suggestion = self._suggestion_of(contract_id, suggestion_id)
        self.store.decide_suggestion(suggestion_id, "rejected", actor=actor)
        if suggestion.field in ("classification", CLAUSE_FIELD):
            self.refresh(contract_id)

    def clauses(self, contract_id: int) -> list[ClausePublic]:
        """The clauses found in the contract (open or confirmed; rejected ones are left out),
        in the order of the text."""
        self.archive.get(contract_id)
        found = self.store.list_suggestions(contract_id, states=("open", "accepted"))
        out = [ClausePublic.from_record(s) for s in found if s.field == CLAUSE_FIELD]
        return sorted(out, key=lambda c: (c.page or 0, c.start or 0, c.type))
