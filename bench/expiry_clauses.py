"""Expiry extraction on every term clause CUAD labels, not only on the 28 contracts of the corpus.

``master_clauses.csv`` quotes, for each of its 416 contracts, the sentences that fix the
contract's expiration ("Expiration Date" column) and gives the answer: a date, "perpetual",
or nothing when the clause does not settle it. This runs the archive's English rules
(``extract_terms``, as ingest does) on those quoted sentences alone and compares.

What counts as right:
- a stated end date equal to the answer;
- a term length which, added to the contract's start (CUAD's effective date, else its agreement
  date), lands on the answer or the day before it ("five years from 1 May 2010" ends on
  30 April or 1 May 2015 depending on the drafter);
- "perpetual" (no end unless terminated) when the answer is perpetual.

Rows whose answer is blank or a placeholder ("[]/[]/2016") are left out. Precision is over the
rows where the rules said something; recall over all scored rows. The "Renewal Term" column is
scored the same way: the length of one renewal, in months; and whether the renewals go on
without limit ("successive 1 year", "perpetual") or stop after a stated number ("3 successive
1 year"), against the suggestion's ``perpetual``.

    uv run python -m bench.expiry_clauses [--show-misses N]
"""

from __future__ import annotations

import argparse
import ast
import csv
import sys
from datetime import date, timedelta

from bench.common import CORPUS, machine
from bench.extraction_eval import CODES, expiry_of, gold_date, gold_perpetual, gold_renewal
from ingest.extraction import extract_terms

MASTER = CORPUS / "en-cuad" / "master_clauses.csv"


def clauses(cell: str) -> list[str]:
    cell = (cell or "").strip()
    if not cell or cell == "[]":
        return []
    try:
        value = ast.literal_eval(cell)
    except (ValueError, SyntaxError):
        return [cell]
    return [str(v) for v in value] if isinstance(value, list) else [str(value)]


def gold_of(text: str) -> date | str | None:
    try:
        return gold_date(text.strip().lower())
    except ValueError:
        return None  # "31/12/2020" where the column is M/D/Y: not a date we can score


def answer_of(texts: list[str], start: date | None) -> date | str | None:
    """What the rules say of the quoted sentences, a length counted from CUAD's start (from
    a start date in the sentences themselves when CUAD gives none)."""
    return expiry_of(extract_terms(["\n\n".join(texts)], title="", codes=CODES), start)


def same(ours: date | str | None, gold: date | str) -> bool:
    if isinstance(gold, str) or isinstance(ours, str) or ours is None:
        return ours == gold
    return ours in (gold, gold + timedelta(days=1))


def renewal_of(texts: list[str]) -> dict[str, object] | None:
    f = extract_terms(["\n\n".join(texts)], title="", codes=CODES).best("renewal")
    return dict(f.value) if f is not None else None


def renewals(rows: list[dict[str, str]], show: int) -> None:
    """The same for CUAD's "Renewal Term" column: the length of one renewal, in months, and
    whether renewals go on without limit."""
    scored = said = right = 0
    p_scored = p_said = p_right = 0
    misses = []
    for row in rows:
        texts = clauses(row["Renewal Term"])
        if not texts:
            continue
        answer = row["Renewal Term-Answer"]
        gold = gold_renewal(answer)
        value = renewal_of(texts)
        perpetual = gold_perpetual(answer)
        if perpetual is not None:
            p_scored += 1
            ours_p = value.get("perpetual") if value else None
            p_said += ours_p is not None
            p_right += ours_p == perpetual
        if not isinstance(gold, int):
            continue
        ours = value.get("term_months") if value else None
        scored += 1
        said += ours is not None
        right += ours == gold
        if ours != gold:
            misses.append((row["Filename"], gold, ours, " | ".join(texts)[:300]))
    print(f"\nCUAD renewal clauses scored: {scored}")
    print(f"precision {right / max(said, 1):.2f} ({right}/{said} answers right)")
    print(f"recall    {right / max(scored, 1):.2f} ({right}/{scored})")
    print(
        f"renewals without limit or limited, rows that say which: {p_scored}; "
        f"precision {p_right / max(p_said, 1):.2f} ({p_right}/{p_said} answers right), "
        f"recall {p_right / max(p_scored, 1):.2f}"
    )
    for name, gold, ours, text in misses[:show]:
        print(f"\n{name}\n  gold {gold} months  ours {ours}\n  {text}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--show-misses", type=int, default=0, help="print this many misses")
    args = parser.parse_args()
    csv.field_size_limit(10**9)
    with open(MASTER, encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    scored = said = right = 0
    perpetual = perpetual_right = 0
    misses: list[tuple[str, object, object, str]] = []
    for row in rows:
        texts = clauses(row["Expiration Date"])
        gold = gold_of(row["Expiration Date-Answer"])
        if not texts or gold is None:
            continue
        start = gold_of(row["Effective Date-Answer"]) or gold_of(row["Agreement Date-Answer"])
        ours = answer_of(texts, start if isinstance(start, date) else None)
        scored += 1
        if gold == "perpetual":
            perpetual += 1
        if ours is not None:
            said += 1
        if same(ours, gold):
            right += 1
            perpetual_right += gold == "perpetual"
        else:
            misses.append((row["Filename"], gold, ours, " | ".join(texts)[:300]))
    print(machine())
    print(f"CUAD term clauses scored: {scored} ({perpetual} perpetual)")
    print(f"precision {right / max(said, 1):.2f} ({right}/{said} answers right)")
    print(f"recall    {right / max(scored, 1):.2f} ({right}/{scored})")
    print(f"perpetual right: {perpetual_right}/{perpetual}")
    for name, gold, ours, text in misses[: args.show_misses]:
        print(f"\n{name}\n  gold {gold}  ours {ours}\n  {text}")
    renewals(rows, args.show_misses)
    return 0


if __name__ == "__main__":
    sys.exit(main())
