"""The contract table (issue 15) over HTTP, signed in through the log-in form: sorting and
filtering on the columns, pages of a thousand contracts with their total, a restricted class
neither listed nor counted (page, API, export), bulk actions through the single-contract actions
(manifest versions, history) and their refusal for a role without the right, saved views per
user, and the whole view exported as CSV (UTF-8 with a BOM) and XLSX read back. The browser
path is ``test_web_table_browser.py``."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook

from search_api.app import create_app
from search_api.web.i18n import translate
from services.access.credentials import hash_password
from services.access.service import AccessControl
from services.archive import Archive
from services.facade import Runtime
from storage.records.base import NewContract, PageRecord
from storage.records.listing_base import ColumnFilter, ContractFilter, ContractSort
from storage.records.sql import SqlRecordStore
from tests.access_helpers import auth_headers, ensure_user
from tests.conftest import corpus_files, make_settings

PASSWORD = "contract table passphrase 15"
HTML = {"Accept": "text/html"}
SEEDED = 1040
"""Record-only contracts seeded besides the real ones: pages of thousands."""
HIDDEN_CODE = "LD"
GROUP = "vault"


@dataclass
class World:
    archive: Archive
    real: list[int]
    """Ingested contracts (sealed, with their files)."""
    hidden: int
    """How many contracts are of the restricted class."""
    visible: int
    """How many contracts the clerk may see."""
    secret_title: str


def _seed(archive: Archive, n: int, classification: str | None) -> int:
    record = archive.records.add_contract(
        NewContract(
            sha256=f"{n:064x}",
            size=100 + n,
            content_type="application/pdf",
            filename=f"seed-{n}.pdf",
            title=("机密合同" if classification == HIDDEN_CODE else "批量合同") + f" {n:04d}",
            customer="甲公司" if n % 2 else "乙公司",
            page_count=1,
            ingested_by="local:test",
            original_key=f"packages/00/{n:064x}/original",
            text_key=f"packages/00/{n:064x}/text.v1.json",
            text_sha256="0" * 64,
            pages=[PageRecord(page_no=1, text_source="text-layer", chars=10, needs_ocr=False)],
            classification=classification,
        )
    )
    return record.id


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    settings = make_settings(tmp_path_factory.mktemp("table") / "var", fonds_code="A01")
    with Archive(settings, parser_workers=1).open() as archive:
        access = AccessControl.for_archive(archive)
        root = ensure_user(archive, "root", ("admin",), groups=(GROUP,))
        for name, role in (("clerk", "archivist"), ("lawyer", "legal")):
            ensure_user(archive, name, (role,))
            access.store.update_user(name, {"password_hash": hash_password(PASSWORD)})
        real = [archive.ingest_path(p).id for p in corpus_files("zh", ".pdf")[:3]]
        assert all(real)
        hidden = 0
        for n in range(1, SEEDED + 1):
            code = HIDDEN_CODE if n % 10 == 0 else ("XS" if n % 3 == 0 else None)
            cid = _seed(archive, n, code)
            hidden += code == HIDDEN_CODE
            if n <= 12:  # a few with terms, for sorting and filters on dates and amounts
                archive.records.update_terms(
                    cid,
                    {
                        "sign_date": date(2024, 1, n),
                        "expiry_date": date(2030, n, 1),
                        "amount": Decimal(1000 * n),
                        "currency": "CNY",
                    },
                    actor="tests",
                )
        access.set_restriction(root, HIDDEN_CODE, [GROUP])
        Runtime(archive).facade(root).customers.create("丙公司")
        yield World(archive, [int(i) for i in real], hidden, SEEDED + 3 - hidden, "机密合同 0010")


def signed_in(archive: Archive, username: str, lang: str = "en") -> TestClient:
    client = TestClient(create_app(archive), raise_server_exceptions=False, headers=HTML)
    r = client.post(
        "/login",
        data={"username": username, "password": PASSWORD, "next": "/contracts"},
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text[:300]
    client.cookies.set("archive_lang", lang)
    return client


def rows(html: str) -> list[int]:
    return [int(i) for i in re.findall(r'<tr data-id="(\d+)"', html)]


def total(html: str) -> int:
    found = re.search(r'<p id="table-total">([\d,]+) contracts?\b', html)
    assert found, html[:3000]
    return int(found.group(1).replace(",", ""))


def csrf(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found
    return found.group(1)


def test_pages_of_thousands_count_only_what_the_user_may_see(world: World) -> None:
    with signed_in(world.archive, "clerk") as c:
        first = c.get("/contracts?size=500")
        assert first.status_code == 200
        assert total(first.text) == world.visible
        seen: list[int] = []
        for page in (1, 2, 3, 4, 5):
            r = c.get(f"/contracts?size=200&page={page}")
            seen += rows(r.text)
            assert world.secret_title not in r.text and "机密合同" not in r.text
        assert len(seen) == world.visible == len(set(seen))
        assert seen == sorted(seen)  # id order by default
        assert "Page 5 of 5" in c.get("/contracts?size=200&page=5").text
        assert not rows(c.get("/contracts?size=200&page=6").text)
        # the restricted class is neither found nor counted, whatever the filter
        r = c.get(f"/contracts?classification={HIDDEN_CODE}")
        assert total(r.text) == 0 and not rows(r.text)
        r = c.get("/contracts?title=机密")
        assert total(r.text) == 0
    root = auth_headers(world.archive, "admin", username="root", groups=(GROUP,))
    with TestClient(create_app(world.archive)) as api:
        r = api.get(f"/api/v1/contracts?classification={HIDDEN_CODE}&limit=1", headers=root)
        assert r.json()["total"] == world.hidden


def test_sort_and_filter_each_column_in_sql(world: World) -> None:
    with signed_in(world.archive, "clerk") as c:
        r = c.get("/contracts?sort=-title&size=25")
        titles = re.findall(r'<a href="/contracts/\d+">([^<]+)</a>', r.text)
        assert titles == sorted(titles, reverse=True) and len(titles) == 25
        assert 'aria-sort="descending"' in r.text
        r = c.get("/contracts?sort=amount&size=25")
        amounts = rows(r.text)[:9]  # 12 seeded with amounts, #10 hidden: 11 shown, smallest first
        assert len(amounts) == 9 and amounts == sorted(amounts)
        r = c.get("/contracts?sort=-expiry_date&size=25")
        first = rows(r.text)[0]
        assert world.archive.records.get_terms(first).expiry_date == date(2030, 12, 1)
        r = c.get("/contracts?title=0007")
        assert total(r.text) == 1
        r = c.get("/contracts?customer=乙公司&classification=XS")
        n = total(r.text)
        expected = sum(1 for k in range(1, SEEDED + 1) if k % 2 == 0 and k % 3 == 0 and k % 10)
        assert n == expected
        r = c.get("/contracts?amount_min=3000&amount_max=5000&currency=CNY")
        assert total(r.text) == 3
        assert '<option value="CNY" selected>' in r.text  # the currency stays chosen
        r = c.get("/contracts?amount_min=3000&amount_max=5000&currency=usd")
        assert r.status_code == 200 and total(r.text) == 0  # CNY amounts are not USD ones
        r = c.get("/contracts?currency=CNY")  # alone: the contracts whose amount is in CNY
        assert total(r.text) == 11
        # a bound without its currency is refused at the field, not compared across currencies
        r = c.get("/contracts?amount_min=3000")
        assert r.status_code == 400
        assert "Amount min: an amount is compared in one currency: choose the currency" in r.text
        r = c.get("/contracts?currency=XYZ")
        assert r.status_code == 400 and "Currency: unknown &#39;XYZ&#39;" in r.text
        r = c.get("/contracts?amount_max=5000&lang=zh")
        assert r.status_code == 400 and "金额 最大：金额只在同一币种内比较：请选择币种" in r.text
        r = c.get("/contracts?lang=en")
        r = c.get("/contracts?signed_from=2024-01-05&signed_to=2024-01-08")
        assert total(r.text) == 4
        r = c.get("/contracts?expires_to=2030-02-28")
        assert total(r.text) == 2
        r = c.get("/contracts?classification=-&status=signed")
        assert total(r.text) > 0
        r = c.get("/contracts?verification=sealed")
        assert set(rows(r.text)) <= set(world.real) and total(r.text) >= 1
        r = c.get("/contracts?verification=unsealed&size=500")
        assert not set(rows(r.text)) & set(world.real)
        r = c.get("/contracts?signed_from=yesterday")
        assert r.status_code == 400 and "not a date" in r.text
        # the refused filter is named as the page shows it, not by its query parameter
        assert "Signed from: not a date" in r.text and "signed_from:" not in r.text
        r = c.get("/contracts?sort=secret")
        assert r.status_code == 400 and "unknown column" in r.text
        r = c.get("/contracts?signed_from=yesterday&lang=zh")  # Chinese from here on
        assert r.status_code == 400 and "签订日期 起：不是日期" in r.text
        r = c.get("/contracts?filed=maybe")
        assert r.status_code == 400 and "是否已归档：请填“是”或“否”" in r.text
    headers = auth_headers(world.archive, "archivist", username="clerk")
    with TestClient(create_app(world.archive)) as api:
        r = api.get("/api/v1/contracts?amount_min=1", headers=headers)
        assert r.status_code == 400 and "choose the currency" in r.json()["error"]["message"]
        r = api.get("/api/v1/contracts?amount_min=1&currency=USD", headers=headers)
        assert r.status_code == 200 and r.json()["total"] == 0
        r = api.get(
            "/api/v1/contracts?sort=-amount&limit=3&amount_min=1&currency=CNY", headers=headers
        )
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["total"] == 11
        got = [Decimal(str(i["terms"]["amount"])) for i in body["items"]]
        assert got == [Decimal(12000), Decimal(11000), Decimal(9000)]
        assert all(i["terms"]["verification"] == "unsealed" for i in body["items"])
        r = api.get("/api/v1/contracts?sort=nope", headers=headers)
        assert r.status_code == 400 and r.json()["error"]["code"] == "invalid_request"


def test_bulk_actions_go_through_each_contract_and_refuse_without_rights(world: World) -> None:
    a, b, _ = world.real
    records = world.archive.records
    before = {cid: len(records.manifests(cid)) for cid in (a, b)}
    current = {world.archive.get(cid).classification for cid in (a, b)}
    code = next(
        c.code
        for c in records.current_scheme().codes
        if c.code not in current | {HIDDEN_CODE, "XS"}
    )
    with signed_in(world.archive, "lawyer") as c:
        page = c.get("/contracts")
        assert 'id="bulk"' not in page.text  # nothing offered
        r = c.post(
            "/contracts/bulk",
            data={
                "csrf_token": csrf(page.text),
                "action": "classify",
                "value": "XS",
                "ids": [a, b],
            },
        )
        assert r.status_code == 200
        assert "classify: 0 done, 2 failed." in r.text.replace("Classify", "classify")
        assert "contracts:edit" in r.text
    assert {cid: len(records.manifests(cid)) for cid in (a, b)} == before
    secret = records.query_contracts(ContractFilter(classifications=(HIDDEN_CODE,)), limit=1)[1][
        0
    ].id
    with signed_in(world.archive, "clerk", "zh") as c:
        token = csrf(c.get("/contracts").text)
        r = c.post(
            "/contracts/bulk",
            data={"csrf_token": token, "action": "classify", "value": code, "ids": [a, b, secret]},
        )
        assert r.status_code == 200
        assert "分类：成功 2 份，失败 1 份。" in r.text
        assert f"合同 {secret}: 合同 {secret} 不存在" in r.text  # as a missing one
        assert world.archive.get(a).classification == code
        after = {cid: len(records.manifests(cid)) for cid in (a, b)}
        assert after == {cid: before[cid] + 1 for cid in (a, b)}, before  # one version each
        r = c.post("/contracts/bulk", data={"csrf_token": token, "action": "file", "ids": [a, b]})
        assert "成功 2 份" in r.text
        codes = {records.get_terms(cid).archival_code for cid in (a, b)}
        assert all(code and code.startswith("A01-HT") for code in codes) and len(codes) == 2
        r = c.get("/contracts?filed=yes")
        assert set(rows(r.text)) == {a, b}
        r = c.post("/contracts/bulk", data={"csrf_token": token, "action": "hold", "ids": [a]})
        assert r.status_code == 400 and "冻结：请填写冻结原因" in r.text
        r = c.post(
            "/contracts/bulk",
            data={"csrf_token": token, "action": "hold", "reason": "诉讼", "ids": [a]},
        )
        assert "成功 1 份" in r.text and records.list_holds(a)
        r = c.post(
            "/contracts/bulk",
            data={"csrf_token": token, "action": "customer", "value": "没有的公司", "ids": [a]},
        )
        assert r.status_code == 400 and "没有客户" in r.text
        r = c.post(
            "/contracts/bulk",
            data={"csrf_token": token, "action": "customer", "value": "丙公司", "ids": [a, b]},
        )
        assert "成功 2 份" in r.text
        assert {world.archive.get(cid).customer for cid in (a, b)} == {"丙公司"}
        r = c.get("/contracts?customer=丙")
        assert set(rows(r.text)) == {a, b}
        r = c.post("/contracts/bulk", data={"action": "hold", "reason": "x", "ids": [a]})
        assert r.status_code == 403  # no CSRF token


def test_bulk_actions_over_the_api_with_a_token(world: World) -> None:
    """``POST /api/v1/contracts/bulk``: the web's bulk actions through the same facade action,
    each contract's outcome reported, a hidden contract refused exactly as a missing one, and
    each contract's action logged as the single action is."""
    cid = world.real[2]
    records = world.archive.records
    access = AccessControl.for_archive(world.archive)
    secret = records.query_contracts(ContractFilter(classifications=(HIDDEN_CODE,)), limit=1)[1][
        0
    ].id
    missing = 987_654
    code = next(
        c.code
        for c in records.current_scheme().codes
        if c.code not in {world.archive.get(cid).classification, HIDDEN_CODE, "XS"}
    )
    versions = len(records.manifests(cid))
    clerk = auth_headers(world.archive, "archivist", username="clerk")
    lawyer = auth_headers(world.archive, "legal", username="lawyer")
    with TestClient(create_app(world.archive), raise_server_exceptions=False) as api:
        mark = access.store.head().seq
        body = {"action": "classify", "value": code, "ids": [cid, secret, missing]}
        r = api.post("/api/v1/contracts/bulk", json=body, headers=clerk)
        assert r.status_code == 200, r.text
        out = r.json()
        assert (out["action"], out["done"], out["failed"]) == ("classify", 1, 2)
        ok, hidden, gone = out["rows"]
        assert ok == {"id": cid, "ok": True, "code": None, "message": None}
        assert world.archive.get(cid).classification == code
        assert len(records.manifests(cid)) == versions + 1
        # the hidden contract's row is the missing one's, its id put in
        assert hidden["code"] == gone["code"] == "not_found"
        assert hidden == {
            **gone,
            "id": secret,
            "message": gone["message"].replace(str(missing), str(secret)),
        }
        # logged as the single action is: one entry per contract, under the caller's token
        logged = [
            (e.action, e.contract_id, e.outcome, e.via.split(":")[0])
            for e in access.store.entries(after=mark, limit=100)
            if e.actor == "clerk"
        ]
        single = api.patch(
            f"/api/v1/contracts/{cid}/terms",
            json={"classification": code, "reason": "again"},
            headers=clerk,
        )
        assert single.status_code == 200, single.text
        action = access.store.entries(descending=True, limit=1)[0].action
        assert [(a, c, o) for a, c, o, _ in logged] == [
            (action, cid, "ok"),
            (action, secret, "denied"),  # read back as not_found by who is not cleared
            (action, missing, "not_found"),
        ], logged
        assert {via for *_, via in logged} == {"token"}
        # a hold with its reason; a hold without one is refused before any contract is touched
        r = api.post(
            "/api/v1/contracts/bulk",
            json={"action": "hold", "ids": [cid], "reason": "API hold"},
            headers=clerk,
        )
        assert r.json()["done"] == 1 and records.list_holds(cid)
        r = api.post("/api/v1/contracts/bulk", json={"action": "hold", "ids": [cid]}, headers=clerk)
        assert r.status_code == 400 and "reason" in r.json()["error"]["message"]
        r = api.post("/api/v1/contracts/bulk", json={"action": "burn", "ids": [cid]}, headers=clerk)
        assert r.status_code == 400 and r.json()["error"]["code"] == "invalid_request"
        r = api.post("/api/v1/contracts/bulk", json={"action": "file", "ids": []}, headers=clerk)
        assert r.status_code == 422 and set(r.json()) == {"error"}
        # a role without the right: every row refused with the reason, nothing changed
        before = len(records.manifests(cid))
        r = api.post(
            "/api/v1/contracts/bulk",
            json={"action": "customer", "value": "丙公司", "ids": [cid]},
            headers=lawyer,
        )
        assert r.status_code == 200
        row = r.json()["rows"][0]
        assert not row["ok"] and row["code"] == "forbidden" and "contracts:edit" in row["message"]
        assert len(records.manifests(cid)) == before
        assert api.post("/api/v1/contracts/bulk", json=body).status_code == 401


def test_saved_views_belong_to_their_user(world: World) -> None:
    with signed_in(world.archive, "clerk") as c:
        token = csrf(c.get("/contracts").text)
        r = c.post(
            "/contracts/views",
            data={"csrf_token": token, "name": "乙公司 XS", "back": "customer=乙公司&sort=-title"},
            follow_redirects=False,
        )
        assert r.status_code == 303
        page = c.get(r.headers["location"])
        assert "The view is saved." in page.text and "乙公司 XS" in page.text
        assert 'aria-sort="descending"' in page.text
        view_id = int(re.findall(r'name="view_id" value="(\d+)"', page.text)[0])
        bad = c.post("/contracts/views", data={"csrf_token": token, "name": " ", "back": ""})
        assert bad.status_code == 400
    with signed_in(world.archive, "lawyer") as c:
        page = c.get("/contracts")
        assert "乙公司 XS" not in page.text and "No saved views yet." in page.text
        r = c.post(
            "/contracts/views/delete", data={"csrf_token": csrf(page.text), "view_id": view_id}
        )
        assert r.status_code == 404
    with signed_in(world.archive, "clerk") as c:
        page = c.get("/contracts")
        assert "乙公司 XS" in page.text
        r = c.post(
            "/contracts/views/delete",
            data={"csrf_token": csrf(page.text), "view_id": view_id},
            follow_redirects=False,
        )
        assert r.status_code == 303
        assert "乙公司 XS" not in c.get("/contracts").text


def test_export_writes_every_row_of_the_view(world: World) -> None:
    with signed_in(world.archive, "clerk", "zh") as c:
        r = c.get("/contracts.csv?size=25")
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
        assert r.content.startswith(b"\xef\xbb\xbf")
        table = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))
        assert table[0][:3] == ["ID", "标题", "客户"] and "档号" in table[0]
        assert len(table) - 1 == world.visible  # all rows, not the page
        assert not any("机密合同" in cell for line in table for cell in line)
        r = c.get("/contracts.xlsx?title=批量&sort=-amount")
        assert r.status_code == 200
        book = load_workbook(io.BytesIO(r.content), read_only=True)
        sheet = book.worksheets[0]
        values = list(sheet.iter_rows(values_only=True))
        assert values[0][0] == "ID"
        assert len(values) - 1 == SEEDED - world.hidden
        assert values[1][1] == "批量合同 0012" and Decimal(str(values[1][8])) == 12000


def test_amounts_of_different_currencies_are_never_added(world: World) -> None:
    """What is owed, on the table, the customer card, the customers' list and the export, is
    shown per currency ("CNY 60.00 · USD 1,000.00"), formatted for the page's language; the
    separator was a "+", which reads as a sum."""
    cid = world.real[2]
    root = Runtime(world.archive).facade(
        ensure_user(world.archive, "root", ("admin",), groups=(GROUP,))
    )
    customer = root.customers.create("丁公司")
    root.terms.update(cid, {"customer": "丁公司"}, reason="test")
    for amount, currency in (("60", "CNY"), ("1000", "USD"), ("0.5", "USD")):
        root.payments.add(cid, date(2030, 1, 1), Decimal(amount), currency)
    shown = {"en": "CNY 60.00 · USD 1,000.50", "zh": "60.00 元 · 1,000.50 美元"}
    for lang, text in shown.items():
        with signed_in(world.archive, "clerk", lang) as c:
            r = c.get("/contracts?outstanding=yes&customer=丁公司")
            assert rows(r.text) == [cid]
            assert text in r.text and "1,060" not in r.text and " + " not in r.text
            card = c.get(f"/customers/{customer.id}")
            assert card.status_code == 200
            assert card.text.count(text) == 2, card.text  # the totals and the contract's row
            listed = c.get("/customers")
            assert text in listed.text
            export = c.get("/contracts.csv?customer=丁公司")
            table = list(csv.reader(io.StringIO(export.content.decode("utf-8-sig"))))
            assert table[1][table[0].index(translate(lang, "customer.outstanding"))] == text  # type: ignore[arg-type]


# --- the SQL itself, on SQLite and on PostgreSQL ------------------------------------------------


def _listed(store: SqlRecordStore, **kw: object) -> tuple[int, list[int]]:
    sort = kw.pop("sort", None)
    cols = ColumnFilter(**kw)  # type: ignore[arg-type]
    key = str(sort or "id")
    flt = ContractFilter(
        hidden_classifications=(HIDDEN_CODE,),
        columns=cols,
        sort=ContractSort(key.lstrip("-"), key.startswith("-")),
    )
    n, found = store.query_contracts(flt, limit=100)
    return n, [r.id for r in found]


def test_sorts_filters_and_views_in_both_databases(store: SqlRecordStore) -> None:
    ids = []
    for n in range(1, 9):
        code = HIDDEN_CODE if n == 8 else ("XS" if n % 2 else None)
        ids.append(_seed_store(store, n, code))
    for n, cid in enumerate(ids[:5], start=1):
        store.update_terms(
            cid,
            {"amount": Decimal(100 * (6 - n)), "currency": "CNY", "sign_date": date(2024, n, 1)},
            actor="t",
        )
    store.update_terms(ids[5], {"amount": Decimal(50), "currency": "USD"}, actor="t")
    store.update_terms(ids[0], {"archival_code": "A01-HT·2024-D10-XS-0001"}, actor="t")
    store.add_payment(
        ids[2], due_date=date(2030, 1, 1), amount=Decimal(50), currency="CNY", actor="t"
    )
    store.add_payment(
        ids[3], due_date=date(2030, 1, 1), amount=Decimal(70), currency="CNY", actor="t"
    )
    # owed in two currencies: CNY 60 and USD 1,000 are never added (1,060 of nothing)
    for amount, currency in ((Decimal(60), "CNY"), (Decimal(1000), "USD")):
        store.add_payment(
            ids[1], due_date=date(2030, 1, 1), amount=amount, currency=currency, actor="t"
        )
    store.add_payment(
        ids[6], due_date=date(2030, 1, 1), amount=Decimal(5), currency="USD", actor="t"
    )
    store.raise_alert(ids[4], file="original", expected_sha256=None, problem="x", detected_by="t")
    assert _listed(store)[0] == 7  # the hidden one neither listed nor counted
    # amounts are compared within their currency (CNY before USD), empty values last either way
    assert _listed(store, sort="amount")[1][:6] == [ids[4], ids[3], ids[2], ids[1], ids[0], ids[5]]
    assert _listed(store, sort="-amount")[1][:6] == [*ids[:5], ids[5]]
    # what is owed goes by the first currency owed, then the amount in it; nothing owed last
    owed = [ids[3], ids[1], ids[2], ids[6]]  # CNY 70, CNY 60 (and USD 1,000), CNY 50, USD 5
    assert _listed(store, sort="-outstanding")[1][:4] == owed
    assert _listed(store, sort="outstanding")[1][:4] == [ids[2], ids[1], ids[3], ids[6]]
    line = next(r for r in store.query_contracts(ContractFilter(contract_ids=(ids[1],)))[1])
    assert [(m.currency, m.amount) for m in line.outstanding] == [
        ("CNY", Decimal(60)),
        ("USD", Decimal(1000)),
    ]
    assert _listed(store, sort="verification")[1][0] == ids[4]  # alert first
    assert _listed(store, sort="-title")[1][0] == ids[6]
    assert _listed(store, title="合同 0003")[1] == [ids[2]]
    assert _listed(store, title="%")[0] == 0  # a wildcard is a character
    assert _listed(store, customer="乙")[0] == 3
    assert _listed(store, archival_code="XS-0001")[1] == [ids[0]]
    assert _listed(store, filed=False)[0] == 6
    assert _listed(store, amount_min=Decimal(200), amount_max=Decimal(400), currency="CNY")[0] == 3
    # a bound is in one currency: USD 50 is not "between 40 and 60" in CNY, nor CNY 100 in USD
    assert _listed(store, amount_min=Decimal(40), amount_max=Decimal(100), currency="CNY")[1] == [
        ids[4]
    ]
    assert _listed(store, amount_min=Decimal(40), amount_max=Decimal(100), currency="USD")[1] == [
        ids[5]
    ]
    assert _listed(store, currency="USD")[1] == [ids[5]]
    assert _listed(store, signed_from=date(2024, 2, 1), signed_to=date(2024, 3, 31))[0] == 2
    assert _listed(store, outstanding=True)[1] == [ids[1], ids[2], ids[3], ids[6]]
    assert _listed(store, verification=("alert",))[1] == [ids[4]]
    assert _listed(store, verification=("unsealed",))[0] == 6
    assert _listed(store, unclassified=True)[0] == 3
    first = store.save_view("clerk", "到期", "sort=-expiry_date")
    store.save_view("clerk", "到期", "sort=expiry_date")  # the same name replaces
    store.save_view("lawyer", "到期", "title=x")
    assert [(v.name, v.query) for v in store.list_views("clerk")] == [("到期", "sort=expiry_date")]
    assert not store.delete_view("lawyer", first.id)
    assert store.delete_view("clerk", first.id) and not store.list_views("clerk")


def _seed_store(store: SqlRecordStore, n: int, classification: str | None) -> int:
    return store.add_contract(
        NewContract(
            sha256=f"{n:064x}",
            size=100 + n,
            content_type="application/pdf",
            filename=f"seed-{n}.pdf",
            title=f"合同 {n:04d}",
            customer="甲公司" if n % 2 else "乙公司",
            page_count=1,
            ingested_by="local:test",
            original_key=f"packages/00/{n:064x}/original",
            text_key=f"packages/00/{n:064x}/text.v1.json",
            text_sha256="0" * 64,
            pages=[PageRecord(page_no=1, text_source="text-layer", chars=10, needs_ocr=False)],
            classification=classification,
        )
    ).id
