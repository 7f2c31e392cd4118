"""A batch scan in a real browser (Debian's chromium through Playwright), signed in through the
log-in form: upload the batch on /batches, see the planned split (page thumbnails, page ranges,
the sheets' customers), archive it, follow a contract to the batch it came from; and the same
page in Chinese."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from services.access.credentials import hash_password
from services.access.service import AccessControl
from services.archive import Archive
from tests.access_helpers import ensure_user
from tests.browser_support import PASSWORD, SESSION, LiveServer, shot, sign_in
from tests.conftest import make_settings
from tests.test_intake_batches import CUSTOMER, NANJING, XINJIANG, image_pdf, raster

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    from playwright.sync_api import sync_playwright  # noqa: F401 - fails early if missing

    settings = make_settings(tmp_path_factory.mktemp("batches-web") / "var", ocr_background=False)
    with Archive(settings, parser_workers=1).open() as archive, LiveServer(archive) as server:
        access = AccessControl.for_archive(archive)
        ensure_user(archive, "bclerk", ("archivist",))
        access.store.update_user("bclerk", {"password_hash": hash_password(PASSWORD)})
        SESSION["url"] = server.url
        yield server


def test_upload_preview_and_commit_a_batch(  # type: ignore[no-untyped-def]
    live: LiveServer, browser, tmp_path: Path
) -> None:
    from playwright.sync_api import expect

    context = browser.new_context(
        viewport={"width": 1280, "height": 900}, locale="en-US", accept_downloads=True
    )
    page = context.new_page()
    sign_in(page, "bclerk")
    page.goto(live.url + "/batches?lang=en")
    expect(page.get_by_role("heading", name="Batch scans", exact=True)).to_be_visible()
    # the separator sheet, printed from the page
    page.locator("#sheet-customer").fill(CUSTOMER)
    page.locator("#sheet-classification").fill("XS")
    with page.expect_download() as download:
        page.get_by_role("button", name="Download the sheet (PDF)").click()
    sheet = tmp_path / "sheet.pdf"
    download.value.save_as(sheet)
    batch = tmp_path / "box-12.pdf"
    batch.write_bytes(
        image_pdf(
            [
                raster(sheet.read_bytes(), 0, 1),
                raster(NANJING, 0, 2),
                raster(NANJING, 1, 3),
                raster(sheet.read_bytes(), 0, 4),
                raster(XINJIANG, 0, 5),
            ]
        )
    )
    page.locator("#batch-file").set_input_files(str(batch))
    page.locator("#batch-customer").fill("Fallback Ltd")
    page.get_by_role("button", name="Show the split").click()
    page.wait_for_url(lambda url: "/batches/staged/" in url)
    expect(page.get_by_text("5 pages, 2 separator sheets, 2 contracts.")).to_be_visible()
    segments = page.locator(".batch-segment")
    expect(segments).to_have_count(2)
    expect(segments.nth(0)).to_contain_text("Contract 1: pages 2-3")
    expect(segments.nth(0)).to_contain_text(CUSTOMER)
    expect(segments.nth(1)).to_contain_text("Contract 2: page 5")
    expect(segments.nth(0).locator("img")).to_have_count(3)  # its sheet and two pages
    shot(page, "batches-preview")
    page.get_by_role("button", name="Archive these contracts").click()
    expect(page.get_by_role("heading", name="box-12.pdf archived")).to_be_visible()
    expect(page.locator(".batch-segment .status-archived")).to_have_count(2)
    shot(page, "batches-committed")
    page.locator(".batch-segment").nth(0).get_by_role("link").first.click()
    related = page.get_by_role("region", name="Related contracts")
    expect(related.get_by_role("link", name="box-12", exact=True)).to_be_visible()  # the batch
    # in Chinese
    page.goto(live.url + "/batches?lang=zh")
    expect(page.get_by_role("heading", name="批量扫描", exact=True)).to_be_visible()
    expect(page.get_by_role("button", name="查看拆分")).to_be_visible()
    context.close()
