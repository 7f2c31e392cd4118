"""Every page of the web interface, in both languages, at 1280 px and at 390 px (issue 15), in
Debian's chromium through Playwright, signed in through the log-in form.

:data:`PAGES` names every HTML page with a URL that shows it with content; a test without the
browser checks that every GET route of the web interface is there or in :data:`NOT_PAGES`
(files, not pages), so a page added later is screenshot by construction. For each language
and width the pages must answer, be in the page's language, have no sideways scrolling and
no script error; their screenshots are kept as test artifacts
(``test-artifacts/browser/screens/<lang>-<width>-<page>.png``) to be looked at.

Each language has one browser context, signed in through the form once: a page is loaded at
1280 px, looked at, and looked at again with the window narrowed to 390 px (the layout is CSS
media queries only, no script reads the width: the same as loading it at 390 px).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

from search_api.app import route_table
from services.access.credentials import hash_password
from services.access.service import AccessControl
from services.archive import Archive
from services.facade import Runtime
from tests.access_helpers import ensure_user
from tests.browser_support import (
    ARTIFACTS,
    DESKTOP,
    EN,
    PASSWORD,
    PHONE,
    SESSION,
    ZH,
    LiveServer,
    no_horizontal_scroll,
    save_screenshot,
    sign_in,
)
from tests.conftest import make_settings

PAGES: dict[str, tuple[str | None, str]] = {
    # name: (the web route it shows, a URL that shows it with content)
    "login": ("/login", "/login"),
    "home": ("/", "/"),
    "search": ("/search", "/search?q=%E4%B9%B0%E5%8D%96"),
    "upload": ("/upload", "/upload"),
    "table": ("/contracts", "/contracts"),
    "contract": ("/contracts/{contract_id}", "/contracts/{zh}?q=%E4%B9%B0%E5%8D%96"),
    "verification": ("/contracts/{contract_id}/verification", "/contracts/{en}/verification"),
    "customers": ("/customers", "/customers"),
    "customer": ("/customers/{ref}", "/customers/{customer}"),
    "access-log": ("/access-log", "/access-log"),
    "password": ("/account/password", "/account/password"),
    "batches": ("/batches", "/batches"),
    "batch-staged": ("/batches/staged/{token}", "/batches/staged/{token}"),
    "jobs": ("/jobs", "/jobs"),
    "approvals": ("/approvals", "/approvals"),
    "borrowings": ("/borrowings", "/borrowings"),
    "not-found": (None, "/no/such/page"),
}
NOT_PAGES: dict[str, str] = {
    "/static/{name}": "the style sheet, scripts and icons",
    "/contracts/{contract_id}/pages/{page}.png": "a page image (shown on the contract page)",
    "/contracts.csv": "the table's export (a file)",
    "/contracts.xlsx": "the table's export (a file)",
    "/batches/separator.pdf": "the separator sheet (a PDF)",
}
LANGS = (("zh", "zh-CN"), ("en", "en-US"))
WIDTHS = ((DESKTOP, "1280"), (PHONE, "390"))
SHOTS = ARTIFACTS / "screens"
USER = "screens"
NANJING = ZH.with_name("南京市存量房买卖合同.pdf")
WORLD: dict[str, Any] = {}


def test_every_web_page_is_screenshot() -> None:
    """Every GET route of the web interface is a page of :data:`PAGES` or a file of
    :data:`NOT_PAGES`, and neither list names a route that does not exist."""
    web = {r.path for r in route_table() if not r.in_schema and "GET" in r.methods}
    shown = {route for route, _ in PAGES.values() if route}
    assert web - shown - set(NOT_PAGES) == set(), "pages without screenshots"
    assert (shown | set(NOT_PAGES)) - web == set(), "entries naming no route"


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    settings = make_settings(tmp_path_factory.mktemp("screens") / "var", fonds_code="A01")
    with Archive(settings, parser_workers=1).open() as archive:
        access = AccessControl.for_archive(archive)
        runtime = Runtime(archive)
        me = ensure_user(archive, USER, ("admin",), groups=("mgmt", "vault"))
        access.store.update_user(USER, {"password_hash": hash_password(PASSWORD)})
        f = runtime.facade(me)
        zh = archive.ingest_path(ZH, customer="新疆汽车贸易公司").id
        en = archive.ingest_path(EN, customer="Atentosa Holdings").id
        # something to decide on the approvals and borrowing pages
        f.scheme.set_code("MJ", name_zh="机密", name_en="confidential", retention="D30")
        secret = f.contracts.ingest_path(NANJING, title="Vault contract").result.id
        assert secret
        f.terms.update(secret, {"classification": "MJ"})
        f.restrictions.set("MJ", ["vault"])
        f.approvals.set_rules({"rules": [{"name": "all", "steps": [{"groups": ["mgmt"]}]}]})
        f.lifecycle.transition(en, "draft", reason="a draft to approve", force=True)
        runtime.facade(ensure_user(archive, "drafter", ("archivist",))).approvals.submit(en)
        asker = runtime.facade(ensure_user(archive, "asker", ("legal",)))
        asker.borrowing.request(secret, "audit 2026-17", 3)
        soon = date.today() + timedelta(days=40)
        f.terms.update(
            zh,
            {"amount": Decimal("2500000"), "currency": "CNY", "expiry_date": soon},
            reason="checked",
        )
        # owed in two currencies, one of them overdue: per-currency totals everywhere
        f.payments.add(zh, date.today() - timedelta(days=5), Decimal("1200"), "CNY")
        f.payments.add(zh, date.today() + timedelta(days=30), Decimal("300"), "USD")
        with open(ZH, "rb") as fh:
            token = f.batches.stage(fh, filename="box-1.pdf", customer=None, classification=None)
        with open(ZH, "rb") as fh:  # one to discard
            spare = f.batches.stage(fh, filename="box-2.pdf", customer=None, classification=None)
        customer = archive.get(zh).customer
        WORLD.update(
            zh=zh,
            en=en,
            customer=quote(customer or ""),
            token=token.token,
            spare_token=spare.token,
        )
        with LiveServer(archive) as server:
            SESSION["url"] = server.url
            yield server


def shot(page: Any, name: str) -> Path:
    return save_screenshot(page, SHOTS / f"{name}.png")


LAYOUT_JS = """(phone) => {
  const out = [];
  const shown = e => e.getClientRects().length && getComputedStyle(e).visibility !== "hidden";
  // a form control squeezed to nothing (an input without a type got no style)
  for (const e of document.querySelectorAll(
      "input:not([type=hidden]):not([type=checkbox]):not([type=radio]):not([type=file]), select, textarea"))
    if (shown(e) && e.getBoundingClientRect().height < 24) out.push("flat control #" + e.id + " " + e.name);
  // a label far from its field: above it but beyond its right end, or after it on its line
  for (const label of document.querySelectorAll("label[for]")) {
    const field = document.getElementById(label.htmlFor);
    if (!field || field.type === "file" || !shown(label) || !shown(field)) continue;  // a file
    // input is opened by its label, styled as a button
    const l = label.getBoundingClientRect(), f = field.getBoundingClientRect();
    const box = field.type === "checkbox" || field.type === "radio";
    const above = l.bottom <= f.top + 4 && l.left <= f.right && l.left >= f.left - 8;
    const before = Math.abs((l.top + l.bottom) / 2 - (f.top + f.bottom) / 2) < f.height
      && (box ? l.left >= f.right - 4 : l.right <= f.left + 4);
    if (!above && !before) out.push("label apart from its field: " + label.textContent.trim().slice(0, 30));
  }
  if (!phone) return out;
  // a table cut off in a box of its own (content beyond the right edge, hidden)
  for (const w of document.querySelectorAll(".table-wrap, .panel"))
    if (shown(w) && w.scrollWidth > w.clientWidth + 1)
      out.push("content cut off in " + w.className + " " + (w.querySelector("table") || {}).id);
  // a stacked table's cell: every part of its content right of its label, none under it
  for (const td of document.querySelectorAll("table.stack tbody td[data-label]")) {
    if (!shown(td)) continue;
    const left = td.getBoundingClientRect().left + 100;
    for (const node of td.childNodes) {
      const range = document.createRange();
      range.selectNodeContents(node);
      for (const r of range.getClientRects())
        if (r.width > 1 && r.left < left) { out.push("under the label " + td.dataset.label + ": " + node.textContent.trim().slice(0, 30)); break; }
    }
  }
  return out;
}"""
CONTROLS_JS = """() => [...document.querySelectorAll(
    "main input:not([type=hidden]), main select, main textarea, main button")]
  .filter(e => e.getClientRects().length && getComputedStyle(e).visibility !== "hidden")
  .map(e => e.id || e.name || e.textContent.trim()).sort()"""


@pytest.mark.browser
@pytest.mark.slow
@pytest.mark.parametrize(("lang", "locale"), LANGS)
def test_every_page_in_both_languages_at_both_widths(
    live: LiveServer, browser: Any, lang: str, locale: str
) -> None:
    """Each page at 1280 px and at 390 px: it answers, in the page's language, without sideways
    scrolling, with no control squeezed flat; on the phone no table is cut off in its box, no
    stacked cell puts content under its label, and every control of the desk is there too
    (the table's filters and sort links were hidden on a phone)."""
    errors: list[str] = []
    failures: list[str] = []
    controls: dict[str, list[str]] = {}
    page = browser.new_context(viewport=DESKTOP, locale=locale).new_page()
    page.on("pageerror", lambda e: errors.append(str(e)))

    def look(name: str) -> None:
        """The page as loaded, at each width in turn (1280 px first: the desk's controls)."""
        for viewport, width in WIDTHS:
            page.set_viewport_size(viewport)
            look_at(name, width)
        page.set_viewport_size(DESKTOP)  # the next page is loaded at 1280 px

    def look_at(name: str, width: str) -> None:
        where = f"{name} at {width} px"
        html_lang = page.locator("html").get_attribute("lang")
        if html_lang != ("zh-CN" if lang == "zh" else "en"):
            failures.append(f"{where}: in {html_lang}")
        if not no_horizontal_scroll(page):
            failures.append(f"{where}: scrolls sideways")
        failures.extend(f"{where}: {f}" for f in page.evaluate(LAYOUT_JS, width == "390"))
        mine = page.evaluate(CONTROLS_JS)
        if width == "390" and mine != controls[name]:
            missing = sorted(set(controls[name]) - set(mine))
            failures.append(f"{where}: controls of the desk missing: {missing}")
        controls[name] = mine
        shot(page, f"{lang}-{width}-{name}")

    page.goto(live.url + "/login")  # the log-in page, then signed in through it
    look("login")
    sign_in(page, USER)
    for name, (_, url) in PAGES.items():
        if name == "login":
            continue
        response = page.goto(live.url + url.format(**WORLD))
        status = 404 if name == "not-found" else 200
        if response is None or response.status != status:
            failures.append(f"{name}: answered {response and response.status}")
        look(name)
    page.context.close()
    assert not failures, "\n".join(failures)
    assert not errors, errors


# Every form of the web interface (its POST route) and the browser test that sends it, through
# the page, as a user does; a form added later fails test_every_form_is_sent_by_a_browser_test
# until a browser test sends it. /contracts/{contract_id}/legal-hold is offered only on an object
# store that can hold (S3 Object Lock: tests/test_web.py's S3 test posts it, without a browser).
FORMS: dict[str, str] = {
    "/login": "test_web_browser.py::test_login_through_the_form",
    "/logout": "test_web_browser.py::test_login_through_the_form",
    "/account/password": "test_web_browser.py::test_login_through_the_form",
    "/upload": "test_web_browser.py::test_scenario_upload_search_open_download",
    "/contracts/{contract_id}/suggestions/{suggestion_id}": (
        "test_screens_browser.py::test_the_forms_the_other_browser_tests_do_not_send"
    ),
    "/contracts/{contract_id}/edit/record": (
        "test_web_edit_browser.py::test_an_archivist_completes_and_files_a_contract_and_it_still_verifies"
    ),
    "/contracts/{contract_id}/edit/terms": (
        "test_web_edit_browser.py::test_an_archivist_completes_and_files_a_contract_and_it_still_verifies"
    ),
    "/contracts/{contract_id}/edit/payment": (
        "test_web_edit_browser.py::test_an_archivist_completes_and_files_a_contract_and_it_still_verifies"
    ),
    "/contracts/{contract_id}/edit/payments/{item_id}": (
        "test_web_edit_browser.py::test_an_archivist_completes_and_files_a_contract_and_it_still_verifies"
    ),
    "/contracts/{contract_id}/edit/file": (
        "test_web_edit_browser.py::test_an_archivist_completes_and_files_a_contract_and_it_still_verifies"
    ),
    "/contracts/{contract_id}/edit/transition": (
        "test_web_edit_browser.py::test_an_archivist_completes_and_files_a_contract_and_it_still_verifies"
    ),
    "/contracts/{contract_id}/edit/hold": (
        "test_web_edit_browser.py::test_an_archivist_completes_and_files_a_contract_and_it_still_verifies"
    ),
    "/contracts/{contract_id}/edit/holds/{hold_id}/release": (
        "test_web_edit_browser.py::test_an_archivist_completes_and_files_a_contract_and_it_still_verifies"
    ),
    "/contracts/{contract_id}/edit/relation": (
        "test_web_edit_browser.py::test_an_archivist_completes_and_files_a_contract_and_it_still_verifies"
    ),
    "/contracts/{contract_id}/edit/parties": (
        "test_web_edit_browser.py::test_an_archivist_edits_the_parties"
    ),
    "/jobs/retry": "test_web_edit_browser.py::test_an_admin_retries_a_failed_ocr_page_from_the_jobs_page",
    "/jobs/queue": "test_screens_browser.py::test_the_forms_the_other_browser_tests_do_not_send",
    "/approvals/submit": "test_workflows_browser.py::test_one_approval_chain",
    "/approvals/{contract_id}/approve": "test_workflows_browser.py::test_one_approval_chain",
    "/approvals/{contract_id}/reject": (
        "test_screens_browser.py::test_the_forms_the_other_browser_tests_do_not_send"
    ),
    "/borrowings": "test_workflows_browser.py::test_one_borrowing_from_request_to_return",
    "/borrowings/{request_id}/grant": (
        "test_workflows_browser.py::test_one_borrowing_from_request_to_return"
    ),
    "/borrowings/{request_id}/return": (
        "test_workflows_browser.py::test_one_borrowing_from_request_to_return"
    ),
    "/borrowings/{request_id}/refuse": (
        "test_screens_browser.py::test_the_forms_the_other_browser_tests_do_not_send"
    ),
    "/contracts/bulk": (
        "test_web_table_browser.py::test_an_archivist_sorts_filters_classifies_in_bulk_and_saves_a_view"
    ),
    "/contracts/views": (
        "test_web_table_browser.py::test_an_archivist_sorts_filters_classifies_in_bulk_and_saves_a_view"
    ),
    "/contracts/views/delete": (
        "test_screens_browser.py::test_the_forms_the_other_browser_tests_do_not_send"
    ),
    "/batches": "test_batches_browser.py::test_upload_preview_and_commit_a_batch",
    "/batches/staged/{token}/commit": "test_batches_browser.py::test_upload_preview_and_commit_a_batch",
    "/batches/staged/{token}/discard": (
        "test_screens_browser.py::test_the_forms_the_other_browser_tests_do_not_send"
    ),
}
NOT_IN_A_BROWSER: dict[str, str] = {
    "/contracts/{contract_id}/legal-hold": "offered only on an S3 store with Object Lock",
    "/contracts/{contract_id}/ocr/retry": "offered beside a failed OCR page; "
    "test_web_edit_browser retries the same through /jobs/retry",
    "/jobs/{job_id}/retry": "offered beside a failed background job (tests/test_jobs.py)",
}


def test_every_form_is_sent_by_a_browser_test() -> None:
    """Every POST route of the web interface is named in :data:`FORMS` with a browser test that
    exists and whose source posts to it through the page (or in :data:`NOT_IN_A_BROWSER`)."""
    posts = {r.path for r in route_table() if not r.in_schema and r.methods - {"GET"}}
    assert posts - set(FORMS) - set(NOT_IN_A_BROWSER) == set(), "forms no browser test sends"
    assert (set(FORMS) | set(NOT_IN_A_BROWSER)) - posts == set(), "entries naming no route"
    for where in set(FORMS.values()):
        file, name = where.split("::")
        source = (Path(__file__).parent / file).read_text(encoding="utf-8")
        assert f"def {name}(" in source, where
        assert "sign_in(" in source, f"{file} does not sign in through the form"


@pytest.mark.browser
@pytest.mark.slow
def test_the_forms_the_other_browser_tests_do_not_send(live: LiveServer, browser: Any) -> None:
    """As a user does, in English at 1280 px: find a customer, filter the access log, highlight
    a word on a contract, reject a suggestion, queue a job, save and delete a view of the
    table, discard a staged batch, reject an approval and refuse a borrowing (借阅)."""
    from playwright.sync_api import expect

    errors: list[str] = []
    page = browser.new_context(viewport=DESKTOP, locale="en-US").new_page()
    page.on("pageerror", lambda e: errors.append(str(e)))
    sign_in(page, USER)
    url = live.url
    # find a customer by name
    page.goto(url + "/customers?lang=en")
    page.locator("#cq").fill("新疆")
    page.locator("#cq").press("Enter")
    page.wait_for_url("**/customers?q=*")
    expect(page.locator("table.data tbody tr")).to_have_count(1)
    expect(page.locator("table.data tbody")).to_contain_text("新疆汽车贸易公司")
    # filter the access log by action
    page.goto(url + "/access-log")
    page.locator("#log-action").fill("customer.list")
    page.get_by_role("button", name="Apply").click()
    page.wait_for_url("**action=customer.list**")
    actions = page.locator("table.access-log tbody td:nth-child(4) code").all_inner_texts()
    assert actions and set(actions) == {"customer.list"}, actions
    # highlight a word on the contract's pages
    page.goto(url + f"/contracts/{WORLD['zh']}")
    page.locator("#hl").fill("合同")
    page.locator("form.highlight-form button[type=submit]").click()
    page.wait_for_url("**q=%E5%90%88%E5%90%8C**")
    expect(page.locator(".hit-layer rect").first).to_be_attached()
    # reject the suggested classification: it becomes history, not buttons
    suggestion = page.locator("ul.suggestions li.suggestion", has_text="Classification")
    suggestion.locator("button[value=reject]").click()
    page.wait_for_load_state()
    expect(page.locator("ul.suggestions li.suggestion", has_text="Classification")).to_have_count(0)
    expect(page.locator("#suggestion-history")).to_contain_text("Classification")
    # queue a background job
    page.goto(url + "/jobs")
    page.locator("#job-kind").select_option("reminders")
    page.get_by_role("button", name="Queue", exact=True).click()
    page.wait_for_load_state()
    expect(page.locator("table.background-jobs tbody tr")).to_have_count(1)
    # save a view of the table, then delete it
    page.goto(url + "/contracts?sort=-title")
    page.locator("#view-name").fill("By title, Z-A")
    page.locator("#save-view button[type=submit]").click()
    expect(page.locator(".views a", has_text="By title, Z-A")).to_have_count(1)
    page.get_by_role("button", name="Delete: By title, Z-A").click()
    page.wait_for_url("**/contracts")
    expect(page.locator(".views a", has_text="By title, Z-A")).to_have_count(0)
    # discard a staged batch
    page.goto(url + f"/batches/staged/{WORLD['spare_token']}")
    page.get_by_role("button", name="Discard").click()
    page.wait_for_url("**/batches")
    assert page.goto(url + f"/batches/staged/{WORLD['spare_token']}").status == 404  # type: ignore[union-attr]
    # reject the approval waiting for this user, with a reason
    page.goto(url + "/approvals")
    page.locator("form.decide input[name=comment][required]").first.fill("the price is wrong")
    page.get_by_role("button", name="Reject").first.click()
    page.wait_for_load_state()
    page.get_by_role("link", name="All rounds").click()
    expect(page.locator("main")).to_contain_text("the price is wrong")
    assert live.archive.get(WORLD["en"]).status == "draft"
    # refuse the borrowing asked for, with a reason
    page.goto(url + "/borrowings")
    page.locator("input[id^='r-']").first.fill("not for this audit")
    page.get_by_role("button", name="Refuse").first.click()
    page.wait_for_load_state()
    expect(page.locator("main")).to_contain_text("not for this audit")
    assert not errors, errors
    page.context.close()
