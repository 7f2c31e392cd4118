"""Extraction of contract terms from a contract's own text, Chinese and English.

:func:`extract_terms` takes the page texts exactly as the archive stores them and returns
suggestions (:class:`~ingest.extraction.found.Found`): contract number, parties, amounts, dates
(signing, effective, expiry, term), renewal, governing law, counterparty and a suggested
classification. Each carries the page and character span it came from and a confidence.
Nothing here decides anything: a person confirms or corrects (``services.contracts``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from core.names import loose_key
from ingest.extraction import rules_en, rules_zh
from ingest.extraction.amounts import find_amounts
from ingest.extraction.classify import CodeKeywords, suggest_by_keywords, suggest_by_model
from ingest.extraction.clauses import find_clauses
from ingest.extraction.found import FIELDS, Found, found
from ingest.extraction.text import Document

EXTRACTOR_VERSION = "1.1"
"""1.1: clauses (``ingest.extraction.clauses``), one suggestion per clause found."""
SINGLE_VALUED = tuple(f for f in FIELDS if f not in ("party", "amount", "clause"))


@dataclass(frozen=True)
class ClassifierInput:
    model_id: int
    model: Mapping[str, Any]


@dataclass(frozen=True)
class Extraction:
    language: str
    found: tuple[Found, ...]
    warnings: tuple[str, ...] = field(default_factory=tuple)

    def best(self, name: str) -> Found | None:
        candidates = [f for f in self.found if f.field == name]
        return max(candidates, key=lambda f: f.confidence) if candidates else None

    def all(self, name: str) -> list[Found]:
        return [f for f in self.found if f.field == name]


def _is_us(name: str, our_keys: set[str]) -> bool:
    key = loose_key(name)
    return bool(key) and any(key == k or (len(k) > 3 and k in key) for k in our_keys)


def extract_terms(
    pages: Sequence[str],
    *,
    title: str = "",
    our_entities: Sequence[str] = (),
    codes: Sequence[CodeKeywords] = (),
    fallback_code: str = "QT",
    classifier: ClassifierInput | None = None,
) -> Extraction:
    doc = Document.from_pages(list(pages), title)
    language = doc.language
    results: list[Found] = []
    warnings: list[str] = []
    if language == "other":
        # The rules read Chinese and English: on a third language they would only make noise
        # (a German "25.000,00" read as 25.00), so nothing is suggested and the reason is said.
        return Extraction(
            language=language,
            found=(),
            warnings=("the text is neither Chinese nor English: no terms or clauses suggested",),
        )

    zh = language in ("zh", "mixed")
    en = language in ("en", "mixed")
    parties: list[Found] = rules_zh.find_parties_zh(doc) if zh else []
    if en and len(parties) < 2:
        parties = parties + rules_en.find_parties(doc)
    results.extend(parties)
    if zh:
        results += rules_zh.find_contract_no_zh(doc)
        results += rules_zh.find_dates_zh(doc)
        results += rules_zh.find_renewal_zh(doc)
        results += rules_zh.find_governing_law_zh(doc)
    if en:
        results += rules_en.find_contract_no_en(doc)
        results += rules_en.find_dates_en(doc)
        results += rules_en.find_renewal_en(doc)
        results += rules_en.find_governing_law_en(doc)
    results += find_clauses(doc)
    amounts, amount_warnings = find_amounts(doc)
    results += amounts
    warnings += amount_warnings

    # Which party are we? The others are the counterparty (the customer).
    our_keys = {loose_key(n) for n in our_entities if loose_key(n)}
    our_side = None
    if our_keys and parties:
        ours = [p for p in parties if _is_us(p.value["name"], our_keys)]
        others = [p for p in parties if p not in ours]
        if ours and others:
            role = ours[0].value["role"]
            our_side = role if role in ("seller", "buyer") else None
            label = ours[0].value.get("role_label") or ""
            if our_side is None and ("出卖人" in label or "卖方" in label):
                our_side = "seller"
            elif our_side is None and ("买受人" in label or "买方" in label):
                our_side = "buyer"
            other = others[0]
            results.append(
                Found(
                    "counterparty",
                    other.value["name"],
                    other.value["name"],
                    min(0.95, other.confidence),
                    "rule:not-our-entity",
                    other.span,
                )
            )

    if codes:
        by_rules = suggest_by_keywords(doc, codes, our_side=our_side, fallback=fallback_code)
        if by_rules:
            results.append(by_rules)
        if classifier is not None:
            by_model = suggest_by_model(
                classifier.model,
                title,
                pages,
                model_id=classifier.model_id,
                known={c.code for c in codes},
            )
            if by_model:
                results.append(by_model)

    # Single-valued fields: the best candidate first, others kept as alternatives.
    results.sort(key=lambda f: (FIELDS.index(f.field), -f.confidence))
    return Extraction(language=language, found=tuple(results), warnings=tuple(warnings))


__all__ = [
    "EXTRACTOR_VERSION",
    "ClassifierInput",
    "CodeKeywords",
    "Extraction",
    "Found",
    "extract_terms",
    "found",
]
