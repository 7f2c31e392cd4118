"""Two roles' paths end to end in Debian's chromium (issue 15), each user signed in through the
log-in form:

* the **auditor** searches, opens a contract's record and its verification report, exports the
  proof-only evidence package (a real download: its files are read, the original is not among
  them, its digest of the original is the original's) and reads the access log, where their
  own export is, as an export (``contract.export_proof``), not a download;
* the **lawyer**, cleared for a restricted class, opens a contract of it: the page asks for a
  purpose and offers no download; the download's address without a purpose is refused, saying
  why; with a purpose typed into the form the original downloads, byte-identical, and the
  access log keeps the refusal and the purpose.

Screenshots: ``test-artifacts/browser/path-*.png``.
"""

from __future__ import annotations

import hashlib
import io
import re
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import expect

from services.access.credentials import hash_password
from services.access.service import AccessControl
from services.archive import Archive
from storage.records.access_base import LogFilter
from tests.access_helpers import ensure_user
from tests.browser_support import (
    DESKTOP,
    EN,
    PASSWORD,
    SESSION,
    ZH,
    LiveServer,
    shot,
    sign_in,
)
from tests.conftest import corpus_files, make_settings

pytestmark = [pytest.mark.browser, pytest.mark.slow]

RESTRICTED = "LD"  # a code of the default scheme (劳动)
GROUP = "vault"
IDS: dict[str, int] = {}


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    settings = make_settings(tmp_path_factory.mktemp("paths-web") / "var")
    with Archive(settings, parser_workers=1).open() as archive:
        access = AccessControl.for_archive(archive)
        root = ensure_user(archive, "p-root", ("admin",), groups=(GROUP,))
        access.set_restriction(root, RESTRICTED, [GROUP])
        for name, roles, groups in (
            ("p-auditor", ("auditor",), ()),
            ("p-lawyer", ("legal",), (GROUP,)),
            ("p-archivist", ("archivist",), ()),
        ):
            ensure_user(archive, name, roles, groups=groups)
            access.store.update_user(name, {"password_hash": hash_password(PASSWORD)})
        open_one = archive.ingest_path(EN, customer="Atentosa Holdings")
        secret = archive.ingest_path(ZH, customer="新疆汽车贸易公司", classification=RESTRICTED)
        assert open_one.id and secret.id
        assert archive.get(secret.id).classification == RESTRICTED
        IDS.update(open=open_one.id, secret=secret.id)
        with LiveServer(archive) as server:
            SESSION["url"] = server.url
            yield server


def signed_in_page(browser, username: str):  # type: ignore[no-untyped-def]
    """A desktop page of a new context, signed in through the log-in form as ``username``, and
    the list its script errors go to. Page images render on demand: slow on a loaded machine,
    hence the long default timeout."""
    errors: list[str] = []
    page = browser.new_context(viewport=DESKTOP, locale="en-US", accept_downloads=True).new_page()
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.set_default_timeout(90_000)
    sign_in(page, username)
    return page, errors


def test_the_auditor_verifies_exports_the_proof_and_reads_the_log(
    live: LiveServer, browser, tmp_path: Path
) -> None:
    page, errors = signed_in_page(browser, "p-auditor")

    # search (the records' metadata: the auditor reads no text) and open the contract
    page.locator("ul.nav a[href='/search']").click()
    page.get_by_label("Search contracts").fill("Atentosa")
    page.get_by_label("Search contracts").press("Enter")
    page.wait_for_url(re.compile(r"/search\?q="))
    expect(page.locator(".hit h3 a")).to_have_count(1)
    shot(page, "path-auditor-1-search")
    page.locator(".hit h3 a").first.click()
    page.wait_for_url(re.compile(rf"/contracts/{IDS['open']}"))
    expect(page.locator(".meta-list").first).to_contain_text("Atentosa Holdings")
    assert page.locator("img[src*='/pages/']").count() == 0  # the record, not the pages
    assert page.locator("#download-original").count() == 0  # no content to download
    expect(page.locator("#download-proof")).to_be_visible()
    shot(page, "path-auditor-2-contract")

    # the verification report
    page.locator(".verify-line .badge").click()
    page.wait_for_url(re.compile(r"/verification$"))
    expect(page.locator(".check-passed")).to_have_count(8)
    shot(page, "path-auditor-3-verification")

    # export the proof package: a real download, read here
    with page.expect_download() as info:
        page.locator("#verification-proof").click()
    download = info.value
    assert download.failure() is None, download.failure()
    assert download.suggested_filename == f"contract-{IDS['open']}-proof.zip"
    target = tmp_path / download.suggested_filename
    download.save_as(target)
    with zipfile.ZipFile(io.BytesIO(target.read_bytes())) as zf:
        names = {n.split("/", 1)[1] for n in zf.namelist()}
        files = {n.split("/", 1)[1]: zf.read(n) for n in zf.namelist()}
    assert {"manifest.json", "manifest.p7s", "timestamp.tst", "SHA256SUMS", "README.txt"} <= names
    assert not [n for n in names if n.startswith(("original", "text", "searchable"))], names
    original = EN.read_bytes()
    assert not [n for n, data in files.items() if original[:4096] in data]
    sums = files["SHA256SUMS"].decode()
    assert f"{hashlib.sha256(original).hexdigest()}  original.pdf" in sums.splitlines()
    assert b"NO content" in files["README.txt"] and b"openssl dgst -sha256" in files["README.txt"]

    # the access log: their own export is there, as an export
    page.locator("ul.nav a[href='/access-log']").click()
    page.wait_for_url(re.compile(r"/access-log"))
    page.get_by_label("User", exact=True).fill("p-auditor")
    page.get_by_label("Action").fill("contract.export_proof")
    page.locator("form.filters button[type=submit]").click()
    page.wait_for_url(re.compile(r"user=p-auditor"))
    rows = page.locator("table tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("contract.export_proof")
    expect(rows.first).to_contain_text(str(IDS["open"]))
    shot(page, "path-auditor-4-access-log")
    entries = live.archive.records.access_store().entries(
        LogFilter(contract_id=IDS["open"]), limit=1000
    )
    mine = [(e.action, e.outcome) for e in entries if e.actor == "p-auditor"]
    assert ("contract.export_proof", "ok") in mine and ("contract.verify", "ok") in mine
    assert not [a for a, o in mine if a == "contract.download" and o == "ok"], mine
    assert not errors, errors
    page.context.close()


def test_the_lawyer_downloads_a_restricted_contract_with_a_purpose(
    live: LiveServer, browser, tmp_path: Path
) -> None:
    page, errors = signed_in_page(browser, "p-lawyer")
    secret = IDS["secret"]
    # the lawyer looks for a clause, not a title: the breach clause (违约责任) by clause search
    page.locator("ul.nav a[href='/search']").click()
    page.get_by_label("Search contracts").fill("clause:违约责任")
    page.get_by_label("Search contracts").press("Enter")
    page.wait_for_url(re.compile(r"/search\?q="))
    expect(page.locator(f".hit h3 a[href^='/contracts/{secret}?']")).to_have_count(1)
    page.locator(f".hit h3 a[href^='/contracts/{secret}?']").click()
    page.wait_for_url(re.compile(rf"/contracts/{secret}\b"))

    # the page asks why, and offers no download until it is told
    expect(page.locator("#purpose-form")).to_be_visible()
    expect(page.locator("#downloads-need-purpose")).to_be_visible()
    assert page.locator("#download-original").count() == 0
    # the clauses are listed by type; their sentences are the contract's text: not yet
    expect(page.locator("#clauses .clause").first).to_be_visible()
    assert page.locator("#clauses .evidence").count() == 0
    shot(page, "path-lawyer-1-purpose-asked")

    # the download's address without a purpose (a link kept from elsewhere) is refused, saying
    # why (the API's answer: its JSON error)
    response = page.goto(f"{live.url}/api/v1/contracts/{secret}/original")
    assert response is not None and response.status == 400
    expect(page.locator("body")).to_contain_text(
        "a purpose is required to download a contract of a restricted class"
    )
    shot(page, "path-lawyer-2-refused")

    # with a purpose typed into the form, the original downloads, byte-identical
    page.goto(f"{live.url}/contracts/{secret}")
    purpose = "Litigation 2026-17: review of the delivery terms"
    page.get_by_label("Purpose").fill(purpose)
    page.locator("#purpose-form button[type=submit]").click()
    page.wait_for_url(re.compile(r"purpose="))
    expect(page.locator("#download-original")).to_be_visible()
    expect(page.locator("aside")).to_contain_text(f"Purpose recorded: {purpose}")
    expect(page.locator("#clauses .evidence")).not_to_have_count(0)  # now their wording
    shot(page, "path-lawyer-3-purpose-given")
    with page.expect_download() as info:
        page.locator("#download-original").click()
    download = info.value
    assert download.failure() is None, download.failure()
    target = tmp_path / "original.pdf"
    download.save_as(target)
    assert target.read_bytes() == ZH.read_bytes()

    entries = live.archive.records.access_store().entries(LogFilter(contract_id=secret), limit=1000)
    downloads = [
        (e.outcome, e.purpose, e.details.get("reason"))
        for e in entries
        if e.actor == "p-lawyer" and e.action == "contract.download"
    ]
    assert len(downloads) == 2, downloads  # the refusal and the download, each logged once
    assert set(downloads) == {("refused", None, "purpose required"), ("ok", purpose, None)}
    assert not errors, errors
    page.context.close()


NEW = next(p for p in corpus_files("en-cuad", ".pdf") if "GULFSOUTH" in p.name.upper())
"""A contract the archive does not hold yet: the archivist uploads it."""


def test_the_archivist_uploads_completes_and_files_a_contract(live: LiveServer, browser) -> None:
    """The archivist's day in one path: upload a contract on the upload page, open it from the
    upload list, confirm its signing date with a reason, file it (classification, fonds code:
    the archive assigns the 档号), and see it filed."""
    page, errors = signed_in_page(browser, "p-archivist")

    page.locator("ul.nav a[href='/upload']").click()
    page.get_by_label("Customer").fill("Gulf South Medical Supply")
    page.set_input_files("#files", str(NEW))
    page.get_by_role("button", name="Upload").click()
    done = page.locator("#upload-list li.status-archived")
    expect(done).to_have_count(1)
    shot(page, "path-archivist-1-uploaded")
    done.locator("a[href^='/contracts/']").click()
    page.wait_for_url(re.compile(r"/contracts/\d+$"))
    found = re.search(r"/contracts/(\d+)$", page.url)
    assert found
    cid = int(found.group(1))
    expect(page.locator(".contract-head .meta")).to_contain_text("Gulf South Medical Supply")

    terms = page.locator("#edit-terms")
    terms.locator("summary").click()
    terms.locator("#e-sign_date").fill("1997-12-24")
    terms.locator("#e-terms-reason").fill("as on the signature page")
    terms.get_by_role("button", name="Save").click()
    page.wait_for_url(re.compile(r"saved=terms"))

    filing = page.locator("#edit-file")
    if filing.get_attribute("open") is None:
        filing.locator("summary").click()
    filing.locator("#e-classification").select_option("FW")
    filing.locator("#e-fonds").fill("A01")
    filing.get_by_role("button", name="File and assign the archival code").click()
    page.wait_for_url(re.compile(r"saved=file"))
    expect(page.locator("#edit-file")).to_contain_text("Filed as A01-")
    shot(page, "path-archivist-2-filed")

    view = live.archive.contracts.view(cid)
    assert view.confirmed.sign_date is not None and view.confirmed.sign_date.isoformat() == (
        "1997-12-24"
    )
    assert view.archival.archival_code and view.archival.archival_code.startswith("A01-")
    assert view.confirmed.classification == "FW"
    assert not errors, errors
    page.context.close()
