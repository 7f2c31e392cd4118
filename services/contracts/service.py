"""The customer and contract model as users work with it: the one service the API and the CLI
share (``archive.contracts``).

Every change goes through here so that it is validated once, recorded with who and why, and
followed by an update of what search uses (the index entry of the contract).
"""

from __future__ import annotations

import logging
from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from core import clock
from core.clauses import CLAUSE_FIELD
from core.errors import Conflict, InvalidRequest, NotFound
from core.names import is_valid_uscc, looks_like_uscc, loose_key, name_key
from core.retention import disposal_due, legal_minimum, retention_floor
from core.rules import (
    ENDED_STATES,
    FALLBACK_CODE,
    FILABLE_STATES,
    LIVE_STATES,
    RETENTIONS,
    STATE_NAMES_ZH,
    STATES,
    TRANSITIONS,
    allowed_from,
    expiring_window,
    is_expiring,
    valid_classification,
    valid_scheme_code,
)
from ingest.extraction import ClassifierInput, CodeKeywords, extract_terms
from ingest.extraction.classify import features, leave_one_out, train
from ingest.extraction.dates import add_months
from ingest.linking import link_customer, refresh_effective, store_extraction
from schemas.contract_model import (
    ArchivalPublic,
    ClassifierPublic,
    ClausePublic,
    ConfirmedTerms,
    ContractLine,
    ContractLinePage,
    ContractTermsView,
    CustomerPage,
    CustomerPublic,
    CustomerSummary,
    CustomerTotals,
    CustomerView,
    EventPublic,
    Facet,
    HoldPublic,
    MoneyPublic,
    PartyPublic,
    PaymentPublic,
    RelatedContract,
    SchemePublic,
    SuggestionPublic,
)
from schemas.contracts import ContractPublic
from services.fourprops import EVENT_KIND as FOURPROPS_EVENT
from services.fourprops import FilingPlan, FourProps, failed_items, overall
from signing.report import Status
from storage.objects.base import FOURPROPS_NAME
from storage.records.contract_base import (
    EDITABLE_TERMS,
    ContractFilter,
    ContractStore,
    ContractSummary,
    CustomerRecord,
    PartyRecord,
    SchemeCode,
    SuggestionRecord,
    TermsRecord,
)

if TYPE_CHECKING:
    from services.archive import Archive

log = logging.getLogger(__name__)

MAX_LIST = 500
LOO_LIMIT = 400
"""Leave-one-out accuracy is computed for training sets up to this size."""


def parse_window(text: str) -> int:
    """``90d``, ``12w``, ``3m``, ``1y`` or a plain number of days → days."""
    text = text.strip().lower()
    units = {"d": 1, "w": 7, "m": 30, "y": 365}
    try:
        value = int(text[:-1]) * units[text[-1]] if text[-1:] in units else int(text)
    except ValueError:
        raise InvalidRequest(
            f"{text!r} is not a time window", hint="use days like 90d, or 12w, 3m, 1y"
        ) from None
    if not 0 <= value <= 36500:
        raise InvalidRequest(f"the window {text!r} is out of range (0 to 100 years)")
    return value


def _money_sum(items: Sequence[tuple[str | None, Decimal | None]]) -> list[MoneyPublic]:
    sums: dict[str, Decimal] = defaultdict(Decimal)
    for currency, amount in items:
        if currency and amount:
            sums[currency] += amount
    return [MoneyPublic(currency=c, amount=a) for c, a in sorted(sums.items())]


class ContractService:
    def __init__(self, archive: Archive) -> None:
        self.archive = archive
        self.settings = archive.settings
        self.store: ContractStore = archive.records

    # -- helpers -------------------------------------------------------------------------------
    def _reindex(self, contract_id: int) -> None:
        self.archive.index_changed(self.archive.get(contract_id))

    def refresh(self, contract_id: int) -> None:
        """Write what search uses into the record (confirmed first), re-index it, and issue
        the next manifest version when what the manifest covers changed."""
        refresh_effective(self.store, contract_id)
        self._reindex(contract_id)
        self._reseal(contract_id)

    def _reseal(self, contract_id: int) -> None:
        """The next manifest version after a change of the contract's record or model (who and
        through which action: the facade's current action; nothing when nothing changed)."""
        if self.archive.seal.seals.latest_manifest(contract_id) is None:
            return  # being archived (its first version is the ingest's) or never sealed
        self.archive.next_manifest(self.archive.get(contract_id))

    def _today(self, today: date | None) -> date:
        return today or clock.today(self.settings)

    # -- customers ----------------------------------------------------------------------------
    def _registration(self, number: str | None) -> tuple[str | None, str | None]:
        if number is None or not number.strip():
            return None, None
        number = number.strip().upper()
        if looks_like_uscc(number):
            if not is_valid_uscc(number):
                raise InvalidRequest(
                    f"{number} is not a valid 统一社会信用代码 (its check character is wrong)",
                    hint="check the 18 characters against the business licence",
                )
            return number, "uscc"
        return number, "other"

    def resolve_customer(self, ref: str | int) -> CustomerRecord:
        """A customer by id, name or alias."""
        if isinstance(ref, int) or (isinstance(ref, str) and ref.strip().isdigit()):
            return self.store.get_customer(int(ref))
        found = self.store.find_customer(name_key(str(ref)))
        if found is None:
            variants = self.store.find_customers_loose(loose_key(str(ref)))
            if len(variants) == 1:  # the name without its legal form, or with another one
                return variants[0]
            raise NotFound(
                f"no customer is named {ref!r}",
                hint="`contract-archive customer list --query ...` finds customers by part of "
                "a name",
            )
        return found

    def create_customer(
        self,
        name: str,
        *,
        actor: str,
        registration_no: str | None = None,
        aliases: Sequence[str] = (),
        contacts: Sequence[Mapping[str, Any]] = (),
        notes: str | None = None,
    ) -> CustomerRecord:
        name = " ".join(name.split())
        if not name_key(name):
            raise InvalidRequest("a customer needs a name with letters or digits")
        number, kind = self._registration(registration_no)
        return self.store.create_customer(
            name,
            actor=actor,
            registration_no=number,
            registration_kind=kind,
            aliases=[" ".join(a.split()) for a in aliases if name_key(a)],
            contacts=contacts,
            notes=notes,
        )

    def update_customer(
        self, customer_id: int, changes: Mapping[str, Any], *, actor: str
    ) -> CustomerRecord:
        values = dict(changes)
        if "registration_no" in values:
            number, kind = self._registration(values["registration_no"])
            values["registration_no"] = number
            values["registration_kind"] = kind
        if "name" in values:
            values["name"] = " ".join(str(values["name"]).split())
        customer = self.store.update_customer(customer_id, values, actor=actor)
        if "name" in values:
            for summary in self._customer_contracts(customer_id):
                self.refresh(summary.id)
        return customer

    def add_alias(self, customer_id: int, alias: str, *, actor: str) -> CustomerRecord:
        alias = " ".join(alias.split())
        if not name_key(alias):
            raise InvalidRequest("an alias needs letters or digits")
        return self.store.add_alias(customer_id, alias, actor=actor)

    def merge_customers(self, target_id: int, source_id: int, *, actor: str) -> CustomerRecord:
        merged = self.store.merge_customers(target_id, source_id, actor=actor)
        for summary in self._customer_contracts(target_id):
            self.refresh(summary.id)
        return merged

    def _customer_contracts(self, customer_id: int) -> list[ContractSummary]:
        items: list[ContractSummary] = []
        offset = 0
        while True:
            total, page = self.store.query_contracts(
                ContractFilter(customer_id=customer_id), offset=offset, limit=MAX_LIST
            )
            items += page
            offset += len(page)
            if not page or offset >= total:
                return items

    def _totals(self, contracts: Sequence[ContractSummary], today: date) -> CustomerTotals:
        window = expiring_window(self.settings.reminder_tiers)
        expiring = sum(1 for c in contracts if is_expiring(c.status, c.expiry_date, today, window))
        expired_ids = [c.id for c in contracts if c.status == "expired"]
        unrenewed = sum(1 for cid in expired_ids if not self.store.successors(cid))
        return CustomerTotals(
            contracts=len(contracts),
            live=sum(1 for c in contracts if c.status in LIVE_STATES),
            expiring=expiring,
            expired_unrenewed=unrenewed,
            amount=_money_sum([(c.currency, c.amount) for c in contracts]),
            outstanding=_money_sum(
                [(m.currency, m.amount) for c in contracts for m in c.outstanding]
            ),
            overdue=_money_sum([(m.currency, m.amount) for c in contracts for m in c.overdue]),
        )

    def customer_view(
        self, ref: str | int, *, today: date | None = None, hidden: Sequence[str] = ()
    ) -> CustomerView:
        """``hidden``: restricted classes the caller may not see (their contracts are left
        out of the list, the totals and the facets)."""
        day = self._today(today)
        customer = self.resolve_customer(ref)
        contracts = self._customer_contracts_on(customer.id, day, tuple(hidden))
        facets = {
            "status": Counter(c.status for c in contracts),
            "classification": Counter(c.classification or "(none)" for c in contracts),
            "year": Counter(
                str((c.sign_date or c.effective_date or c.created_at.date()).year)
                for c in contracts
            ),
        }
        return CustomerView(
            customer=CustomerPublic.from_record(customer),
            totals=self._totals(contracts, day),
            facets={
                name: [Facet(value=v, count=n) for v, n in counts.most_common()]
                for name, counts in facets.items()
            },
            contracts=[ContractLine.from_summary(c) for c in contracts],
        )

    def _customer_contracts_on(
        self, customer_id: int, day: date, hidden: tuple[str, ...] = ()
    ) -> list[ContractSummary]:
        items: list[ContractSummary] = []
        offset = 0
        while True:
            total, page = self.store.query_contracts(
                ContractFilter(customer_id=customer_id, today=day, hidden_classifications=hidden),
                offset=offset,
                limit=MAX_LIST,
            )
            items += page
            offset += len(page)
            if not page or offset >= total:
                return items

    def list_customers(
        self,
        *,
        q: str | None = None,
        offset: int = 0,
        limit: int = 50,
        today: date | None = None,
        hidden: Sequence[str] = (),
    ) -> CustomerPage:
        """``hidden``: restricted classes the caller may not see: their contracts are left out
        of the totals, and a customer known only through them is left out."""
        day = self._today(today)
        total, customers = self.store.list_customers(
            q=q, offset=offset, limit=limit, hidden=tuple(hidden)
        )
        items = []
        for c in customers:
            contracts = self._customer_contracts_on(c.id, day, tuple(hidden))
            items.append(
                CustomerSummary(
                    customer=CustomerPublic.from_record(c), totals=self._totals(contracts, day)
                )
            )
        return CustomerPage(total=total, offset=offset, limit=limit, items=items)

    # -- contract lists ----------------------------------------------------------------------------
    def contract_filter(
        self,
        *,
        customer: str | None = None,
        status: str | None = None,
        classification: str | None = None,
        expiring_within: str | None = None,
        overdue_payments: bool = False,
        expired_unrenewed: bool = False,
        today: date | None = None,
    ) -> ContractFilter:
        day = self._today(today)
        statuses = tuple(s.strip() for s in (status or "").split(",") if s.strip())
        unknown = [s for s in statuses if s not in STATES]
        if unknown:
            raise InvalidRequest(
                f"unknown status {', '.join(unknown)}", hint="one of: " + ", ".join(STATES)
            )
        classes = tuple(
            valid_classification(c) for c in (classification or "").split(",") if c.strip()
        )
        customer_id = None
        customer_text = None
        if customer:
            try:
                customer_id = self.resolve_customer(customer).id
            except NotFound:
                customer_text = customer  # a name given at upload but not a customer (yet)
        expiring_before = None
        if expiring_within:
            expiring_before = date.fromordinal(day.toordinal() + parse_window(expiring_within))
        return ContractFilter(
            customer_id=customer_id,
            customer_text=customer_text,
            statuses=statuses,
            classifications=classes,
            expiring_before=expiring_before,
            today=day,
            overdue_payments=overdue_payments,
            expired_unrenewed=expired_unrenewed,
        )

    def list_contracts(
        self, flt: ContractFilter, *, offset: int = 0, limit: int = 50
    ) -> ContractLinePage:
        total, items = self.store.query_contracts(flt, offset=offset, limit=min(limit, MAX_LIST))
        return ContractLinePage(
            total=total,
            offset=offset,
            limit=limit,
            items=[ContractLine.from_summary(s) for s in items],
        )

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
            parties=[
                PartyPublic(
                    role=p.role,
                    name=p.name,
                    role_label=p.role_label,
                    customer_id=p.customer_id,
                    is_us=p.is_us,
                )
                for p in terms.parties
            ],
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

    def _disposal(self, terms: TermsRecord) -> Any:
        return disposal_due(
            retention=terms.retention,
            archival_year=terms.archival_year,
            ended_on=terms.ended_on,
            legal_minimum_years=legal_minimum(
                override=terms.legal_minimum_years,
                default_years=self.settings.legal_minimum_years,
                classification=terms.classification,
                currency=terms.currency,
            ),
        )

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
            self.set_parties(contract_id, parties, actor=actor)
        terms = self._update_disposal(contract_id, actor)
        self.refresh(contract_id)
        return terms

    def _update_disposal(self, contract_id: int, actor: str) -> TermsRecord:
        terms = self.store.get_terms(contract_id)
        due = self._disposal(terms)
        if due != terms.disposal_due and terms.archival_code is not None:
            terms = self.store.update_terms(
                contract_id,
                {"disposal_due": due},
                actor=actor,
                kind="disposal_due",
                reason="recomputed from retention and the contract's end",
            )
        if terms.archival_code is not None:
            self._protect(terms)
        return terms

    def _protect(self, terms: TermsRecord) -> None:
        """Carry the disposal date into the object store's retention (S3 Object Lock)."""
        from services.holds import protect_until

        due = terms.disposal_due or retention_floor(
            retention=terms.retention, archival_year=terms.archival_year
        )
        protect_until(self.archive, terms.contract_id, due, permanent=terms.retention == "Y")

    def set_parties(
        self, contract_id: int, parties: Sequence[Mapping[str, Any] | PartyPublic], *, actor: str
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
        return self.store.set_parties(contract_id, records, actor=actor)

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
            current = [
                PartyPublic(
                    role=p.role,
                    name=p.name,
                    role_label=p.role_label,
                    customer_id=p.customer_id,
                    is_us=p.is_us,
                )
                for p in terms.parties
            ]
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

    # -- lifecycle ---------------------------------------------------------------------------------
    def transition(
        self,
        contract_id: int,
        to: str,
        *,
        actor: str,
        reason: str | None = None,
        force: bool = False,
        today: date | None = None,
        kind: str | None = None,
        terms: Mapping[str, Any] | None = None,
    ) -> EventPublic:
        if to not in STATES:
            raise InvalidRequest(f"unknown status {to!r}", hint="one of: " + ", ".join(STATES))
        if force and not (reason and reason.strip()):
            raise InvalidRequest("a correction outside the lifecycle rules needs a reason")
        if to == "in_approval":
            raise Conflict(
                "a contract goes into approval only by being submitted, which starts the chain "
                "of approvers the approval rules select",
                hint=f"contract-archive approvals submit {contract_id} "
                f"(POST /api/v1/contracts/{contract_id}/approval)",
            )
        # Out of approval only by the approvers' decisions: never by a transition, not even a
        # correction (the allowed states below leave in_approval out).
        sources = (set(STATES) if force else set(allowed_from(to))) - {"in_approval"}
        if self.archive.get(contract_id).status == "in_approval":
            raise Conflict(
                f"contract {contract_id} is in approval: only its approvers' decisions move it "
                "on (the last approval to signing, a rejection back to draft)",
                hint="contract-archive approvals approve|reject ID",
                details={"status": "in_approval", "requested": to},
            )
        day = self._today(today)
        extra: dict[str, Any] = dict(terms or {})
        current = self.store.get_terms(contract_id)
        if to in ENDED_STATES and current.ended_on is None and "ended_on" not in extra:
            extra["ended_on"] = (
                current.expiry_date if to == "expired" and current.expiry_date else day
            )
        if to == "archived" and current.archival_code is None:
            record = self.archive.get(contract_id)
            if record.status not in allowed_from("archived") and not force:
                raise Conflict(
                    f"contract {contract_id} is {record.status}; it cannot become archived",
                    hint="from "
                    + record.status
                    + " it may become: "
                    + (", ".join(sorted(TRANSITIONS.get(record.status, ()))) or "nothing"),
                )
            # A correction (forced, with its reason) also files past a FAILED 四性 item, with
            # that reason kept in the history as ``contract file --force-reason`` would.
            self.file(contract_id, actor=actor, force_reason=reason if force else None)
        event = self.store.transition(
            contract_id,
            to,
            allowed_from=sources,
            actor=actor,
            reason=reason,
            kind=kind or ("correction" if force else "transition"),
            terms=extra,
        )
        self._update_disposal(contract_id, actor)
        self.refresh(contract_id)
        return EventPublic.from_record(event)

    # -- filing ------------------------------------------------------------------------------------
    def file(
        self,
        contract_id: int,
        *,
        actor: str,
        fonds_code: str | None = None,
        retention: str | None = None,
        item_no: int | None = None,
        year: int | None = None,
        today: date | None = None,
        force_reason: str | None = None,
    ) -> TermsRecord:
        """Give the contract its archival code (档号), once, after the 四性检测 of its package
        (:mod:`services.fourprops`): a FAILED item refuses the filing unless ``force_reason``
        says why it is filed all the same."""
        if force_reason is not None and not force_reason.strip():
            raise InvalidRequest("a filing forced past the 四性检测 needs a reason")
        record = self.archive.get(contract_id)
        terms = self.store.get_terms(contract_id)
        if terms.archival_code is not None:
            raise Conflict(
                f"contract {contract_id} is filed already as {terms.archival_code}",
                hint="an archival code is assigned once and never changed",
            )
        if record.status not in FILABLE_STATES:
            raise Conflict(
                f"contract {contract_id} is {record.status}; only a signed contract is filed"
            )
        if terms.classification is None:
            raise Conflict(
                f"contract {contract_id} has no confirmed classification",
                hint="confirm its classification first (the code is part of the archival code)",
            )
        fonds = fonds_code or terms.fonds_code or self.settings.fonds_code
        if not fonds:
            raise Conflict(
                "no fonds code (全宗号) to file under",
                hint="set ARCHIVE_FONDS_CODE, or give the fonds code when filing",
            )
        code = self.store.current_scheme().get(terms.classification)
        chosen_retention = retention or terms.retention or (code.retention if code else "D30")
        if chosen_retention not in RETENTIONS:
            raise InvalidRequest(f"retention must be one of {', '.join(RETENTIONS)}")
        formed = terms.sign_date or terms.effective_date
        archival_year = year or (formed.year if formed else self._today(today).year)
        planned = TermsRecord(
            contract_id=contract_id,
            retention=chosen_retention,
            archival_year=archival_year,
            ended_on=terms.ended_on,
            legal_minimum_years=terms.legal_minimum_years,
            classification=terms.classification,
            currency=terms.currency,
        )
        check = FourProps(self.archive)
        report = check.check(
            record,
            terms,
            FilingPlan(
                fonds_code=fonds,
                archival_year=archival_year,
                retention=chosen_retention,
                classification=terms.classification,
            ),
            actor=actor,
        )
        result = overall(report)
        if result is Status.FAILED and force_reason is None:
            raise check.refuse(record, report)
        filed = self.store.file_contract(
            contract_id,
            fonds_code=fonds,
            year=archival_year,
            retention=chosen_retention,
            classification=terms.classification,
            disposal_due=self._disposal(planned),
            actor=actor,
            item_no=item_no,
        )
        report["filing"]["archival_code"] = filed.archival_code
        forced = force_reason is not None and result is Status.FAILED
        if force_reason is not None:
            report["forced"] = {
                "reason": force_reason.strip(),
                "by": actor,
                "failed": failed_items(report),
            }
        digest = check.store(record, report)
        self.store.add_event(
            contract_id,
            FOURPROPS_EVENT,
            actor=actor,
            to_value=result.value,
            reason=force_reason.strip() if force_reason is not None else None,
            data={
                "report": FOURPROPS_NAME,
                "sha256": digest,
                "forced": forced,
                "properties": {p["id"]: p["status"] for p in report["properties"]},
            },
        )
        self._protect(filed)
        self._reseal(contract_id)
        return filed

    def fourprops(self, contract_id: int) -> dict[str, Any]:
        """The 四性检测 report stored in the package when the contract was filed."""
        return FourProps(self.archive).load(self.archive.get(contract_id))

    # -- holds -------------------------------------------------------------------------------------
    def place_hold(self, contract_id: int, reason: str, *, actor: str) -> HoldPublic:
        if not reason.strip():
            raise InvalidRequest("a hold needs a reason")
        from services.holds import sync_record_hold

        hold = self.store.place_hold(contract_id, reason.strip(), actor=actor)
        sync_record_hold(self.archive, contract_id, True)
        self._reseal(contract_id)
        return HoldPublic.from_record(hold)

    def release_hold(
        self, contract_id: int, hold_id: int, reason: str, *, actor: str
    ) -> HoldPublic:
        if not reason.strip():
            raise InvalidRequest("releasing a hold needs a reason")
        from services.holds import sync_record_hold

        hold = self.store.release_hold(contract_id, hold_id, actor=actor, reason=reason.strip())
        if not any(h.active for h in self.store.list_holds(contract_id)):
            sync_record_hold(self.archive, contract_id, False)
        self._reseal(contract_id)
        return HoldPublic.from_record(hold)

    def disposal_due(self, *, today: date | None = None) -> list[dict[str, Any]]:
        """Filed contracts whose disposal is due, and whether a hold stops it."""
        day = self._today(today)
        out = []
        for contract_id in self.store.disposal_due_ids(day):
            holds = [h for h in self.store.list_holds(contract_id) if h.active]
            terms = self.store.get_terms(contract_id)
            out.append(
                {
                    "id": contract_id,
                    "archival_code": terms.archival_code,
                    "retention": terms.retention,
                    "disposal_due": terms.disposal_due,
                    "held": bool(holds),
                    "holds": [h.reason for h in holds],
                }
            )
        return out

    def assert_disposable(self, contract_id: int, *, today: date | None = None) -> None:
        """Raise Conflict unless the contract may be disposed of now (never while held)."""
        holds = [h for h in self.store.list_holds(contract_id) if h.active]
        if holds:
            raise Conflict(
                f"contract {contract_id} is held ({holds[0].reason}); it cannot be disposed of",
                hint="a hold must be released, with a reason, first",
            )
        terms = self.store.get_terms(contract_id)
        day = self._today(today)
        if terms.disposal_due is None or terms.disposal_due > day:
            raise Conflict(
                f"contract {contract_id} is not due for disposal"
                + (f" before {terms.disposal_due}" if terms.disposal_due else "")
            )

    # -- payments ----------------------------------------------------------------------------------
    def add_payment(self, contract_id: int, *, actor: str, **values: Any) -> PaymentPublic:
        self.archive.get(contract_id)
        if values.get("paid_amount", Decimal("0")) > values["amount"]:
            raise InvalidRequest("the paid amount is more than the amount due")
        payment = self.store.add_payment(contract_id, actor=actor, **values)
        return PaymentPublic.from_record(payment, clock.today(self.settings))

    def record_payment(
        self, contract_id: int, item_id: int, *, paid_amount: Decimal, paid_date: date, actor: str
    ) -> PaymentPublic:
        payment = self.store.record_payment(
            contract_id, item_id, paid_amount=paid_amount, paid_date=paid_date, actor=actor
        )
        return PaymentPublic.from_record(payment, clock.today(self.settings))

    # -- classification scheme ---------------------------------------------------------------------
    def scheme(self, version: int | None = None) -> SchemePublic:
        record = self.store.get_scheme(version) if version else self.store.current_scheme()
        return SchemePublic.from_record(record)

    def scheme_versions(self) -> list[SchemePublic]:
        return [SchemePublic.from_record(s) for s in self.store.scheme_versions()]

    def set_code(
        self,
        code: str,
        *,
        name_zh: str,
        name_en: str,
        retention: str,
        keywords: Sequence[str],
        actor: str,
        note: str | None = None,
    ) -> SchemePublic:
        code = valid_scheme_code(code)
        if retention not in RETENTIONS:
            raise InvalidRequest(f"retention must be one of {', '.join(RETENTIONS)}")
        current = self.store.current_scheme()
        new = SchemeCode(
            code=code,
            name_zh=name_zh.strip(),
            name_en=name_en.strip(),
            retention=retention,
            keywords=tuple(k.strip() for k in keywords if k.strip()),
        )
        old = current.get(code)
        if old == new:
            return SchemePublic.from_record(current)
        codes = [c for c in current.codes if c.code != code] + [new]
        what = f"{'changed' if old else 'added'} {code}"
        saved = self.store.new_scheme_version(
            sorted(codes, key=lambda c: c.code),
            actor=actor,
            note=f"{what}: {note}" if note else what,
            based_on=current.version,
        )
        return SchemePublic.from_record(saved)

    def retire_code(self, code: str, *, actor: str, note: str | None = None) -> SchemePublic:
        code = valid_scheme_code(code)
        current = self.store.current_scheme()
        if current.get(code) is None:
            raise NotFound(f"{code} is not a code of the current scheme")
        if code == FALLBACK_CODE:
            raise Conflict(f"{code} is the fallback code of the scheme and cannot be retired")
        codes = [c for c in current.codes if c.code != code]
        saved = self.store.new_scheme_version(
            codes,
            actor=actor,
            note=f"retired {code}: {note}" if note else f"retired {code}",
            based_on=current.version,
        )
        return SchemePublic.from_record(saved)

    # -- the classifier ----------------------------------------------------------------------------
    def train_classifier(self, *, actor: str) -> ClassifierPublic:
        labelled = self.store.confirmed_classifications()
        examples = []
        for contract_id, code in labelled:
            try:
                record = self.archive.get(contract_id)
                pages = self.archive.page_texts(record)
            except NotFound:
                continue
            examples.append((features(record.title, pages), code))
        if len(examples) < 2 or len({c for _, c in examples}) < 2:
            raise Conflict(
                f"{len(examples)} contracts have a confirmed classification; training needs "
                "contracts of at least two codes",
                hint="confirm the classification of more contracts first",
            )
        model = train(examples)
        accuracy = leave_one_out(examples) if len(examples) <= LOO_LIMIT else None
        scheme = self.store.current_scheme()
        saved = self.store.save_classifier(
            actor=actor,
            scheme_version=scheme.version,
            examples=len(examples),
            labels=model["labels"],
            model=model,
            accuracy=accuracy,
        )
        return self.classifier_public(saved)

    def classifier_public(self, saved: Any) -> ClassifierPublic:
        return ClassifierPublic(
            id=saved.id,
            created_at=saved.created_at,
            created_by=saved.created_by,
            scheme_version=saved.scheme_version,
            examples=saved.examples,
            labels=list(saved.labels),
            accuracy=saved.accuracy,
            in_use=saved.examples >= self.settings.classifier_min_examples,
        )

    def classifier(self) -> ClassifierPublic | None:
        saved = self.store.latest_classifier()
        return self.classifier_public(saved) if saved else None
