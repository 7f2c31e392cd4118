"""Term extraction rules on sentences of the kinds CUAD contracts hold (issue 17): what is not
the contract's consideration is not its amount, an ending clause's date is not the effective
date, and renewal terms written as options or "every year" are read."""

from __future__ import annotations

import glob
from pathlib import Path

import pytest

from core.rules import DEFAULT_SCHEME
from ingest.extraction import CodeKeywords, extract_terms
from ingest.extraction.dates import find_dates
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


# --- the term (issue 17: expiry recall on unseen contracts) -------------------------------------
@pytest.mark.parametrize(
    ("text", "months"),
    [
        (
            "The initial term of this Agreement begins on the Effective Date and, unless ended "
            "earlier, shall continue until three (3) years following the Effective Date.",
            36,
        ),
        (
            "This Agreement shall remain effective for two (2) years from and after the "
            'Effective Date (the "Initial Term").',
            24,
        ),
        ("The term of the Lease shall be twenty (20) years, commencing on the Start Date.", 240),
        ("This Agreement shall continue in effect for one (I) year unless terminated.", 12),
        ("This Agreement shall continue for a period of eighteen (18) full calendar months.", 18),
        (
            "The Term of this Agreement shall begin on the Effective Date and end nine months therefrom.",
            9,
        ),
        ("Term: six (6) months from the date of this Agreement.", 6),
        (
            "Unless terminated earlier, the term of this Agreement shall end on the fourth (4th) "
            "anniversary of the Effective Date.",
            48,
        ),
        (
            '"Initial Term" means the Effective Date through the day prior to the third '
            "anniversary of the Effective Date.",
            36,
        ),
        (
            "This Agreement continues in full force until the end of the tenth (10th) Contract "
            "Year.",
            120,
        ),
        ("The term of this Agreement will end upon the end of Year 2.", 24),
    ],
)
def test_the_term_is_read_in_the_ways_contracts_word_it(text: str, months: int) -> None:
    assert fields(text, "term") == [{"months": months}]


@pytest.mark.parametrize(
    "text",
    [
        "This Agreement shall remain in effect until terminated by either party.",
        "The term of this Agreement starts on signing and will end when terminated by a party.",
        "This Agreement shall continue in force for an indefinite term thereafter.",
        "This Agreement will remain in force in perpetuity unless the parties agree otherwise.",
    ],
)
def test_a_contract_without_an_end_is_perpetual(text: str) -> None:
    assert fields(text, "term") == [{"perpetual": True}]


@pytest.mark.parametrize(
    "text",
    [
        # periods that are not the contract's length
        "Either party may end this Agreement by giving the other twelve (12) months' notice.",
        "The confidentiality obligations of this Agreement survive for five (5) years after "
        "its termination.",
        "This Agreement renews automatically for successive periods of two (2) years.",
        "During the term and for a period of one (1) year thereafter, each party keeps its books.",
        '"Contract Year": the period of 12 months from the Start Date under this Agreement.',
        "The pilot phase of this Agreement runs for a period of two (2) months (the "
        '"Pilot Period").',
        "Licensor grants a perpetual, irrevocable licence under this Agreement.",
    ],
)
def test_periods_that_are_not_the_term_are_not_taken_for_it(text: str) -> None:
    assert fields(text, "term") == []


def test_a_length_then_until_terminated_is_the_length_not_perpetual() -> None:
    text = "This Agreement shall continue for 3 years and thereafter until terminated by notice."
    assert fields(text, "term") == [{"months": 36}]


@pytest.mark.parametrize(
    ("text", "iso"),
    [
        (
            "The term of this Agreement starts on May 1, 2020 and ends at April 30, 2029.",
            "2029-04-30",
        ),
        (
            "The Term will continue until the earlier of (i) December 31, 2022, and (ii) the "
            "end of the lease.",
            "2022-12-31",
        ),
        ("Termination Date: June 30, 2024", "2024-06-30"),
        ('"Expiration Date" means March 31, 2020.', "2020-03-31"),
        (
            "The joint venture is for a fixed term beginning November 27, 2018 and ending "
            "November 30, 2019.",
            "2019-11-30",
        ),
    ],
)
def test_a_stated_end_date_is_the_expiry(text: str, iso: str) -> None:
    assert fields(text, "expiry_date") == [iso]


@pytest.mark.parametrize(
    ("text", "months"),
    [
        (
            "Thereafter this Agreement will renew automatically for successive terms of one (1) year each.",
            12,
        ),
        (
            "The term of this Agreement is five (5) years, with automatic renewal of one year "
            "thereafter unless either party gives one (1) year written notice.",
            12,
        ),
        (
            "This Agreement shall be subject to an automatic extension for consecutive two (2) year periods.",
            24,
        ),
        ("After the Initial Term this Agreement shall continue on a month to month basis.", 1),
        ("The Term will be 3 years with an automatic 2 year term extension.", 24),
        ("The Buyer may extend the Agreement for an additional 6 months by written notice.", 6),
        (
            "This Agreement will automatically be renewed for periods of twelve (12) months unless "
            "a party gives three (3) months written notice.",
            12,
        ),
        ("The Agreement may be extended on a yearly basis up to ten (10) years.", 12),
    ],
)
def test_one_renewal_s_length_not_the_initial_term_or_the_notice(text: str, months: int) -> None:
    (renewal,) = fields(text, "renewal")
    assert renewal["term_months"] == months  # type: ignore[index]


@pytest.mark.parametrize(
    ("text", "kind", "months", "perpetual", "renewals"),
    [
        (
            "Unless either party gives sixty (60) days prior written notice, this Agreement "
            "shall automatically renew for successive one-year periods.",
            "automatic",
            12,
            True,
            None,
        ),
        (
            "This Agreement shall be renewed automatically in perpetuity.",
            "automatic",
            None,
            True,
            None,
        ),
        (
            "This agreement shall continue for an initial term of one (1) years and "
            "indefinitely after that until terminated by either party giving notice.",
            "automatic",
            None,
            True,
            None,
        ),
        (
            "Thereafter, this Agreement shall renew only upon the mutual written agreement of "
            "the parties for up to three additional renewal terms of one year each.",
            "manual",
            12,
            False,
            3,
        ),
        (
            "When this Agreement expires, you will have the option to continue the franchise "
            "relationship with us for two (2) additional terms of ten (10) years each.",
            "manual",
            120,
            False,
            2,
        ),
        (
            "The Agreement may be extended on a yearly basis up to ten (10) years.",
            "manual",
            12,
            False,
            None,
        ),
        (
            "The Buyer may extend the Agreement for an additional 6 months by written notice.",
            "manual",
            6,
            None,
            None,
        ),
        (
            "本合同期满前30日内双方均未提出异议的，本合同自动续期一年，以此类推。",
            "automatic",
            12,
            True,
            None,
        ),
        ("本合同期满后，双方可另行签订续签合同，续签以一次为限。", "manual", None, False, 1),
        ("本合同期满后自动续期一年，最多续签两次。", "automatic", 12, False, 2),
        ("本合同期满后，双方可另行签订续签合同，仅可续签一次。", "manual", None, False, 1),
    ],
)
def test_renewals_without_limit_or_with_one(
    text: str, kind: str, months: int | None, perpetual: bool | None, renewals: int | None
) -> None:
    """Successive renewals with no limit (evergreen, in perpetuity) are perpetual; a stated
    number of renewals or a limit on their total length is not."""
    (renewal,) = fields(text, "renewal")
    assert renewal == {  # type: ignore[comparison-overlap]
        "type": kind,
        "term_months": months,
        "notice_days": renewal["notice_days"],  # type: ignore[index]
        "perpetual": perpetual,
        "renewals": renewals,
    }


# --- bad input: suggest nothing rather than noise (issue 17) ------------------------------------
@pytest.mark.parametrize(
    "text",
    [
        "Kaufvertrag zwischen der Müller GmbH, Berlin (Verkäufer) und der Schmidt AG, München "
        "(Käufer). Der Verkäufer verkauft dem Käufer 500 Stühle zum Preis von EUR 25.000,00. "
        "Der Vertrag beginnt am 1. März 2021 und endet am 28. Februar 2023. Er verlängert sich "
        "um jeweils ein Jahr. Die Haftung ist auf den Kaufpreis begrenzt. Es gilt deutsches Recht.",
        "Contrat de vente entre la société Dupont SA et la société Martin SARL. Le vendeur "
        "s'engage à livrer les marchandises au prix de 25 000,00 EUR. Le présent contrat est "
        "conclu pour une durée de deux ans à compter de sa signature. Il est régi par le droit "
        "français et toute contestation relève du tribunal de commerce de Paris.",
    ],
)
def test_a_contract_in_a_third_language_gets_no_suggestions_and_says_why(text: str) -> None:
    ex = extract_terms([text], title="contract")
    assert ex.language == "other" and ex.found == ()
    assert "neither Chinese nor English" in ex.warnings[0]


def test_a_page_of_tables_only_and_a_text_without_clauses_get_no_suggestions() -> None:
    table = "\n".join(
        " | ".join(f"{row * 7 + col:>6} {'abc'[col % 3]}{col}" for col in range(8))
        for row in range(60)
    )
    notes = "Meeting notes. We talked about the weather and lunch. Next meeting on Friday."
    for text in (table, notes):
        assert extract_terms([text], title="notes").found == ()


def test_a_thousand_page_text_without_terms_ends_with_nothing_suggested() -> None:
    """Every rule looks at a bounded part of the text (dates and parties the first pages,
    clauses sentence by sentence): a 1,000-page text with no terms gives nothing, not noise."""
    words = [
        "the",
        "supplier",
        "shall",
        "deliver",
        "goods",
        "and",
        "services",
        "under",
        "this",
        "agreement",
        "to",
        "any",
        "party",
    ]
    sentence = " ".join(words[(i * 7) % len(words)] for i in range(14)) + ". "
    pages = [sentence * 12] * 1000
    assert extract_terms(pages, title="large").found == ()


# --- parties and dates on CUAD's quoted wording (issue 17: precision on unseen contracts) -------
@pytest.mark.parametrize(
    ("text", "iso"),
    [
        # the ordinal split by the text layer of the filed PDF
        ("20t h day of November, 2018", "2018-11-20"),
        ("1s t day of October 2008", "2008-10-01"),
        ("November 19t h, 2012", "2012-11-19"),
        ("(1st)  day of January, 1996", "1996-01-01"),
        # a comma with spaces around it, or none after it
        ("July 11 , 2006", "2006-07-11"),
        ("19  DAY OF MAY , 2010", "2010-05-19"),
        ("THIS AGREEMENT is dated May 3,2006.", "2006-05-03"),
        # numbers with hyphens; a first number above 12 is the day
        ("12-23-2019", "2019-12-23"),
        ("3-14-18", "2018-03-14"),
        ("13/07/05", "2005-07-13"),
    ],
)
def test_dates_as_cuad_quotes_them_are_read(text: str, iso: str) -> None:
    assert [d.value.isoformat() for d in find_dates(text)] == [iso]


@pytest.mark.parametrize(
    "text",
    [
        "Jan 3,2000,000 shares were issued.",  # a number, not a year
        "The Company filed its Form 10-12G and version 1.2.2019 of the plan.",
        "Call 212-555-1234 for the file 333-12-2019.",
    ],
)
def test_numbers_that_only_look_like_dates_are_not_read_as_dates(text: str) -> None:
    assert find_dates(text) == []


@pytest.mark.parametrize(
    ("text", "iso"),
    [
        ('"Effective Date" means October 31, 2019.', "2019-10-31"),
        ("The effective date of the Franchise will be January 1, 2016.", "2016-01-01"),
        ("Effective Date: January 1, 2019", "2019-01-01"),
        ('"EFFECTIVE DATE" means 12:01 a.m. Eastern Standard Time on March 3, 2003.', "2003-03-03"),
        ('"Commencement Date" means: 1st January 2013.', "2013-01-01"),
        (
            "This Agreement shall come into force as of January 1, 2013 and remain valid for 1 "
            "year.",
            "2013-01-01",
        ),
        ("THE EFFECTIVE DATE OF THIS RESELLER AGREEMENT SHALL BE: Sept 29, 2004", "2004-09-29"),
        (
            "the Effective Date of this Agreement shall be February 1, 2020, despite the actual "
            "date of execution of this Agreement.",
            "2020-02-01",
        ),
        (
            "Effective Date means the date of this Agreement.\n\nThis Agreement is dated April "
            "29, 2010.",
            "2010-04-29",
        ),
    ],
)
def test_the_effective_date_is_read_where_a_contract_defines_it(text: str, iso: str) -> None:
    assert fields(text, "effective_date") == [iso]


def test_a_date_that_ends_the_contract_is_not_its_effective_date() -> None:
    text = '"Termination Date" means December 31, 2020.'
    assert fields(text, "effective_date") == []


@pytest.mark.parametrize(
    ("entries", "names"),
    [
        (  # a name that begins in lower case; never its legal form alone ("Inc.")
            'iPayment, Inc. ("ISO"), First Data Merchant Services Corporation ("FDMS"), and '
            'Wells Fargo Bank, N.A. ("Bank")',
            [
                "iPayment, Inc.",
                "First Data Merchant Services Corporation",
                "Wells Fargo Bank, N.A.",
            ],
        ),
        (
            'theglobe.com, Inc. ("theglobe") and The Boxlot Company ("Boxlot")',
            ["theglobe.com, Inc.", "The Boxlot Company"],
        ),
        (  # words in brackets inside a name
            'Oaktree Capital Management. L.P. ("Oaktree US") and Oaktree Capital Management '
            '(International) Limited ("Sub-Advisor")',
            [
                "Oaktree Capital Management. L.P.",
                "Oaktree Capital Management (International) Limited",
            ],
        ),
        (
            'SYSTEMS APPLICATIONS PRODUCTS (AFRICA) (PTY) LIMITED ("SAP AFRICA") and TELKOM '
            'SOUTH AFRICA LIMITED ("TELKOM")',
            ["SYSTEMS APPLICATIONS PRODUCTS (AFRICA) (PTY) LIMITED", "TELKOM SOUTH AFRICA LIMITED"],
        ),
        (  # the rest of a defined term's brackets names no one
            'EL POLLO LOCO, INC. ("El Pollo Loco" or "Franchisor") and an individual ("Developer")',
            ["EL POLLO LOCO, INC."],
        ),
        (  # companies listed with commas, without defined terms
            "SCULPTOR CAPITAL LP, SCULPTOR CAPITAL HOLDING CORPORATION, SCULPTOR MANAGEMENT, "
            "INC., and SCULPTOR MASTER FUND LTD.",
            [
                "SCULPTOR CAPITAL LP",
                "SCULPTOR CAPITAL HOLDING CORPORATION",
                "SCULPTOR MANAGEMENT, INC.",
                "SCULPTOR MASTER FUND LTD.",
            ],
        ),
        (  # a comma inside a name ("SUNTRON-IOWA, INC.") does not end the listing's cutting
            "SUNTRON CORPORATION, K*TEC OPERATING CORP., SUNTRON-IOWA, INC., CURRENT "
            "ELECTRONICS, INC., RM ELECTRONICS, INC., SUNTRON-KANSAS, INC. (collectively, the "
            '"Borrowers")',
            [
                "SUNTRON CORPORATION",
                "K*TEC OPERATING CORP.",
                "SUNTRON-IOWA, INC.",
                "CURRENT ELECTRONICS, INC.",
                "RM ELECTRONICS, INC.",
                "SUNTRON-KANSAS, INC.",
            ],
        ),
        (
            'KIROMIC BIOPHARMA Inc. and MOLIPHARMA S.R.L. ("Party" and, together, the "Parties")',
            ["KIROMIC BIOPHARMA Inc.", "MOLIPHARMA S.R.L."],
        ),
    ],
)
def test_party_names_as_cuad_gives_them(entries: str, names: list[str]) -> None:
    """The parties of CUAD contracts as its answers write them, in the sentence of a preamble
    (``bench.party_clauses`` frames every contract's parties so)."""
    text = f"This Agreement is entered into by and between {entries}"
    text += "" if text.endswith(".") else "."
    assert [p["name"] for p in fields(text, "party")] == names  # type: ignore[index]


WESTERN_COPPER_PREAMBLE = (
    "THIS AGREEMENT is dated May 3,2006.\n\nBETWEEN:\n\nGLAMIS GOLD LTD., a company "
    'incorporated under the laws  of the Province of British Columbia\n\n("Glam is")\n\nAND:\n\n'
    "WESTERN COPPER CORPORATION, a company  incorporated under the laws of the Province of "
    'British Columbia\n\n("Western Copper")\n\nWHEREAS:\n\n(A) Glamis, Western Copper and '
    'Western Silver Corporation ("Western Silver") are  parties to an arrangement agreement '
    'dated as of February 23, 2006 (the "Arrangement  Agreement")'
)
"""The first page of the real English scan's ground truth (``scanned/real``), cut short."""


def test_the_date_of_another_agreement_is_not_the_contract_s_date() -> None:
    recital = WESTERN_COPPER_PREAMBLE[WESTERN_COPPER_PREAMBLE.index("(A)") :]
    assert fields(recital, "sign_date") == []
    assert fields(WESTERN_COPPER_PREAMBLE, "sign_date") == ["2006-05-03"]


def test_a_regulator_named_in_the_preamble_is_not_a_party() -> None:
    """The CUAD agency agreement's preamble (en-cuad): the FDIC and the OTS have defined terms
    but insure and regulate; the parties are the company, the bank and the agent."""
    text = (
        "Athens Bancshares Corporation, a Tennessee corporation (the “Company”), and Athens "
        "Federal Community Bank, a federal savings bank located \nin Athens, Tennessee (the "
        "“Bank”) (references to the “Bank” include the Bank in mutual or stock form as indicated "
        "by the context), the deposit \naccounts of which are insured by the Federal Deposit "
        "Insurance Corporation (“FDIC”), hereby confirm their agreement with Keefe, Bruyette & "
        "\nWoods, Inc. (the “Agent”) as follows:  \nSection 1. The Offering. The Conversion will "
        "be accomplished pursuant to federal law and the rules and regulations of the Office of "
        "Thrift \nSupervision (the “OTS”)."
    )
    names = [p["name"] for p in fields(text, "party")]  # type: ignore[index]
    assert names == [
        "Athens Bancshares Corporation",
        "Athens Federal Community Bank",
        "Bruyette & Woods, Inc.",
    ]


def test_a_listing_cut_inside_a_word_gives_no_party() -> None:
    """The CUAD affiliate agreement: 400 characters after "agreed to between" end inside
    "AGREEMENT", whose first letters are a legal form (AG); only Chase is a party there. (A
    guard: since a listed name ends at its defined term, "Chase Bank USA, N.A. (?Chase?)" is
    read in the listing, and the cut word made a second party.)"""
    (pdf,) = glob.glob(str(CORPUS / "en-cuad" / "Affiliate_Agreements" / "*.pdf"))
    first = read_pdf(Path(pdf), max_pages=50, min_chars=20).pages[0].text
    names = [p["name"] for p in fields(first, "party")]  # type: ignore[index]
    assert names == ["Chase Bank USA, N.A."]


def test_the_parties_of_the_real_scan_as_tesseract_reads_it() -> None:
    """The Western Copper scan's first page as the pipeline's tesseract reads it: the opening
    quote of "Glamis" comes out as *, the closing bracket as a brace."""
    text = (
        "THIS AGREEMENT is dated May 3, 2006.\nBETWEEN:\n\nGLAMIS GOLD LTD., a company "
        "incorporated under the laws\nof the Province of British Columbia, having an office at "
        "310-5190\nNeil Road, Reno, Nevada 89502\n\n(*Glamis”}\nAND:\nWESTERN COPPER "
        "CORPORATION, a = company\nincorporated under the laws of the Province of British "
        "Columbia,\nhaving an office at 2050-1111 West Georgia Street, Vancouver,\nB.C. V6E 4M3\n"
        "(“Western Copper”)\nWHEREAS:"
    )
    names = [p["name"] for p in fields(text, "party")]  # type: ignore[index]
    assert names == ["GLAMIS GOLD LTD.", "WESTERN COPPER CORPORATION"]
