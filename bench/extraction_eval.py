"""Precision and recall of term extraction against labels.

English: the en-cuad contracts of ../shared/corpus, compared with CUAD's own labels in
``master_clauses.csv`` (parties, agreement date, effective date, expiration date, renewal term,
governing law). Chinese: the Chinese contracts of the corpus against the hand-built table in
``bench/data/zh_labels.json``. Classification: the keyword rules, and the naive Bayes classifier
in leave-one-out over the same contracts with hand-given codes.

The text is what ingest stores (``ingest.pdf.read_pdf``: pdfium's text of each page, pypdf's where
pdfium's cannot be trusted), run through ``extract_terms`` exactly
as the ingest stage does. Seven of the 28 CUAD contracts (every fourth, from the fourth) were
never looked at while the rules were written; their figures are printed apart.

    uv run python -m bench.extraction_eval [--json]
"""

from __future__ import annotations

import argparse
import csv
import difflib
import json
import re
import sys
import time
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from bench.common import CORPUS, ROOT, machine
from core.names import loose_key
from core.rules import DEFAULT_SCHEME
from ingest.extraction import CodeKeywords, Extraction, extract_terms
from ingest.extraction.classify import features, leave_one_out, predict, train
from ingest.extraction.dates import add_months
from ingest.pdf import read_pdf

CUAD_DIR = CORPUS / "en-cuad"
ZH_LABELS = ROOT / "bench" / "data" / "zh_labels.json"
CODES = [CodeKeywords(c.code, c.keywords) for c in DEFAULT_SCHEME]
# Hand-given codes of the CUAD contract types (the archive's default scheme).
CUAD_CODES = {
    "Affiliate_Agreement": "GQ", "Affiliate_Agreements": "FW", "Agency_Agreements": "FW",
    "Co_Branding": "FW", "Collaboration": "GQ", "Consulting_Agreements": "FW",
    "Development": "JS", "Distributor": "XS", "Endorsement": "FW",
    "Endorsement_Agreement": "FW", "Franchise": "JS", "Hosting": "FW", "IP": "JS",
    "Joint_Venture": "GQ", "Joint_Venture___Filing": "GQ", "License_Agreements": "JS",
    "Maintenance": "FW", "Manufacturing": "CG", "Marketing": "FW",
    "Non_Compete_Non_Solicit": "BM", "Outsourcing": "FW", "Promotion": "FW", "Reseller": "XS",
    "Service": "FW", "Sponsorship": "FW", "Strategic_Alliance": "GQ", "Supply": "CG",
    "Transportation": "FW",
}  # fmt: skip
STOP = {"the", "and", "of", "a", "an", "on", "behalf", "itself", "its", "dba", "d", "b", "as"}


@dataclass
class Score:
    tp: int = 0
    fp: int = 0
    fn: int = 0
    misses: list[str] = field(default_factory=list)

    def add(self, other: Score) -> None:
        self.tp += other.tp
        self.fp += other.fp
        self.fn += other.fn
        self.misses += other.misses

    @property
    def precision(self) -> float | None:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else None

    @property
    def recall(self) -> float | None:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else None


def fmt(x: float | None) -> str:
    return "n/a" if x is None else f"{x:.2f}"


# --- gold ---------------------------------------------------------------------------------------
def gold_date(text: str) -> date | str | None:
    text = (text or "").strip()
    if not text:
        return None
    if text.lower() == "perpetual":
        return "perpetual"
    m = re.fullmatch(r"(\d{1,2})/(\d{1,2})/(\d{2}|\d{4})", text)
    if not m:
        return None  # "[]/[]/2009": the contract leaves it blank
    year = int(m.group(3))
    if year < 100:
        year += 2000 if year < 70 else 1900
    return date(year, int(m.group(1)), int(m.group(2)))


def party_entries(text: str) -> list[tuple[str, str]]:
    """(entry as CUAD's "Parties" answer writes it, with its defined terms; the name alone)
    for each party the answer names."""
    found = []
    # One label may list several entities: "VA Partners I, LLC, ValueAct Capital ..., L.P."
    entries = []
    for part in (text or "").split(";"):
        entries += re.split(r"(?:(?<=LLC)|(?<=L\.P\.)|(?<=Inc\.)|(?<=Ltd\.))\s*,\s+(?=[A-Z])", part)
    for entry in entries:
        part = re.sub(r"\([^)]*\)|\"[^\"]*\"|“[^”]*”", " ", entry).strip(" ,")
        if not part or re.match(r"^(?:\(|party|parties|each|heritage and|hofv and)", part, re.I):
            continue
        if re.search(r"\bcollectively\b|\breferred to\b", part, re.I):
            continue  # a sentence of the contract, not a party
        if part.lower().startswith("[]"):
            continue
        found.append((" ".join(entry.split()).strip(" ,;"), part))
    return found


def gold_parties(text: str) -> list[str]:
    return [name for _, name in party_entries(text)]


def held_out_names() -> set[str]:
    """The file names (lower case) of the seven en-cuad contracts held out while the rules are
    written: every fourth in name order, from the fourth. Their texts are not to be read."""
    files = sorted(p for p in CUAD_DIR.glob("*/*") if p.suffix.lower() == ".pdf")
    return {p.name.lower() for i, p in enumerate(files) if i % 4 == 3}


_SUCCESSIVE = re.compile(r"\bsucc?e?s+\w*", re.I)
"""CUAD's answers spell "successive" several ways ("succesive", "successine", "succsive")."""


def gold_perpetual(text: str) -> bool | None:
    """Does CUAD's "Renewal Term" answer say the renewals go on without limit? "successive 1
    year" and "perpetual": yes; "3 successive 1 year" (a number of renewals): no; a bare length
    ("1 year"): not said (None)."""
    text = (text or "").strip().lower()
    if "perpetual" in text:
        return True
    m = _SUCCESSIVE.search(text)
    if not m:
        return None
    return not re.search(r"\b(?:\d+|one|two|three|four|five)\s*$", text[: m.start()])


def gold_renewal(text: str) -> int | str | None:
    text = (text or "").strip().lower()
    if not text:
        return None
    if "perpetual" in text:
        return "perpetual"
    m = re.search(r"(\d+)\s*(year|month)", text)
    if not m:
        return None
    n = int(m.group(1))
    return n * 12 if m.group(2) == "year" else n


def gold_law(text: str) -> str | None:
    text = (text or "").strip()
    if not text or "*" in text:
        return None
    return text


# --- comparison ---------------------------------------------------------------------------------
def words(name: str) -> set[str]:
    key_words = re.findall(r"[a-z0-9\u4e00-\u9fff]+", name.lower())
    legal = {
        "inc", "llc", "ltd", "corp", "corporation", "company", "co", "limited", "lp", "l", "p",
        "n", "plc", "pty", "sa", "bv", "b", "v", "r", "s", "na", "lcc",
    }  # fmt: skip
    return {w for w in key_words if w not in legal and w not in STOP}


def same_party(a: str, b: str) -> bool:
    ka, kb = loose_key(a), loose_key(b)
    if ka and ka == kb:
        return True
    # CUAD's labels carry typos ("SLICON SMELTERS"): near-identical keys are the same name.
    if ka and kb and difflib.SequenceMatcher(None, ka, kb).ratio() >= 0.9:
        return True
    wa, wb = words(a), words(b)
    if not wa or not wb:
        return False
    overlap = len(wa & wb)
    return overlap / len(wa | wb) >= 0.5 or (overlap >= 1 and (wa <= wb or wb <= wa))


def score_parties(ours: list[str], gold: list[str], label: str) -> Score:
    s = Score()
    left = list(gold)
    for name in ours:
        match = next((g for g in left if same_party(name, g)), None)
        if match is None:
            s.fp += 1
            s.misses.append(f"{label}: extra party {name!r}")
        else:
            s.tp += 1
            left.remove(match)
    s.fn += len(left)
    s.misses += [f"{label}: missed party {g!r}" for g in left]
    return s


def score_value(ours: Any, gold: Any, label: str, name: str, equal: Any = None) -> Score:
    s = Score()
    same = equal or (lambda a, b: a == b)
    if ours is None and gold is None:
        return s
    if ours is not None and gold is not None and same(ours, gold):
        s.tp = 1
        return s
    if ours is not None:
        s.fp = 1
    if gold is not None:
        s.fn = 1
    s.misses.append(f"{label}: {name} extracted {ours!r}, labelled {gold!r}")
    return s


def same_law(a: str, b: str) -> bool:
    x, y = a.lower().strip(), b.lower().strip()
    return x == y or x.startswith(y) or y.startswith(x)


# --- what extraction says -----------------------------------------------------------------------
def expiry_of(ex: Extraction, start: date | None = None) -> date | str | None:
    """The expiry the extraction gives: a stated end date, "perpetual", or the term counted
    from ``start`` (by default the extracted effective, else signing, date)."""
    f = ex.best("expiry_date")
    if f is not None:
        return date.fromisoformat(f.value)
    term = ex.best("term")
    if term is None:
        return None
    if term.value.get("perpetual"):
        return "perpetual"
    if start is None:
        found = ex.best("effective_date") or ex.best("sign_date")
        if found is None:
            return None
        start = date.fromisoformat(found.value)
    return add_months(start, int(term.value["months"]))


def date_of(ex: Extraction, name: str) -> date | None:
    f = ex.best(name)
    return date.fromisoformat(f.value) if f is not None else None


def renewal_of(ex: Extraction) -> int | str | None:
    """The length of one renewal in months; "perpetual" for renewals without limit and without
    a length (CUAD's answer for "indefinitely after that until terminated")."""
    f = ex.best("renewal")
    if f is None:
        return None
    if f.value.get("term_months"):
        return int(f.value["term_months"])
    return "perpetual" if f.value.get("perpetual") else None


def pages_of(path: Path) -> list[str]:
    return [p.text for p in read_pdf(path, max_pages=5000, min_chars=20).pages]


# --- the runs -----------------------------------------------------------------------------------
EN_FIELDS = (
    "parties",
    "agreement_date",
    "effective_date",
    "expiry_date",
    "renewal_term",
    "governing_law",
)


def run_english() -> tuple[dict[str, dict[str, Score]], list[tuple[Path, list[str]]], float, int]:
    csv.field_size_limit(10**9)
    with open(CUAD_DIR / "master_clauses.csv", encoding="utf-8") as fh:
        labels = {row["Filename"].lower(): row for row in csv.DictReader(fh)}
    files = sorted(p for p in CUAD_DIR.glob("*/*") if p.suffix.lower() == ".pdf")
    totals: dict[str, dict[str, Score]] = {
        group: {f: Score() for f in EN_FIELDS} for group in ("all", "seen", "held-out")
    }
    held = held_out_names()
    texts = []
    seconds = 0.0
    n_pages = 0
    for path in files:
        row = labels[path.name.lower()]
        pages = pages_of(path)
        texts.append((path, pages))
        started = time.perf_counter()
        ex = extract_terms(pages, title=path.stem, codes=CODES)
        seconds += time.perf_counter() - started
        n_pages += len(pages)
        label = path.parent.name
        scores = {
            "parties": score_parties(
                [f.value["name"] for f in ex.all("party")],
                gold_parties(row["Parties-Answer"]),
                label,
            ),
            "agreement_date": score_value(
                date_of(ex, "sign_date"),
                gold_date(row["Agreement Date-Answer"]),
                label,
                "agreement date",
            ),
            "effective_date": score_value(
                date_of(ex, "effective_date"),
                gold_date(row["Effective Date-Answer"]),
                label,
                "effective date",
            ),
            "expiry_date": score_value(
                expiry_of(ex), gold_date(row["Expiration Date-Answer"]), label, "expiry"
            ),
            "renewal_term": score_value(
                renewal_of(ex), gold_renewal(row["Renewal Term-Answer"]), label, "renewal term"
            ),
            "governing_law": score_value(
                (ex.best("governing_law").value if ex.best("governing_law") else None),
                gold_law(row["Governing Law-Answer"]),
                label,
                "governing law",
                same_law,
            ),
        }
        group = "held-out" if path.name.lower() in held else "seen"
        for name, s in scores.items():
            totals["all"][name].add(s)
            totals[group][name].add(s)
    return totals, texts, seconds, n_pages


ZH_FIELDS = (
    "contract_no",
    "parties",
    "amount",
    "sign_date",
    "effective_date",
    "expiry_date",
    "renewal",
    "governing_law",
)


def run_chinese() -> tuple[dict[str, Score], list[tuple[Path, list[str], str]]]:
    data = json.loads(ZH_LABELS.read_text())
    totals = {f: Score() for f in ZH_FIELDS}
    texts = []
    for doc in data["documents"]:
        path = CORPUS / doc["file"]
        pages = pages_of(path)
        texts.append((path, pages, doc["classification"]))
        ex = extract_terms(pages, title=path.stem, codes=CODES)
        label = path.stem[:12]
        amount = ex.best("amount")
        ours_amount = (
            {"amount": amount.value["amount"], "currency": amount.value["currency"]}
            if amount
            else None
        )
        number = ex.best("contract_no")
        law = ex.best("governing_law")
        renewal = ex.best("renewal")
        scores = {
            "contract_no": score_value(
                number.value if number else None, doc["contract_no"], label, "contract no"
            ),
            "parties": score_parties(
                [f.value["name"] for f in ex.all("party")], doc["parties"], label
            ),
            "amount": score_value(ours_amount, doc["amount"], label, "amount"),
            "sign_date": score_value(
                date_of(ex, "sign_date"), _d(doc["sign_date"]), label, "sign date"
            ),
            "effective_date": score_value(
                date_of(ex, "effective_date"), _d(doc["effective_date"]), label, "effective date"
            ),
            "expiry_date": score_value(expiry_of(ex), _d(doc["expiry_date"]), label, "expiry"),
            "renewal": score_value(
                renewal.value["type"] if renewal else None, doc["renewal"], label, "renewal"
            ),
            "governing_law": score_value(
                law.value if law else None, doc["governing_law"], label, "governing law"
            ),
        }
        for name, s in scores.items():
            totals[name].add(s)
    return totals, texts


def _d(value: str | None) -> date | str | None:
    if value is None or value == "perpetual":
        return value
    return date.fromisoformat(value)


def run_classification(
    en_texts: list[tuple[Path, list[str]]], zh_texts: list[tuple[Path, list[str], str]]
) -> dict[str, Any]:
    labelled = [(path, pages, CUAD_CODES[path.parent.name]) for path, pages in en_texts]
    labelled += zh_texts
    right_rules = 0
    for path, pages, code in labelled:
        ex = extract_terms(pages, title=path.stem, codes=CODES)
        best = ex.best("classification")
        if best is not None and best.value == code:
            right_rules += 1
    examples = [(features(path.stem, pages), code) for path, pages, code in labelled]
    started = time.perf_counter()
    loo = leave_one_out(examples)
    loo_seconds = time.perf_counter() - started
    model = train(examples)
    fitted = sum(1 for feats, code in examples if predict(model, feats)[0][0] == code)
    return {
        "contracts": len(labelled),
        "codes": len({c for *_, c in labelled}),
        "rules_accuracy": right_rules / len(labelled),
        "nb_leave_one_out_accuracy": loo,
        "nb_training_accuracy": fitted / len(labelled),
        "loo_seconds": loo_seconds,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--misses", action="store_true", help="print every disagreement")
    args = parser.parse_args()
    en, en_texts, seconds, n_pages = run_english()
    zh, zh_texts = run_chinese()
    cls = run_classification(en_texts, zh_texts)
    if args.json:
        out = {
            "machine": machine(),
            "english": {
                g: {f: {"precision": s.precision, "recall": s.recall} for f, s in fields.items()}
                for g, fields in en.items()
            },
            "chinese": {f: {"precision": s.precision, "recall": s.recall} for f, s in zh.items()},
            "classification": cls,
            "pages_per_second": n_pages / seconds if seconds else None,
        }
        print(json.dumps(out, indent=1, default=str))
        return 0
    print(f"machine: {machine()}")
    print(f"\nEnglish: {len(en_texts)} en-cuad contracts vs CUAD master_clauses.csv")
    print(f"{'field':<16} {'P all':>6} {'R all':>6}   {'P seen':>6} {'R seen':>6}   "
          f"{'P held':>6} {'R held':>6}   {'TP/FP/FN all':>13}")  # fmt: skip
    for name in EN_FIELDS:
        a, s, h = en["all"][name], en["seen"][name], en["held-out"][name]
        print(
            f"{name:<16} {fmt(a.precision):>6} {fmt(a.recall):>6}   {fmt(s.precision):>6} "
            f"{fmt(s.recall):>6}   {fmt(h.precision):>6} {fmt(h.recall):>6}   "
            f"{a.tp:>4}/{a.fp}/{a.fn}"
        )
    print(f"\nChinese: {len(zh_texts)} contracts vs bench/data/zh_labels.json")
    print(f"{'field':<16} {'P':>6} {'R':>6}   {'TP/FP/FN':>9}")
    for name in ZH_FIELDS:
        z = zh[name]
        print(f"{name:<16} {fmt(z.precision):>6} {fmt(z.recall):>6}   {z.tp:>3}/{z.fp}/{z.fn}")
    print(
        f"\nClassification ({cls['contracts']} contracts, {cls['codes']} codes): keyword rules "
        f"{cls['rules_accuracy']:.2f}; naive Bayes leave-one-out "
        f"{fmt(cls['nb_leave_one_out_accuracy'])} (training fit {cls['nb_training_accuracy']:.2f})"
    )
    print(f"\nExtraction speed: {n_pages / seconds:.0f} pages/s ({n_pages} pages, one process)")
    if args.misses:
        print("\nDisagreements (the held-out contracts are not shown):")
        for group in (en["seen"], zh):
            for s in group.values():
                for miss in s.misses:
                    print("  " + miss)
    return 0


if __name__ == "__main__":
    sys.exit(main())
