"""Both languages, completely (issue 15): every page rendered in Chinese and in English, checked
for strings of the other language.

* a Chinese page may show English only where it is data (a contract's title, file name,
  customer, a user name, a hash), code (``<code>``), or marked ``lang="en"``; any other run of
  Latin letters fails, except a short list of names that are the same in both (PDF, OCR, ...);
* an English page shows no Chinese outside data, and no raw codes (``in_approval``,
  ``contracts:read``, ``PASSED``);
* amounts and dates are written for the language: ``CNY 2,500,000.00`` / ``2,500,000.00 元``.
"""

from __future__ import annotations

import html as html_lib
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from urllib.parse import parse_qs, urlsplit

import pytest
from fastapi.testclient import TestClient

from ingest.batches import separator_sheet
from search_api.app import create_app
from search_api.web.i18n import CATALOGS, localize, translate
from services.access.credentials import hash_password
from services.access.service import AccessControl
from services.archive import Archive
from services.facade import Runtime
from storage.index.query import KNOWN_FIELDS
from storage.records.access_base import NewUser
from tests.access_helpers import ensure_user
from tests.conftest import corpus_files, make_settings
from tests.test_intake_batches import image_pdf, raster

ZH_PDF = next(p for p in corpus_files("zh", ".pdf") if "新疆" in p.name)
EN_PDF = next(p for p in corpus_files("en-cuad", ".pdf") if "JOINT FILING" in p.name)
PASSWORD = "a long enough passphrase 15"
SAME_IN_BOTH = {
    "PDF", "PNG", "JPEG", "TIFF", "OCR", "SHA", "API", "UTC", "CNY", "USD", "ZIP", "CSV", "JSON", "Lines", "SM3",
    # file formats, named alike in both (the upload page)
    "DOC", "DOCX", "XLSX", "ODT", "ODS", "OFD", "Office", "eml",
    "English", "XS", "LD", "CG", "ZL", "FW", "BM", "Excel",
    # the query language's words, the same in both (search help, placeholders)
    # programs named alike in both (the evidence package is checked with OpenSSL)
    "OpenSSL",
    "HTTP", "JavaScript", "SHA-", "customer", "title", "sha", "classification", "status", "year", "sha256", "archived", "Acme",
}  # fmt: skip
LATIN_WORD = re.compile(r"[A-Za-z][A-Za-z'-]{2,}")
CJK = re.compile(r"[\u4e00-\u9fff]")
UNTRANSLATED = re.compile(r'<span lang="en">(.*?)</span>', re.S)
"""What :func:`search_api.web.i18n.localize_html` shows for a message it cannot translate."""
RAW_CODE = re.compile(
    r"\b(?:[a-z]+_[a-z_]+|contracts:[a-z]+|audit:[a-z]+|PASSED|FAILED|INDETERMINATE)\b"
)


@dataclass
class World:
    archive: Archive
    zh: int
    en: int
    data: list[str]
    staged: str = ""
    """The token of a batch scan waiting for its preview to be committed (the staged page)."""


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    settings = make_settings(tmp_path_factory.mktemp("web-i18n") / "var")
    with Archive(settings, parser_workers=1).open() as archive:
        ids = []
        for path, customer in ((ZH_PDF, "新疆汽车贸易公司"), (EN_PDF, "Atentosa Holdings")):
            result = archive.ingest_path(path, display_name=path.name, customer=customer)
            assert result.id
            ids.append(result.id)
        today = date.today()
        archive.contracts.confirm(
            ids[0],
            {
                "amount": Decimal("2500000.00"),
                "currency": "CNY",
                "sign_date": today - timedelta(days=30),
                "expiry_date": today + timedelta(days=60),
            },
            actor="tests",
        )
        archive.contracts.add_payment(
            ids[0],
            actor="tests",
            due_date=today - timedelta(days=3),
            amount=Decimal("1250000.00"),
            currency="CNY",
            direction="receivable",
        )
        AccessControl.for_archive(archive).store.add_user(
            NewUser(
                username="boss",
                roles=("admin",),
                password_hash=hash_password(PASSWORD),
                created_by="tests",
            )
        )
        data = [
            *(archive.get(i).title for i in ids),
            *(archive.get(i).filename for i in ids),
            *(archive.get(i).sha256 for i in ids),
            "Atentosa Holdings",
            "新疆汽车贸易公司",
            "boss",
            "tests",
            "system:extraction",
            *(
                s.display
                for i in ids
                for items in archive.contracts.view(i).suggested.values()
                for s in items
            ),
        ]
        # a batch scan staged for its preview: a separator sheet and two pages of a contract
        boss = ensure_user(archive, "boss", ("admin",))
        batch = image_pdf(
            [
                raster(separator_sheet("新疆汽车贸易公司", "XS"), 0, 1),
                raster(ZH_PDF, 0, 2),
                raster(ZH_PDF, 1, 3),
            ]
        )
        staged = (
            Runtime(archive).facade(boss).batches.stage(io.BytesIO(batch), filename="box-1.pdf")
        )
        yield World(archive, ids[0], ids[1], [*data, "box-1.pdf"], staged.token)


def client_for(world: World, lang: str) -> TestClient:
    client = TestClient(
        create_app(world.archive), raise_server_exceptions=False, headers={"Accept": "text/html"}
    )
    client.cookies.set("archive_lang", lang)
    r = client.post(
        "/login", data={"username": "boss", "password": PASSWORD}, follow_redirects=False
    )
    assert r.status_code == 303
    return client


def visible_text(html: str, world: World, query: str = "") -> str:
    """The words a reader sees (and hears: aria-labels, alt texts, titles, placeholders),
    without code, data and what is marked as another language."""
    body = html.split("<body>", 1)[1] if "<body>" in html else html
    body = re.sub(r"<(script|style|code)[^>]*>.*?</\1>", " ", body, flags=re.S)
    body = re.sub(
        r'<(\w+)[^>]*\b(?:lang="[^"]*"|translate="no")[^>]*>.*?</\1>', " ", body, flags=re.S
    )
    said = re.findall(r'(?:aria-label|alt|title|placeholder)="([^"]*)"', body)
    text = " ".join([re.sub(r"<[^>]+>", " ", body), *said])
    text = html_lib.unescape(text)
    for value in sorted(world.data, key=len, reverse=True):
        text = text.replace(value, " ")
    if query:
        text = text.replace(query, " ")  # the query, echoed
    text = re.sub(r"\b\w+(?:\.\w*)+", " ", text)  # dotted names: actions, files, hosts
    return " ".join(text.split())


def pages(world: World) -> list[tuple[str, int]]:
    zh, en = world.zh, world.en
    return [
        ("/", 200),
        ("/search", 200),
        ("/search?q=合同", 200),
        ("/search?q=agreement&sort=newest", 200),
        ("/search?q=zzzqqq", 200),
        ('/search?q="unclosed', 400),
        ("/search?q=foo:bar", 400),
        ("/search?q=(a OR", 400),
        ("/upload", 200),
        ("/batches", 200),
        ("/customers", 200),
        ("/customers/新疆汽车贸易公司", 200),
        ("/customers/Atentosa Holdings", 200),
        (f"/contracts/{zh}", 200),
        (f"/contracts/{zh}?q=合同", 200),
        (f"/contracts/{en}?q=agreement", 200),
        (f"/contracts/{zh}/verification", 200),
        (f"/contracts/{en}/verification", 200),
        ("/access-log", 200),
        ("/account/password", 200),
        ("/contracts", 200),
        ("/contracts?sort=-amount&filed=no&size=25", 200),
        ("/jobs", 200),
        ("/approvals", 200),
        ("/borrowings", 200),
        (f"/batches/staged/{world.staged}", 200),
        ("/contracts/999999", 404),
        ("/no/such/page", 404),
    ]


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_every_page_is_in_one_language(world: World, lang: str) -> None:
    problems: dict[str, list[str]] = {}
    signed_out = TestClient(
        create_app(world.archive), raise_server_exceptions=False, headers={"Accept": "text/html"}
    )
    signed_out.cookies.set("archive_lang", lang)
    with client_for(world, lang) as client, signed_out:
        for url, status in [*pages(world), ("/login", 200)]:
            r = (signed_out if url == "/login" else client).get(url)
            assert r.status_code == status, (url, r.status_code, r.text[:300])
            query = parse_qs(urlsplit(url).query).get("q", [""])[0]
            text = visible_text(r.text, world, query)
            if lang == "zh":
                found = [w for w in LATIN_WORD.findall(text) if w not in SAME_IN_BOTH]
                # a message no pattern of MESSAGES_ZH knows is shown in English, marked so
                # (the text above leaves marked elements out): on our own pages, a gap
                found += [f"untranslated: {m}" for m in UNTRANSLATED.findall(r.text)]
            else:
                found = CJK.findall(text) + [
                    w
                    for w in RAW_CODE.findall(text)
                    if w not in KNOWN_FIELDS  # query syntax
                ]
            if found:
                problems[url] = sorted(set(found))[:40]
    assert not problems, "\n".join(f"{u}: {w}" for u, w in problems.items())


def test_amounts_and_dates_are_written_for_the_language(world: World) -> None:
    with client_for(world, "zh") as client:
        page = client.get(f"/contracts/{world.zh}").text
        assert "2,500,000.00 元" in page and "1,250,000.00 元" in page
        assert re.search(r"\d{4}年\d{1,2}月\d{1,2}日", page)
        card = client.get("/customers/新疆汽车贸易公司").text
        assert "2,500,000.00 元" in card
    with client_for(world, "en") as client:
        page = client.get(f"/contracts/{world.zh}").text
        assert "CNY 2,500,000.00" in page and "CNY 1,250,000.00" in page
        assert re.search(r"\b\d{1,2} (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{4}", page)
        assert "2500000" not in page


def test_query_errors_name_the_right_character_and_no_readme(world: World) -> None:
    with client_for(world, "en") as client:
        page = client.get("/search", params={"q": 'agreement "unclosed'}).text
        assert "at character 11" in page  # the quotation mark is the 11th character
        assert "README" not in page
    with client_for(world, "zh") as client:
        page = client.get("/search", params={"q": 'agreement "unclosed'}).text
        assert "第 11 个字符" in page and "引号" in page and "README" not in page
    api = client_for(world, "en").get("/api/v1/search", params={"q": 'agreement "unclosed'})
    assert api.status_code == 400 and "README" not in api.text
    assert api.json()["error"]["details"]["position"] == 10  # 0-based in the API, as before


def test_localize_keeps_unknown_messages_and_translates_known_ones() -> None:
    assert localize("en", "anything at all") == "anything at all"
    assert localize("zh", "a quotation mark is not closed") == "引号没有闭合"
    assert localize("zh", "something new and unknown") is None
    # the 四性 report's joined reasons, each part in Chinese
    assert localize("zh", "page 3 awaits OCR; OCR failed on pages 4, 5; page 7 has no text") == (
        "第 3 页等待 OCR；第 4, 5 页 OCR 失败；第 7 页没有文本"
    )
    both = "the PDF contains {} (archived unchanged, never run)"
    assert localize("zh", "; ".join(both.format(w) for w in ("JavaScript", "launch actions"))) == (
        "该 PDF 含有 JavaScript（原样归档，从不执行）；该 PDF 含有 启动动作（原样归档，从不执行）"
    )


def test_refusals_and_conflicts_are_pages_in_the_language(world: World) -> None:
    """A lawyer opening the upload page (403), and a stale confirm button of a suggestion that
    was decided meanwhile (409): the message in Chinese, the data marked, no English."""
    store = AccessControl.for_archive(world.archive).store
    if store.get_user("lawyer") is None:
        store.add_user(
            NewUser(
                username="lawyer",
                roles=("legal",),
                password_hash=hash_password(PASSWORD),
                created_by="tests",
            )
        )
    sug = next(
        s
        for items in world.archive.contracts.view(world.zh).suggested.values()
        for s in items
        if s.state == "open"
    )
    world.archive.contracts.reject_suggestion(world.zh, sug.id, actor="tests")
    for lang, refused, decided in (
        ("zh", "无权执行此操作：需要权限", f"建议值 {sug.id} 已驳回"),
        ("en", "may not do this: it needs the permission", f"suggestion {sug.id} is rejected"),
    ):
        client = TestClient(
            create_app(world.archive),
            raise_server_exceptions=False,
            headers={"Accept": "text/html"},
        )
        client.cookies.set("archive_lang", lang)
        login = {"username": "lawyer", "password": PASSWORD}
        assert client.post("/login", data=login, follow_redirects=False).status_code == 303
        r = client.get("/upload")
        assert r.status_code == 403 and refused in visible_text(r.text, world)
        with client_for(world, lang) as boss:
            page = boss.get(f"/contracts/{world.zh}").text
            token = re.search(r'name="csrf_token" value="([^"]+)"', page)
            assert token
            r = boss.post(
                f"/contracts/{world.zh}/suggestions/{sug.id}",
                data={"decision": "accept", "csrf_token": token.group(1)},
            )
            assert r.status_code == 409 and decided in visible_text(r.text, world)
        for r_text in (client.get("/upload").text,):
            text = visible_text(r_text, world)
            if lang == "zh":
                assert not [
                    w for w in LATIN_WORD.findall(text) if w not in SAME_IN_BOTH and w != "lawyer"
                ], text
        client.close()


def test_english_counts_of_one_are_singular() -> None:
    """The batch page said "1 contracts": an English count of one takes the singular, with or
    without a word between ("1 separator sheet"); other counts, and Chinese, are unchanged."""
    assert translate("en", "batch.summary", pages=1, sheets=1, segments=1) == (
        "1 page, 1 separator sheet, 1 contract."
    )
    assert translate("en", "batch.summary", pages=11, sheets=2, segments=21) == (
        "11 pages, 2 separator sheets, 21 contracts."
    )
    assert translate("en", "customer.count", n=1) == "1 contract"
    assert translate("en", "home.expiring", days=1) == "Expiring within 1 day"
    assert translate("en", "upload.summary", done=1, total=3) == "1 of 3 files done"
    assert translate("zh", "customer.count", n=1) == CATALOGS["zh"]["customer.count"].format(n=1)


def test_verification_reasons_count_in_words_in_both_languages(world: World) -> None:
    """The verification page said "1 file(s) match" and "1 version(s), each ..." and left the
    chain's reason in English on the Chinese page: counts are words now, and both read in
    Chinese."""
    url = f"/contracts/{world.zh}/verification"
    with client_for(world, "en") as client:
        text = html_lib.unescape(re.sub(r"<[^>]+>", " ", client.get(url).text))
        assert "(s)" not in text
        assert re.search(r"\b1 file matches: ", text), text
        assert re.search(r"\b(?:1 version|[2-9] versions), each the one issued", text), text
    with client_for(world, "zh") as client:
        text = html_lib.unescape(re.sub(r"<[^>]+>", " ", client.get(url).text))
        assert "(s)" not in text
        assert "1 个文件一致" in text and re.search(r"共 \d 个版本，每个都是签发的版本", text), text
    assert localize(
        "zh",
        "2 listed files match, but a.txt is in the package and not in the "
        "manifest, so nothing proves them",
    ) == ("清单所列 2 个文件一致，但 a.txt 在包内而不在清单中，无从证明")
