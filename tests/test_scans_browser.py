"""Scans in the browser (issue 15), in Debian's chromium through Playwright, signed in through
the log-in form: a lawyer searches a word that is only on an OCR'd page, opens the hit, sees
it boxed on the page image, and selects and copies text from the layer over the image.

The Chinese scan's OCR replays tesseract's recorded outputs (tests/data/ocr/recorded).
Screenshots: the browser test artifacts (``test-artifacts/browser/scans-*.png``).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from ingest.ocr.engine import ReplayOcrEngine
from services.access.credentials import hash_password
from services.access.service import AccessControl
from services.archive import Archive
from services.ocr import OcrService
from tests.access_helpers import ensure_user
from tests.browser_support import (
    DESKTOP,
    PASSWORD,
    SESSION,
    LiveServer,
    shot,
    sign_in,
)
from tests.conftest import CORPUS, make_settings

pytestmark = [pytest.mark.browser, pytest.mark.slow]

RECORDED = Path(__file__).parent / "data" / "ocr" / "recorded"
SCAN_ZH = CORPUS / "scanned" / "real" / "青岛市木门买卖合同示范文本.pdf"
IDS: dict[str, int] = {}


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    settings = make_settings(tmp_path_factory.mktemp("scans") / "var")
    with Archive(settings, parser_workers=1).open() as archive:
        result = archive.ingest_path(SCAN_ZH, display_name=SCAN_ZH.name)
        assert result.status == "archived" and result.id is not None
        IDS["zh"] = result.id
        with OcrService(
            archive, engine=ReplayOcrEngine(str(RECORDED)), workers=2, poll_seconds=0.1
        ) as service:
            service.wait_for([result.id], poll=0.1)
        assert archive.get(result.id).text_key.endswith("text.v2.json")
        access = AccessControl.for_archive(archive)
        ensure_user(archive, "scan-lawyer", ("legal",))
        access.store.update_user("scan-lawyer", {"password_hash": hash_password(PASSWORD)})
        with LiveServer(archive) as server:
            SESSION["url"] = server.url
            yield server


def test_a_hit_on_a_scan_is_boxed_and_its_text_can_be_selected(live: LiveServer, browser) -> None:
    context = browser.new_context(viewport=DESKTOP, locale="zh-CN")  # type: ignore[attr-defined]
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    sign_in(page, "scan-lawyer")

    page.goto(live.url + "/")
    page.locator("#q").fill("木门定制单")
    page.locator("#q").press("Enter")
    page.wait_for_url("**/search?**")
    link = page.locator(f'a.pageref[href^="/contracts/{IDS["zh"]}?"]').first
    href = link.get_attribute("href") or ""
    wanted = href.split("page=")[1].split("#")[0]
    link.click()
    page.wait_for_load_state("networkidle")
    assert page.locator("#goto").input_value() == wanted  # the link landed on its page
    assert "无法在页面图像上定位" not in page.content()

    # the hit is drawn on the page image: a visible box inside the image
    rect = page.locator("svg.hit-layer rect.hit-rect").first
    rect.wait_for(state="visible")
    box, image = rect.bounding_box(), page.locator(".page-frame img").bounding_box()
    assert box and image and box["width"] > 5 and box["height"] > 5
    assert image["x"] <= box["x"] and box["x"] + box["width"] <= image["x"] + image["width"] + 1
    assert image["y"] <= box["y"] and box["y"] + box["height"] <= image["y"] + image["height"] + 1
    shot(page, "scans-hit-boxed")

    # select the title line on the image with a drag, as a person does, and read it
    page.goto(f"{live.url}/contracts/{IDS['zh']}?page=1#viewer")
    title = page.locator("svg.text-layer text", has_text="木门买卖合同").first
    title.scroll_into_view_if_needed()
    tb = title.bounding_box()
    assert tb and tb["width"] > 100
    y = tb["y"] + tb["height"] / 2
    page.mouse.move(tb["x"] + 1, y)
    page.mouse.down()
    page.mouse.move(tb["x"] + tb["width"] / 2, y, steps=5)
    page.mouse.move(tb["x"] + tb["width"] - 1, y, steps=5)
    page.mouse.up()
    selected = page.evaluate("window.getSelection().toString()")
    assert "木门买卖合同" in selected, selected
    shot(page, "scans-text-selected")

    # a triple-click selects a whole run of text too
    page.mouse.click(tb["x"] + tb["width"] / 2, y, click_count=3)
    assert "青岛市木门买卖合同示范文本" in page.evaluate("window.getSelection().toString()")
    assert not errors, errors
    context.close()
