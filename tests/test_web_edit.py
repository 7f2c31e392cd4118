"""The contract page's edit forms over HTTP, signed in through the log-in form (issue 15): what a
refused form answers (the page again, the reason in the page's language, 400/404/409, nothing
written), that a lawyer is offered none of them and is refused if she posts anyway, and that a
form without the CSRF token is refused. The browser path is ``test_web_edit_browser.py``."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from search_api.app import create_app
from services.access.credentials import hash_password
from services.access.service import AccessControl
from services.archive import Archive
from tests.access_helpers import ensure_user
from tests.conftest import corpus_files, make_settings

PASSWORD = "edit forms passphrase 15"
ZH = next(p for p in corpus_files("zh", ".pdf") if "新疆" in p.name)
HTML = {"Accept": "text/html"}


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Archive, int]]:
    settings = make_settings(tmp_path_factory.mktemp("edit") / "var", fonds_code="A01")
    with Archive(settings, parser_workers=1).open() as archive:
        access = AccessControl.for_archive(archive)
        for name, role in (("clerk", "archivist"), ("lawyer", "legal")):
            ensure_user(archive, name, (role,))
            access.store.update_user(name, {"password_hash": hash_password(PASSWORD)})
        cid = archive.ingest_path(ZH).id
        assert cid
        yield archive, cid


def signed_in(archive: Archive, username: str, lang: str = "en") -> TestClient:
    client = TestClient(create_app(archive), raise_server_exceptions=False, headers=HTML)
    r = client.post(
        "/login",
        data={"username": username, "password": PASSWORD, "next": "/"},
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text[:300]
    client.cookies.set("archive_lang", lang)
    return client


def token(client: TestClient, cid: int) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', client.get(f"/contracts/{cid}").text)
    assert found
    return found.group(1)


def alert(html: str, form: str) -> str:
    found = re.search(rf'id="err-{form}">(.*?)</p>', html, re.S)
    assert found, html[:2000]
    return re.sub(r"<[^>]+>", "", found.group(1))


def versions(archive: Archive, cid: int) -> int:
    return len(archive.records.manifests(cid))


def test_refused_forms_come_back_in_the_pages_language_and_write_nothing(world) -> None:
    archive, cid = world
    before = versions(archive, cid)
    with signed_in(archive, "clerk", "zh") as c:
        csrf = token(c, cid)
        r = c.post(
            f"/contracts/{cid}/edit/terms",
            data={"csrf_token": csrf, "amount": "12.345", "sign_date": "2026-01-05"},
        )
        assert r.status_code == 400
        assert "金额：不是有效金额" in alert(r.text, "terms")
        assert 'value="12.345"' in r.text and 'value="2026-01-05"' in r.text  # as typed
        r = c.post(
            f"/contracts/{cid}/edit/record",
            data={"csrf_token": csrf, "title": "x", "customer": "没有这个客户"},
        )
        assert r.status_code == 400 and "没有此名称的客户" in alert(r.text, "record")
        r = c.post(f"/contracts/{cid}/edit/transition", data={"csrf_token": csrf, "to": "archived"})
        assert r.status_code == 409
        assert alert(r.text, "transition") == f"合同 {cid} 当前为已签署未生效，不能变为已归档"
        r = c.post(f"/contracts/{cid}/edit/relation", data={"csrf_token": csrf, "master_id": "99"})
        assert r.status_code == 404 and alert(r.text, "relation") == "合同 99 不存在"
    assert versions(archive, cid) == before
    assert archive.get(cid).title != "x"
    with signed_in(archive, "clerk") as c:
        csrf = token(c, cid)
        done = c.post(
            f"/contracts/{cid}/edit/file",
            data={"csrf_token": csrf, "classification": "XS", "retention": "D10"},
            follow_redirects=False,
        )
        assert done.status_code == 303 and done.headers["location"].endswith("saved=file#edit-file")
        assert re.search(
            r"Filed: archival code A01-HT·\d{4}-D10-XS-0001\.", c.get(done.headers["location"]).text
        )
        again = c.post(
            f"/contracts/{cid}/edit/file", data={"csrf_token": csrf, "classification": "XS"}
        )
        assert again.status_code == 409
        assert alert(again.text, "file").startswith(f"contract {cid} is filed already as A01-HT")
        missing = c.post(f"/contracts/{cid}/edit/hold", data={"reason": "no token"})
        assert missing.status_code == 403 and "csrf" in missing.text.lower()


def test_the_number_of_renewals_is_edited_beside_the_renewal_term(world) -> None:
    archive, cid = world
    with signed_in(archive, "clerk", "zh") as c:
        page = c.get(f"/contracts/{cid}").text
        assert 'name="renewal_max_count"' in page and "最多续期次数" in page
        assert page.index('name="renewal_term_months"') < page.index('name="renewal_max_count"')
        csrf = token(c, cid)
        for typed, says in (
            ("两次", "最多续期次数：请填写整数。"),
            ("101", "最多续期次数：此值不被接受。"),
        ):
            r = c.post(
                f"/contracts/{cid}/edit/terms",
                data={"csrf_token": csrf, "renewal_max_count": typed},
            )
            assert r.status_code == 400 and alert(r.text, "terms") == says
            assert f'value="{typed}"' in r.text
        assert archive.contracts.view(cid).confirmed.renewal_max_count is None
    with signed_in(archive, "clerk") as c:
        csrf = token(c, cid)
        done = c.post(
            f"/contracts/{cid}/edit/terms",
            data={
                "csrf_token": csrf,
                "renewal_type": "automatic",
                "renewal_max_count": "2",
                "reason": "clause 8",
            },
            follow_redirects=False,
        )
        assert done.status_code == 303, done.text[:500]
        page = c.get(done.headers["location"]).text
        assert "Renewals allowed" in page and 'value="2"' in page
    assert archive.contracts.view(cid).confirmed.renewal_max_count == 2
    (event,) = [
        e for e in archive.contracts.events(cid) if e.data.get("field") == "renewal_max_count"
    ]
    assert (event.to_value, event.reason, event.actor) == ("2", "clause 8", "clerk")


def test_a_lawyer_is_offered_no_edit_form_and_refused_if_she_posts(world) -> None:
    archive, cid = world
    with signed_in(archive, "lawyer") as c:
        page = c.get(f"/contracts/{cid}")
        assert page.status_code == 200
        assert "/edit/" not in page.text and 'id="edit"' not in page.text
        csrf = token(c, cid)
        r = c.post(f"/contracts/{cid}/edit/hold", data={"csrf_token": csrf, "reason": "mine"})
        assert r.status_code == 403
        assert "<html" in r.text and "contracts:edit" in r.text
    assert not [h for h in archive.contracts.store.list_holds(cid) if h.reason == "mine"]


def parties(archive: Archive, cid: int) -> list[tuple[str, str, int | None]]:
    return [(p.role, p.name, p.customer_id) for p in archive.contracts.store.get_terms(cid).parties]


def party_events(archive: Archive, cid: int) -> list[tuple[str | None, str | None]]:
    return [
        (e.to_value, e.reason)
        for e in archive.contracts.events(cid)
        if e.data.get("field") == "parties"
    ]


def test_parties_are_added_renamed_and_removed_with_the_reason(world) -> None:
    archive, cid = world
    known = archive.contracts.create_customer("天山物流有限公司", actor="setup")
    archive.contracts.confirm(
        cid,
        {
            "parties": [
                {"role": "party_a", "name": "天山物流", "customer_id": known.id},
                {"role": "party_b", "name": "乙方旧名"},
            ]
        },
        actor="setup",
    )
    with signed_in(archive, "clerk") as c:
        page = c.get(f"/contracts/{cid}").text
        assert f'action="/contracts/{cid}/edit/parties"' in page
        assert 'value="天山物流"' in page and 'value="乙方旧名"' in page
        assert f'href="/customers/{known.id}"' in page  # the customer link shown
        csrf = token(c, cid)
        # add: a name that is a customer's is linked to it
        r = c.post(
            f"/contracts/{cid}/edit/parties",
            data={
                "csrf_token": csrf,
                "role_0": "party_a",
                "name_0": "天山物流",
                "role_1": "party_b",
                "name_1": "乙方旧名",
                "new_role": "guarantor",
                "new_name": "天山物流有限公司",
                "reason": "guarantor on page 9",
            },
            follow_redirects=False,
        )
        assert r.status_code == 303, r.text[:500]
        assert r.headers["location"].endswith("saved=parties#edit-parties")
        assert "Parties saved." in c.get(r.headers["location"]).text
        assert parties(archive, cid) == [
            ("party_a", "天山物流", known.id),
            ("party_b", "乙方旧名", None),
            ("guarantor", "天山物流有限公司", known.id),
        ]
        # rename party B and change its role; party A keeps its customer link
        r = c.post(
            f"/contracts/{cid}/edit/parties",
            data={
                "csrf_token": csrf,
                "role_0": "party_a",
                "name_0": "天山物流",
                "role_1": "buyer",
                "name_1": "乙方新名有限公司",
                "role_2": "guarantor",
                "name_2": "天山物流有限公司",
                "reason": "name as on the business licence",
            },
            follow_redirects=False,
        )
        assert r.status_code == 303, r.text[:500]
        assert parties(archive, cid) == [
            ("party_a", "天山物流", known.id),
            ("buyer", "乙方新名有限公司", None),
            ("guarantor", "天山物流有限公司", known.id),
        ]
        # remove the guarantor
        r = c.post(
            f"/contracts/{cid}/edit/parties",
            data={"csrf_token": csrf, "remove_2": "1", "reason": "the guarantee was dropped"},
            follow_redirects=False,
        )
        assert r.status_code == 303, r.text[:500]
        assert parties(archive, cid) == [
            ("party_a", "天山物流", known.id),
            ("buyer", "乙方新名有限公司", None),
        ]
        # nothing changed: nothing written
        before = versions(archive, cid)
        r = c.post(
            f"/contracts/{cid}/edit/parties", data={"csrf_token": csrf}, follow_redirects=False
        )
        assert r.headers["location"].endswith("saved=unchanged#edit-parties")
        assert versions(archive, cid) == before
        history = c.get(f"/contracts/{cid}").text
    assert party_events(archive, cid)[-3:] == [
        (
            "party_a:天山物流; party_b:乙方旧名; guarantor:天山物流有限公司",
            "guarantor on page 9",
        ),
        (
            "party_a:天山物流; buyer:乙方新名有限公司; guarantor:天山物流有限公司",
            "name as on the business licence",
        ),
        ("party_a:天山物流; buyer:乙方新名有限公司", "the guarantee was dropped"),
    ]
    table = history[history.index('id="manifest-history"') :]
    for reason in ("guarantor on page 9", "business licence", "the guarantee was dropped"):
        assert reason in table, reason  # the page's history, with the reason
    assert "Guarantor: 天山物流有限公司" in table  # the parties as the page names them
    # a reader without contracts:edit (the lawyer) sees the confirmed parties in the terms
    with signed_in(archive, "lawyer") as c:
        page = c.get(f"/contracts/{cid}").text
    assert f'action="/contracts/{cid}/edit/parties"' not in page
    listed = page[page.index('id="parties"') :]
    listed = listed[: listed.index("</ul>")]
    assert "Party A: 天山物流<" in listed and "Buyer: 乙方新名有限公司<" in listed, listed
    assert "天山物流有限公司" not in listed  # the removed guarantor


def test_a_refused_parties_form_shows_the_reason_at_the_field_and_writes_nothing(world) -> None:
    archive, cid = world
    archive.contracts.confirm(
        cid,
        {"parties": [{"role": "party_a", "name": "甲方公司"}, {"role": "party_b", "name": "乙方"}]},
        actor="setup",
    )
    start, before = parties(archive, cid), versions(archive, cid)
    url = f"/contracts/{cid}/edit/parties"
    with signed_in(archive, "clerk", "zh") as c:
        csrf = token(c, cid)
        r = c.post(url, data={"csrf_token": csrf, "name_0": "  ", "name_1": "乙方改名"})
        assert r.status_code == 400
        assert "当事人名称不能为空" in alert(r.text, "parties")
        assert re.search(r'id="e-party-name-0"[^>]*aria-invalid="true"', r.text)
        assert 'value="乙方改名"' in r.text  # as typed
        assert "未保存" in r.text
    with signed_in(archive, "clerk") as c:
        csrf = token(c, cid)
        r = c.post(url, data={"csrf_token": csrf, "new_role": "wizard", "new_name": "丙方"})
        assert r.status_code == 400
        assert alert(r.text, "parties") == "Choose one of the roles offered."
        assert re.search(r'id="e-party-new-role"[^>]*aria-invalid="true"', r.text)
        assert 'value="丙方"' in r.text
        r = c.post(url, data={"csrf_token": csrf, "role_1": "wizard"})
        assert r.status_code == 400 and "roles offered" in alert(r.text, "parties")
        r = c.post(url, data={"csrf_token": csrf, "name_1": "x" * 501})
        assert r.status_code == 400 and "Parties: this value" in alert(r.text, "parties")
    assert (parties(archive, cid), versions(archive, cid)) == (start, before)
    twenty = [{"role": "party", "name": f"当事人{n}"} for n in range(20)]
    archive.contracts.confirm(cid, {"parties": twenty}, actor="setup")
    before = versions(archive, cid)
    with signed_in(archive, "clerk") as c:
        csrf = token(c, cid)
        r = c.post(url, data={"csrf_token": csrf, "new_name": "第二十一方"})
        assert r.status_code == 400
        assert alert(r.text, "parties") == "A contract has at most 20 parties: remove one first."
        assert re.search(r'id="e-party-new-name"[^>]*aria-invalid="true"', r.text)
        missing = c.post("/contracts/987654/edit/parties", data={"csrf_token": csrf})
        assert missing.status_code == 404
    assert len(parties(archive, cid)) == 20 and versions(archive, cid) == before
