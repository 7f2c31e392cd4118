"""Access control in the web interface: signing in through the log-in page (one-time password
first), CSRF on its forms, signing out, and restricted classes on every page."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import unquote

import pytest
from fastapi.testclient import TestClient

from search_api.app import create_app
from search_api.auth import SESSION_COOKIE
from services.access.service import AccessControl
from services.archive import Archive
from storage.records.access_base import LogFilter
from tests.access_helpers import auth_headers, ensure_user
from tests.conftest import corpus_files, make_settings

ZH = next(p for p in corpus_files("zh", ".pdf") if "新疆" in p.name)
EN = next(p for p in corpus_files("en-cuad", ".pdf") if "JOINT FILING" in p.name)
HTML = {"Accept": "text/html"}
NEW_PASSWORD = "a long new passphrase 42"


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Archive, dict[str, int]]]:
    settings = make_settings(tmp_path_factory.mktemp("access-web") / "var")
    with Archive(settings, parser_workers=1).open() as archive:
        root = ensure_user(archive, "root", ("admin",))
        access = AccessControl.for_archive(archive)
        ids = {}
        for key, path, customer, cls in (
            ("labour", ZH, "新疆汽车贸易公司", "LD"),
            ("en", EN, "Atentosa Holdings", None),
        ):
            with open(path, "rb") as fh:
                result = access.ingest(
                    root, fh, filename=path.name, customer=customer, classification=cls
                )
            assert result.status == "archived" and result.id
            ids[key] = result.id
        access.set_restriction(root, "LD", ["hr"])
        yield archive, ids


def browser(archive: Archive) -> TestClient:
    return TestClient(create_app(archive), raise_server_exceptions=False, headers=HTML)


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, "no CSRF field in the page"
    return found.group(1)


def test_pages_send_a_visitor_to_the_log_in_page_and_back(world: Any) -> None:
    archive, _ = world
    access = AccessControl.for_archive(archive)
    root = ensure_user(archive, "root", ("admin",))
    _, one_time = access.create_user(root, "wen", roles=["legal"])
    assert one_time
    with browser(archive) as client:
        r = client.get("/search?q=合同", follow_redirects=False)
        assert r.status_code == 303
        target = r.headers["location"]
        assert target.startswith("/login?next=") and unquote(unquote(target)).endswith(
            "/search?q=合同"
        )
        assert client.get("/static/app.css").status_code == 200  # public
        login_page = client.get(target)
        assert login_page.status_code == 200 and 'name="password"' in login_page.text
        wrong = client.post("/login", data={"username": "wen", "password": "nope", "next": "/"})
        assert wrong.status_code == 401 and "Wrong user name or password" in wrong.text
        # The one-time password leads to the password page first.
        r = client.post(
            "/login",
            data={"username": "wen", "password": one_time, "next": "/search?q=合同"},
            follow_redirects=False,
        )
        assert r.status_code == 303 and r.headers["location"] == "/account/password"
        assert client.get("/search", follow_redirects=False).headers["location"] == (
            "/account/password"
        )
        form = client.get("/account/password")
        assert "one-time password" in form.text
        no_token = client.post(
            "/account/password",
            data={"current_password": one_time, "new_password": NEW_PASSWORD},
        )
        assert no_token.status_code == 403  # CSRF
        r = client.post(
            "/account/password",
            data={
                "current_password": one_time,
                "new_password": NEW_PASSWORD,
                "csrf_token": csrf_of(form.text),
            },
            follow_redirects=False,
        )
        assert r.status_code == 303 and r.headers["location"] == "/login?changed=1"
        r = client.post(
            "/login",
            data={"username": "wen", "password": NEW_PASSWORD, "next": "/search?q=合同"},
            follow_redirects=False,
        )
        assert r.status_code == 303 and unquote(r.headers["location"]) == "/search?q=合同"
        found = client.get("/search?q=合同")
        assert found.status_code == 200 and "Signed in as wen" in found.text
        # Only local targets after a log-in (no open redirect).
        for evil in ("https://evil.example/", "//evil.example/x", "/\\evil.example"):
            r = client.post(
                "/login",
                data={"username": "wen", "password": NEW_PASSWORD, "next": evil},
                follow_redirects=False,
            )
            assert r.headers["location"] == "/"
        # A form on another site cannot log anyone in.
        r = client.post(
            "/login",
            data={"username": "wen", "password": NEW_PASSWORD},
            headers={"Origin": "https://evil.example"},
        )
        assert r.status_code == 403
        # Signing out needs the page's CSRF token and ends the session on the server.
        session = client.cookies.get(SESSION_COOKIE)
        assert client.post("/logout").status_code == 403
        current = client.get("/").text  # the token of the latest session
        r = client.post("/logout", data={"csrf_token": csrf_of(current)}, follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"] == "/login"
    with browser(archive) as replay:
        replay.cookies.set(SESSION_COOKIE, session or "")
        assert replay.get("/search", follow_redirects=False).status_code == 303
    logins = access.store.entries(LogFilter(actor="wen", action="auth."), limit=50)
    assert {(e.action, e.outcome) for e in logins} >= {
        ("auth.login", "failed"),
        ("auth.login", "ok"),
        ("auth.password", "ok"),
        ("auth.logout", "ok"),
    }


def test_restricted_contracts_are_on_no_page(world: Any) -> None:
    archive, ids = world
    labour = ids["labour"]
    ensure_user(archive, "lin", ("legal",))
    ensure_user(archive, "hui", ("legal",), groups=("hr",))
    outsider = {**HTML, **auth_headers(archive, "legal", username="lin")}
    cleared = {**HTML, **auth_headers(archive, "legal", username="hui", groups=("hr",))}
    app = create_app(archive)
    with TestClient(app, raise_server_exceptions=False, headers=outsider) as client:
        for url in ("/", "/search?q=合同", "/search?q=", "/customers"):
            html = client.get(url).text
            assert "新疆汽车贸易公司" not in html and f"/contracts/{labour}" not in html, url
        assert client.get(f"/contracts/{labour}").status_code == 404
        assert client.get(f"/contracts/{labour}/pages/1.png").status_code == 404
        customer = client.get("/customers/新疆汽车贸易公司")
        assert customer.status_code == 404 or f"/contracts/{labour}" not in customer.text
        assert client.get(f"/contracts/{ids['en']}").status_code == 200
    with TestClient(app, raise_server_exceptions=False, headers=cleared) as client:
        assert "新疆汽车贸易公司" in client.get("/customers").text
        assert client.get(f"/contracts/{labour}").status_code == 200
        # a page of a restricted class is read with a purpose, like a download
        assert client.get(f"/contracts/{labour}/pages/1.png").status_code == 400
        image = client.get(f"/contracts/{labour}/pages/1.png", params={"purpose": "case 17"})
        assert image.status_code == 200
    access = AccessControl.for_archive(archive)
    seen = access.store.entries(LogFilter(contract_id=labour), limit=50)
    assert {(e.actor, e.outcome) for e in seen} >= {("lin", "denied"), ("hui", "ok")}
    searches = access.store.entries(LogFilter(actor="lin", action="search"), limit=20)
    assert searches and all(labour not in e.details.get("returned", []) for e in searches)


def test_an_upload_form_is_archived_under_the_signed_in_user(world: Any) -> None:
    archive, _ = world
    headers = {**HTML, **auth_headers(archive, "archivist", username="ada")}
    with TestClient(create_app(archive), raise_server_exceptions=False, headers=headers) as c:
        r = c.post(
            "/upload",
            files={"files": ("../../evil.pdf", EN.read_bytes(), "application/pdf")},
            data={"customer": "Atentosa Holdings"},
        )
        assert r.status_code == 200, r.text
    ingests = AccessControl.for_archive(archive).store.entries(
        LogFilter(actor="ada", action="contract.ingest"), limit=5
    )
    assert [e.outcome for e in ingests] == ["duplicate"]
    assert ingests[0].details["file"] == "evil.pdf"


def test_auditors_see_the_access_history_and_the_log_page_and_their_reading_is_logged(
    world: Any,
) -> None:
    archive, ids = world
    en = ids["en"]
    access = AccessControl.for_archive(archive)
    app = create_app(archive)
    # Something to see: a legal user opens the contract.
    legal = {**HTML, **auth_headers(archive, "legal", username="lena")}
    with TestClient(app, raise_server_exceptions=False, headers=legal) as client:
        page = client.get(f"/contracts/{en}")
        assert page.status_code == 200
        # Not an auditor: no history section, no nav link, and the log page is refused.
        assert 'id="access-history"' not in page.text and 'href="/access-log' not in page.text
        refused = client.get("/access-log", follow_redirects=False)
        assert refused.status_code == 403 and "<tbody>" not in refused.text
        assert client.get(f"/access-log?contract={en}").status_code == 403
    reads_before = access.store.count_entries(LogFilter(actor="lena", action="audit.read"))
    assert reads_before == 0
    # An auditor who may also read contracts sees the contract's history.
    auditor = {**HTML, **auth_headers(archive, "auditor", "legal", username="aud")}
    with TestClient(app, raise_server_exceptions=False, headers=auditor) as client:
        page = client.get(f"/contracts/{en}")
        assert page.status_code == 200, page.text
        assert 'id="access-history"' in page.text
        history = page.text.split('id="access-history"', 1)[1].split("</section>", 1)[0]
        assert "lena" in history and "contract.view" in history and "ok" in history
        assert f'href="/access-log?contract={en}"' in history
        assert 'href="/access-log"' in page.text  # the nav link
        # The log page with a filter applied: only lena's entries on this contract.
        log = client.get("/access-log", params={"user": "lena", "contract": str(en)})
        assert log.status_code == 200, log.text
        body = log.text.split("<tbody>", 1)[1].split("</tbody>", 1)[0]
        rows = re.findall(r"<tr>(.*?)</tr>", body, re.S)
        assert rows and all(">lena<" in row and f">{en}</a>" in row for row in rows)
        assert ">aud<" not in body
        export = re.search(r'id="log-export" href="([^"]+)"', log.text)
        assert export
        csv = client.get(export.group(1).replace("&amp;", "&"))
        assert csv.status_code == 200 and csv.headers["content-type"].startswith("text/csv")
        assert "lena" in csv.text and "aud," not in csv.text
        # Dates: a range that ends before today finds nothing; a bad day is a clear 400.
        empty = client.get("/access-log", params={"user": "lena", "until": "2000-01-01"})
        assert empty.status_code == 200 and "<tbody>" not in empty.text
        bad = client.get("/access-log", params={"since": "yesterday"})
        assert bad.status_code == 400 and "YYYY-MM-DD" in bad.text
        assert client.get("/access-log", params={"contract": "x"}).status_code == 400
        # Chinese page.
        zh = client.get("/access-log", params={"lang": "zh"})
        assert zh.status_code == 200 and "访问日志" in zh.text
    # Reading through the pages was logged like the API's reads.
    reads = access.store.entries(LogFilter(actor="aud", action="audit.read"), limit=20)
    filters = [e.details["filter"] for e in reads]
    assert {"contract_id": en} in [{k: v for k, v in f.items() if v is not None} for f in filters]
    assert any(f.get("actor") == "lena" for f in filters)
    assert access.store.count_entries(LogFilter(actor="aud", action="audit.export")) == 1


def test_the_access_log_page_pages_through_older_entries(world: Any) -> None:
    archive, _ = world
    access = AccessControl.for_archive(archive)
    pager = ensure_user(archive, "pager", ("auditor",))
    for n in range(55):
        access.record(pager, "contract.list", details={"page": "test", "n": n})
    headers = {**HTML, **auth_headers(archive, "auditor", username="pager")}
    with TestClient(create_app(archive), raise_server_exceptions=False, headers=headers) as c:
        first = c.get("/access-log", params={"user": "pager", "action": "contract.list"})
        assert first.status_code == 200 and "55 matching entries" in first.text
        seqs = [int(s) for s in re.findall(r'data-label="No\.">(\d+)<', first.text)]
        assert len(seqs) == 50 and seqs == sorted(seqs, reverse=True)
        older = re.search(r'href="(/access-log\?[^"]*cursor=\d+)"', first.text)
        assert older, "no link to older entries"
        second = c.get(older.group(1).replace("&amp;", "&"))
        assert second.status_code == 200
        later = [int(s) for s in re.findall(r'data-label="No\.">(\d+)<', second.text)]
        assert len(later) == 5 and max(later) < min(seqs)
        assert 'href="/access-log?user=pager&amp;action=contract.list"' in second.text
        assert "Older entries" not in second.text
