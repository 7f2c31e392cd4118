"""Clause detection: which of the clause types of ``core.clauses`` a contract contains, where.

English: a small linear model per CUAD clause type (logistic scores over words, word bigrams
and crude stems) trained offline by ``bench/clauses.py`` from CUAD's labelled clause texts and
the corpus's full texts, shipped as ``clause_model.json`` beside this module. Every sentence of
the contract is scored; for each type the best sentences whose probability reaches the type's
threshold are reported. Nothing is downloaded; scoring is a dictionary look-up per word,
milliseconds per page.

Chinese: clause headings (第六条 违约责任, 七、不可抗力 ...) and, failing a heading, the type's
wording in a sentence.

Each finding is a :class:`~ingest.extraction.found.Found` of field ``clause``: value
``{"type": slug, "sentence": ...}``, the page and character span of the sentence, a confidence.
"""

from __future__ import annotations

import itertools
import json
import math
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from core.clauses import BY_SLUG, CLAUSE_FIELD
from ingest.extraction.found import Found
from ingest.extraction.text import Document, Page

MODEL_PATH = Path(__file__).with_name("clause_model.json")
MAX_PER_TYPE = 3
"""Most sentences reported for one clause type in one contract."""
MAX_SENTENCES = 20_000
"""Sentences scored at most (a 1,000-page contract ends within a bound)."""
MAX_SENTENCE_CHARS = 1500

_WORD = re.compile(r"[a-z][a-z0-9']*|\d+")
_PLAIN_WORD = re.compile(r"[a-z]{2,}")
MIN_WORDS = 5
"""Words of two letters or more a sentence needs to be scored at ingest: a row of a table
("163 c2 | 164 a3"), a heading or a line of notes is no clause. (The thresholds are low for
some rare types, low enough that a text with no word the type knows could reach them.)"""


STEM = 5
"""The first letters of a long word, a feature of their own (``~termi`` for terminate,
terminated, termination): a crude stem, so that a word form seen in few clause texts shares
the evidence of the others."""


def features(text: str) -> list[str]:
    """The model's features of a text: lower-cased words, word bigrams, and the first STEM
    letters of each word longer than STEM + 1."""
    words = _WORD.findall(text.lower())
    out = list(words)
    out += [f"{a} {b}" for a, b in itertools.pairwise(words)]
    out += ["~" + w[:STEM] for w in words if len(w) > STEM + 1]
    return out


_SENT_END = re.compile(r"(?<=[.;:!?])\s+(?=[A-Z(\"0-9])|\n\s*\n|(?<=[。；！？])")


def sentences(page: Page) -> Iterator[tuple[int, int]]:
    """Character spans (in the normalised page text) of the page's sentences."""
    text = page.text
    start = 0
    for m in _SENT_END.finditer(text):
        end = m.start()
        yield from _trimmed(text, start, end)
        start = m.end()
    yield from _trimmed(text, start, len(text))


def _trimmed(text: str, start: int, end: int) -> Iterator[tuple[int, int]]:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    while end - start > MAX_SENTENCE_CHARS:
        yield start, start + MAX_SENTENCE_CHARS
        start += MAX_SENTENCE_CHARS
    if end - start >= 15:
        yield start, end


@lru_cache(maxsize=1)
def load_model(path: str = str(MODEL_PATH)) -> Mapping[str, Any]:
    """The shipped model: ``{"types": {slug: {"bias", "threshold", "weights": {feature: w}}}}``."""
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))  # type: ignore[no-any-return]
    except (OSError, ValueError):
        return {"types": {}}


def _sigmoid(z: float) -> float:
    if z >= 0:
        return 1.0 / (1.0 + math.exp(-z))
    e = math.exp(z)
    return e / (1.0 + e)


@dataclass(frozen=True)
class _Scorer:
    """The model as feature -> its weight for each type: one look-up per known word of a
    sentence; with each type's threshold as a logit, so only the types a sentence may reach
    pay for a sigmoid."""

    model: Mapping[str, Any]
    slugs: list[str]
    biases: list[float]
    thresholds: list[float]
    logits: list[float]
    rows: dict[str, tuple[float, ...]]
    """Each known feature's weight for every type (0.0 where it has none)."""


_SCORERS: dict[int, _Scorer] = {}


def _logit(p: float) -> float:
    if p <= 0.0:
        return -math.inf
    if p >= 1.0:
        return math.inf
    return math.log(p / (1.0 - p))


def _scorer(model: Mapping[str, Any]) -> _Scorer:
    cached = _SCORERS.get(id(model))
    if cached is not None and cached.model is model:
        return cached
    types = model.get("types", {})
    slugs = list(types)
    dense: dict[str, list[float]] = {}
    for i, slug in enumerate(slugs):
        for feature, weight in types[slug]["weights"].items():
            dense.setdefault(feature, [0.0] * len(slugs))[i] = float(weight)
    thresholds = [float(types[s].get("threshold", 0.5)) for s in slugs]
    made = _Scorer(
        model=model,
        slugs=slugs,
        biases=[float(types[s]["bias"]) for s in slugs],
        thresholds=thresholds,
        logits=[_logit(t) for t in thresholds],
        rows={feature: tuple(row) for feature, row in dense.items()},
    )
    if len(_SCORERS) >= 4:
        _SCORERS.clear()
    _SCORERS[id(model)] = made
    return made


def _sums(scorer: _Scorer, feats: Sequence[str]) -> tuple[float, list[float]]:
    unique = set(feats)
    norm = 1.0 / math.sqrt(len(unique)) if unique else 0.0
    rows = scorer.rows
    # Only the features the model knows (most bigrams of a sentence it does not); each type's
    # sum adds its weights in one order, as a loop would, but column by column in C.
    known = [rows[feature] for feature in rows.keys() & unique]
    if not known:
        return norm, [0.0] * len(scorer.slugs)
    return norm, [sum(column, 0.0) for column in zip(*known, strict=True)]


def score(model: Mapping[str, Any], feats: Sequence[str]) -> dict[str, float]:
    """Probability per clause type of one sentence's features."""
    scorer = _scorer(model)
    norm, sums = _sums(scorer, feats)
    return {
        slug: _sigmoid(scorer.biases[i] + norm * sums[i]) for i, slug in enumerate(scorer.slugs)
    }


def passing(model: Mapping[str, Any], feats: Sequence[str]) -> list[tuple[str, float]]:
    """The clause types whose probability for the sentence reaches their threshold, with it:
    what ``score`` gives, filtered, without a sigmoid for the types far below."""
    scorer = _scorer(model)
    norm, sums = _sums(scorer, feats)
    out: list[tuple[str, float]] = []
    for i, logit in enumerate(scorer.logits):
        z = scorer.biases[i] + norm * sums[i]
        if z >= logit - 1e-9:  # a margin for rounding; the probability decides below
            p = _sigmoid(z)
            if p >= scorer.thresholds[i]:
                out.append((scorer.slugs[i], p))
    return out


# --- English ------------------------------------------------------------------------------------
def scored_sentences(doc: Document) -> Iterator[tuple[Page, int, int, list[str]]]:
    """The sentences of ``doc`` the English model scores, with their features: those of at
    least ``MIN_WORDS`` plain words, the first ``MAX_SENTENCES`` of the document. Ingest and the
    benchmark (``bench/clauses.py``, which trains and calibrates on full texts) both read a
    contract through this, so the figures measure what ingest does."""
    scored = 0
    for page in doc.pages:
        for start, end in sentences(page):
            scored += 1
            if scored > MAX_SENTENCES:
                return
            sentence = page.text[start:end]
            feats = features(sentence)
            if len(feats) < 4 or len(_PLAIN_WORD.findall(sentence.lower())) < MIN_WORDS:
                continue
            yield page, start, end, feats


def find_clauses_en(doc: Document, model: Mapping[str, Any] | None = None) -> list[Found]:
    model = load_model() if model is None else model
    types = model.get("types", {})
    if not types:
        return []
    best: dict[str, list[tuple[float, Page, int, int]]] = {}
    for page, start, end, feats in scored_sentences(doc):
        for slug, p in passing(model, feats):
            best.setdefault(slug, []).append((p, page, start, end))
    out: list[Found] = []
    for slug, items in best.items():
        items.sort(key=lambda item: -item[0])
        for p, page, start, end in items[:MAX_PER_TYPE]:
            out.append(_found(slug, p, page, start, end, "model:clauses-en"))
    return out


def _found(slug: str, confidence: float, page: Page, start: int, end: int, method: str) -> Found:
    sentence = page.text[start:end]
    span = page.span(start, end, context=0)
    label = BY_SLUG[slug].en
    return Found(
        CLAUSE_FIELD,
        {"type": slug, "sentence": sentence[:1000]},
        f"{label}: {sentence[:200]}",
        round(min(max(confidence, 0.0), 0.99), 3),
        method,
        span,
    )


# --- Chinese -------------------------------------------------------------------------------------
ZH_WORDING: dict[str, tuple[str, ...]] = {
    "liability_for_breach": ("违约责任", "违约方", "违约金", "承担违约"),
    "force_majeure": ("不可抗力",),
    "dispute_resolution": (
        "争议解决",
        "争议的解决",
        "解决争议",
        "仲裁委员会",
        "人民法院起诉",
        "管辖",
    ),
    "confidentiality": ("保密",),
    "intellectual_property": ("知识产权", "著作权", "专利权", "商标权"),
    "termination": ("合同解除", "解除合同", "解除本合同", "合同终止", "终止本合同", "合同的解除"),
    # security for the contract's obligations, not a quality guarantee or a mortgage loan
    "guarantee": ("提供担保", "保证人", "连带责任保证", "连带保证", "质押", "抵押担保", "担保人"),
    "deposit": ("定金",),
}
ZH_HEADINGS: dict[str, tuple[str, ...]] = {**ZH_WORDING, "guarantee": ("担保",)}
"""Words of a clause heading (质量担保, a quality guarantee, is no 担保 clause)."""
_ZH_HEADING = re.compile(
    r"(?m)^\s*(?:第[一二三四五六七八九十百零〇\d]+[条章节]|[一二三四五六七八九十]+[、.．]|\d+[、.．](?!\d))"
    r"\s*([^\n，。；：:]{2,20})"
)


def find_clauses_zh(doc: Document) -> list[Found]:
    out: list[Found] = []
    seen: set[str] = set()
    # Headings first: a clause the contract names in a heading is the surest.
    for page in doc.pages:
        for m in _ZH_HEADING.finditer(page.text):
            title = m.group(1)
            for slug, words in ZH_HEADINGS.items():
                if slug not in seen and any(w in title for w in words) and "质量" not in title:
                    seen.add(slug)
                    # the heading and the clause's first sentence
                    stop = page.text.find("。", m.end())
                    end = min(stop + 1 if stop >= 0 else len(page.text), m.end() + 300)
                    out.append(_found_zh(slug, 0.9, page, m.start(), end, "rule:clause-heading-zh"))
    # Then wording in a sentence, with less confidence.
    for page in doc.pages:
        for start, end in sentences(page):
            sentence = page.text[start:end]
            for slug, words in ZH_WORDING.items():
                if slug not in seen and any(w in sentence for w in words):
                    seen.add(slug)
                    out.append(_found_zh(slug, 0.6, page, start, end, "rule:clause-wording-zh"))
    return out


def _found_zh(slug: str, confidence: float, page: Page, start: int, end: int, method: str) -> Found:
    while start < end and page.text[start].isspace():
        start += 1
    found = _found(slug, confidence, page, start, end, method)
    label = BY_SLUG[slug].zh
    return Found(
        found.field,
        found.value,
        f"{label}: {found.value['sentence'][:200]}",
        found.confidence,
        found.method,
        found.span,
    )


def find_clauses(doc: Document) -> list[Found]:
    """Clauses of a contract: English by the model, Chinese by headings and wording."""
    out: list[Found] = []
    if doc.language in ("zh", "mixed"):
        out += find_clauses_zh(doc)
    if doc.language in ("en", "mixed"):
        out += find_clauses_en(doc)
    return out
