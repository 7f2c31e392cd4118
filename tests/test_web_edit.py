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
