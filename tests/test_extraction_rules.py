"""Term extraction rules on sentences of the kinds CUAD contracts hold (issue 17): what is not
the contract's consideration is not its amount, an ending clause's date is not the effective
date, and renewal terms written as options or "every year" are read."""

from __future__ import annotations

import glob
from pathlib import Path

import pytest

from core.rules import DEFAULT_SCHEME
from ingest.extraction import CodeKeywords, extract_terms
from ingest.pdf import read_pdf
from tests.conftest import CORPUS


def fields(text: str, field: str) -> list[object]:
    return [f.value for f in extract_terms([text], title="agreement").found if f.field == field]


@pytest.mark.parametrize(
    "text",
    [
        "The Company has 10,000,000 shares of common stock, par value USD 0.01 per share.",
        "Each share has a nominal value of $0.001.",
        "The Supplier shall maintain insurance with limits of not less than $1,000,000 "
        "per occurrence.",
        "Fees are stated in the Order Form (for example, $100 per seat).",
        "注册资本中每股面值人民币1元。",
    ],
)
def test_an_amount_that_is_not_the_consideration_is_not_suggested(text: str) -> None:
    assert fields(text, "amount") == []


def test_the_consideration_is_kept_beside_an_insurance_limit() -> None:
    text = (
        "The Supplier shall carry insurance of not less than $1,000,000 per occurrence. "
        "The total contract price is USD 250,000."
    )
    amounts = fields(text, "amount")
    assert [a["amount"] for a in amounts] == ["250000.00"]  # type: ignore[index]


def test_a_termination_date_is_not_the_effective_date() -> None:
    text = (
        "Either party may terminate this Agreement for convenience. Such termination shall "
        "be effective on January 5, 2021."
    )
    assert fields(text, "effective_date") == []
    assert fields("This Agreement is effective as of March 1, 2020.", "effective_date") == [
        "2020-03-01"
    ]


@pytest.mark.parametrize(
    ("text", "months"),
    [
        ("It is established by calendar year and renewed tacitly every year.", 12),
        (
            "When this Agreement expires, you will have the option to continue the franchise "
            "relationship with us for two (2) additional terms of ten (10) years each.",
            120,
        ),
        ("This Agreement shall automatically renew from year to year.", 12),
    ],
)
def test_renewal_terms_written_as_options_or_every_year(text: str, months: int) -> None:
    (renewal,) = fields(text, "renewal")
    assert renewal["term_months"] == months  # type: ignore[index]


def test_a_contract_is_classified_alike_as_a_digital_file_and_as_a_scan() -> None:
    """The CUAD consulting agreement: its first two pages as the PDF's text layer and as the
    text of the scanned pages (the synthetic scan's page ground truth, with the line breaks of
    the page image) give the same classification."""
    codes = [CodeKeywords(c.code, c.keywords) for c in DEFAULT_SCHEME]
    (pdf,) = glob.glob(str(CORPUS / "en-cuad" / "*" / "ADUROBIOTECH*CONSULTING*.PDF"))
    digital = [p.text for p in read_pdf(Path(pdf), max_pages=10, min_chars=20).pages[:2]]
    scan_dir = CORPUS / "scanned" / "synthetic" / "doc03"
    scanned = [(scan_dir / f"page-{n}.gt.txt").read_text("utf-8") for n in (1, 2)]
    classes = []
    for pages in (digital, scanned):
        best = extract_terms(pages, title="Consulting Agreement", codes=codes).best(
            "classification"
        )
        assert best is not None
        classes.append(best.value)
    assert classes == ["FW", "FW"]
