"""The suggested classification: keyword rules from the scheme, and a small classifier trained
on the archive's own confirmed contracts.

The classifier is multinomial naive Bayes over the archive's own analyzer tokens (CJK bigrams,
Latin words), written here in a hundred lines: no model is downloaded, it trains in
milliseconds on thousands of contracts, and its model is a JSON document kept in the records
database (``classifier_models``), so every process uses the same one.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ingest.extraction.found import Found, found
from ingest.extraction.text import Document
from storage.index.analysis import normalize, tokenize

MODEL_KIND = "multinomial-nb/1"
MAX_CHARS = 12_000
MAX_VOCAB = 30_000


@dataclass(frozen=True)
class CodeKeywords:
    code: str
    keywords: tuple[str, ...]


_HYPHEN_BREAK = re.compile(r"(?<=[a-z])-\s*\n\s*(?=[a-z])")
_BLANKS = re.compile(r"\s+")
_CJK_BLANK = re.compile(r"(?<=[\u3400-\u9fff]) (?=[\u3400-\u9fff])")


def _flat(text: str) -> str:
    """The text as keywords are counted in it: lower case, a word hyphenated across a line
    joined, every run of white space one space, none between Chinese characters. A text layer
    and an OCR reading of the same page break lines and space CJK differently; counted on the
    flat text they score the same (a two-word keyword split over two lines counts in both)."""
    text = _HYPHEN_BREAK.sub("", text.lower())
    return _CJK_BLANK.sub("", _BLANKS.sub(" ", text))


def keyword_scores(doc: Document, codes: Sequence[CodeKeywords]) -> dict[str, float]:
    title = normalize(doc.title).lower()
    head = _flat(doc.pages[0].text)[:3000] if doc.pages else ""
    body = _flat("\n".join(p.text for p in doc.pages[:6]))
    scores: dict[str, float] = {}
    for c in codes:
        score = 0.0
        for keyword in c.keywords:
            k = keyword.lower()
            score += 3.0 * title.count(k) + 2.0 * min(head.count(k), 3)
            score += 0.5 * min(body.count(k), 6)
        if score:
            scores[c.code] = score
    return scores


def suggest_by_keywords(
    doc: Document, codes: Sequence[CodeKeywords], *, our_side: str | None, fallback: str
) -> Found | None:
    scores = keyword_scores(doc, codes)
    known = {c.code for c in codes}
    # A sale seen from our side: we sell (销售 XS) or we buy (采购 CG).
    if (
        our_side in ("seller", "buyer")
        and {"XS", "CG"} <= known
        and ("XS" in scores or "CG" in scores)
    ):
        both = scores.pop("XS", 0.0) + scores.pop("CG", 0.0)
        scores["XS" if our_side == "seller" else "CG"] = both + 2.0
    if not scores:
        if fallback in known:
            return found("classification", fallback, fallback, 0.2, "rule:keywords")
        return None
    ranked = sorted(scores.items(), key=lambda kv: -kv[1])
    top_code, top = ranked[0]
    second = ranked[1][1] if len(ranked) > 1 else 0.0
    margin = (top - second) / top
    confidence = 0.35 + 0.45 * margin + min(top, 10.0) / 100.0
    return found("classification", top_code, top_code, confidence, "rule:keywords")


# --- naive Bayes ---------------------------------------------------------------------------------
def features(title: str, pages: Sequence[str]) -> Counter[str]:
    text = normalize(title + "\n" + "\n".join(pages))[:MAX_CHARS]
    return Counter(t.text for t in tokenize(text) if not t.text.isdigit())


def train(examples: Sequence[tuple[Counter[str], str]]) -> dict[str, Any]:
    """A model from (features, label) pairs."""
    doc_freq: Counter[str] = Counter()
    for feats, _ in examples:
        doc_freq.update(feats.keys())
    vocab = [t for t, _ in doc_freq.most_common(MAX_VOCAB)]
    index = {t: i for i, t in enumerate(vocab)}
    labels = sorted({label for _, label in examples})
    priors = Counter(label for _, label in examples)
    counts: dict[str, dict[str, int]] = {label: {} for label in labels}
    totals: dict[str, int] = dict.fromkeys(labels, 0)
    for feats, label in examples:
        bucket = counts[label]
        for token, n in feats.items():
            i = index.get(token)
            if i is None:
                continue
            bucket[str(i)] = bucket.get(str(i), 0) + n
            totals[label] += n
    return {
        "kind": MODEL_KIND,
        "labels": labels,
        "priors": dict(priors),
        "vocab": vocab,
        "counts": counts,
        "totals": totals,
    }


def predict(model: Mapping[str, Any], feats: Counter[str]) -> list[tuple[str, float]]:
    """Labels with their posterior probabilities, most likely first."""
    if model.get("kind") != MODEL_KIND or not model.get("labels"):
        return []
    index = {t: i for i, t in enumerate(model["vocab"])}
    size = len(index) + 1
    n_docs = sum(model["priors"].values())
    logs: dict[str, float] = {}
    for label in model["labels"]:
        bucket = model["counts"][label]
        denominator = model["totals"][label] + size
        score = math.log(model["priors"][label] / n_docs)
        for token, n in feats.items():
            i = index.get(token)
            if i is None:
                continue
            score += n * math.log((bucket.get(str(i), 0) + 1) / denominator)
        logs[label] = score
    top = max(logs.values())
    exp = {label: math.exp(v - top) for label, v in logs.items()}
    total = sum(exp.values())
    return sorted(((label, v / total) for label, v in exp.items()), key=lambda kv: -kv[1])


def leave_one_out(examples: Sequence[tuple[Counter[str], str]]) -> float | None:
    """Accuracy of the classifier on each training contract when trained on all the others."""
    if len(examples) < 3 or len({label for _, label in examples}) < 2:
        return None
    right = 0
    for i, (feats, label) in enumerate(examples):
        rest = [e for j, e in enumerate(examples) if j != i]
        ranked = predict(train(rest), feats)
        if ranked and ranked[0][0] == label:
            right += 1
    return right / len(examples)


def suggest_by_model(
    model: Mapping[str, Any], title: str, pages: Sequence[str], *, model_id: int, known: set[str]
) -> Found | None:
    ranked = [(label, p) for label, p in predict(model, features(title, pages)) if label in known]
    if not ranked:
        return None
    label, probability = ranked[0]
    return found("classification", label, label, 0.9 * probability, f"classifier:nb#{model_id}")
