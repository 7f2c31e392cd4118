"""The archive's work on the web (issue 15), in Debian's chromium through Playwright, each user
signed in through the log-in form: an archivist sets a contract's title and customer, corrects
its dates and amount, adds a payment, files it (档号), places a hold, moves it on and links it to
its master contract, all on the contract page; refused forms (an unknown customer, a date that
does not exist) come back with the reason in the page's language; the contract still verifies
(the page's panel, and ``contract-archive verify`` as ARCHIVE_USER). A lawyer sees none of the
edit forms. An administrator retries a failed OCR page from /jobs; an archivist confirms a
clause suggestion on the contract page.

One server and one browser for the module; each user signs in through the form once per width
(:func:`signed_in`: the archivist's pages serve the three tests of an archivist). Screenshots: ``/tmp/web-*.png`` and the browser
test artifacts (``test-artifacts/browser/edit-*.png``).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from core.roles import Caller, Role
from services.access.credentials import hash_password
from services.access.service import AccessControl
from services.archive import Archive
from services.facade import Runtime
from tests.access_helpers import ensure_user
from tests.browser_support import (
    ARTIFACTS,
    CONTRAST_JS,
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
from tests.test_ocr_poison import PROGRAM, one_page_scan, service

pytestmark = [pytest.mark.browser, pytest.mark.slow]

IDS: dict[str, int] = {}
DATA: dict[str, Path] = {}
USERS = {
    "e-archivist": ("archivist",),
    "e-lawyer": ("legal",),
    "e-auditor": ("auditor",),
    "e-admin": ("admin",),
}


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    base = tmp_path_factory.mktemp("edit-web")
    settings = make_settings(base / "var", fonds_code="A01", ocr_background=False)
    recordings = base / "recorded"
    recordings.mkdir()  # empty: the scan's page fails OCR with "no recorded OCR output"
    with Archive(settings, parser_workers=1).open() as archive:
        access = AccessControl.for_archive(archive)
        for name, roles in USERS.items():
            ensure_user(archive, name, roles)
            access.store.update_user(name, {"password_hash": hash_password(PASSWORD)})
        contract = archive.ingest_path(ZH)
        master = archive.ingest_path(EN, customer="Atentosa Holdings")
        scan = one_page_scan(base / "scan.pdf", "edit-web")
        scanned = archive.ingest_path(scan, title="Scan that fails OCR")
        assert contract.id and master.id and scanned.id and scanned.pages_needing_ocr == (1,)
        with service(archive, recordings, max_attempts=1) as ocr:
            waited = ocr.wait_for([scanned.id], poll=0.1, timeout=120)
        assert not waited.timed_out and waited.failed == 1
        admin = Caller(
            user_id=access.store.get_user("e-admin").id,  # type: ignore[union-attr]
            username="e-admin",
            roles=frozenset({Role.ADMIN}),
            groups=frozenset(),
            via="cli",
        )
        clauses = Runtime(archive).facade(admin).terms.clauses(contract.id)
        assert any(c.state == "open" for c in clauses), "the contract has no clause to confirm"
        IDS.update(contract=contract.id, master=master.id, scan=scanned.id)
        DATA["dir"] = settings.data_dir
        with LiveServer(archive) as server:
            SESSION["url"] = server.url
            yield server


WIDE_JS = """() => [...document.querySelectorAll('body *')]
  .filter(e => e.getBoundingClientRect().right > window.innerWidth + 1)
  .slice(-8).map(e => e.tagName + '#' + e.id + '.' + e.className + ':' + Math.round(e.getBoundingClientRect().width))"""
"""What sticks out on the right (for the message of a failed width check)."""


def shot(page, name: str) -> None:  # type: ignore[no-untyped-def]
    path = save_screenshot(page, ARTIFACTS / f"edit-{name}.png")
    shutil.copy(path, f"/tmp/web-{name}.png")


SignedIn = Callable[..., tuple[Any, list[str]]]


@pytest.fixture(scope="module")
def signed_in(live: LiveServer, browser) -> Iterator[SignedIn]:  # type: ignore[no-untyped-def]
    """``signed_in(username, viewport=DESKTOP, locale="en-US")``: the page of the module's one
    context for that user, width and language, signed in through the log-in form when first
    asked for, and the list its script errors go to (emptied for each test that asks)."""
    made: dict[tuple[str, int, str], tuple[Any, list[str]]] = {}

    def get(
        username: str, viewport: dict = DESKTOP, locale: str = "en-US"
    ) -> tuple[Any, list[str]]:
        key = (username, viewport["width"], locale)
        if key not in made:
            errors: list[str] = []
            page = browser.new_context(viewport=viewport, locale=locale).new_page()
            page.on("pageerror", lambda e: errors.append(str(e)))
            sign_in(page, username)
            made[key] = (page, errors)
        page, errors = made[key]
        errors.clear()
        return page, errors

    yield get
    for page, _ in made.values():
        page.context.close()


def open_form(page, form: str):  # type: ignore[no-untyped-def]
    """Open the details of one edit form (closed unless it was just used) and return it."""
    details = page.locator(f"#edit-{form}")
    if details.get_attribute("open") is None:
        details.locator("summary").click()
    return details


def saved(page) -> str:  # type: ignore[no-untyped-def]
    return str(page.locator("#saved-message").inner_text())


def test_an_archivist_completes_and_files_a_contract_and_it_still_verifies(
    live: LiveServer, signed_in: SignedIn
) -> None:
    from playwright.sync_api import expect

    cid, master = IDS["contract"], IDS["master"]
    page, errors = signed_in("e-archivist")
    url = f"{live.url}/contracts/{cid}"
    page.goto(url + "?lang=en")

    # Title and customer: a name no customer has is refused, nothing is written.
    form = open_form(page, "record")
    form.get_by_label("Title", exact=True).fill("Vehicle sales contract, Urumqi branch")
    form.get_by_label("Customer", exact=True).fill("Xinjiang Auto Trading")
    form.get_by_role("button", name="Save").click()
    page.wait_for_load_state()
    alert = page.locator("#err-record")
    expect(alert).to_contain_text("no customer has this name")
    assert page.locator("#e-customer").get_attribute("aria-invalid") == "true"
    assert page.locator("#e-customer").input_value() == "Xinjiang Auto Trading"  # as typed
    assert page.locator(".contract-head h1").inner_text() != "Vehicle sales contract, Urumqi branch"
    shot(page, "record-refused-en")
    # ... and made on purpose when "new customer" is ticked.
    form = open_form(page, "record")
    form.get_by_label("Create a new customer with this name").check()
    form.get_by_label("Reason (kept in the history)").fill("as on the signature page")
    form.get_by_role("button", name="Save").click()
    page.wait_for_url(re.compile(r"saved=record"))
    assert saved(page) == "Title and customer saved."
    expect(page.locator(".contract-head h1")).to_have_text("Vehicle sales contract, Urumqi branch")
    expect(page.locator(".contract-head .meta")).to_contain_text("Xinjiang Auto Trading")

    # A date that does not exist, in Chinese: the form comes back in Chinese, no 500.
    page.goto(url + "?lang=zh")
    form = open_form(page, "terms")
    page.evaluate("document.getElementById('e-sign_date').type = 'text'")
    form.locator("#e-sign_date").fill("2026-02-30")
    form.get_by_role("button", name="保存").click()
    page.wait_for_load_state()
    expect(page.locator("#err-terms")).to_contain_text("签订日期")
    expect(page.locator("#err-terms")).to_contain_text("不是有效日期")
    expect(page.locator("#edit-error")).to_contain_text("未保存")
    shot(page, "terms-refused-zh")
    page.goto(url + "?lang=en")

    # Dates, amount and currency, law and renewal confirmed in one form.
    form = open_form(page, "terms")
    form.locator("#e-sign_date").fill("2026-01-05")
    form.locator("#e-effective_date").fill("2026-01-10")
    form.locator("#e-expiry_date").fill("2027-01-09")
    form.locator("#e-amount").fill("2,500,000.00")
    form.locator("#e-currency").select_option("CNY")
    form.locator("#e-governing_law").fill("PRC law")
    form.locator("#e-renewal_type").select_option("manual")
    form.get_by_label("Renewals allowed").fill("2")
    form.locator("#e-terms-reason").fill("checked against the signed copy")
    form.get_by_role("button", name="Save").click()
    page.wait_for_url(re.compile(r"saved=terms"))
    assert saved(page) == "Terms saved."
    confirmed = page.locator("section[aria-labelledby=terms-h] dl.meta-list").inner_text()
    assert "CNY 2,500,000.00" in confirmed and "5 Jan 2026" in confirmed, confirmed
    assert "9 Jan 2027" in confirmed and "PRC law" in confirmed, confirmed
    assert re.search(r"Renewals allowed\s*2", confirmed), confirmed

    # A payment.
    form = open_form(page, "payment")
    form.locator("#e-due_date").fill("2026-06-30")
    form.locator("#e-pay-amount").fill("500000")
    form.locator("#e-description").fill("first instalment")
    form.get_by_role("button", name="Add a payment").last.click()
    page.wait_for_url(re.compile(r"saved=payment"))
    assert saved(page) == "Payment added."
    expect(page.locator("#edit-payment .payment-list")).to_contain_text("CNY 500,000.00")

    # Filed: the archive assigns the 档号.
    form = open_form(page, "file")
    form.locator("#e-classification").select_option("XS")
    form.get_by_role("button", name="File and assign the archival code").click()
    page.wait_for_url(re.compile(r"saved=file"))
    assert re.fullmatch(r"Filed: archival code A01-HT·2026-D30-XS-\d{4}\.", saved(page))
    expect(page.locator("#edit-file")).to_contain_text("Filed as A01-HT·2026-D30-XS-")
    # the classification suggestion was the code chosen: confirmed, no longer offered
    assert page.locator("section[aria-labelledby=terms-h] form.decide").count() == 0

    # A hold, a transition allowed from the current state, the master contract.
    form = open_form(page, "hold")
    form.locator("#e-hold-reason").fill("litigation 2026-17")
    form.get_by_role("button", name="Place a hold").click()
    page.wait_for_url(re.compile(r"saved=hold"))
    assert saved(page) == "Hold placed."
    expect(page.locator("#edit-hold .hold-list")).to_contain_text("litigation 2026-17")
    form = open_form(page, "transition")
    options = form.locator("#e-to option").all_inner_texts()
    assert options == ["active", "terminated", "voided"], options  # what "signed" allows
    form.locator("#e-to").select_option("active")
    form.locator("#e-to-reason").fill("in force since 10 January")
    form.get_by_role("button", name="Move").click()
    page.wait_for_url(re.compile(r"saved=transition"))
    assert saved(page) == "The contract is now active."
    form = open_form(page, "relation")
    form.locator("#e-master").fill(str(master))
    form.locator("#e-relation").select_option("amendment")
    form.get_by_role("button", name="Link").click()
    page.wait_for_url(re.compile(r"saved=relation"))
    expect(page.locator("#edit-relation")).to_contain_text(f"#{master}")

    # What was paid on the payment; a hold released (a reason is needed).
    form = open_form(page, "payment")
    form.locator(".payment-list input[name=paid_amount]").fill("200,000")
    form.locator(".payment-list input[name=paid_date]").fill("2026-07-02")
    form.get_by_role("button", name="Record payment").click()
    page.wait_for_url(re.compile(r"saved=paid"))
    assert saved(page) == "Payment recorded."
    expect(page.locator("#edit-payment .payment-list")).to_contain_text(
        "outstanding CNY 300,000.00"
    )
    form = open_form(page, "hold")
    form.get_by_role("button", name="Release").click()
    page.wait_for_load_state()
    expect(page.locator("#err-release")).to_contain_text("give a reason")
    expect(page.locator("#edit-hold .hold-list")).to_contain_text("litigation 2026-17")
    form = open_form(page, "hold")
    form.get_by_label("Reason for the release").fill("settled out of court")
    form.get_by_role("button", name="Release").click()
    page.wait_for_url(re.compile(r"saved=release"))
    assert saved(page) == "Hold released."
    assert page.locator("#edit-hold .hold-list").count() == 0
    shot(page, "contract-edited-en")

    # Every change is in the manifest history, and the contract verifies.
    history = page.locator("#manifest-history").inner_text()
    for action in ("contract.update", "contract.terms.update", "contract.file", "hold.release"):
        assert action in history, history
    expect(page.locator("section[aria-labelledby=ver-h] .badge")).to_have_class(
        re.compile("badge-passed")
    )
    verified = subprocess.run(
        [PROGRAM, "verify", str(cid)],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "ARCHIVE_DATA_DIR": str(DATA["dir"]), "ARCHIVE_USER": "e-auditor"},
    )
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert "PASSED" in verified.stdout, verified.stdout

    # The page in Chinese and at phone width.
    page.goto(url + "?lang=zh&saved=file")
    for form in ("record", "terms", "payment", "file", "transition", "hold", "relation"):
        open_form(page, form)
    shot(page, "contract-edited-zh")
    assert page.evaluate(CONTRAST_JS) == []
    unnamed = page.evaluate(
        """() => [...document.querySelectorAll('#edit input:not([type=hidden]), #edit select')]
               .filter(e => !(e.labels && e.labels.length)).map(e => e.outerHTML)"""
    )
    assert unnamed == []
    phone, phone_errors = signed_in("e-archivist", PHONE, "zh-CN")
    phone.goto(url)
    for form in ("terms", "payment", "hold"):
        open_form(phone, form)
    assert no_horizontal_scroll(phone), phone.evaluate(WIDE_JS)
    shot(phone, "contract-edited-zh-390")
    assert errors == [] and phone_errors == [], errors + phone_errors


def test_an_archivist_edits_the_parties(live: LiveServer, signed_in: SignedIn) -> None:
    """Add a party, rename it, refuse an emptied name, remove it; each with its reason in the
    page's history; the form in Chinese and at phone width."""
    from playwright.sync_api import expect

    cid = IDS["master"]
    page, errors = signed_in("e-archivist")
    url = f"{live.url}/contracts/{cid}"
    page.goto(url + "?lang=en")
    form = open_form(page, "parties")
    n = form.locator("fieldset.party").count()
    form.locator("#e-party-new-role").select_option(label="Guarantor")
    form.locator("#e-party-new-name").fill("Atentosa Guarantee Ltd")
    form.get_by_label("Reason (kept in the history)").fill("guarantor signs on page 4")
    form.get_by_role("button", name="Save").click()
    page.wait_for_url(re.compile(r"saved=parties"))
    assert saved(page) == "Parties saved."
    added = page.locator(f"#e-party-{n}")
    expect(added.locator("legend")).to_have_text(f"Party {n + 1}")
    expect(added.locator(f"#e-party-name-{n}")).to_have_value("Atentosa Guarantee Ltd")
    expect(added.locator(f"#e-party-role-{n} option:checked")).to_have_text("Guarantor")

    # Renamed; then an emptied name is refused at the field and nothing is written.
    form = open_form(page, "parties")
    form.locator(f"#e-party-name-{n}").fill("Atentosa Guarantee Limited")
    form.get_by_label("Reason (kept in the history)").fill("name as registered")
    form.get_by_role("button", name="Save").click()
    page.wait_for_url(re.compile(r"saved=parties"))
    expect(page.locator(f"#e-party-name-{n}")).to_have_value("Atentosa Guarantee Limited")
    form = open_form(page, "parties")
    form.locator(f"#e-party-name-{n}").fill("")
    form.get_by_role("button", name="Save").click()
    page.wait_for_load_state()
    expect(page.locator("#err-parties")).to_contain_text("A party needs a name")
    assert page.locator(f"#e-party-name-{n}").get_attribute("aria-invalid") == "true"
    shot(page, "parties-refused-en")
    page.goto(url + "?lang=en")
    expect(page.locator(f"#e-party-name-{n}")).to_have_value("Atentosa Guarantee Limited")

    # Removed.
    form = open_form(page, "parties")
    form.locator(f"#e-party-{n}").get_by_label("Remove this party").check()
    form.get_by_label("Reason (kept in the history)").fill("the guarantee was dropped")
    form.get_by_role("button", name="Save").click()
    page.wait_for_url(re.compile(r"saved=parties"))
    expect(page.locator("#edit-parties fieldset.party")).to_have_count(n)
    history = page.locator("#manifest-history").inner_text()
    for reason in ("guarantor signs on page 4", "name as registered", "the guarantee was dropped"):
        assert reason in history, history
    shot(page, "parties-edited-en")

    # In Chinese, and at phone width without sideways scrolling.
    page.goto(url + "?lang=zh")
    form = open_form(page, "parties")
    expect(form.locator("summary")).to_have_text("当事人")
    expect(form.locator("#e-party-new-role option:checked")).to_have_text("当事人")
    phone, phone_errors = signed_in("e-archivist", PHONE, "zh-CN")
    phone.goto(url)
    open_form(phone, "parties")
    assert no_horizontal_scroll(phone), phone.evaluate(WIDE_JS)
    shot(phone, "parties-zh-390")
    assert errors == [] and phone_errors == [], errors + phone_errors


def test_a_lawyer_sees_no_edit_buttons(live: LiveServer, signed_in: SignedIn) -> None:
    page, _errors = signed_in("e-lawyer")
    response = page.goto(f"{live.url}/contracts/{IDS['contract']}?lang=en")
    assert response is not None and response.status == 200
    assert page.locator("#edit").count() == 0
    assert page.locator("form[method=post][action*='/contracts/']").count() == 0
    assert page.locator("form.decide").count() == 0
    shot(page, "lawyer-contract-en")


def test_an_archivist_confirms_a_clause_suggestion(live: LiveServer, signed_in: SignedIn) -> None:
    from playwright.sync_api import expect

    page, _errors = signed_in("e-archivist")
    page.goto(f"{live.url}/contracts/{IDS['contract']}?lang=en")
    clause = page.locator("#clauses li.clause").filter(has=page.locator("form.decide")).first
    name = clause.locator("strong").inner_text()
    clause.get_by_role("button", name="Confirm").click()
    page.wait_for_url(re.compile(r"#terms-h$"))
    done = page.locator("#clauses li.clause").filter(has_text=name).first
    expect(done.locator(".tag")).to_have_text("confirmed")
    assert done.locator("form.decide").count() == 0
    shot(page, "clause-confirmed-en")


def test_an_admin_retries_a_failed_ocr_page_from_the_jobs_page(
    live: LiveServer, signed_in: SignedIn
) -> None:
    from playwright.sync_api import expect

    scan = IDS["scan"]
    page, _errors = signed_in("e-admin")
    page.goto(f"{live.url}/jobs?lang=en")
    row = page.locator("tr", has_text="Scan that fails OCR")
    expect(row).to_contain_text("no recorded OCR output")
    shot(page, "jobs-failed-en")
    row.get_by_role("button", name="Try again").click()
    page.wait_for_url(re.compile(rf"/jobs\?retried={scan}$"))
    expect(page.get_by_role("status")).to_have_text(f"Contract {scan} was queued for OCR again.")
    expect(page.locator("main")).to_contain_text("No job has failed.")
    job = live.archive.records.ocr_jobs(scan)[0]
    assert (job.status, job.error) == ("queued", None)
    shot(page, "jobs-retried-en")
