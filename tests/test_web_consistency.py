"""Consistent numbers on the pages (issue 15), each a defect that failed before:

* one definition of *expiring* (``core.rules.expiring_window``) for the status the reminder job
  sets, the dashboard's list and the customer card's count (the card counted 30 days, the
  dashboard 90, the status the widest tier);
* a decided suggestion is history, not a pair of live buttons that answer 409;
* a duplicate upload with a customer sets it (the contract had none) or says why not.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date, timedelta

import pytest
from fastapi.testclient import TestClient

from core.rules import expiring_window, is_expiring
from search_api.app import create_app
from services.access.credentials import hash_password
from services.access.service import AccessControl
from services.archive import Archive
from services.contracts.reminders import run_reminders
from storage.records.access_base import NewUser
from tests.conftest import corpus_files, make_settings

ZH_PDF = next(p for p in corpus_files("zh", ".pdf") if "新疆" in p.name)
EN_PDF = next(p for p in corpus_files("en-cuad", ".pdf") if "JOINT FILING" in p.name)
PASSWORD = "a long enough passphrase 15"


@pytest.fixture(scope="module")
def archive(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Archive]:
    settings = make_settings(tmp_path_factory.mktemp("web-consistency") / "var")
    with Archive(settings, parser_workers=1).open() as archive:
        store = AccessControl.for_archive(archive).store
        store.add_user(
            NewUser(
                username="ada",
                roles=("archivist", "legal"),
                password_hash=hash_password(PASSWORD),
                created_by="tests",
            )
        )
        yield archive


def signed_in(archive: Archive, lang: str = "zh") -> TestClient:
    client = TestClient(
        create_app(archive), raise_server_exceptions=False, headers={"Accept": "text/html"}
    )
    client.cookies.set("archive_lang", lang)
    r = client.post(
        "/login", data={"username": "ada", "password": PASSWORD}, follow_redirects=False
    )
    assert r.status_code == 303
    return client


def test_one_window_decides_expiring() -> None:
    assert expiring_window((90, 60, 30)) == 90
    today = date(2026, 1, 1)
    assert is_expiring("active", today + timedelta(days=60), today, 90)
    assert not is_expiring("active", today + timedelta(days=91), today, 90)
    assert not is_expiring("terminated", today + timedelta(days=5), today, 90)
    assert not is_expiring("active", today - timedelta(days=1), today, 90)


def test_status_dashboard_and_customer_card_agree_on_expiring(archive: Archive) -> None:
    result = archive.ingest_path(ZH_PDF, display_name=ZH_PDF.name, customer="新疆汽车贸易公司")
    cid = result.id
    assert cid is not None
    today = date.today()
    model = archive.contracts
    model.confirm(
        cid,
        {"effective_date": today - timedelta(days=300), "expiry_date": today + timedelta(days=60)},
        actor="tests",
    )
    if archive.get(cid).status != "active":
        model.transition(cid, "active", actor="tests", reason="test")
    run_reminders(model, today=today)
    assert archive.get(cid).status == "expiring"  # 60 days: within the widest tier (90)
    with signed_in(archive) as client:
        home = client.get("/").text
        dash = home.split('id="dash-h"', 1)[1]
        assert f'href="/contracts/{cid}"' in dash.split("<h3>逾期付款", 1)[0]
        card = client.get("/customers/新疆汽车贸易公司").text
        stats = re.findall(r'<span class="num">([^<]+)</span><span class="label">([^<]+)<', card)
        assert ("1", "即将到期") in stats, stats  # was 0: the card counted 30 days
        listing = client.get("/customers").text
        assert '<span class="tag warn-tag">1</span>' in listing
        page = client.get(f"/contracts/{cid}").text
        assert "即将到期" in page


def test_a_decided_suggestion_is_history_not_buttons(archive: Archive) -> None:
    cid = next(c.id for c in archive.records.list_contracts() if "新疆" in c.filename)
    view = archive.contracts.view(cid)
    opened = [s for items in view.suggested.values() for s in items if s.state == "open"]
    assert opened
    sug = opened[0]
    with signed_in(archive, "en") as client:
        page = client.get(f"/contracts/{cid}").text
        assert f'action="/contracts/{cid}/suggestions/{sug.id}"' in page
        token = re.search(r'name="csrf_token" value="([^"]+)"', page)
        assert token
        r = client.post(
            f"/contracts/{cid}/suggestions/{sug.id}",
            data={"decision": "reject", "csrf_token": token.group(1)},
            follow_redirects=False,
        )
        assert r.status_code == 303
        after = client.get(f"/contracts/{cid}").text
        assert f"/suggestions/{sug.id}" not in after  # no live button for it any more
        history = after.split('id="suggestion-history"', 1)[1].split("</details>", 1)[0]
        assert "rejected" in history and sug.display in history


def test_a_duplicate_upload_sets_the_missing_customer_or_says_why_not(archive: Archive) -> None:
    with signed_in(archive, "en") as client:
        form = client.get("/upload").text
        token = re.search(r'name="csrf_token" value="([^"]+)"', form)
        assert token

        def upload(customer: str) -> str:
            r = client.post(
                "/upload",
                files={"files": (EN_PDF.name, EN_PDF.read_bytes(), "application/pdf")},
                data={"customer": customer, "csrf_token": token.group(1)},
            )
            assert r.status_code == 200, r.text[:300]
            return r.text

        upload("")
        cid = next(c.id for c in archive.records.list_contracts() if "JOINT" in c.filename)
        assert archive.get(cid).customer is None
        again = upload("Atentosa Holdings")
        assert "already archived" in again and "was set" in again
        assert archive.get(cid).customer == "Atentosa Holdings"
        other = upload("Someone Else Ltd")
        assert "was not applied" in other and "Atentosa Holdings" in other
        assert archive.get(cid).customer == "Atentosa Holdings"
