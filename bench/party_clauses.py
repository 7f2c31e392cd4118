"""Parties, agreement date and effective date on every contract CUAD labels, and on scans.

The 28 en-cuad contracts are too few to tune the party and date rules on (issue 17), so the
rules are also run on what ``master_clauses.csv`` quotes for the 416 contracts it labels, less
the seven en-cuad contracts held out (``bench.extraction_eval``): their rows are skipped, so
the held-out check stays unseen. CUAD quotes fragments, not the sentences around them: the
"Parties" column holds the names and defined terms alone, the "Agreement Date" column the date
words alone ("23rd day of February, 1998"), the "Effective Date" column a date or a sentence.
So each row is given to the rules (``extract_terms``, as ingest runs it) in the one sentence of
a preamble it was cut from:

- parties: ``This Agreement is entered into by and between <entry>, <entry> and <entry>.``,
  each entry as CUAD's answer writes it (``PC QUOTE, INC. ("PCQ")``), scored name by name
  against the answer's names as ``bench.extraction_eval`` scores them;
- agreement date: each quoted date ``This Agreement is dated <quote>.`` (a quote that is a
  sentence of its own stays as it is), the suggested signing date against the answer;
- effective date: each quoted date ``This Agreement is effective as of <quote>.``, each quoted
  sentence as it is, the suggested effective date against the answer.

A row whose answer is blank or a placeholder ("[]/[]/2013", "09/[]/2019") while the quote is
there expects no date: a date suggested there is wrong. Precision is over what the rules
suggested; recall over the rows with an answer. The date reader alone (the first date
``find_dates`` reads in the quotes, no context) is shown beside the rules.

Scans (``--scans``, on by default): the corpus's synthetic scans (CUAD pages at 200 dpi, whose
contracts CUAD labels) and the real 300 dpi scan of the Western Copper agreement (not in
``master_clauses.csv``; its parties and date are read off its first page by hand), each read by
the pipeline's OCR (``ocr_page``, tesseract) and, beside it, its ground-truth text (and the
Western Copper PDF's own OCR layer): the same rules, the same scoring.

    uv run python -m bench.party_clauses [--show-misses N] [--no-scans]
"""

from __future__ import annotations

import argparse
import csv
import re
import resource
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from bench.common import CORPUS, machine
from bench.expiry_clauses import MASTER, clauses
from bench.extraction_eval import (
    CODES,
    Score,
    date_of,
    fmt,
    gold_date,
    gold_parties,
    held_out_names,
    party_entries,
    score_parties,
    score_value,
)
from ingest.extraction import Extraction, extract_terms
from ingest.extraction.dates import find_dates

SCANNED = CORPUS / "scanned"
WESTERN = SCANNED / "real" / "WESTERN_COPPER-NON-COMPETITION_AGREEMENT.pdf"
WESTERN_GT = SCANNED / "real" / "WESTERN_COPPER-NON-COMPETITION_AGREEMENT.groundtruth.txt"
WESTERN_PARTIES = ["Glamis Gold Ltd.", "Western Copper Corporation"]
WESTERN_DATED = date(2006, 5, 3)
"""Read off the first page of the Western Copper scan by hand ("THIS AGREEMENT is dated May
3,2006. BETWEEN: GLAMIS GOLD LTD. ... AND: WESTERN COPPER CORPORATION"); its effective date
is defined on a later page and is not scored."""
SCAN_PAGES = 2
"""Pages read of each scan: the synthetic scans have two; the preamble is on the first."""

_SENTENCE = {
    "Agreement Date": re.compile(
        r"\b(?:dated|made|entered|executed|signed|effective|agreement|as\s+of)\b", re.I
    ),
    "Effective Date": re.compile(
        r"\b(?:effective|commenc\w*|begin\w*|start\w*|take\s+effect|in\s+force|agreement|"
        r"term|means|date\s+of)\b",
        re.I,
    ),
}
_FRAME = {
    "Agreement Date": "This Agreement is dated {}.",
    "Effective Date": "This Agreement is effective as of {}.",
}


def answer(text: str) -> date | bool | None:
    """CUAD's date answer: a date; None when blank or a placeholder (no date to suggest);
    False when it cannot be scored ("31/12/2020" where the column is M/D/Y, two answers)."""
    if ";" in text:
        return False  # two answers ("07/31/2000; 07/[]/2000")
    try:
        got = gold_date((text or "").strip())
    except ValueError:
        return False
    return got if isinstance(got, date) else None


def framed(column: str, quotes: list[str]) -> str:
    """The quotes as the rules read them: CUAD joins the pieces of one quote with
    "<omitted>"; a piece that is a sentence stays as it is, a date alone goes in the frame."""
    pieces = [p.strip() for q in quotes for p in q.split("<omitted>") if p.strip()]
    return "\n\n".join(
        p if _SENTENCE[column].search(p) else _FRAME[column].format(p.strip(" ,.;")) for p in pieces
    )


def preamble(entries: list[str]) -> str:
    names = entries[:-1]
    joined = ", ".join(names) + ("," if len(names) > 1 else "") + " and " if names else ""
    last = entries[-1]
    return f"This Agreement is entered into by and between {joined}{last}" + (
        "" if last.endswith(".") else "."
    )


def party_names(ex: Extraction) -> list[str]:
    return [f.value["name"] for f in ex.all("party")]


def line(name: str, s: Score) -> str:
    return (
        f"{name:<34} P {fmt(s.precision):>4}  R {fmt(s.recall):>4}   TP/FP/FN {s.tp}/{s.fp}/{s.fn}"
    )


def run_rows(rows: list[dict[str, str]]) -> tuple[dict[str, Score], int]:
    scores = {k: Score() for k in ("parties", "agreement", "agreement-read", "effective",
                                   "effective-read")}  # fmt: skip
    used = 0
    for row in rows:
        label = row["Filename"][:60]
        used += 1
        entries = [entry for entry, _ in party_entries(row["Parties-Answer"])]
        if entries:
            ex = extract_terms([preamble(entries)], title="", codes=CODES)
            scores["parties"].add(
                score_parties(party_names(ex), gold_parties(row["Parties-Answer"]), label)
            )
        for column, field, key in (
            ("Agreement Date", "sign_date", "agreement"),
            ("Effective Date", "effective_date", "effective"),
        ):
            quotes = clauses(row[column])
            gold = answer(row[column + "-Answer"])
            if not quotes or gold is False:
                continue
            ex = extract_terms([framed(column, quotes)], title="", codes=CODES)
            scores[key].add(score_value(date_of(ex, field), gold, label, column.lower()))
            read = [d.value for q in quotes for d in find_dates(q)]
            scores[key + "-read"].add(
                score_value(read[0] if read else None, gold, label, column.lower() + " read")
            )
    return scores, used


# --- scans --------------------------------------------------------------------------------------
def _cpu_children() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def ocr_reader(work: Path) -> Callable[[Path, int], str]:
    from ingest.ocr.page import PageOptions, ocr_page
    from ingest.ocr.select import engine_options

    options = PageOptions(**engine_options("tesseract"))

    def read(pdf: Path, page_no: int) -> str:
        return ocr_page(str(pdf), page_no, pdf.stem, options, str(work)).text

    return read


@dataclass
class ScanDoc:
    name: str
    readings: dict[str, list[str]]
    """Page texts by reading: the ground truth, the OCR."""
    parties: list[str]
    agreement: date | None
    effective: date | None
    effective_scored: bool


def scan_documents(rows: dict[str, dict[str, str]], work: Path) -> list[ScanDoc]:
    """Each scan with labels, read each way."""
    import img2pdf

    from ingest.pdf import read_pdf

    read = ocr_reader(work)
    docs = []
    for folder in sorted((SCANNED / "synthetic").glob("doc*")):
        source = (folder / "SOURCE_PDF.txt").read_text().strip().rsplit("/", 1)[-1].lower()
        row = rows.get(source) or rows.get(re.sub(r"(\.pdf)$", r"(1)\1", source))
        if row is None:
            raise SystemExit(f"{folder}: no row of master_clauses.csv for {source}")
        pngs = sorted(folder.glob("page-*.png"))[:SCAN_PAGES]
        truth = [png.with_name(png.stem + ".gt.txt").read_text("utf-8") for png in pngs]
        ocr = []
        for png in pngs:
            pdf = work / f"{folder.name}-{png.stem}.pdf"
            pdf.write_bytes(img2pdf.convert(str(png)))
            ocr.append(read(pdf, 1))
        agreement = answer(row["Agreement Date-Answer"])
        effective = answer(row["Effective Date-Answer"])
        docs.append(
            ScanDoc(
                f"synthetic {folder.name}",
                {"ground truth": truth, "OCR (tesseract)": ocr},
                gold_parties(row["Parties-Answer"]),
                agreement if isinstance(agreement, date) else None,
                effective if isinstance(effective, date) else None,
                effective is not False,
            )
        )
    layer = [p.text for p in read_pdf(WESTERN, max_pages=50, min_chars=0).pages[:SCAN_PAGES]]
    docs.append(
        ScanDoc(
            "real Western Copper",
            {
                "ground truth": [WESTERN_GT.read_text("utf-8")],
                "PDF's own OCR layer": layer,
                "OCR (tesseract)": [read(WESTERN, n) for n in range(1, SCAN_PAGES + 1)],
            },
            WESTERN_PARTIES,
            WESTERN_DATED,
            None,
            False,
        )
    )
    return docs


def run_scans(rows: dict[str, dict[str, str]], show: bool) -> None:
    with tempfile.TemporaryDirectory(prefix="party-scans-") as tmp:
        wall0, cpu0 = time.monotonic(), _cpu_children() + time.process_time()
        docs = scan_documents(rows, Path(tmp))
        wall, cpu = time.monotonic() - wall0, _cpu_children() + time.process_time() - cpu0
    print(f"\nScans (first {SCAN_PAGES} pages; OCR {wall:.0f} s wall, {cpu:.0f} s CPU):")
    totals: dict[str, dict[str, Score]] = {}
    for doc in docs:
        name = doc.name
        for reading, pages in doc.readings.items():
            ex = extract_terms(pages, title="", codes=CODES)
            got = {
                "parties": score_parties(party_names(ex), doc.parties, name),
                "agreement": score_value(
                    date_of(ex, "sign_date"), doc.agreement, name, "agreement"
                ),
            }
            if doc.effective_scored:
                got["effective"] = score_value(
                    date_of(ex, "effective_date"), doc.effective, name, "effective"
                )
            group = "OCR" if reading.startswith("OCR") else reading
            for k, s in got.items():
                totals.setdefault(group, {}).setdefault(k, Score()).add(s)
            said = ", ".join(party_names(ex)) or "-"
            print(
                f"  {name:<22} {reading:<20} parties: {said[:70]}; "
                f"agreement {date_of(ex, 'sign_date')}; effective {date_of(ex, 'effective_date')}"
            )
    for group, scores in totals.items():
        print(f"  all scans, {group}:")
        for k, s in scores.items():
            print("    " + line(k, s))
            if show:
                for miss in s.misses:
                    print("      " + miss)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--show-misses", type=int, default=0, help="print this many misses")
    parser.add_argument("--no-scans", action="store_true", help="skip the OCR of the scans")
    args = parser.parse_args()
    csv.field_size_limit(10**9)
    with open(MASTER, encoding="utf-8") as fh:
        all_rows = list(csv.DictReader(fh))
    held = held_out_names()
    rows = [r for r in all_rows if r["Filename"].lower() not in held]
    print(machine())
    started, cpu0 = time.monotonic(), time.process_time()
    scores, used = run_rows(rows)
    wall, cpu = time.monotonic() - started, time.process_time() - cpu0
    print(
        f"CUAD rows: {used} of {len(all_rows)} (the {len(all_rows) - used} rows of the held-out "
        f"en-cuad contracts skipped); rules {wall:.1f} s wall, {cpu:.1f} s CPU"
    )
    for key, name in (
        ("parties", "parties (names in a preamble)"),
        ("agreement", "agreement date (rules)"),
        ("agreement-read", "agreement date (date reader alone)"),
        ("effective", "effective date (rules)"),
        ("effective-read", "effective date (date reader alone)"),
    ):
        print(line(name, scores[key]))
        for miss in scores[key].misses[: args.show_misses]:
            print("    " + miss)
    if not args.no_scans:
        run_scans({r["Filename"].lower(): r for r in all_rows}, args.show_misses > 0)
    return 0


if __name__ == "__main__":
    sys.exit(main())
