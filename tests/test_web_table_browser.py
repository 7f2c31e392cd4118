"""The contract table (issue 15) in Debian's chromium through Playwright, signed in through the
log-in form: an archivist opens the table from the navigation, sorts it by a column, filters
it, selects two rows, classifies them in bulk, saves the view and finds it again; the page is
looked at in both languages, on a desk and on a phone. Screenshots: ``/tmp/web-table-*.png`` and
the browser test artifacts (``test-artifacts/browser/table-*.png``).
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator

import pytest

from services.access.credentials import hash_password
from services.access.service import AccessControl
from services.archive import Archive
from tests.access_helpers import ensure_user
from tests.browser_support import (
    ARTIFACTS,
    DESKTOP,
    PASSWORD,
    PHONE,
    SESSION,
    LiveServer,
    no_horizontal_scroll,
    save_screenshot,
    sign_in,
)
from tests.conftest import corpus_files, make_settings
from tests.test_web_table import _seed

pytestmark = [pytest.mark.browser, pytest.mark.slow]

WORLD: dict[str, object] = {}


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    base = tmp_path_factory.mktemp("table-web")
    settings = make_settings(base / "var", fonds_code="A01")
    with Archive(settings, parser_workers=1).open() as archive:
        access = AccessControl.for_archive(archive)
        ensure_user(archive, "t-clerk", ("archivist",))
        access.store.update_user("t-clerk", {"password_hash": hash_password(PASSWORD)})
        real = [archive.ingest_path(p).id for p in corpus_files("zh", ".pdf")[:3]]
        assert all(real)
        for n in range(1, 61):  # more than a page of 50
            _seed(archive, n, "XS" if n % 3 == 0 else None)
        current = {archive.get(int(cid)).classification for cid in real if cid}
        code = next(
            c.code
            for c in archive.records.current_scheme().codes
            if c.code not in current | {"XS", "LD"}
        )
        WORLD.update(archive=archive, real=real, code=code)
        with LiveServer(archive) as server:
            SESSION["url"] = server.url
            yield server


def shot(page, name: str) -> None:  # type: ignore[no-untyped-def]
    path = save_screenshot(page, ARTIFACTS / f"table-{name}.png")
    shutil.copy(path, f"/tmp/web-table-{name}.png")


def test_an_archivist_sorts_filters_classifies_in_bulk_and_saves_a_view(
    live: LiveServer, browser
) -> None:  # type: ignore[no-untyped-def]
    from playwright.sync_api import expect

    archive = WORLD["archive"]
    assert isinstance(archive, Archive)
    real = [int(i) for i in WORLD["real"]]  # type: ignore[attr-defined]
    code = str(WORLD["code"])
    errors: list[str] = []
    context = browser.new_context(viewport=DESKTOP, locale="en-US")
    page = context.new_page()
    page.on("pageerror", lambda e: errors.append(str(e)))
    sign_in(page, "t-clerk")
    page.locator("nav a[href='/contracts']").click()
    page.wait_for_url("**/contracts")
    expect(page.locator("#table-total")).to_contain_text("63 contracts")
    expect(page.locator("#table-total")).to_contain_text("Page 1 of 2")
    expect(page.locator("#contract-table tbody tr")).to_have_count(50)

    # sort by the title, then the other way
    page.locator("a.sort[data-sort='title']").click()
    page.wait_for_url("**sort=title**")
    page.locator("a.sort[data-sort='title']").click()
    page.wait_for_url("**sort=-title**")
    expect(page.locator("th[aria-sort='descending']")).to_contain_text("Title")
    titles = page.locator("#contract-table tbody tr td:nth-child(2) a").all_inner_texts()
    assert titles == sorted(titles, reverse=True)

    # filter: the sealed ones (the three ingested contracts), sort kept
    page.locator("#f-verification").select_option("sealed")
    page.locator("#apply-filters").click()
    page.wait_for_url("**verification=sealed**")
    assert "sort=-title" in page.url
    expect(page.locator("#table-total")).to_contain_text("3 contracts")
    rows = page.locator("#contract-table tbody tr")
    expect(rows).to_have_count(3)

    # the header's box selects the whole page, clears it again, and shows "some"
    boxes = page.locator("#contract-table tbody input[name=ids]")
    page.locator("#select-all").check()
    assert [boxes.nth(i).is_checked() for i in range(3)] == [True, True, True]
    boxes.nth(2).uncheck()
    assert page.locator("#select-all").evaluate("b => b.indeterminate && !b.checked")
    page.locator("#select-all").click()  # from "some": every row
    assert all(boxes.nth(i).is_checked() for i in range(3))
    page.locator("#select-all").uncheck()
    assert not any(boxes.nth(i).is_checked() for i in range(3))

    # select two rows and classify them
    chosen = [int(str(rows.nth(i).get_attribute("data-id"))) for i in (0, 1)]
    for i in (0, 1):
        rows.nth(i).locator("input[type=checkbox]").check()
    page.locator("#bulk-action").select_option("classify")
    page.locator("#bulk-value").fill(code)
    page.locator("#bulk-reason").fill("sorted on the table")
    page.locator("#bulk-apply").click()
    expect(page.locator("#bulk-outcome")).to_contain_text("Classify: 2 done, 0 failed.")
    assert all(archive.get(cid).classification == code for cid in chosen)
    assert set(chosen) <= set(real)
    for cid in chosen:
        expect(
            page.locator(f"#contract-table tbody tr[data-id='{cid}'] td:nth-child(4)")
        ).to_contain_text(code)

    # save the view, and find it again from the plain table
    page.locator("#view-name").fill("Sealed, by title")
    page.locator("#save-view button[type=submit]").click()
    expect(page.locator(".notice.saved")).to_contain_text("The view is saved.")
    shot(page, "en-desktop")
    page.goto(SESSION["url"] + "/contracts")
    page.locator(".views a", has_text="Sealed, by title").click()
    page.wait_for_url("**verification=sealed**")
    expect(page.locator("#table-total")).to_contain_text("3 contracts")

    # the same page in Chinese, and on a phone
    page.goto(SESSION["url"] + "/contracts?lang=zh&verification=sealed")
    expect(page.locator("h1")).to_have_text("合同列表")
    expect(page.locator("#table-total")).to_contain_text("共 3 份合同")
    shot(page, "zh-desktop")
    phone = browser.new_context(viewport=PHONE, locale="zh-CN").new_page()
    sign_in(phone, "t-clerk")
    phone.goto(SESSION["url"] + "/contracts?lang=zh&size=25")
    expect(phone.locator("#table-total")).to_contain_text("共 63 份合同")
    shot(phone, "zh-phone")
    assert no_horizontal_scroll(phone)
    assert not errors, errors
