"""Linking a contract to its customer, storing extraction results and keeping what search uses
up to date. Plain functions on a :class:`~storage.records.contract_base.ContractStore`, shared
by the ingest stage, the service and the import.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

from core.errors import Conflict
from core.names import loose_key, name_key
from ingest.extraction import EXTRACTOR_VERSION, Extraction
from storage.records.contract_base import (
    ContractStore,
    NewSuggestion,
    SuggestionRecord,
    TermsRecord,
)

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class LinkResult:
    customer_id: int | None
    created: bool
    how: str
    """``name`` (name or alias), ``variant`` (same name without the legal form: the variant
    became an alias), ``created``, ``ambiguous`` (several variants: left to a person) or
    ``none``."""


def link_customer(store: ContractStore, contract_id: int, text: str, *, actor: str) -> LinkResult:
    """Match the customer name given for a contract to one customer, creating it if new."""
    text = " ".join(text.split())
    if not name_key(text):
        return LinkResult(None, False, "none")
    for _attempt in range(3):
        existing = store.find_customer(name_key(text))
        if existing is not None:
            _link(store, contract_id, existing.id, actor, f"matched {existing.name!r} by name")
            return LinkResult(existing.id, False, "name")
        variants = store.find_customers_loose(loose_key(text))
        if len(variants) == 1:
            customer = variants[0]
            try:
                store.add_alias(customer.id, text, actor=actor)
            except Conflict:
                continue  # someone else added it meanwhile: match again
            _link(
                store,
                contract_id,
                customer.id,
                actor,
                f"{text!r} is a variant of {customer.name!r}; added as its alias",
            )
            return LinkResult(customer.id, False, "variant")
        if len(variants) > 1:
            names = ", ".join(f"{c.name} (#{c.id})" for c in variants)
            store.add_event(
                contract_id,
                "customer_ambiguous",
                actor=actor,
                to_value=text[:500],
                reason=f"{text!r} could be any of: {names}; a person must choose",
                data={"candidates": [c.id for c in variants]},
            )
            return LinkResult(None, False, "ambiguous")
        try:
            created = store.create_customer(text, actor=actor)
        except Conflict:
            continue  # created by a concurrent ingest: match again
        _link(store, contract_id, created.id, actor, "new customer created from the given name")
        return LinkResult(created.id, True, "created")
    raise Conflict(f"the customer {text!r} could not be matched; retry")


def _link(store: ContractStore, contract_id: int, customer_id: int, actor: str, why: str) -> None:
    store.update_terms(
        contract_id,
        {"customer_id": customer_id},
        actor=actor,
        reason=why,
        kind="customer_linked",
    )


def to_new_suggestions(extraction: Extraction) -> list[NewSuggestion]:
    out = []
    for f in extraction.found:
        out.append(
            NewSuggestion(
                field=f.field,
                value=f.value,
                display=f.display,
                confidence=f.confidence,
                method=f.method,
                page=f.span.page if f.span else None,
                char_start=f.span.start if f.span else None,
                char_end=f.span.end if f.span else None,
                evidence=f.span.evidence if f.span else None,
            )
        )
    return out


def store_extraction(
    store: ContractStore, contract_id: int, extraction: Extraction
) -> list[SuggestionRecord]:
    return store.replace_suggestions(
        contract_id, to_new_suggestions(extraction), version=EXTRACTOR_VERSION
    )


def best_open(suggestions: Sequence[SuggestionRecord], field: str) -> SuggestionRecord | None:
    candidates = [s for s in suggestions if s.field == field and s.state == "open"]
    return max(candidates, key=lambda s: s.confidence) if candidates else None


def effective_values(
    store: ContractStore, contract_id: int, terms: TermsRecord | None = None
) -> tuple[str | None, str | None]:
    """(customer, classification) as search uses them: confirmed first, then the suggestion
    (classification) or the name given at upload (customer)."""
    terms = terms or store.get_terms(contract_id)
    customer = terms.customer_text
    if terms.customer_id is not None:
        customer = store.get_customer(terms.customer_id).name
    classification = terms.classification
    if classification is None:
        best = best_open(store.list_suggestions(contract_id), "classification")
        classification = str(best.value) if best is not None else None
    return customer, classification


def refresh_effective(store: ContractStore, contract_id: int) -> tuple[str | None, str | None]:
    customer, classification = effective_values(store, contract_id)
    store.set_effective(
        contract_id,
        customer=customer,
        classification=classification,
        set_customer=True,
        set_classification=True,
    )
    return customer, classification
