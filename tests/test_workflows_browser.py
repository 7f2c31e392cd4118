"""One approval chain and one borrowing (借阅) in a real browser (Debian's chromium through
Playwright), each user signed in through the log-in form: a clerk submits a draft, a manager
approves it to signing; a reader asks to borrow a restricted contract, its keeper grants it, the
reader opens it and returns it, and it is hidden again."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from core.roles import Caller, Role
from services.access.credentials import hash_password
from services.access.service import AccessControl
from services.archive import Archive
from services.facade import Runtime
from tests.access_helpers import ensure_user
from tests.browser_support import (
    PASSWORD,
    SESSION,
    ZH,
    LiveServer,
    shot,
    sign_in,
)
from tests.conftest import make_settings

pytestmark = [pytest.mark.browser, pytest.mark.slow]

IDS: dict[str, int] = {}


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    from playwright.sync_api import sync_playwright  # noqa: F401 - fails early if missing

    settings = make_settings(tmp_path_factory.mktemp("workflows-web") / "var")
    with Archive(settings, parser_workers=1).open() as archive, LiveServer(archive) as server:
        access = AccessControl.for_archive(archive)
        users = {
            "wadmin": (("admin",), ("mgmt", "vault")),
            "wclerk": (("archivist",), ()),
            "wmgr": (("legal",), ("mgmt",)),
            "wreader": (("legal",), ()),
            "wkeeper": (("archivist",), ("vault",)),
        }
        for name, (roles, groups) in users.items():
            ensure_user(archive, name, roles, groups)
            access.store.update_user(name, {"password_hash": hash_password(PASSWORD)})
        admin = Caller(
            user_id=access.store.get_user("wadmin").id,  # type: ignore[union-attr]
            username="wadmin",
            roles=frozenset({Role.ADMIN}),
            groups=frozenset({"mgmt", "vault"}),
            via="cli",
        )
        f = Runtime(archive).facade(admin)
        f.scheme.set_code("MJ", name_zh="机密", name_en="confidential", retention="D30")
        sales = f.contracts.ingest_path(ZH, title="Browser sales contract").result.id
        secret = f.contracts.ingest_path(
            ZH.with_name("南京市存量房买卖合同.pdf"), title="Browser vault contract"
        ).result.id
        assert sales and secret
        f.terms.update(secret, {"classification": "MJ"})
        f.restrictions.set("MJ", ["vault"])
        f.approvals.set_rules({"rules": [{"name": "all", "steps": [{"groups": ["mgmt"]}]}]})
        f.lifecycle.transition(sales, "draft", reason="a draft to approve", force=True)
        IDS.update(sales=sales, secret=secret)
        SESSION["url"] = server.url
        yield server


def page_of(browser, username: str):  # type: ignore[no-untyped-def]
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="en-US")
    page = context.new_page()
    sign_in(page, username)
    return page


def test_one_approval_chain(live: LiveServer, browser) -> None:  # type: ignore[no-untyped-def]
    from playwright.sync_api import expect

    sales = IDS["sales"]
    clerk = page_of(browser, "wclerk")
    clerk.goto(live.url + "/approvals?lang=en")
    clerk.locator("#submit-id").fill(str(sales))
    clerk.get_by_role("button", name="Submit").click()
    expect(clerk.get_by_text("Browser sales contract")).to_be_visible()
    shot(clerk, "approvals-submitted")
    mgr = page_of(browser, "wmgr")
    mgr.goto(live.url + "/approvals?lang=en")
    expect(mgr.get_by_text("Browser sales contract")).to_be_visible()
    mgr.locator("#c-ok-1").fill("price checked")
    mgr.get_by_role("button", name="Approve").click()
    mgr.wait_for_url(lambda url: url.endswith("/approvals"))
    expect(mgr.get_by_text("Nothing is waiting here.")).to_be_visible()
    mgr.goto(live.url + f"/contracts/{sales}?lang=en")
    shot(mgr, "approvals-approved")
    mgr.goto(live.url + "/approvals?mine=false&state=approved&lang=en")
    expect(mgr.get_by_text("price checked")).to_be_visible()


def test_one_borrowing_from_request_to_return(live: LiveServer, browser) -> None:  # type: ignore[no-untyped-def]
    from playwright.sync_api import expect

    secret = IDS["secret"]
    reader = page_of(browser, "wreader")
    response = reader.goto(live.url + f"/contracts/{secret}?lang=en")
    assert response is not None and response.status == 404
    reader.goto(live.url + "/borrowings?lang=en")
    reader.locator("#b-id").fill(str(secret))
    reader.locator("#b-purpose").fill("litigation 2026-17")
    reader.locator("#b-days").fill("3")
    reader.get_by_role("button", name="Send request").click()
    expect(reader.get_by_text("litigation 2026-17")).to_be_visible()
    keeper = page_of(browser, "wkeeper")
    keeper.goto(live.url + "/borrowings?lang=en")
    expect(keeper.get_by_text("Browser vault contract")).to_be_visible()
    keeper.get_by_role("button", name="Grant").click()
    expect(keeper.get_by_text("in force")).to_be_visible()
    shot(keeper, "borrowing-granted")
    response = reader.goto(live.url + f"/contracts/{secret}?lang=en")
    assert response is not None and response.status == 200
    expect(reader.get_by_text("Browser vault contract").first).to_be_visible()
    reader.goto(live.url + "/borrowings?lang=en")
    reader.get_by_role("button", name="Return now").click()
    expect(reader.get_by_text("returned", exact=True)).to_be_visible()
    response = reader.goto(live.url + f"/contracts/{secret}?lang=en")
    assert response is not None and response.status == 404
