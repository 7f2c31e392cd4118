"""Clause analysis and clause search (issue 17), on real contracts of the corpus, the user's way:
contracts uploaded over HTTP with a token, their clauses read through
``GET /api/v1/contracts/{id}/clauses``, ``clause:`` searched through ``/api/v1/search``, and the
command line run as the installed program.

The page a CUAD clause is on comes from the dataset itself: the clause text a lawyer marked in
``master_clauses.csv``, looked up in the PDF's own pages."""

from __future__ import annotations

import html as html_lib
import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from pypdf import PdfReader

from search_api.app import create_app
from services.access.service import AccessControl
from services.archive import Archive
from storage.records.access_base import LogFilter
from tests.access_helpers import add_web_user, ensure_user, token_for
from tests.cli_runner import invoke
from tests.conftest import CORPUS, corpus_files, make_settings
from tests.test_cli import run

CO_BRANDING = next(p for p in corpus_files("en-cuad", ".pdf") if p.parent.name == "Co_Branding")
CAR = CORPUS / "zh" / "samr-model-contracts" / "新疆维吾尔自治区汽车买卖合同.pdf"


def _key(text: str) -> str:
    return re.sub(r"\W+", "", text.lower())


def labelled_pages(pdf: Path, column: str) -> set[int]:
    """The pages of ``pdf`` holding a clause CUAD's lawyers marked in ``column``."""
    import ast
    import csv
    import sys

    csv.field_size_limit(sys.maxsize)
    with (CORPUS / "en-cuad" / "master_clauses.csv").open(encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    row = next(r for r in rows if Path(r["Filename"]).stem == pdf.stem)
    spans = ast.literal_eval(row[column])
    pages = [_key(p.extract_text() or "") for p in PdfReader(pdf).pages]
    found = {n for s in spans for n, text in enumerate(pages, 1) if _key(s)[:50] in text}
    assert found, f"CUAD marks no {column} clause in {pdf.name}"
    return found


class World:
    def __init__(self, archive: Archive) -> None:
        self.archive = archive
        self.access = AccessControl.for_archive(archive)
        self.app = create_app(archive)
        root = ensure_user(archive, "root", ("admin",))
        self.ids: dict[str, int] = {}
        for key, path in (("en", CO_BRANDING), ("zh", CAR)):
            with open(path, "rb") as fh:
                result = self.access.ingest(root, fh, filename=path.name)
            assert result.status == "archived" and result.id is not None
            self.ids[key] = result.id
        self.tokens = {
            "admin": token_for(archive, "admin", username="admin"),
            "legal": token_for(archive, "legal", username="legal"),
            "legal-hr": token_for(archive, "legal", username="legal-hr", groups=("hr",)),
            "auditor": token_for(archive, "auditor", username="auditor"),
        }

    def client(self, who: str) -> TestClient:
        headers = {"Authorization": f"Bearer {self.tokens[who]}"}
        return TestClient(self.app, raise_server_exceptions=False, headers=headers)


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    settings = make_settings(tmp_path_factory.mktemp("clauses") / "var")
    with Archive(settings, parser_workers=1).open() as archive:
        yield World(archive)


def clauses(client: TestClient, cid: int) -> list[dict]:
    r = client.get(f"/api/v1/contracts/{cid}/clauses")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["id"] == cid
    return list(body["clauses"])


def search_ids(client: TestClient, q: str) -> set[int]:
    r = client.get("/api/v1/search", params={"q": q, "limit": 100})
    assert r.status_code == 200, r.text
    return {h["id"] for h in r.json()["hits"]}


@pytest.mark.parametrize(
    ("slug", "column"),
    [("cap_on_liability", "Cap On Liability"), ("anti_assignment", "Anti-Assignment")],
)
def test_a_cuad_clause_is_found_on_its_page(world: World, slug: str, column: str) -> None:
    expected = labelled_pages(CO_BRANDING, column)
    with world.client("legal") as client:
        found = [c for c in clauses(client, world.ids["en"]) if c["type"] == slug]
    assert found, f"no {slug} clause found"
    assert {c["page"] for c in found} & expected, (found, expected)
    for c in found:
        assert c["state"] == "open" and 0 < c["confidence"] < 1
        assert c["start"] < c["end"] and len(c["sentence"]) >= 15
        assert c["label_en"] and c["label_zh"]


def test_clause_search_finds_the_contract_and_exclusion_leaves_it_out(world: World) -> None:
    en, zh = world.ids["en"], world.ids["zh"]
    with world.client("legal") as client:
        assert search_ids(client, "clause:cap_on_liability") == {en}
        assert search_ids(client, "-clause:cap_on_liability") == {zh}
        assert search_ids(client, "clause:违约责任") == {zh}
        assert search_ids(client, "agreement clause:cap_on_liability") == {en}
        facets = client.get("/api/v1/search", params={"q": "", "facets": "true"}).json()
        values = {f["value"] for f in facets["facets"]["clause"]}
        assert {"cap_on_liability", "liability_for_breach"} <= values
        bad = client.get("/api/v1/search", params={"q": "clause:no_such_clause"})
        assert bad.status_code == 400
        message = bad.json()["error"]
        assert "not a clause type" in message["message"] and "non_compete" in message["hint"]


def test_clause_search_on_the_web_pages(world: World) -> None:
    """What a lawyer does in the browser's pages (signed in through the form): the query
    language's ``clause:`` and ``-clause:``, the clause facet's link, and from the contract
    page's list of clauses to the clause's page."""
    en, zh = world.ids["en"], world.ids["zh"]
    add_web_user(world.archive, "web-legal", WEB_PASSWORD, roles=("legal",))
    with TestClient(world.app, raise_server_exceptions=False) as web:
        web.cookies.set("archive_lang", "en")
        r = web.post("/login", data={"username": "web-legal", "password": WEB_PASSWORD})
        assert r.status_code == 200 and "Sign in" not in r.text, r.text[:300]

        def hits(q: str, **params: str) -> set[int]:
            page = web.get("/search", params={"q": q, **params})
            assert page.status_code == 200, page.text[:300]
            return {int(i) for i in re.findall(r'href="/contracts/(\d+)\?', page.text)}

        assert hits("clause:cap_on_liability") == {en}
        assert hits("-clause:cap_on_liability") == {zh}
        assert hits("clause:违约责任") == {zh}
        everything = web.get("/search", params={"q": ""}).text
        link = re.search(r'href="(/search\?[^"]*clause=cap_on_liability[^"]*)"', everything)
        assert link, "the clause facet offers Cap On Liability"
        assert "Cap On Liability" in everything or "Cap on liability" in everything
        faceted = web.get(html_lib.unescape(link.group(1)))
        assert {int(i) for i in re.findall(r'href="/contracts/(\d+)\?', faceted.text)} == {en}
        # the contract page lists the clause with a link to its page, which shows that page
        page = web.get(f"/contracts/{en}").text
        listed = re.search(
            r'class="suggestion clause clause-cap_on_liability".*?href="([^"]*page=(\d+)[^"]*)"',
            page,
            re.S,
        )
        assert listed, "the cap-on-liability clause links to its page"
        target = web.get(html_lib.unescape(listed.group(1)))
        assert target.status_code == 200
        assert f'aria-current="page">{listed.group(2)}<' in target.text or (
            f"Page {listed.group(2)} of" in target.text
        ), target.text[:500]


def test_a_rejected_clause_leaves_clause_search(world: World) -> None:
    en = world.ids["en"]
    with world.client("admin") as client:
        found = [c for c in clauses(client, en) if c["type"] == "non_transferable_license"]
        assert found and search_ids(client, "clause:non_transferable_license") == {en}
        for c in found:
            r = client.post(f"/api/v1/contracts/{en}/suggestions/{c['suggestion_id']}/reject")
            assert r.status_code == 200, r.text
        assert "non_transferable_license" not in {c["type"] for c in clauses(client, en)}
        assert search_ids(client, "clause:non_transferable_license") == set()
        # Confirming one keeps it, as confirmed; the term suggestions are untouched.
        kept = next(c for c in clauses(client, en) if c["type"] == "cap_on_liability")
        r = client.post(f"/api/v1/contracts/{en}/suggestions/{kept['suggestion_id']}/accept")
        assert r.status_code == 200, r.text
        assert "clause" not in r.json()["suggested"]
        states = {c["suggestion_id"]: c["state"] for c in clauses(client, en)}
        assert states[kept["suggestion_id"]] == "accepted"
        assert search_ids(client, "clause:cap_on_liability") == {en}


def test_a_chinese_contract_gets_its_breach_clause(world: World) -> None:
    with world.client("legal") as client:
        found = {c["type"]: c for c in clauses(client, world.ids["zh"])}
    assert "liability_for_breach" in found
    breach = found["liability_for_breach"]
    assert breach["label_zh"] == "违约责任" and "违约" in breach["sentence"]
    assert breach["page"] >= 1
    assert {"force_majeure", "dispute_resolution"} <= set(found)


def test_an_uncleared_caller_cannot_see_clauses_of_a_restricted_contract(world: World) -> None:
    """(Last of the module's API tests: it leaves the Chinese contract restricted.)"""
    zh = world.ids["zh"]
    root = ensure_user(world.archive, "root", ("admin",))
    world.access.update_contract(root, zh, {"classification": "LD"})
    world.access.set_restriction(root, "LD", ["hr"])
    with world.client("legal") as client:
        hidden = client.get(f"/api/v1/contracts/{zh}/clauses")
        absent = client.get("/api/v1/contracts/987654/clauses")
        assert hidden.status_code == absent.status_code == 404
        assert "违约" not in hidden.text
        assert zh not in search_ids(client, "clause:违约责任")
    with world.client("legal-hr") as client:
        found = clauses(client, zh)
        assert found and search_ids(client, "clause:违约责任") == {zh}
        # cleared for the class, but its text needs a purpose (借阅登记): without one, types,
        # pages and spans, no sentence
        assert all(c["sentence"] == "" and c["page"] for c in found), found
        # with one, the sentences, and the access log records why (as for the pages)
        why = "litigation case 2026-31"
        given = client.get(f"/api/v1/contracts/{zh}/clauses", params={"purpose": why})
        assert given.status_code == 200, given.text
        said = {c["type"]: c["sentence"] for c in given.json()["clauses"]}
        assert "违约" in said["liability_for_breach"], said
        terms = client.get(f"/api/v1/contracts/{zh}/terms", params={"purpose": why})
        assert terms.status_code == 200, terms.text
    for action in ("contract.clauses", "contract.terms.view"):
        logged = world.access.store.entries(LogFilter(contract_id=zh, action=action), limit=1000)
        assert [e.purpose for e in logged if e.actor == "legal-hr"][-1] == why, action


def test_clause_sentences_are_content_an_auditor_does_not_read(world: World) -> None:
    """The auditor sees which clauses a contract has, not their wording (no contracts:read)."""
    en = world.ids["en"]

    def evidence(client: TestClient) -> dict[int, str]:
        terms = client.get(f"/api/v1/contracts/{en}/terms")
        assert terms.status_code == 200, terms.text
        found = terms.json()["suggested"].values()
        return {s["id"]: s["evidence"]["text"] for f in found for s in f if s["evidence"]}

    with world.client("legal") as client:
        read = {c["suggestion_id"]: c for c in clauses(client, en)}
        read_evidence = evidence(client)
    with world.client("auditor") as client:
        seen = {c["suggestion_id"]: c for c in clauses(client, en)}
        seen_evidence = evidence(client)
    assert read and set(seen) == set(read)
    assert all(c["sentence"] for c in read.values())
    assert all(c["sentence"] == "" and c["type"] == read[i]["type"] for i, c in seen.items())
    assert any(read_evidence.values()) and set(seen_evidence) == set(read_evidence)
    assert set(seen_evidence.values()) == {""}


WEB_PASSWORD = "clause search on the web 17"
SHIPPED_HELD_OUT_MACRO_F1 = 0.83
"""What the shipped model must reach on the held-out split's contracts, which it has never
seen: it measures 0.8347, issue 17's goal being 0.80 (the model before, trained on them too,
measured 0.932 on them, 0.7941 when trained without them)."""


def test_the_shipped_model_is_small_and_finds_the_clauses_cuad_marks() -> None:
    """A guard on the shipped model (``python -m bench.clauses --write``): every CUAD clause
    type with its weights and a threshold chosen by cross-validation, about a megabyte, and, on
    the 84 contracts of the split's held-out side, the contract-level macro F1 it measured
    (README, Benchmarks, Clause detection). The shipped model is the one measured, trained on
    the other 332 contracts: this is its held-out figure, and the test fails when a model is
    written that does worse."""
    from bench.clauses import MIN_POSITIVE_CONTRACTS, evaluate, load_contracts, split
    from core.clauses import CUAD_TYPES
    from ingest.extraction.clauses import MODEL_PATH, load_model

    assert MODEL_PATH.stat().st_size < 1_500_000
    model = load_model()
    types = model["types"]
    assert set(types) == {t.slug for t in CUAD_TYPES}
    assert all(0 < m["threshold"] < 1 and 100 <= len(m["weights"]) <= 1500 for m in types.values())
    contracts = load_contracts(CORPUS / "en-cuad" / "master_clauses.csv")
    _, held_out = split(contracts)
    assert len(held_out) == 84
    rows = evaluate(dict(model), contracts, held_out)
    strong = [f1 for _, n, _, _, f1 in rows if n >= MIN_POSITIVE_CONTRACTS]
    assert len(strong) == 25
    assert sum(strong) / len(strong) >= SHIPPED_HELD_OUT_MACRO_F1


SHIPPED_FULL_TEXT_PRECISION = 0.75
"""The shipped model measures 0.79 there (41 right, 11 wrong, 9 missed); the one before it
0.75 (47 right, 16 wrong, 3 missed, having been trained on these contracts' clause texts; 0.75,
40 right, 13 wrong, 10 missed, trained without them), the one before that 0.62 (49 right, 30
wrong), the one before the full-text calibration 0.51 (50 right, 49 wrong)."""
SHIPPED_FULL_TEXT_RECALL = 0.80
"""It measures 0.82 (the model before: 0.80 on contracts it had not seen)."""


def test_the_shipped_model_is_precise_on_whole_contracts_it_never_read() -> None:
    """Every sentence of the corpus's full texts of the six held-out contracts scored, as
    ingest scores a contract (``find_clauses_en``): the clause types found must be mostly
    those CUAD's lawyers marked in the contract (precision), and most of those found
    (recall). The shipped model was trained on neither these contracts' labelled clause texts
    nor their full texts (``bench.clauses --write`` leaves them out): the contracts and their
    boilerplate (definitions, notices, signature blocks) are new to it, as a user's are."""
    from bench.clauses import full_text_counts, full_text_path, load_contracts, micro, split
    from ingest.extraction.clauses import load_model

    contracts = load_contracts(CORPUS / "en-cuad" / "master_clauses.csv")
    _, held_out = split(contracts)
    whole = [n for n in held_out if full_text_path(n) is not None]
    assert len(whole) == 6
    counts = full_text_counts(load_model(), contracts, whole)
    precision, recall, right, wrong, missed = micro(counts)
    said = f"{right} found right, {wrong} wrongly, {missed} missed"
    assert precision >= SHIPPED_FULL_TEXT_PRECISION, said
    assert recall >= SHIPPED_FULL_TEXT_RECALL, said


def test_the_command_line_lists_clauses(tmp_path: Path) -> None:
    data = tmp_path / "var"
    ingested = run(data, "ingest", str(CAR), "--json")
    assert ingested.returncode == 0, ingested.stderr
    cid = json.loads(ingested.stdout)["id"]
    listed = run(data, "contract", "clauses", str(cid), "--json")
    assert listed.returncode == 0, listed.stderr
    types = {c["type"] for c in json.loads(listed.stdout)}
    assert "liability_for_breach" in types
    text = invoke(data, "contract", "clauses", str(cid))
    assert text.returncode == 0 and "违约责任" in text.stdout
    found = run(data, "search", "clause:违约责任", "--json")
    assert found.returncode == 0, found.stderr
    assert cid in {h["id"] for h in json.loads(found.stdout)["hits"]}
    # A user outside the restricted class's group gets what a missing contract gets.
    assert (
        invoke(data, "users", "create", "clerk", "--role", "legal", "--no-password").returncode == 0
    )
    assert invoke(data, "contract", "set", str(cid), "classification=LD").returncode == 0
    assert invoke(data, "restrictions", "set", "LD", "--group", "hr").returncode == 0
    refused = run(data, "contract", "clauses", str(cid), env={"ARCHIVE_USER": "clerk"})
    missing = invoke(data, "contract", "clauses", "987654", env={"ARCHIVE_USER": "clerk"})
    assert refused.returncode == missing.returncode != 0
    assert "违约" not in refused.stdout + refused.stderr and "Traceback" not in refused.stderr
    # The same error as for a contract that does not exist, the id aside (the warnings before
    # it name the data folder, whose path has digits of its own).
    said, said_missing = (
        re.sub(rf"\b{ref}\b", "N", r.stderr.strip().splitlines()[-1])
        for r, ref in ((refused, cid), (missing, 987654))
    )
    assert "does not exist" in said and said == said_missing
