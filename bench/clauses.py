"""Train and measure the English clause detector (issue 17).

Reads CUAD's ``master_clauses.csv`` in ``../shared/corpus/en-cuad`` (416 contracts, the clause
texts a lawyer marked for each of the 41 labels) and the plain texts of the corpus's CUAD
contracts. Contracts are split 80/20 with a fixed seed; the model (one L2-regularised logistic
regression per clause type over word unigrams and bigrams, fitted with numpy; scored in pure
Python at ingest) is trained on the 80 and measured on the held-out 20 at the contract level: a
contract "has" a clause type when the best-scoring of its sentences reaches the type's
threshold. The thresholds are chosen by cross-validation on the training contracts alone
(``FOLDS`` folds: each training contract scored by a model trained without it); the held-out
contracts are only measured. The sentences of a held-out contract are its labelled clause texts
of all 41 labels (CUAD ships no full text for most contracts): the other clauses of the same
contract are the negatives.

    uv run python -m bench.clauses            # train, evaluate, print the table
    uv run python -m bench.clauses --write    # ... and write ingest/extraction/clause_model.json

The model written is trained on every contract (train and held-out) with the thresholds the
split chose; the figures printed are those of the held-out split.
"""

from __future__ import annotations

import argparse
import ast
import csv
import json
import math
import os
import random
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

from bench.common import CORPUS, machine
from core.clauses import CUAD_TYPES
from ingest.extraction.clauses import MODEL_PATH, features, sentences
from ingest.extraction.text import normalize_page

SEED = 17
ITERATIONS = int(os.environ.get("CLAUSE_ITERATIONS", "60"))
RATE = float(os.environ.get("CLAUSE_RATE", "0.5"))
L2 = float(os.environ.get("CLAUSE_L2", "1e-6"))
POS_WEIGHT = float(os.environ.get("CLAUSE_POS_WEIGHT", "1"))
FOLDS = int(os.environ.get("CLAUSE_FOLDS", "4"))
NEG_PER_POS = int(os.environ.get("CLAUSE_NEG_PER_POS", "10"))
KEEP = int(os.environ.get("CLAUSE_KEEP", "1500"))
"""Weights kept per clause type (the largest in magnitude): the size of the shipped model."""
MIN_POSITIVE_CONTRACTS = 10

Sample = tuple[frozenset[str], frozenset[str]]  # features, clause slugs
Model = dict[str, dict[str, Any]]
Contracts = dict[str, list[tuple[str, frozenset[str]]]]


def _spans(cell: str) -> list[str]:
    try:
        value = ast.literal_eval(cell)
    except (ValueError, SyntaxError):
        return []
    return [str(v) for v in value if str(v).strip()] if isinstance(value, list) else []


def load_contracts(csv_path: Path) -> dict[str, list[tuple[str, frozenset[str]]]]:
    """Per contract (file stem): its labelled clause texts, each with the clause types it
    was marked for (empty for the non-clause labels: parties, dates, governing law...)."""
    csv.field_size_limit(sys.maxsize)
    column = {t.cuad: t.slug for t in CUAD_TYPES}
    out: dict[str, list[tuple[str, frozenset[str]]]] = {}
    with csv_path.open(encoding="utf-8") as fh:
        reader = csv.reader(fh)
        header = next(reader)
        for row in reader:
            stem = Path(row[0]).stem
            labels: dict[str, set[str]] = defaultdict(set)
            for i, name in enumerate(header):
                if i < 3 or name.endswith("Answer"):
                    continue
                for span in _spans(row[i]):
                    text = " ".join(span.split())
                    slug = column.get(name)
                    labels[text]
                    if slug:
                        labels[text].add(slug)
            out[stem] = [(t, frozenset(s)) for t, s in labels.items()]
    return out


def full_text_sentences(stem: str, spans: list[tuple[str, frozenset[str]]]) -> list[Sample]:
    """Sentences of the contract's corpus text, labelled by the clause texts they overlap."""
    hits = list((CORPUS / "en-cuad").glob(f"*/{stem}.txt"))
    if not hits:
        return []
    page = normalize_page(1, hits[0].read_text(encoding="utf-8", errors="replace"))
    keys = [(" ".join(t.split())[:60].lower(), s) for t, s in spans if len(t) >= 20]
    out = []
    for start, end in sentences(page):
        sent = " ".join(page.text[start:end].split()).lower()
        labels: set[str] = set()
        for key, slugs in keys:
            if key in sent or (len(sent) >= 30 and sent[:60] in key):
                labels |= slugs
        out.append((frozenset(features(sent)), frozenset(labels)))
    return out


class Matrix:
    """Samples' features as a sparse matrix (coordinate lists), each row scaled as the scorer
    scales a sentence: 1/sqrt(its number of distinct features)."""

    def __init__(self, samples: list[Sample], vocab: dict[str, int]) -> None:
        import numpy as np

        rows: list[int] = []
        cols: list[int] = []
        scale: list[float] = []
        for r, (feats, _) in enumerate(samples):
            known = [vocab[f] for f in feats if f in vocab]
            rows += [r] * len(known)
            cols += known
            scale.append(1.0 / math.sqrt(len(feats)) if feats else 0.0)
        self.rows = np.array(rows, dtype=np.int64)
        self.cols = np.array(cols, dtype=np.int64)
        self.vals = np.array(scale)[self.rows]
        self.n = len(samples)
        self.width = len(vocab)

    def subset(self, keep: Any) -> Matrix:
        import numpy as np

        mask = keep[self.rows]
        new = object.__new__(Matrix)
        renumber = np.cumsum(keep) - 1
        new.rows, new.cols, new.vals = renumber[self.rows[mask]], self.cols[mask], self.vals[mask]
        new.n, new.width = int(keep.sum()), self.width
        return new

    def times(self, w: Any) -> Any:
        import numpy as np

        return np.bincount(self.rows, weights=self.vals * w[self.cols], minlength=self.n)

    def transposed_times(self, g: Any) -> Any:
        import numpy as np

        return np.bincount(self.cols, weights=self.vals * g[self.rows], minlength=self.width)


def _fit(x: Matrix, y: Any) -> tuple[Any, float]:
    """L2-regularised logistic regression, full-batch Adam (numpy, a few seconds a type)."""
    import numpy as np

    w = np.zeros(x.width)
    m, v = np.zeros(x.width), np.zeros(x.width)
    bias, mb, vb = 0.0, 0.0, 0.0
    weight = np.where(y > 0, POS_WEIGHT, 1.0)
    weight /= weight.sum()
    for t in range(1, ITERATIONS + 1):
        p = 1.0 / (1.0 + np.exp(-np.clip(x.times(w) + bias, -30, 30)))
        g = (p - y) * weight
        gw = x.transposed_times(g) + L2 * w
        gb = float(g.sum())
        m = 0.9 * m + 0.1 * gw
        v = 0.999 * v + 0.001 * gw * gw
        w -= RATE * (m / (1 - 0.9**t)) / (np.sqrt(v / (1 - 0.999**t)) + 1e-8)
        mb = 0.9 * mb + 0.1 * gb
        vb = 0.999 * vb + 0.001 * gb * gb
        bias -= RATE * (mb / (1 - 0.9**t)) / (math.sqrt(vb / (1 - 0.999**t)) + 1e-8)
    return w, bias


def train(samples: list[Sample], slugs: list[str], rng: random.Random) -> Model:
    """One logistic regression per clause type over the samples' features (those seen in at
    least two samples); each type sees its positives and at most NEG_PER_POS negatives per
    positive (3,000 at least), drawn at random; the KEEP largest weights are kept."""
    import numpy as np

    df: Counter[str] = Counter()
    for feats, _ in samples:
        df.update(feats)
    names = sorted(f for f, n in df.items() if n >= 2)
    vocab = {f: i for i, f in enumerate(names)}
    x = Matrix(samples, vocab)
    model: Model = {}
    for slug in slugs:
        y = np.array([1.0 if slug in labels else 0.0 for _, labels in samples])
        positives = int(y.sum())
        if not positives:
            continue
        negatives = [i for i in range(len(samples)) if not y[i]]
        rng.shuffle(negatives)
        keep = y > 0
        keep[negatives[: max(NEG_PER_POS * positives, 3000)]] = True
        w, bias = _fit(x.subset(keep), y[keep])
        top = np.argsort(-np.abs(w))[:KEEP]
        model[slug] = {
            "bias": round(bias, 4),
            "threshold": 0.5,
            "weights": {names[i]: round(float(w[i]), 4) for i in top if abs(w[i]) >= 1e-4},
        }
    return model


def contract_scores(model: Model, spans: list[tuple[str, frozenset[str]]]) -> dict[str, float]:
    """The best probability per type over a contract's sentences."""
    from ingest.extraction.clauses import score

    best: dict[str, float] = defaultdict(float)
    wrapped = {"types": model}
    for text, _ in spans:
        feats = features(text)
        if len(feats) < 4:
            continue
        for slug, p in score(wrapped, feats).items():
            best[slug] = max(best[slug], p)
    return best


def best_threshold(scores: dict[str, float], truth: dict[str, bool]) -> float:
    """The threshold of best contract-level F1 over ``scores`` (the middle one of those that
    tie); 0.9 when no threshold finds any contract right (the type is reported only when the
    model is very sure)."""
    grid = [x / 100 for x in range(2, 100, 2)]
    f1s = []
    for t in grid:
        tp = sum(1 for n, has in truth.items() if has and scores.get(n, 0.0) >= t)
        fp = sum(1 for n, has in truth.items() if not has and scores.get(n, 0.0) >= t)
        fn = sum(1 for n, has in truth.items() if has and scores.get(n, 0.0) < t)
        f1s.append(2 * tp / (2 * tp + fp + fn) if tp else 0.0)
    best = max(f1s)
    if best <= 0:
        return 0.9
    ties = [t for t, f in zip(grid, f1s, strict=True) if f == best]
    return ties[len(ties) // 2]


def cv_thresholds(contracts: Contracts, names: list[str], slugs: list[str]) -> dict[str, float]:
    """Each type's threshold, chosen by FOLDS-fold cross-validation on ``names`` only: every
    contract is scored by a model trained without it, and the threshold of best F1 over those
    scores is taken (a model's scores on its own training contracts are too sure of
    themselves: thresholds chosen on them were too high, recall too low)."""
    order = list(names)
    random.Random(SEED).shuffle(order)
    scored: dict[str, dict[str, float]] = {}
    for k in range(FOLDS):
        held = set(order[k::FOLDS])
        model = train(
            samples_of(contracts, [n for n in names if n not in held]), slugs, random.Random(SEED)
        )
        for n in held:
            scored[n] = contract_scores(model, contracts[n])
    out = {}
    for slug in slugs:
        truth = {n: any(slug in s for _, s in contracts[n]) for n in names}
        out[slug] = best_threshold({n: scored[n].get(slug, 0.0) for n in names}, truth)
    return out


def evaluate(
    model: Model, contracts: Contracts, names: list[str]
) -> list[tuple[str, int, float, float, float]]:
    scored = {n: contract_scores(model, contracts[n]) for n in names}
    rows = []
    for t in CUAD_TYPES:
        m = model.get(t.slug)
        truth = {n: any(t.slug in s for _, s in contracts[n]) for n in names}
        pred = {n: m is not None and scored[n].get(t.slug, 0) >= m["threshold"] for n in names}
        tp = sum(1 for n in names if truth[n] and pred[n])
        fp = sum(1 for n in names if not truth[n] and pred[n])
        fn = sum(1 for n in names if truth[n] and not pred[n])
        p = tp / (tp + fp) if tp + fp else 0.0
        r = tp / (tp + fn) if tp + fn else 0.0
        f1 = 2 * p * r / (p + r) if p + r else 0.0
        rows.append((t.slug, sum(truth.values()), p, r, f1))
    return rows


def full_text_check(model: Model, contracts: Contracts, names: list[str]) -> str:
    """Contract-level precision and recall (micro, over the 33 types) on the corpus's full
    texts of held-out contracts: every sentence of the contract scored, as at ingest."""
    from ingest.extraction.clauses import find_clauses_en
    from ingest.extraction.text import Document

    tp = fp = fn = 0
    seen = 0
    for n in names:
        hits = list((CORPUS / "en-cuad").glob(f"*/{n}.txt"))
        if not hits:
            continue
        seen += 1
        text = hits[0].read_text(encoding="utf-8", errors="replace")
        found = {
            f.value["type"] for f in find_clauses_en(Document.from_pages([text]), {"types": model})
        }
        truth = {s for _, slugs in contracts[n] for s in slugs}
        tp += len(found & truth)
        fp += len(found - truth)
        fn += len(truth - found)
    p = tp / (tp + fp) if tp + fp else 0.0
    r = tp / (tp + fn) if tp + fn else 0.0
    return (
        f"full texts of {seen} held-out corpus contracts, every sentence scored: "
        f"precision {p:.2f}, recall {r:.2f} (micro, contract level; {tp} found right, "
        f"{fp} wrong, {fn} missed)"
    )


def chinese_table() -> list[str]:
    """The Chinese detector against the hand-labelled table (bench/data/zh_clause_labels.json),
    on the text pypdf reads from each PDF (as ingest does without OCR)."""
    from pypdf import PdfReader

    from core.clauses import ZH_TYPES
    from ingest.extraction.clauses import find_clauses_zh
    from ingest.extraction.text import Document

    table = json.loads((Path(__file__).parent / "data" / "zh_clause_labels.json").read_text())
    counts = {t.slug: [0, 0, 0] for t in ZH_TYPES}  # tp, fp, fn
    lines = ["| contract | found right | found wrongly | missed |", "|---|---|---|---|"]
    for entry in table["documents"]:
        pages = [p.extract_text() or "" for p in PdfReader(CORPUS / entry["file"]).pages]
        found = {f.value["type"] for f in find_clauses_zh(Document.from_pages(pages))}
        truth = {slug for slug, has in entry["labels"].items() if has}
        for slug in counts:
            counts[slug][0] += slug in found and slug in truth
            counts[slug][1] += slug in found and slug not in truth
            counts[slug][2] += slug not in found and slug in truth
        lines.append(
            f"| {Path(entry['file']).stem} | {', '.join(sorted(found & truth)) or '-'} | "
            f"{', '.join(sorted(found - truth)) or '-'} | "
            f"{', '.join(sorted(truth - found)) or '-'} |"
        )
    lines += ["", "| clause type | contracts with it | precision | recall |", "|---|---|---|---|"]
    for t in ZH_TYPES:
        tp, fp, fn = counts[t.slug]
        p = f"{tp / (tp + fp):.2f}" if tp + fp else "-"
        r = f"{tp / (tp + fn):.2f}" if tp + fn else "-"
        lines.append(f"| `{t.slug}` {t.zh} | {tp + fn} | {p} | {r} |")
    return lines


def samples_of(contracts: Contracts, names: list[str]) -> list[Sample]:
    out: list[Sample] = []
    for n in names:
        out += [(frozenset(features(t)), s) for t, s in contracts[n]]
        out += full_text_sentences(n, contracts[n])
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--write", action="store_true", help="write the shipped model")
    ap.add_argument("--zh-only", action="store_true", help="only the Chinese table")
    args = ap.parse_args()
    print("# Chinese clause headings and wording, hand-labelled contracts of the corpus")
    print("\n".join(chinese_table()))
    if args.zh_only:
        return
    started = time.monotonic()
    contracts = load_contracts(CORPUS / "en-cuad" / "master_clauses.csv")
    names = sorted(contracts)
    rng = random.Random(SEED)
    rng.shuffle(names)
    cut = int(len(names) * 0.8)
    train_names, test_names = sorted(names[:cut]), sorted(names[cut:])
    slugs = [t.slug for t in CUAD_TYPES]
    # Thresholds by cross-validation on the training contracts alone; the held-out contracts
    # are only measured.
    thresholds = cv_thresholds(contracts, train_names, slugs)
    model = train(samples_of(contracts, train_names), slugs, random.Random(SEED))
    for slug, m in model.items():
        m["threshold"] = thresholds[slug]
    rows = evaluate(model, contracts, test_names)
    print(
        f"# clause detection, CUAD, {len(train_names)} contracts trained, {len(test_names)} "
        f"held out (seed {SEED}); {machine()}"
    )
    print("| clause type | held-out contracts with it | precision | recall | F1 |")
    print("|---|---|---|---|---|")
    for slug, n, p, r, f1 in rows:
        print(f"| `{slug}` | {n} | {p:.2f} | {r:.2f} | {f1:.2f} |")
    strong = [f1 for _, n, _, _, f1 in rows if n >= MIN_POSITIVE_CONTRACTS]
    everything = [f1 for *_, f1 in rows]
    print(
        f"\nmacro F1 over the {len(strong)} types with >= {MIN_POSITIVE_CONTRACTS} held-out "
        f"contracts: {sum(strong) / max(1, len(strong)):.4f}; over all 33: "
        f"{sum(everything) / len(everything):.3f}"
    )
    print(full_text_check(model, contracts, test_names))
    weak = [slug for slug, n, _, _, f1 in rows if n >= MIN_POSITIVE_CONTRACTS and f1 < 0.6]
    print("weak (F1 < 0.6): " + (", ".join(weak) or "none"))
    out = Path(os.environ.get("CLAUSE_MODEL_OUT", str(MODEL_PATH)))
    if args.write:
        final = train(samples_of(contracts, sorted(contracts)), slugs, random.Random(SEED))
        for slug, m in final.items():
            m["threshold"] = model[slug]["threshold"] if slug in model else 0.5
        out.write_text(
            json.dumps(
                {"version": 1, "seed": SEED, "types": final},
                ensure_ascii=False,
                separators=(",", ":"),
                sort_keys=True,
            )
            + "\n",
            encoding="utf-8",
        )
        print(f"wrote {out} ({out.stat().st_size // 1024} KiB)")
    print(f"({time.monotonic() - started:.0f} s)")


if __name__ == "__main__":
    main()
