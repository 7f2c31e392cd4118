"""Clause detection: which of the clause types of ``core.clauses`` a contract contains, where.

English: a small linear model per CUAD clause type (logistic scores over word unigrams and
bigrams) trained offline by ``bench/clauses.py`` from CUAD's labelled clause texts and shipped
as ``clause_model.json`` beside this module. Every sentence of the contract is scored; for each
type the best sentences whose probability reaches the type's threshold are reported. Nothing is
downloaded; scoring is a dictionary look-up per word, milliseconds per page.

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


def features(text: str) -> list[str]:
    """The model's features of a text: lower-cased words and word bigrams."""
    words = _WORD.findall(text.lower())
    out = list(words)
    out += [f"{a} {b}" for a, b in itertools.pairwise(words)]
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


_INVERTED: dict[
    int, tuple[Mapping[str, Any], list[str], list[float], dict[str, list[tuple[int, float]]]]
] = {}


def _inverted(
    model: Mapping[str, Any],
) -> tuple[list[str], list[float], dict[str, list[tuple[int, float]]]]:
    """The model as feature -> [(type index, weight)]: one look-up per word of a sentence."""
    cached = _INVERTED.get(id(model))
    if cached is not None and cached[0] is model:
        return cached[1], cached[2], cached[3]
    slugs = list(model.get("types", {}))
    biases = [float(model["types"][s]["bias"]) for s in slugs]
    inverted: dict[str, list[tuple[int, float]]] = {}
    for i, slug in enumerate(slugs):
        for feature, weight in model["types"][slug]["weights"].items():
            inverted.setdefault(feature, []).append((i, float(weight)))
    if len(_INVERTED) >= 4:
        _INVERTED.clear()
    _INVERTED[id(model)] = (model, slugs, biases, inverted)
    return slugs, biases, inverted


def score(model: Mapping[str, Any], feats: Sequence[str]) -> dict[str, float]:
    """Probability per clause type of one sentence's features."""
    slugs, biases, inverted = _inverted(model)
    unique = set(feats)
    norm = 1.0 / math.sqrt(len(unique)) if unique else 0.0
    sums = [0.0] * len(slugs)
    for feature in unique:
        for i, weight in inverted.get(feature, ()):
            sums[i] += weight
    return {slug: _sigmoid(biases[i] + norm * sums[i]) for i, slug in enumerate(slugs)}


# --- English ------------------------------------------------------------------------------------
def find_clauses_en(doc: Document, model: Mapping[str, Any] | None = None) -> list[Found]:
    model = load_model() if model is None else model
    types = model.get("types", {})
    if not types:
        return []
    best: dict[str, list[tuple[float, Page, int, int]]] = {}
    scored = 0
    for page in doc.pages:
        for start, end in sentences(page):
            scored += 1
            if scored > MAX_SENTENCES:
                break
            feats = features(page.text[start:end])
            if len(feats) < 4:
                continue
            for slug, p in score(model, feats).items():
                if p >= types[slug]["threshold"]:
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
