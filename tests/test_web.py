"""The web interface without a browser: pages, languages, errors, page images and hit boxes.

The browser scenario is in ``test_web_browser.py``; these run through the ASGI test client.
"""

from __future__ import annotations

import html as html_lib
import re
import string
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from search_api.app import create_app, route_table
from search_api.web.i18n import EN, ZH, negotiate
from search_api.web.page_images import PageLayout, hit_rects, normalized_with_map, render_page
from services.archive import Archive
from storage.index.analysis import analyze, normalize
from tests.access_helpers import auth_headers
from tests.conftest import corpus_files

ZH_PDF = next(p for p in corpus_files("zh", ".pdf") if "新疆" in p.name)
EN_PDF = next(p for p in corpus_files("en-cuad", ".pdf") if "JOINT FILING" in p.name)
HTML = {"accept": "text/html,application/xhtml+xml"}


@pytest.fixture(scope="module")
def loaded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[TestClient, dict]]:
    from tests.conftest import make_settings

    settings = make_settings(tmp_path_factory.mktemp("webpages") / "var")
    with Archive(settings, parser_workers=1).open() as archive:
        ids = {}
        for key, path, customer, cls in (
            ("zh", ZH_PDF, "新疆汽车贸易公司", "XS"),
            ("en", EN_PDF, "Atentosa Holdings", None),
        ):
            result = archive.ingest_path(
                path, display_name=path.name, customer=customer, classification=cls
            )
            assert result.status == "archived", result
            ids[key] = result.id
            time.sleep(1.05)  # distinct archive times (second resolution) for the sort test
        with TestClient(
            create_app(archive), headers=auth_headers(archive), raise_server_exceptions=False
        ) as client:
            yield client, ids


def page(client: TestClient, url: str, status: int = 200, **headers: str) -> str:
    r = client.get(url, headers={**HTML, **headers})
    assert r.status_code == status, (url, r.status_code, r.text[:500])
    assert r.headers["content-type"].startswith("text/html; charset=utf-8")
    assert "default-src 'self'" in r.headers["content-security-policy"]
    assert '<meta charset="utf-8">' in r.text
    return r.text


def text_of(html: str) -> str:
    body = re.sub(r"<(script|style)[^>]*>.*?</\1>", " ", html, flags=re.S)
    return html_lib.unescape(" ".join(re.sub(r"<[^>]+>", " ", body).split()))


# --- languages ---------------------------------------------------------------------------------
def test_catalogs_have_the_same_keys_and_placeholders() -> None:
    assert set(EN) == set(ZH)
    fields = string.Formatter()
    for key in EN:
        en = {f for _, f, _, _ in fields.parse(EN[key]) if f}
        zh = {f for _, f, _, _ in fields.parse(ZH[key]) if f}
        assert en == zh, key
        assert ZH[key].strip() and EN[key].strip(), key


@pytest.mark.parametrize(
    ("header", "lang"),
    [
        ("zh-CN,zh;q=0.9,en;q=0.8", "zh"),
        ("zh-TW", "zh"),
        ("en-US,en;q=0.9,zh-CN;q=0.8", "en"),
        ("fr-FR,zh;q=0.5", "zh"),
        ("fr-FR", "en"),
        ("", "en"),
        ("zh;q=0, en", "en"),
        ("garbage;;q=x,,", "en"),
    ],
)
def test_language_negotiation(header: str, lang: str) -> None:
    assert negotiate(header) == lang


def test_chinese_when_asked_and_the_switch_is_remembered(loaded) -> None:
    client, _ = loaded
    zh = page(client, "/", **{"accept-language": "zh-CN,zh;q=0.9"})
    assert '<html lang="zh-CN">' in zh and "合同档案库" in zh
    en = page(client, "/", **{"accept-language": "en-US"})
    assert '<html lang="en">' in en and "Contract archive" in en
    r = client.get("/search?lang=en", headers={**HTML, "accept-language": "zh-CN"})
    assert "archive_lang=en" in r.headers["set-cookie"]
    client.cookies.set("archive_lang", "en")
    try:
        assert '<html lang="en">' in page(client, "/upload", **{"accept-language": "zh-CN"})
    finally:
        client.cookies.clear()


# --- pages -------------------------------------------------------------------------------------
def test_home_shows_counts_and_recent_contracts(loaded) -> None:
    client, ids = loaded
    html = page(client, "/")
    assert f'href="/contracts/{ids["zh"]}"' in html
    words = text_of(html)
    assert "2 Contracts" in words and "12 Pages" in words


def test_search_highlights_facets_and_filters(loaded) -> None:
    client, ids = loaded
    html = page(client, "/search?q=违约责任")
    assert "<mark>违约责任</mark>" in html
    assert "1 contract found" in text_of(html)
    assert f"/contracts/{ids['zh']}?q=%E8%BF%9D%E7%BA%A6%E8%B4%A3%E4%BB%BB" in html
    # Facets over everything; choosing one narrows the list and shows a removable chip.
    everything = page(client, "/search")
    assert "2 contracts found" in text_of(everything)
    for value in ("XS", "新疆汽车贸易公司", "Atentosa Holdings"):
        assert value in everything
    narrowed = page(client, "/search?customer=Atentosa+Holdings")
    assert "1 contract found" in text_of(narrowed)
    assert "Remove filter Customer: Atentosa Holdings" in narrowed
    by_class = page(client, "/search?classification=XS")
    assert "1 contract found" in text_of(by_class) and "新疆维吾尔自治区汽车买卖合同" in by_class


def test_search_sorts_and_paginates(loaded) -> None:
    client, ids = loaded
    newest = page(client, "/search?sort=newest")
    oldest = page(client, "/search?sort=oldest")
    first_new = re.search(r'class="hit">\s*<h3[^>]*><a href="/contracts/(\d+)', newest)
    first_old = re.search(r'class="hit">\s*<h3[^>]*><a href="/contracts/(\d+)', oldest)
    assert first_new and first_old
    assert int(first_new.group(1)) == ids["en"] and int(first_old.group(1)) == ids["zh"]
    assert '<option value="newest" selected>' in newest
    # Past the last page: an empty page that still says how many there are.
    beyond = page(client, "/search?page=5")
    assert "2 contracts found" in text_of(beyond)


def test_no_results_help(loaded) -> None:
    client, _ = loaded
    html = text_of(page(client, '/search?q="limitation of liability" zzzqqq&customer=Nobody'))
    assert 'No contract matches "limitation of liability" zzzqqq.' in html
    assert "Search again without the filters" in html
    assert "without the quotation marks" in html
    assert "any of the words" in html


def test_invalid_query_is_a_readable_400_page(loaded) -> None:
    client, _ = loaded
    html = page(client, '/search?q="unclosed', status=400)
    assert 'role="alert"' in html and "quotation mark is not closed" in html
    assert '"error"' not in html


def test_contract_page_marks_the_hits(loaded) -> None:
    client, ids = loaded
    cid = ids["zh"]
    html = page(client, f"/contracts/{cid}?q=违约责任")
    # Pages with hits are listed and the first is shown, with boxes drawn over the image.
    assert re.search(r'page=4#viewer"[^>]*>4 <span class="count">\(1\)</span>', html)
    assert re.search(r'page=9#viewer"[^>]*>9 <span class="count">\(2\)</span>', html)
    assert f'src="/contracts/{cid}/pages/4.png"' in html
    assert html.count('class="hit-rect"') >= 1
    page9 = page(client, f"/contracts/{cid}?q=违约责任&page=9")
    assert page9.count('class="hit-rect"') >= 2
    # The page's text, with the same hits, for readers who cannot see the image.
    body = page9.split('class="page-text-body"', 1)[1].split("</div>", 1)[0]
    assert body.count("<mark>违约责任</mark>") == 2
    assert f'href="/api/v1/contracts/{cid}/original"' in html
    assert "the original is searchable as it is" in html
    # An admin may read the access log: the page shows the contract's history (this very
    # view among it) and links to the whole log.
    history = html.split('id="access-history"', 1)[1].split("</section>", 1)[0]
    assert "contract.view" in history and f'href="/access-log?contract={cid}"' in history
    assert "not part of this installation yet" not in html
    # Related contracts come from the same customer; none here.
    assert "No other contract of this customer." in html
    assert "新疆汽车贸易公司" in html and "XS" in html


def test_contract_page_without_hits_and_bad_pages(loaded) -> None:
    client, ids = loaded
    html = page(client, f"/contracts/{ids['en']}?q=违约责任")
    assert "does not occur in this contract" in html
    clamped = page(client, f"/contracts/{ids['en']}?page=999")
    assert "Page 3 of 3" in text_of(clamped)
    page(client, "/contracts/999999", status=404)
    r = client.get(f"/contracts/{ids['en']}/pages/4.png")
    assert r.status_code == 404
    img = client.get(f"/contracts/{ids['en']}/pages/1.png")
    assert img.status_code == 200 and img.content[:8] == b"\x89PNG\r\n\x1a\n"
    again = client.get(f"/contracts/{ids['en']}/pages/1.png")  # from the cache
    assert again.content == img.content


def test_customer_pages(loaded) -> None:
    client, ids = loaded
    listing = page(client, "/customers")
    assert "新疆汽车贸易公司" in listing and "Atentosa Holdings" in listing
    cid = re.search(r'href="/customers/(\d+)">新疆汽车贸易公司', listing)
    assert cid
    html = page(client, f"/customers/{cid.group(1)}")
    assert f'href="/contracts/{ids["zh"]}"' in html
    assert f'href="/contracts/{ids["en"]}"' not in html
    by_name = page(client, "/customers/新疆汽车贸易公司")
    assert f'href="/contracts/{ids["zh"]}"' in by_name
    words = text_of(html)
    assert "Expires" in words and "Outstanding" in words and "Overdue" in words
    assert "Atentosa" in text_of(page(client, "/customers?q=atentosa"))
    page(client, "/customers/No such customer", status=404)


def test_upload_form_works_without_javascript(loaded) -> None:
    client, _ = loaded
    bad = b"%PDF-1.4 not really"
    with open(ZH_PDF, "rb") as fh:
        r = client.post(
            "/upload",
            files=[
                ("files", (ZH_PDF.name, fh, "application/pdf")),
                ("files", ("broken.pdf", bad, "application/pdf")),
            ],
            data={"customer": "新疆汽车贸易公司"},
            headers=HTML,
        )
    assert r.status_code == 200
    words = text_of(r.text)
    assert f"{ZH_PDF.name} already archived" in words
    assert "broken.pdf rejected:" in words


def test_static_files_and_no_traversal(loaded) -> None:
    client, _ = loaded
    css = client.get("/static/app.css")
    assert css.status_code == 200 and css.headers["content-type"].startswith("text/css")
    assert "immutable" in css.headers["cache-control"]
    for bad in ("/static/..%2Fviews.py", "/static/nope.css", "/static/i18n.py"):
        assert client.get(bad).status_code == 404
    # Nothing is loaded from another origin.
    for url in ("/", "/search", "/upload"):
        html = page(client, url)
        assert not re.search(r'(src|href)="(https?:)?//', html), url


def test_errors_are_pages_for_browsers_and_json_for_the_api(loaded) -> None:
    client, _ = loaded
    html = page(client, "/no/such/page", status=404)
    assert "This page does not exist." in html and "{" not in text_of(html)
    api = client.get("/api/v1/contracts/999999", headers=HTML)
    assert api.status_code == 404 and api.json()["error"]["code"] == "not_found"
    plain = client.get("/no/such/page")
    assert plain.status_code == 404 and plain.json()["error"]["code"] == "not_found"
    bad = page(client, "/search?sort=random", status=422)
    assert "sort" in text_of(bad)


def test_every_page_route_answers_html(loaded) -> None:
    client, ids = loaded
    seen = 0
    for route in route_table():
        if route.path.startswith("/api/") or "GET" not in route.methods:
            continue
        if "{token}" in route.path:
            # a staged batch's token exists only after an upload: an unknown one is a 404 page
            r = client.get(route.path.replace("{token}", "0" * 32), headers=HTML)
            assert r.status_code == 404 and "<!doctype html>" in r.text.lower(), r.text[:300]
            continue
        url = (
            route.path.replace("{contract_id}", str(ids["zh"]))
            .replace("{page}", "1")
            .replace("{name}", "app.css")
            .replace("{ref}", "新疆汽车贸易公司")
        )
        r = client.get(url, headers=HTML)
        assert r.status_code == 200, (url, r.text[:300])
        seen += 1
    assert seen >= 7


def test_classification_is_checked_on_upload(loaded) -> None:
    client, _ = loaded
    with open(EN_PDF, "rb") as fh:
        r = client.post(
            "/api/v1/contracts",
            files={"file": (EN_PDF.name, fh, "application/pdf")},
            data={"classification": "no spaces allowed"},
        )
    assert r.status_code == 400
    assert r.json()["error"]["code"] == "invalid_request"


# --- hit boxes on page images -------------------------------------------------------------------
def test_normalized_map_follows_the_analyzer() -> None:
    raw = "违 约\r\n责任 ＡＢＣ party\u2019s"
    normalized, origin = normalized_with_map(raw)
    assert normalized == normalize(raw)
    assert len(origin) == len(normalized)
    assert raw[origin[normalized.index("责")]] == "责"
    assert raw[origin[normalized.index("A")]] == "Ａ"


def test_hit_rects_cover_the_match_line_by_line() -> None:
    text = "甲方违约\r\n责任乙方"
    boxes: list = []
    for i, ch in enumerate(text):
        if ch in "\r\n":
            boxes.append(None)
        else:
            row = 0 if i < 4 else 1
            col = i if row == 0 else i - 6
            boxes.append((0.1 + col * 0.05, 0.1 + row * 0.05, 0.15 + col * 0.05, 0.14 + row * 0.05))
    layout = PageLayout(width=1000, height=1400, text=text, boxes=tuple(boxes))
    rects = hit_rects(layout, [tuple(t.text for t in analyze("违约责任"))])
    assert len(rects) == 2  # the phrase breaks across two lines
    first, second = rects
    assert first.left == pytest.approx(19.8, abs=0.01) and second.left == pytest.approx(
        9.8, abs=0.01
    )
    assert first.top < second.top
    assert hit_rects(layout, [("合同",)]) == []


def test_render_page_reads_boxes_from_a_real_pdf(tmp_path: Path) -> None:
    png, layout = render_page(str(ZH_PDF), 3, 1.0)
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    assert layout.width > 500 and layout.height > 700
    rects = hit_rects(layout, [tuple(t.text for t in analyze("违约责任"))])
    assert len(rects) == 1
    r = rects[0]
    assert 0 < r.left < 100 and 0 < r.top < 100 and 0 < r.width < 30 and 0 < r.height < 5
    restored = PageLayout.from_json(layout.to_json())
    assert restored == layout


def test_hit_boxes_follow_a_rotated_page() -> None:
    """A page with /Rotate 270 is drawn upright; the boxes must land on the upright words."""
    rotated = next(p for p in corpus_files("edge", ".pdf") if p.name == "AutoCad_Diagram.pdf")
    _, layout = render_page(str(rotated), 0, 0.5)
    assert layout.width > layout.height  # drawn in landscape, as a reader sees it
    rects = hit_rects(layout, [("cable",)])
    assert len(rects) >= 2
    first = rects[0]
    # "1. Strip the cable", near the top left of the upright drawing.
    assert 3 < first.left < 8 and 20 < first.top < 27 and first.width < 5


@pytest.mark.s3
def test_contract_page_on_s3_with_a_legal_hold(s3_server, s3_bucket, tmp_path: Path) -> None:
    """On an object store that enforces holds (S3 Object Lock, here SeaweedFS) the page shows
    retention and hold, and its button sets and releases the hold; page images are drawn from
    the original read back from S3."""
    from tests.conftest import make_settings, s3_overrides

    settings = make_settings(tmp_path / "var", **s3_overrides(s3_server, s3_bucket))
    with Archive(settings, parser_workers=1).open() as archive:
        cid = archive.ingest_path(EN_PDF, display_name=EN_PDF.name).id
        assert cid is not None
        with TestClient(
            create_app(archive), headers=auth_headers(archive), raise_server_exceptions=False
        ) as client:
            html = page(client, f"/contracts/{cid}?q=agreement")
            assert "Put under legal hold" in html and "does not enforce" not in html
            assert html.count('class="hit-rect"') >= 1
            r = client.post(
                f"/contracts/{cid}/legal-hold",
                data={"hold": "set"},
                headers=HTML,
                follow_redirects=False,
            )
            assert r.status_code == 303 and r.headers["location"].startswith(f"/contracts/{cid}")
            held = page(client, f"/contracts/{cid}")
            assert "nothing of this contract can be deleted" in held
            assert "Release the legal hold" in held
            client.post(f"/contracts/{cid}/legal-hold", data={"hold": "release"}, headers=HTML)
            assert "Put under legal hold" in page(client, f"/contracts/{cid}")
            assert not archive.objects.lock_info(archive.get(cid).original_key).legal_hold


def test_legal_hold_on_a_store_that_cannot_hold(loaded) -> None:
    client, ids = loaded
    html = page(client, f"/contracts/{ids['en']}")
    assert "does not enforce retention or legal holds" in html
    assert "Put under legal hold" not in html
    r = client.post(f"/contracts/{ids['en']}/legal-hold", data={"hold": "set"}, headers=HTML)
    assert r.status_code == 409 and "cannot enforce legal holds" in r.text
    assert r.headers["content-type"].startswith("text/html")


def test_date_range_filter(loaded) -> None:
    client, _ = loaded
    since = page(client, "/search?from=2020-01-01")
    assert "2 contracts found" in text_of(since)
    assert "Remove filter Archived from: 2020-01-01" in since
    assert 'name="from" type="date" value="2020-01-01"' in since
    old = text_of(page(client, "/search?from=2000-01-01&to=2000-12-31"))
    assert "No contract matches." in old and "Search again without the filters" in old
    bad = page(client, "/search?to=yesterday", status=400)
    assert 'role="alert"' in bad


def test_a_scan_is_archived_with_its_pages_awaiting_ocr(archive: Archive) -> None:
    """A real Chinese scan: the upload result says how many pages await OCR, the page image is
    drawn, and the page's text says there is none yet instead of pretending."""
    with TestClient(
        create_app(archive), headers=auth_headers(archive), raise_server_exceptions=False
    ) as client:
        _scan_upload(client)


def _scan_upload(client: TestClient) -> None:
    scan = next(p for p in corpus_files("scanned/real", ".pdf") if "青岛" in p.name)
    with open(scan, "rb") as fh:
        r = client.post(
            "/upload", files=[("files", (scan.name, fh, "application/pdf"))], headers=HTML
        )
    assert r.status_code == 200
    words = text_of(r.text)
    assert f"{scan.name} archived" in words
    found = re.search(r"(\d+) scanned pages await OCR", words)
    assert found and int(found.group(1)) >= 1
    cid = int(re.search(r'href="/contracts/(\d+)"', r.text).group(1))  # type: ignore[union-attr]
    html = page(client, f"/contracts/{cid}")
    assert "This page has no text yet" in html and "Text from: no text yet" in text_of(html)
    # OCR progress is shown (queued: no OCR worker runs in this test).
    ocr_panel = text_of(html.split('id="ocr-h"', 1)[1].split("</section>", 1)[0])
    assert re.search(r"(queued|running) 0 of \d+ pages read", ocr_panel), ocr_panel
    img = client.get(f"/contracts/{cid}/pages/1.png")
    assert img.status_code == 200 and len(img.content) > 10_000


# --- verification ------------------------------------------------------------------------------
def test_verification_badge_and_report(loaded) -> None:
    client, ids = loaded
    cid = ids["zh"]
    html = page(client, f"/contracts/{cid}")
    assert re.search(rf'<a class="badge badge-passed" href="/contracts/{cid}/verification">', html)
    report = page(client, f"/contracts/{cid}/verification")
    words = text_of(report)
    assert "Every check passed" in words
    assert report.count('class="check check-passed"') == 8  # with manifest_chain (issue 13)
    assert "development keys" in words  # the tests run on development keys: said plainly
    assert "The original carries no embedded signatures." in words
    zh = page(client, f"/contracts/{cid}/verification", **{"accept-language": "zh-CN"})
    assert "验证通过" in zh and "原件的 SHA-256 与 SM3 摘要与清单一致" in zh
    page(client, "/contracts/999999/verification", status=404)


def test_embedded_signatures_are_listed(archive: Archive) -> None:
    signed = next(
        p for p in corpus_files("signed/pyhanko", ".pdf") if p.name.startswith("certified")
    )
    result = archive.ingest_path(signed, display_name=signed.name)
    assert result.status == "archived"
    with TestClient(
        create_app(archive), headers=auth_headers(archive), raise_server_exceptions=False
    ) as client:
        html = page(client, f"/contracts/{result.id}")
        sig = html.split('id="sig-h"', 1)[1].split("</section>", 1)[0]
        assert "<strong>Sig1</strong>" in sig
        assert "Signer" in sig and "intact: yes" in text_of(sig)
        assert "badge-indeterminate" in sig  # a test certificate: intact, but not trusted
        assert "does not chain to a trust anchor" in sig


def test_a_tampered_package_fails_verification_on_the_page(archive: Archive) -> None:
    """Tamper twin: change one byte of a stored derived file behind the archive's back."""
    result = archive.ingest_path(EN_PDF, display_name=EN_PDF.name)
    assert result.id is not None
    record = archive.get(result.id)
    target = next((archive.settings.objects_dir).rglob(Path(record.text_key).name))
    target.chmod(0o644)
    data = target.read_bytes()
    target.write_bytes(data[:-2] + (b"X" if data[-2:-1] != b"X" else b"Y") + data[-1:])
    with TestClient(
        create_app(archive), headers=auth_headers(archive), raise_server_exceptions=False
    ) as client:
        html = page(client, f"/contracts/{result.id}")
        assert 'class="badge badge-failed"' in html
        assert "The stored text of this contract cannot be read" in html
        report = page(client, f"/contracts/{result.id}/verification")
        assert "A check failed" in text_of(report)
        failed = re.findall(r'class="check check-failed">.*?<strong>(.*?)</strong>', report, re.S)
        assert failed == ["Every derived file&#39;s digests equal the manifest&#39;s"]


def test_terms_suggested_apart_from_confirmed_and_confirmed_by_a_click(archive: Archive) -> None:
    result = archive.ingest_path(ZH_PDF, display_name=ZH_PDF.name, customer="新疆汽车贸易公司")
    cid = result.id
    assert cid is not None
    view = archive.contracts.view(cid)
    field, items = next(iter(sorted(view.suggested.items())))
    sug = items[0]
    with TestClient(
        create_app(archive), headers=auth_headers(archive), raise_server_exceptions=False
    ) as client:
        html = page(client, f"/contracts/{cid}")
        terms = text_of(html.split('id="terms-h"', 1)[1].split("</section>", 1)[0])
        assert "Suggested (read from the text, not yet confirmed)" in terms
        assert f'action="/contracts/{cid}/suggestions/{sug.id}"' in html
        r = client.post(
            f"/contracts/{cid}/suggestions/{sug.id}",
            data={"decision": "accept"},
            headers=HTML,
            follow_redirects=False,
        )
        assert r.status_code == 303
        after = archive.contracts.view(cid)
        assert field == "classification"  # the model contract's first suggestion here
        assert after.confirmed.classification == sug.value
        shown = page(client, f"/contracts/{cid}")
        confirmed = text_of(shown.split('id="terms-h"', 1)[1].split("Suggested", 1)[0])
        assert f"Classification {sug.value}" in confirmed
        home = text_of(page(client, "/"))
        assert "Expiring within 90 days" in home and "Overdue payments" in home
