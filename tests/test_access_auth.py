"""Signing in through the API: the first admin, browser sessions and their CSRF protection, failed
log-ins, token expiry and revocation, session expiry, security headers, hostile file names, and
that no password or token reaches a log.

Each test makes its own archive (these tests change users, sessions and time).
"""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator
from contextlib import redirect_stderr
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any

import pytest
from fastapi import APIRouter, Depends, FastAPI
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from pydantic import ValidationError
from sqlalchemy import update

from core.roles import Caller, Perm
from core.settings import Settings
from search_api.app import ROUTERS, create_app, route_table
from search_api.auth import CSRF_COOKIE, SESSION_COOKIE, Acts, AuthGate, Require
from search_api.deps import PUBLIC, ActsEditing, CanSearch
from search_api.errors import install_error_handlers
from services.access.core import FIRST_PASSWORD_FILE
from services.access.service import AccessControl
from services.archive import Archive
from storage.records.access_base import LogFilter
from storage.records.access_models import ApiToken, WebSession
from tests.access_helpers import ensure_user, token_for
from tests.conftest import corpus_files, make_settings

EN = next(p for p in corpus_files("en-cuad", ".pdf") if "JOINT FILING" in p.name)
NEW_PASSWORD = "a long new passphrase 42"


def err(response: Any) -> dict[str, Any]:
    body = response.json()
    assert set(body) == {"error"}, body
    return body["error"]


def browser(app: FastAPI) -> TestClient:
    return TestClient(app, raise_server_exceptions=False, headers={"user-agent": "pytest-browser"})


def first_start(settings: Settings) -> tuple[TestClient, str]:
    """Start the server the way `contract-archive serve` does (the app opens the archive) and
    return a client and the one-time password it printed."""
    printed = io.StringIO()
    client = browser(create_app(settings=settings))
    with redirect_stderr(printed):
        client.__enter__()
    text = printed.getvalue()
    assert "First start" in text, text
    # Standard error is no terminal here: the password is in a 0600 file, not in the text.
    written = settings.data_dir / FIRST_PASSWORD_FILE
    password = written.read_text().strip()
    assert written.stat().st_mode & 0o777 == 0o600 and password not in text
    return client, password


@pytest.fixture
def started(settings: Settings) -> Iterator[tuple[TestClient, str]]:
    client, password = first_start(settings)
    try:
        yield client, password
    finally:
        client.__exit__(None, None, None)


def archive_of(client: TestClient) -> Archive:
    archive: Archive = client.app.state.archive  # type: ignore[attr-defined]
    return archive


def login(client: TestClient, username: str, password: str, **kw: Any) -> Any:
    return client.post(
        "/api/v1/auth/login", json={"username": username, "password": password}, **kw
    )


# --- the first start ---------------------------------------------------------------------------
def test_first_start_makes_an_admin_whose_one_time_password_must_be_changed(
    started: tuple[TestClient, str], caplog: pytest.LogCaptureFixture
) -> None:
    client, password = started
    assert len(password) >= 16
    assert login(client, "admin", "admin").status_code == 401  # no default password
    r = login(client, "admin", password)
    assert r.status_code == 200, r.text
    csrf = r.json()["csrf_token"]
    assert r.json()["user"]["must_change_password"] is True
    assert client.cookies.get(SESSION_COOKIE) and client.cookies.get(CSRF_COOKIE) == csrf
    cookie_header = r.headers["set-cookie"].lower()
    assert "httponly" in cookie_header and "samesite=lax" in cookie_header
    # Nothing but changing the password until it is changed.
    refused = client.get("/api/v1/users")
    assert refused.status_code == 403 and err(refused)["code"] == "password_change_required"
    assert client.get("/api/v1/auth/me").json()["must_change_password"] is True
    short = client.post(
        "/api/v1/auth/password",
        json={"current_password": password, "new_password": "short"},
        headers={"X-CSRF-Token": csrf},
    )
    assert short.status_code in (400, 422) and err(short)["code"] == "invalid_request"
    changed = client.post(
        "/api/v1/auth/password",
        json={"current_password": password, "new_password": NEW_PASSWORD},
        headers={"X-CSRF-Token": csrf},
    )
    assert changed.status_code == 204, changed.text
    # Every session of the user ended with the change: log in again.
    assert client.get("/api/v1/auth/me").status_code == 401
    assert login(client, "admin", password).status_code == 401
    again = login(client, "admin", NEW_PASSWORD)
    assert again.status_code == 200 and again.json()["user"]["must_change_password"] is False
    assert client.get("/api/v1/users").status_code == 200
    # A second start makes no second admin and prints nothing.
    printed = io.StringIO()
    with redirect_stderr(printed), browser(create_app(settings=archive_of(client).settings)):
        pass
    assert printed.getvalue() == ""
    entries = AccessControl.for_archive(archive_of(client)).store.entries(limit=100)
    assert [e.action for e in entries][:1] == ["user.create"]
    assert entries[0].actor == "system" and entries[0].details["first_start"] is True
    logged = " ".join(r.getMessage() for r in caplog.records)
    assert password not in logged and NEW_PASSWORD not in logged


def test_passwords_are_hashed_at_the_configured_cost_and_again_when_it_changes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """argon2id at RFC 9106's 64 MiB and 3 passes unless ARCHIVE_PASSWORD_HASH_* say otherwise
    (never below OWASP's 19 MiB and 2 passes); a stored hash of another cost is made again at
    the next successful log-in, not at a failed one."""
    monkeypatch.delenv("ARCHIVE_PASSWORD_HASH_MEMORY_MIB")  # set low for the suite by conftest
    monkeypatch.delenv("ARCHIVE_PASSWORD_HASH_TIME_COST")
    defaults = make_settings(tmp_path / "var")
    assert (defaults.password_hash_memory_mib, defaults.password_hash_time_cost) == (64, 3)
    for weak in ({"password_hash_memory_mib": 8}, {"password_hash_time_cost": 1}):
        with pytest.raises(ValidationError):
            make_settings(tmp_path / "var", **weak)

    def stored(client: TestClient) -> str:
        user = AccessControl.for_archive(archive_of(client)).store.get_user("admin")
        assert user is not None and user.password_hash
        return user.password_hash

    client, password = first_start(defaults)
    try:
        assert "$m=65536,t=3,p=4$" in stored(client)
        csrf = login(client, "admin", password).json()["csrf_token"]
        changed = client.post(
            "/api/v1/auth/password",
            json={"current_password": password, "new_password": NEW_PASSWORD},
            headers={"X-CSRF-Token": csrf},
        )
        assert changed.status_code == 204, changed.text
        assert "$m=65536,t=3,p=4$" in stored(client)
    finally:
        client.__exit__(None, None, None)

    cheaper = make_settings(
        tmp_path / "var", password_hash_memory_mib=19, password_hash_time_cost=2
    )
    with browser(create_app(settings=cheaper)) as client:
        before = stored(client)
        assert login(client, "admin", "not the password at all").status_code == 401
        assert stored(client) == before  # a failed log-in changes nothing
        assert login(client, "admin", NEW_PASSWORD).status_code == 200
        assert "$m=19456,t=2,p=4$" in stored(client)
        me = client.get("/api/v1/auth/me")  # the same password: the new session stays open
        assert me.status_code == 200 and me.json()["username"] == "admin", me.text
        client.cookies.clear()
        assert login(client, "admin", NEW_PASSWORD).status_code == 200  # the new hash verifies


# --- CSRF and the browser session --------------------------------------------------------------
@pytest.fixture
def admin_browser(started: tuple[TestClient, str]) -> tuple[TestClient, str]:
    """A browser logged in as the first admin, password changed; returns it and its CSRF
    token."""
    client, password = started
    csrf = login(client, "admin", password).json()["csrf_token"]
    client.post(
        "/api/v1/auth/password",
        json={"current_password": password, "new_password": NEW_PASSWORD},
        headers={"X-CSRF-Token": csrf},
    )
    r = login(client, "admin", NEW_PASSWORD)
    assert r.status_code == 200
    return client, r.json()["csrf_token"]


def test_a_session_change_needs_the_csrf_token_and_the_same_site(
    admin_browser: tuple[TestClient, str],
) -> None:
    client, csrf = admin_browser
    body = {"username": "clerk", "roles": ["archivist"]}
    missing = client.post("/api/v1/users", json=body)
    assert missing.status_code == 403 and err(missing)["code"] == "csrf_failed"
    wrong = client.post("/api/v1/users", json=body, headers={"X-CSRF-Token": "x" * 43})
    assert wrong.status_code == 403 and err(wrong)["code"] == "csrf_failed"
    cross = client.post(
        "/api/v1/users",
        json=body,
        headers={"X-CSRF-Token": csrf, "Origin": "https://evil.example"},
    )
    assert cross.status_code == 403 and err(cross)["code"] == "csrf_failed"
    fetched = client.post(
        "/api/v1/users",
        json=body,
        headers={"X-CSRF-Token": csrf, "Sec-Fetch-Site": "cross-site"},
    )
    assert fetched.status_code == 403
    # A form on another site cannot log anyone in either.
    forged = login(client, "admin", NEW_PASSWORD, headers={"Origin": "https://evil.example"})
    assert forged.status_code == 403
    # Refused changes changed nothing.
    assert "clerk" not in [u["username"] for u in client.get("/api/v1/users").json()]
    ok = client.post(
        "/api/v1/users",
        json=body,
        headers={"X-CSRF-Token": csrf, "Origin": "http://testserver"},
    )
    assert ok.status_code == 201, ok.text
    one_time = ok.json()["one_time_password"]
    assert one_time and len(one_time) >= 16
    # An upload form carries the token as a field.
    form = client.post(
        "/api/v1/contracts",
        data={"csrf_token": csrf},
        files={"file": (EN.name, EN.read_bytes(), "application/pdf")},
    )
    assert form.status_code == 201, form.text
    # Reads need no CSRF token; token-authenticated changes need none either.
    assert client.get("/api/v1/contracts").status_code == 200
    token = token_for(archive_of(client), "admin", username="api-admin")
    with TestClient(client.app, headers={"Authorization": f"Bearer {token}"}) as api:
        assert api.post("/api/v1/users", json={**body, "username": "clerk2"}).status_code == 201
    # Log out ends the session on the server, not only in this browser.
    stolen = client.cookies.get(SESSION_COOKIE)
    assert client.post("/api/v1/auth/logout", headers={"X-CSRF-Token": csrf}).status_code == 204
    replay = browser(client.app)
    replay.cookies.set(SESSION_COOKIE, stolen or "")
    assert replay.get("/api/v1/auth/me").status_code == 401


def test_login_form_with_origin_null(started: tuple[TestClient, str]) -> None:
    """Issue 15: Chromium posts a page's own form with ``Origin: null`` when the page's
    referrer policy hides the origin. The log-in is decided by ``Sec-Fetch-Site``, which the
    browser sets: same-origin passes, anything else with a null origin is refused."""
    client, password = started
    form = {"username": "admin", "password": password, "next": "/"}
    pages = client.get("/login")
    assert pages.headers["referrer-policy"] == "same-origin"
    for headers in (
        {"Origin": "null"},  # no word from the browser: cannot be told from a sandboxed frame
        {"Origin": "null", "Sec-Fetch-Site": "cross-site"},
        {"Origin": "null", "Sec-Fetch-Site": "same-site"},
        {"Origin": "null", "Sec-Fetch-Site": "none"},
        {"Origin": "https://evil.example", "Sec-Fetch-Site": "same-origin"},
    ):
        refused = client.post("/login", data=form, headers=headers, follow_redirects=False)
        assert refused.status_code == 403, (headers, refused.text)
        assert not client.cookies.get(SESSION_COOKIE)
    for login_path, kw in (("/api/v1/auth/login", {"json": form}), ("/login", {"data": form})):
        refused = client.post(login_path, headers={"Origin": "null"}, **kw)
        assert refused.status_code == 403
    ok = client.post(
        "/login",
        data=form,
        headers={"Origin": "null", "Sec-Fetch-Site": "same-origin"},
        follow_redirects=False,
    )
    assert ok.status_code == 303, ok.text
    assert ok.headers["location"] == "/account/password"  # the one-time password first
    csrf = client.cookies.get(CSRF_COOKIE)
    assert client.cookies.get(SESSION_COOKIE) and csrf
    # A session's change from the page's own form, Origin hidden: the same rule, plus the token.
    change = {"current_password": password, "new_password": NEW_PASSWORD}
    no_token = client.post(
        "/account/password",
        data=change,
        headers={"Origin": "null", "Sec-Fetch-Site": "same-origin"},
        follow_redirects=False,
    )
    assert no_token.status_code == 403
    cross = client.post(
        "/account/password",
        data={**change, "csrf_token": csrf},
        headers={"Origin": "null", "Sec-Fetch-Site": "cross-site"},
        follow_redirects=False,
    )
    assert cross.status_code == 403
    changed = client.post(
        "/account/password",
        data={**change, "csrf_token": csrf},
        headers={"Origin": "null", "Sec-Fetch-Site": "same-origin"},
        follow_redirects=False,
    )
    assert changed.status_code == 303, changed.text


def test_a_bad_bearer_token_never_falls_back_to_the_session(
    admin_browser: tuple[TestClient, str],
) -> None:
    client, _ = admin_browser
    r = client.get("/api/v1/auth/me", headers={"Authorization": "Bearer cat_nonsense"})
    assert r.status_code == 401
    r = client.get("/api/v1/auth/me", headers={"Authorization": "Basic YWRtaW46YWRtaW4="})
    assert r.status_code == 401 and "Bearer" in err(r)["hint"]
    # Tokens in the URL are not accepted (URLs end up in proxy logs).
    token = token_for(archive_of(client), "legal", username="url-user")
    anon = browser(client.app)
    assert anon.get("/api/v1/auth/me", params={"token": token}).status_code == 401
    assert anon.get("/api/v1/auth/me", params={"access_token": token}).status_code == 401


def test_sessions_expire_when_idle_and_at_their_end(admin_browser: tuple[TestClient, str]) -> None:
    client, _ = admin_browser
    archive = archive_of(client)
    engine = archive.records.engine  # type: ignore[attr-defined]
    assert client.get("/api/v1/auth/me").status_code == 200
    idle = datetime.now(UTC) - timedelta(minutes=archive.settings.session_idle_minutes + 1)
    with engine.begin() as conn:
        conn.execute(update(WebSession).values(last_seen_at=idle))
    r = client.get("/api/v1/auth/me")
    assert r.status_code == 401 and "expired" in err(r)["message"]
    r = login(client, "admin", NEW_PASSWORD)
    assert r.status_code == 200
    assert client.get("/api/v1/auth/me").status_code == 200
    with engine.begin() as conn:
        conn.execute(update(WebSession).values(expires_at=datetime.now(UTC) - timedelta(1)))
    assert client.get("/api/v1/auth/me").status_code == 401


# --- failed log-ins --------------------------------------------------------------------------
def test_failed_log_ins_are_rate_limited_and_logged(tmp_path: Path) -> None:
    settings = make_settings(tmp_path / "var", login_max_failures=3)
    with Archive(settings, parser_workers=1).open() as archive:
        access = AccessControl.for_archive(archive)
        root = ensure_user(archive, "root", ("admin",))
        _, password = access.create_user(root, "dora", roles=["legal"])
        assert password is not None
        with browser(create_app(archive)) as client:
            for _ in range(3):
                assert login(client, "dora", "guess " * 3).status_code == 401
            locked = login(client, "dora", password)
            assert locked.status_code == 429 and err(locked)["code"] == "too_many_attempts"
            assert int(locked.headers["retry-after"]) == settings.login_window_minutes * 60
            # An unknown user answers like a wrong password (no user enumeration).
            unknown = login(client, "nobody-here", "whatever")
            assert unknown.status_code == 401
            assert err(unknown)["message"] == "wrong user name or password"
            # A disabled user cannot log in even with the right password.
            access.update_user(root, "root", disabled=False)
            _, other = access.create_user(root, "emil", roles=["legal"])
            assert other is not None
            access.update_user(root, "emil", disabled=True)
            assert login(client, "emil", other).status_code == 401
        logins = access.store.entries(LogFilter(action="auth.login"), limit=100)
        outcomes = [(e.actor, e.outcome) for e in logins]
        assert outcomes.count(("dora", "failed")) == 3
        assert ("dora", "locked") in outcomes and ("emil", "disabled") in outcomes
        assert all(e.ip == "testclient" and e.user_agent == "pytest-browser" for e in logins)
        assert all(password not in str(e.details) for e in logins)


# --- tokens ----------------------------------------------------------------------------------
def test_tokens_are_shown_once_hashed_at_rest_expire_and_can_be_revoked(archive: Archive) -> None:
    access = AccessControl.for_archive(archive)
    admin_token = token_for(archive, "admin", username="boss")
    headers = {"Authorization": f"Bearer {admin_token}"}
    with TestClient(create_app(archive), raise_server_exceptions=False, headers=headers) as c:
        made = c.post("/api/v1/tokens", json={"name": "nightly export", "expires_in_days": 7})
        assert made.status_code == 201, made.text
        token, info = made.json()["token"], made.json()["info"]
        assert token.startswith(info["id"]) and info["active"] is True
        assert c.get("/api/v1/tokens").json()[-1].keys() >= {"id", "expires_at", "active"}
        assert token not in c.get("/api/v1/tokens").text  # never shown again
        too_long = c.post("/api/v1/tokens", json={"name": "x", "expires_in_days": 10_000})
        assert too_long.status_code in (400, 422)
        own = {"Authorization": f"Bearer {token}"}
        assert c.get("/api/v1/auth/me", headers=own).json()["username"] == "boss"
        # Expired.
        with archive.records.engine.begin() as conn:  # type: ignore[attr-defined]
            conn.execute(
                update(ApiToken)
                .where(ApiToken.prefix == info["id"])
                .values(expires_at=datetime.now(UTC) - timedelta(seconds=1))
            )
        r = c.get("/api/v1/auth/me", headers=own)
        assert r.status_code == 401 and "expired" in err(r)["message"]
        # Revoked (another, fresh token).
        second = c.post("/api/v1/tokens", json={"name": "second"}).json()
        assert c.delete(f"/api/v1/tokens/{second['info']['id']}").json()["active"] is False
        r = c.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {second['token']}"})
        assert r.status_code == 401 and "revoked" in err(r)["message"]
        # Someone else's token cannot be revoked by a non-admin.
        legal = token_for(archive, "legal", username="lou")
        r = c.delete(f"/api/v1/tokens/{info['id']}", headers={"Authorization": f"Bearer {legal}"})
        assert r.status_code in (403, 404)
    # At rest: only a digest of the token.
    with archive.records.engine.begin() as conn:  # type: ignore[attr-defined]
        stored = [tuple(row) for row in conn.exec_driver_sql("SELECT * FROM api_tokens")]
    assert stored and not any(token in str(row) or second["token"] in str(row) for row in stored)
    actions = {e.action for e in access.store.entries(limit=500)}
    assert {"token.create", "token.revoke"} <= actions


def test_disabling_a_user_stops_their_tokens_at_once(archive: Archive) -> None:
    token = token_for(archive, "legal", username="leaver")
    with TestClient(
        create_app(archive),
        raise_server_exceptions=False,
        headers={"Authorization": f"Bearer {token}"},
    ) as c:
        assert c.get("/api/v1/contracts").status_code == 200
        root = ensure_user(archive, "root", ("admin",))
        AccessControl.for_archive(archive).update_user(root, "leaver", disabled=True)
        r = c.get("/api/v1/contracts")
        assert r.status_code == 401 and "disabled" in err(r)["message"]


# --- secrets never reach a log -----------------------------------------------------------------
def test_passwords_and_tokens_never_reach_a_log(
    archive: Archive, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    access = AccessControl.for_archive(archive)
    root = ensure_user(archive, "root", ("admin",))
    _, password = access.create_user(root, "frida", roles=["legal"])
    assert password is not None
    secrets = [password, NEW_PASSWORD]
    with browser(create_app(archive)) as client:
        login(client, "frida", "not her password at all")
        r = login(client, "frida", password)
        csrf = r.json()["csrf_token"]
        secrets += [client.cookies.get(SESSION_COOKIE) or "", csrf]
        client.post(
            "/api/v1/auth/password",
            json={"current_password": password, "new_password": NEW_PASSWORD},
            headers={"X-CSRF-Token": csrf},
        )
        made = client.post(
            "/api/v1/tokens",
            json={"name": "t"},
            headers={"Authorization": f"Bearer {token_for(archive, 'admin', username='adm')}"},
        ).json()
        secrets.append(made["token"])
        client.get("/api/v1/search", headers={"Authorization": f"Bearer {made['token']}x"})
    journal = "\n".join(
        f"{e.actor} {e.via} {e.action} {e.outcome} {e.purpose} {e.details} {e.user_agent}"
        for e in access.store.entries(limit=1000)
    )
    logged = "\n".join(f"{r.getMessage()} {r.exc_text or ''} {r.args}" for r in caplog.records)
    for secret in secrets:
        assert secret and secret not in journal and secret not in logged
    # Tokens are logged by their public prefix only.
    assert made["info"]["id"] in journal


# --- security headers ------------------------------------------------------------------------
def test_security_headers_on_every_kind_of_response(archive: Archive) -> None:
    with browser(create_app(archive)) as client:
        for path, status in (
            ("/api/v1/health", 200),
            ("/api/v1/contracts", 401),
            ("/api/v1/nothing-here", 404),
            ("/docs", 200),
        ):
            r = client.get(path)
            assert r.status_code == status, path
            assert r.headers["x-content-type-options"] == "nosniff"
            assert r.headers["x-frame-options"] == "DENY"
            assert r.headers["referrer-policy"] == "same-origin"
            assert "frame-ancestors 'none'" in r.headers["content-security-policy"]
            if path.startswith("/api/"):
                assert r.headers["cache-control"] == "no-store"
                assert "default-src 'none'" in r.headers["content-security-policy"]
        assert "strict-transport-security" not in client.get("/api/v1/health").headers
    with TestClient(create_app(archive), base_url="https://testserver") as tls:
        assert tls.get("/api/v1/health").headers["strict-transport-security"].startswith("max-age")


# --- hostile file names and paths ----------------------------------------------------------
@pytest.mark.parametrize(
    ("name", "stored"),
    [
        ("../../../../etc/passwd.pdf", "passwd.pdf"),
        ("..\\..\\windows\\system32\\evil.pdf", "evil.pdf"),
        ("/absolute/path.pdf", "path.pdf"),
        ("a;b:c*?<>|.pdf", "a_b_c_____.pdf"),
        ("tab\tbell\x07.pdf", "tab_bell_.pdf"),
        ("invoice\u202efdp.exe", "invoice_fdp.exe"),
        ("..", "upload.pdf"),
        ("合同 (最终版).pdf", "合同 (最终版).pdf"),
    ],
)
def test_hostile_file_names_are_made_safe(
    archive: Archive, tmp_path: Path, name: str, stored: str
) -> None:
    token = token_for(archive, "admin", username="up")
    before = sorted(p for p in tmp_path.rglob("*") if p.is_file())
    with TestClient(
        create_app(archive),
        raise_server_exceptions=False,
        headers={"Authorization": f"Bearer {token}"},
    ) as c:
        # A raw multipart body: httpx would percent-encode control characters in the name.
        body = (
            b'--B\r\nContent-Disposition: form-data; name="file"; filename="'
            + name.encode()
            + b'"\r\nContent-Type: application/pdf\r\n\r\n'
            + EN.read_bytes()
            + b"\r\n--B--\r\n"
        )
        r = c.post(
            "/api/v1/contracts",
            content=body,
            headers={"Content-Type": "multipart/form-data; boundary=B"},
        )
        assert r.status_code in (200, 201), r.text
        cid = r.json()["id"]
        record = c.get(f"/api/v1/contracts/{cid}").json()
        assert record["filename"] == stored
        download = c.get(f"/api/v1/contracts/{cid}/original")
        disposition = download.headers["content-disposition"]
        assert "\r" not in disposition and "\n" not in disposition and "/" not in disposition
    data_dir = archive.settings.data_dir.resolve()
    new = [p for p in tmp_path.rglob("*") if p.is_file() and p not in before]
    assert all(p.resolve().is_relative_to(data_dir) for p in new)
    assert not any(p.name in ("passwd.pdf", "evil.pdf", "path.pdf") for p in new)


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/contracts/..%2F..%2Fetc%2Fpasswd/original",
        "/api/v1/contracts/1%00/original",
        "/api/v1/contracts/-1/text",
        "/api/v1/contracts/99999999999999999999999/original",
        "/api/v1/contracts/99999999999999999999999/access-log",
        "/api/v1/access-log?contract=99999999999999999999999",
        "/api/v1/users/..%2Fadmin",
        "/api/v1/restrictions/..%2F..",
    ],
)
def test_hostile_paths_are_clear_errors(archive: Archive, path: str) -> None:
    token = token_for(archive, "admin", username="walker")
    with TestClient(
        create_app(archive),
        raise_server_exceptions=False,
        headers={"Authorization": f"Bearer {token}"},
    ) as c:
        r = c.get(path)
        assert r.status_code in (400, 404, 405, 422), (path, r.status_code, r.text)
        assert set(r.json()) == {"error"}


# --- the guard itself -------------------------------------------------------------------------
def test_a_route_without_a_declared_permission_is_closed(archive: Archive) -> None:
    """Fail closed: a route added without a permission dependency answers 403 to everyone, for
    every method, before its body is read, instead of serving data unchecked."""
    router = APIRouter()
    served: list[str] = []

    @router.get("/api/v1/forgotten")
    def forgotten() -> dict[str, str]:
        served.append("get")
        return {"secret": "data"}

    @router.post("/api/v1/forgotten")
    def forgotten_post() -> dict[str, str]:
        served.append("post")
        return {}

    @router.get("/api/v1/guarded", dependencies=[Depends(PUBLIC)])
    def guarded() -> dict[str, str]:
        return {"ok": "yes"}

    @router.get("/api/v1/searchers")
    def searchers(caller: CanSearch) -> dict[str, str]:
        return {"who": caller.username}

    app = FastAPI()
    app.state.archive = archive
    routes = [r for r in router.routes if isinstance(r, APIRoute)]
    app.add_middleware(AuthGate, routes=routes)
    install_error_handlers(app)
    app.include_router(router)
    token = token_for(archive, "admin", username="all-powerful")
    with TestClient(app, raise_server_exceptions=False) as client:
        for method in ("GET", "POST"):
            for headers in ({}, {"Authorization": f"Bearer {token}"}):
                r = client.request(method, "/api/v1/forgotten", headers=headers, json={})
                assert r.status_code == 403 and err(r)["code"] == "route_not_guarded"
        assert client.get("/api/v1/guarded").json() == {"ok": "yes"}
        assert client.get("/api/v1/searchers").status_code == 401
    assert served == []


def test_whether_a_change_is_logged_is_declared_by_the_route_not_its_module(
    archive: Archive,
) -> None:
    """Issue 12: a change through a plain ``Require`` route is logged by its guard
    (``api.<endpoint>``, before it runs) wherever the route lives, unless the route declares
    ``guard_logs=False``; a route that acts through the facade (``Acts``) is logged by its
    actions, not by the guard. (The guard used to skip whole modules, so moving a route
    function changed what was audited.)"""
    router = APIRouter()
    ran: list[str] = []

    @router.post("/api/v1/plain")
    def plain(caller: Annotated[Caller, Depends(Require(Perm.CONTRACTS_EDIT))]) -> dict[str, str]:
        ran.append("plain")
        return {}

    @router.post("/api/v1/self-logging")
    def self_logging(
        caller: Annotated[Caller, Depends(Require(Perm.CONTRACTS_EDIT, guard_logs=False))],
    ) -> dict[str, str]:
        ran.append("self-logging")
        return {}

    @router.post("/api/v1/acting")
    def acting(f: ActsEditing) -> dict[str, str]:
        ran.append("acting")
        return {"who": f.caller.username}

    # A module the old guard skipped: where a route lives must not matter.
    plain.__module__ = "search_api.web.views"
    app = FastAPI()
    app.state.archive = archive
    app.add_middleware(AuthGate, routes=[r for r in router.routes if isinstance(r, APIRoute)])
    install_error_handlers(app)
    app.include_router(router)
    token = token_for(archive, "archivist", username="clerk")
    access = AccessControl.for_archive(archive)
    before = access.store.head().seq
    with TestClient(app, headers={"Authorization": f"Bearer {token}"}) as client:
        for path in ("/api/v1/plain", "/api/v1/self-logging", "/api/v1/acting"):
            assert client.post(path, json={}).status_code == 200, path
    assert ran == ["plain", "self-logging", "acting"]
    entries = [e for e in access.store.entries(limit=100) if e.seq > before]
    assert [(e.actor, e.action, e.outcome) for e in entries] == [("clerk", "api.plain", "started")]
    assert entries[0].details == {"method": "POST", "path": "/api/v1/plain"}
    assert Acts(Perm.CONTRACTS_EDIT).guard_logs is False


def test_every_route_of_the_app_is_in_the_route_table(archive: Archive) -> None:
    """Routes reach the app only through ROUTERS (so route_table() and the matrix see them),
    besides the documentation pages."""
    app = create_app(archive)
    docs = {"/openapi.json", "/docs", "/docs/oauth2-redirect", "/redoc"}
    for route in app.routes:
        original = getattr(route, "original_router", None)
        if original is not None:
            assert original in ROUTERS
        else:
            assert getattr(route, "path", None) in docs, route
    assert {r.permission for r in route_table()} - {None} and all(
        r.permission for r in route_table()
    )
