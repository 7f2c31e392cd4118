"""Access control through the API: the role × route matrix, restricted classes in search and on
every contract route, reading the log, and the purpose of a restricted download.

One archive serves the module (three real contracts); tests run in file order and some read
what earlier ones logged.
"""

from __future__ import annotations

import csv
import dataclasses
import hashlib
import io
import json
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import anyio
import pytest
from fastapi import APIRouter, FastAPI
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient

from core.roles import Role, permissions
from search_api.app import create_app, route_table
from search_api.auth import AuthGate
from search_api.deps import CanReadContracts
from search_api.errors import install_error_handlers
from services.access.credentials import hash_password
from services.access.service import AccessControl
from services.archive import Archive
from storage.records.access_base import LogFilter, NewUser, canonical_bytes
from tests.access_helpers import ensure_user, token_for
from tests.conftest import corpus_files, make_settings

ZH = next(p for p in corpus_files("zh", ".pdf") if "新疆" in p.name)  # 汽车买卖合同
NANJING = next(p for p in corpus_files("zh", ".pdf") if "南京" in p.name)  # 存量房买卖合同
EN = next(p for p in corpus_files("en-cuad", ".pdf") if "JOINT FILING" in p.name)

ROLES: dict[str, tuple[str, ...]] = {
    "archivist": ("archivist",),
    "legal": ("legal",),
    "auditor": ("auditor",),
    "admin": ("admin",),
}


class World:
    """One archive for the module: three contracts, the Xinjiang one classified LD (labour),
    restricted to the group hr."""

    def __init__(self, archive: Archive) -> None:
        self.archive = archive
        self.access = AccessControl.for_archive(archive)
        self.app = create_app(archive)
        root = ensure_user(archive, "root", ("admin",))
        self.ids: dict[str, int] = {}
        for key, path, customer in (
            ("labour", ZH, "新疆汽车贸易公司"),
            ("house", NANJING, "南京房产"),
            ("en", EN, "Acme Corp"),
        ):
            with open(path, "rb") as fh:
                result = self.access.ingest(root, fh, filename=path.name, customer=customer)
            assert result.status == "archived" and result.id is not None
            self.ids[key] = result.id
        # Classified (and confirmed in the contract model) before LD is restricted.
        self.access.update_contract(root, self.ids["labour"], {"classification": "LD"})
        self.access.update_contract(root, self.ids["house"], {"classification": "XS"})
        self.access.set_restriction(root, "LD", ["hr"])
        self.tokens = {
            name: token_for(archive, *roles, username=name) for name, roles in ROLES.items()
        }
        self.tokens["legal-hr"] = token_for(archive, "legal", username="legal-hr", groups=("hr",))
        self.tokens["both"] = token_for(archive, "legal", "auditor", username="both")
        self.tokens["auditor-hr"] = token_for(
            archive, "auditor", username="auditor-hr", groups=("hr",)
        )

    def client(self, who: str | None) -> TestClient:
        headers = {"Authorization": f"Bearer {self.tokens[who]}"} if who else {}
        return TestClient(self.app, raise_server_exceptions=False, headers=headers)


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    settings = make_settings(tmp_path_factory.mktemp("access-api") / "var")
    with Archive(settings, parser_workers=1).open() as archive:
        yield World(archive)


def err(response: Any) -> dict[str, Any]:
    body = response.json()
    assert set(body) == {"error"}, body
    return body["error"]


# --- the role × route matrix ------------------------------------------------------------------
Sample = tuple[dict[str, Any], tuple[int, ...]]


def samples(
    world: World,
) -> tuple[dict[tuple[str, str], Callable[[], Sample]], dict[str, str]]:
    """A valid request for each route this issue knows, with the statuses a permitted caller
    gets, and values for path parameters. Routes added later without a sample are still checked
    for 401 and 403."""
    cid = world.ids["en"]
    target = "matrix-target"
    ensure_user(world.archive, target, ("legal",))
    if world.access.store.get_user("matrix-login") is None:
        world.access.store.add_user(
            NewUser(
                username="matrix-login",
                roles=("legal",),
                password_hash=hash_password("correct horse battery"),
                created_by="tests",
            )
        )

    def upload() -> Sample:
        return {"files": {"file": (EN.name, EN.read_bytes(), "application/pdf")}}, (200, 201)

    def new_user() -> Sample:
        name = f"u{uuid.uuid4().hex[:8]}"
        return {"json": {"username": name, "roles": ["legal"], "password": False}}, (201,)

    known: dict[tuple[str, str], Callable[[], Sample]] = {
        ("GET", "/api/v1/health"): lambda: ({}, (200,)),
        ("GET", "/"): lambda: ({}, (200,)),
        ("POST", "/api/v1/contracts"): upload,
        ("GET", "/api/v1/contracts"): lambda: ({}, (200,)),
        ("GET", "/api/v1/contracts/{contract_id}"): lambda: ({}, (200,)),
        ("PATCH", "/api/v1/contracts/{contract_id}"): lambda: (
            {"json": {"customer": "Acme Corp"}},
            (200,),
        ),
        ("GET", "/api/v1/contracts/{contract_id}/original"): lambda: ({}, (200,)),
        ("GET", "/api/v1/contracts/{contract_id}/text"): lambda: ({}, (200,)),
        ("GET", "/api/v1/contracts/{contract_id}/access-log"): lambda: ({}, (200,)),
        ("GET", "/api/v1/search"): lambda: ({"params": {"q": "agreement"}}, (200,)),
        ("POST", "/api/v1/auth/login"): lambda: (
            {"json": {"username": "matrix-login", "password": "correct horse battery"}},
            (200,),
        ),
        ("POST", "/api/v1/auth/logout"): lambda: ({}, (204,)),
        ("GET", "/api/v1/auth/me"): lambda: ({}, (200,)),
        ("POST", "/api/v1/auth/password"): lambda: ({"json": {}}, (422,)),
        ("GET", "/api/v1/tokens"): lambda: ({}, (200,)),
        ("POST", "/api/v1/tokens"): lambda: ({"json": {"name": "matrix"}}, (201,)),
        ("DELETE", "/api/v1/tokens/{token_id}"): lambda: ({}, (404,)),
        ("GET", "/api/v1/users"): lambda: ({}, (200,)),
        ("POST", "/api/v1/users"): new_user,
        ("GET", "/api/v1/users/{username}"): lambda: ({}, (200,)),
        ("PATCH", "/api/v1/users/{username}"): lambda: ({"json": {"display_name": "T"}}, (200,)),
        ("POST", "/api/v1/users/{username}/password"): lambda: ({}, (200,)),
        ("GET", "/api/v1/restrictions"): lambda: ({}, (200,)),
        ("PUT", "/api/v1/restrictions/{classification}"): lambda: (
            {"json": {"groups": ["g"]}},
            (200,),
        ),
        ("DELETE", "/api/v1/restrictions/{classification}"): lambda: ({}, (204, 404)),
        ("GET", "/api/v1/access-log"): lambda: ({}, (200,)),
        ("GET", "/api/v1/access-log/export"): lambda: ({"params": {"format": "csv"}}, (200,)),
        ("GET", "/api/v1/access-log/extract"): lambda: ({"params": {"contract": cid}}, (200,)),
        ("GET", "/api/v1/access-log/verify"): lambda: ({}, (200,)),
        ("GET", "/api/v1/access-log/checkpoints"): lambda: ({}, (200,)),
        ("GET", "/api/v1/access-log/key"): lambda: ({}, (200,)),
    }
    params = {
        "contract_id": str(cid),
        "username": target,
        "token_id": "cat_00000000",
        "classification": "ZZ",
    }
    return known, params


def test_every_route_declares_a_permission_and_enforces_it(world: World) -> None:
    """Generated from the route table: a route added without a permission fails here."""
    known, params = samples(world)
    undeclared = [f"{sorted(r.methods)} {r.path}" for r in route_table() if r.permission is None]
    assert not undeclared, f"routes without a declared permission (search_api.auth): {undeclared}"
    checked = 0
    for route in route_table():
        path = route.path
        for name, value in params.items():
            path = path.replace("{" + name + "}", value)
        path = path.replace("{", "").replace("}", "")  # parameters of routes added later
        for method in sorted(route.methods):
            sample = known.get((method, route.path))
            for who in (None, *ROLES):
                kwargs, ok = sample() if sample else ({}, ())
                kwargs.setdefault("follow_redirects", False)  # the route's own answer
                with world.client(who) as client:
                    r = client.request(method, path, **kwargs)
                granted = (
                    {p.value for p in permissions({Role(x) for x in ROLES[who]})} if who else set()
                )
                allowed = route.permission == "public" or route.permission in granted
                where = f"{method} {route.path} as {who or 'anonymous'}"
                assert r.status_code < 500, f"{where}: {r.text}"
                if allowed:
                    assert r.status_code not in (401, 403), f"{where}: {r.text}"
                    if ok:
                        assert r.status_code in ok, f"{where}: {r.status_code} {r.text}"
                elif who is None:
                    assert r.status_code == 401, f"{where}: {r.status_code}"
                    assert err(r)["code"] == "unauthorized"
                    assert r.headers["www-authenticate"].startswith("Bearer")
                else:
                    assert r.status_code == 403, f"{where}: {r.status_code} {r.text}"
                    assert err(r)["code"] == "forbidden"
                checked += 1
    assert checked >= 5 * 30
    # Refusals are logged as denied, with who tried what.
    recent = world.access.store.entries(limit=1000, descending=True)
    assert any(e.outcome == "denied" and e.actor == "legal" for e in recent)


def post_counting_reads(app: Any, token: str | None) -> tuple[int, int]:
    """POST a 13 MB multipart upload straight to the ASGI app; return the status and how many
    body chunks the app pulled (TestClient would read the whole body first)."""
    pulled = 0
    status = 0

    async def receive() -> dict[str, Any]:
        nonlocal pulled
        pulled += 1
        if pulled == 1:
            head = b'--x\r\nContent-Disposition: form-data; name="file"; filename="a.pdf"\r\n\r\n'
            return {"type": "http.request", "body": head, "more_body": True}
        return {"type": "http.request", "body": b"0" * 65536, "more_body": pulled < 200}

    async def send(message: dict[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]

    headers = [(b"content-type", b"multipart/form-data; boundary=x"), (b"host", b"testserver")]
    if token:
        headers.append((b"authorization", f"Bearer {token}".encode()))
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/api/v1/contracts",
        "raw_path": b"/api/v1/contracts",
        "root_path": "",
        "query_string": b"",
        "headers": headers,
        "client": ("127.0.0.1", 5000),
        "server": ("testserver", 80),
    }
    anyio.run(app, scope, receive, send)
    return status, pulled


def test_an_unauthorised_upload_is_refused_before_its_body_is_read(world: World) -> None:
    assert post_counting_reads(world.app, None) == (401, 0)
    assert post_counting_reads(world.app, world.tokens["legal"]) == (403, 0)
    status, pulled = post_counting_reads(world.app, world.tokens["archivist"])
    assert status == 422 and pulled == 200  # allowed: read, then rejected as not a PDF


# --- restricted classes -------------------------------------------------------------------------
def search(world: World, who: str, q: str, **params: Any) -> dict[str, Any]:
    with world.client(who) as client:
        r = client.get("/api/v1/search", params={"q": q, "facets": "true", **params})
    assert r.status_code == 200, r.text
    return r.json()


def test_search_never_reveals_a_restricted_contract(world: World) -> None:
    labour = world.ids["labour"]
    # Cleared: the labour contract is found, with its facets and snippets.
    cleared = search(world, "legal-hr", "买卖合同")
    assert labour in [h["id"] for h in cleared["hits"]]
    assert {"value": "LD", "count": 1} in cleared["facets"]["classification"]
    # Not cleared: not in hits, not in the total, not in any facet, not in a snippet.
    plain = search(world, "legal", "买卖合同")
    assert labour not in [h["id"] for h in plain["hits"]]
    assert plain["total"] == cleared["total"] - 1
    assert all(b["value"] != "LD" for b in plain["facets"]["classification"])
    assert all(b["value"] != "新疆汽车贸易公司" for b in plain["facets"]["customer"])
    assert "汽车" not in json.dumps(plain, ensure_ascii=False)
    # The admin is in no group: restrictions hold for everyone outside them.
    assert labour not in [h["id"] for h in search(world, "admin", "")["hits"]]


@pytest.mark.parametrize(
    "query",
    [
        "classification:LD",
        "classification:LD OR 房屋",
        "(classification:LD) OR (classification:XS)",
        "-classification:XS",
        "-classification:XS -nosuchword",
        "汽车",
        'customer:"新疆汽车贸易公司"',
        "NOT 房屋",
        "",
        "\\",
        "*",
        'classification:"LD" OR classification:LD*',
        "id:{labour}",
        "sha256:{sha}",
        "year:2026 OR classification:LD",
    ],
)
def test_query_syntax_cannot_reach_a_restricted_contract(world: World, query: str) -> None:
    record = world.archive.get(world.ids["labour"])
    q = query.format(labour=record.id, sha=record.sha256) if "{" in query else query
    found = search(world, "legal", q, limit="100")
    assert record.id not in [h["id"] for h in found["hits"]]
    assert all(b["value"] != "LD" for b in found["facets"].get("classification", []))
    cleared = search(world, "legal-hr", q, limit="100")
    assert cleared["total"] - found["total"] in (0, 1)
    if "汽车" in q or str(record.id) in q or record.sha256 in q or q == "classification:LD":
        assert record.id in [h["id"] for h in cleared["hits"]]


@pytest.mark.parametrize(
    "query",
    [
        '"unclosed',
        "classification:",
        "body:违约",
        "a) OR (b",
        "title:(",
        'classification:"LD',
        "id:1e9",
        "a" * 2001,
    ],
)
def test_hostile_queries_are_clear_4xx_errors(world: World, query: str) -> None:
    with world.client("legal") as client:
        r = client.get("/api/v1/search", params={"q": query})
    assert r.status_code in (400, 422), r.text
    assert err(r)["code"] in ("invalid_query", "invalid_request")


def test_every_contract_route_hides_a_restricted_contract(world: World) -> None:
    labour = world.ids["labour"]
    missing = 987654
    with world.client("both") as client:  # legal and auditor, not in hr
        for suffix in ("", "/text", "/original"):
            hidden = client.get(f"/api/v1/contracts/{labour}{suffix}")
            absent = client.get(f"/api/v1/contracts/{missing}{suffix}")
            assert hidden.status_code == absent.status_code == 404
            assert err(hidden)["message"].replace(str(labour), "N") == err(absent)[
                "message"
            ].replace(str(missing), "N")
        listed = client.get("/api/v1/contracts").json()
        assert labour not in [c["id"] for c in listed["items"]]
        assert listed["total"] == 2
    with world.client("archivist") as client:
        assert client.patch(f"/api/v1/contracts/{labour}", json={"title": "x"}).status_code == 404
    with world.client("legal-hr") as client:
        assert client.get(f"/api/v1/contracts/{labour}").status_code == 200
        assert client.get("/api/v1/contracts").json()["total"] == 3
    denied = world.access.store.entries(LogFilter(contract_id=labour, outcome="denied"), limit=50)
    assert {e.action for e in denied} >= {"contract.view", "contract.text", "contract.download"}


def test_a_restricted_download_needs_a_purpose_which_is_logged(world: World) -> None:
    labour = world.ids["labour"]
    with world.client("legal-hr") as client:
        r = client.get(f"/api/v1/contracts/{labour}/original")
        assert r.status_code == 400 and err(r)["code"] == "purpose_required"
        assert "借阅" in err(r)["message"]
        r = client.get(
            f"/api/v1/contracts/{labour}/original", params={"purpose": "劳动仲裁 2024-17"}
        )
        assert r.status_code == 200 and r.content == ZH.read_bytes()
        # An unrestricted contract needs none.
        assert client.get(f"/api/v1/contracts/{world.ids['en']}/original").status_code == 200
    with world.client("auditor") as client:  # not in hr: the history is as missing as the contract
        hidden = client.get(f"/api/v1/contracts/{labour}/access-log")
        missing = client.get("/api/v1/contracts/987654/access-log")
    assert hidden.status_code == missing.status_code == 404
    assert err(hidden)["message"] == err(missing)["message"].replace("987654", str(labour))
    with world.client("auditor-hr") as client:  # cleared: every entry in full
        history = client.get(f"/api/v1/contracts/{labour}/access-log").json()
    downloads = [e for e in history["items"] if e["action"] == "contract.download"]
    assert downloads[0]["outcome"] == "ok" and downloads[0]["purpose"] == "劳动仲裁 2024-17"
    assert downloads[0]["actor"] == "legal-hr" and downloads[0]["details"]["file"] == "original"
    assert downloads[0]["ip"] == "testclient" and downloads[0]["via"].startswith("token:cat_")
    assert any(e["outcome"] == "refused" for e in downloads)


def test_a_duplicate_of_a_hidden_contract_reveals_nothing(world: World) -> None:
    with world.client("archivist") as client:
        r = client.post(
            "/api/v1/contracts", files={"file": ("again.pdf", ZH.read_bytes(), "application/pdf")}
        )
    assert r.status_code == 200 and r.json()["status"] == "duplicate"
    assert r.json().get("contract") is None


def test_classifying_is_one_logged_transaction_and_moves_the_contract_out_of_sight(
    world: World,
) -> None:
    en = world.ids["en"]
    before = world.access.store.head().seq
    with world.client("archivist") as client:
        r = client.patch(
            f"/api/v1/contracts/{en}", json={"classification": "LD", "purpose": "filing"}
        )
        assert r.status_code == 200 and r.json()["classification"] == "LD"
        assert client.get(f"/api/v1/contracts/{en}").status_code == 404
    assert search(world, "legal", "agreement")["total"] == 0
    assert search(world, "legal-hr", "agreement")["total"] == 1
    change = world.access.store.get_entry(before + 1)
    assert change is not None and change.action == "contract.classify"
    assert change.details["classification"]["to"] == "LD"  # from: the model's suggestion
    assert change.purpose == "filing"
    root = ensure_user(world.archive, "root", ("admin",))
    hr_admin = dataclasses.replace(root, groups=frozenset({"hr"}))
    world.access.update_contract(hr_admin, en, {"classification": None})
    assert search(world, "legal", "agreement")["total"] == 1
    with world.client("legal") as client:
        r = client.patch(f"/api/v1/contracts/{en}", json={"classification": "XS"})
    assert r.status_code == 403


# --- reading the log ---------------------------------------------------------------------------
def test_the_log_is_filtered_paginated_and_exported(world: World) -> None:
    with world.client("auditor") as client:
        params: dict[str, Any] = {"user": "legal", "action": "contract.", "limit": 2}
        first = client.get("/api/v1/access-log", params=params).json()
        assert first["total"] >= 3 and len(first["items"]) == 2
        assert all(
            e["actor"] == "legal" and e["action"].startswith("contract.") for e in first["items"]
        )
        second = client.get(
            "/api/v1/access-log", params={**params, "cursor": first["next_cursor"]}
        ).json()
        assert second["items"][0]["seq"] < first["items"][-1]["seq"]
        searches = client.get(
            "/api/v1/access-log", params={"action": "search", "user": "legal", "limit": 1000}
        ).json()["items"]
        logged = next(e for e in searches if e["details"].get("query") == "classification:LD")
        assert logged["details"]["hits"] == 0
        assert logged["details"]["filters"] == ["classification:LD"]
        invalid = [e for e in searches if e["outcome"] == "invalid"]
        assert invalid and "error" in invalid[0]["details"]
        timed = client.get(
            "/api/v1/access-log",
            params={"since": "2000-01-01T00:00:00Z", "until": "2000-01-02T00:00:00Z"},
        ).json()
        assert timed["total"] == 0
        bad = client.get("/api/v1/access-log", params={"since": "2000-01-01T00:00:00"})
        assert bad.status_code == 400

    seqs: dict[str, list[int]] = {}
    for reader in ("auditor", "auditor-hr"):
        with world.client(reader) as client:
            jsonl = client.get("/api/v1/access-log/export", params={"format": "jsonl"})
            assert jsonl.headers["content-type"].startswith("application/x-ndjson")
            lines = [json.loads(line) for line in jsonl.text.splitlines()]
            for line in lines:  # every exported line is an entry as logged
                claimed = line.pop("hash")
                assert hashlib.sha256(canonical_bytes(line)).hexdigest() == claimed
            seqs[reader] = [x["seq"] for x in lines]
            exported = client.get(
                "/api/v1/access-log/export",
                params={"format": "csv", "contract": world.ids["labour"]},
            )
            assert exported.content.startswith(b"\xef\xbb\xbf")
            rows = list(csv.DictReader(io.StringIO(exported.content.decode("utf-8-sig"))))
            assert all(r["contract_id"] == str(world.ids["labour"]) for r in rows)
            if reader == "auditor-hr":  # cleared for LD: the whole history, purposes included
                assert any(r["purpose"] == "劳动仲裁 2024-17" for r in rows)
            else:  # not cleared: none of its entries
                assert rows == [], rows
    cleared, uncleared = seqs["auditor-hr"], seqs["auditor"]
    assert cleared == list(range(1, len(cleared) + 1))  # the whole chain
    assert set(uncleared) < set(cleared) and uncleared == sorted(uncleared)
    with world.client("auditor") as client:
        report = client.get("/api/v1/access-log/verify").json()
        assert report["status"] == "PASSED", report["summary"]
        key = client.get("/api/v1/access-log/key").json()
        assert key["verifier_key"].startswith("contract-archive/access-log+" + key["key_id"])
    # The auditor's own reads are in the log too.
    mine = world.access.store.entries(LogFilter(actor="auditor", action="audit."), limit=100)
    assert {e.action for e in mine} >= {"audit.read", "audit.export", "audit.verify"}


def test_the_log_hides_a_restricted_contract_from_an_auditor_not_cleared_for_it(
    world: World,
) -> None:
    """Redaction (issue 12): an auditor outside hr reads the log as if the LD contract did not
    exist (who, when, action and outcome kept; contract, purpose and details gone; a refusal
    because of the class shown as the not_found the caller got); one in hr reads it all."""
    labour = world.ids["labour"]
    with world.client("both") as client:  # not in hr: refused because of the class
        assert client.get(f"/api/v1/contracts/{labour}").status_code == 404
        assert client.get(f"/api/v1/contracts/{labour}/access-log").status_code == 404
    with world.client("legal-hr") as client:
        r = client.get(f"/api/v1/contracts/{labour}/original", params={"purpose": "复核 R-7"})
        assert r.status_code == 200
    with world.client("auditor") as client:
        everything = client.get("/api/v1/access-log", params={"limit": 1000}).json()
        about = client.get("/api/v1/access-log", params={"contract": labour, "limit": 1000}).json()
        refused = client.get(
            "/api/v1/access-log", params={"outcome": "denied", "limit": 1000}
        ).json()
        page = client.get(
            "/access-log", params={"user": "legal-hr"}, headers={"Accept": "text/html"}
        )
    text = json.dumps(everything, ensure_ascii=False)
    assert "复核 R-7" not in text and "新疆汽车贸易公司" not in text
    downloads = [
        e
        for e in everything["items"]
        if e["actor"] == "legal-hr" and e["action"] == "contract.download"
    ]
    redacted = [e for e in downloads if e["contract_id"] is None]
    assert redacted and all(e["purpose"] is None for e in redacted)
    assert all(e["details"] == {"redacted": "a contract you are not cleared for"} for e in redacted)
    assert all(e["outcome"] in ("ok", "refused") for e in redacted)
    assert not [
        e for e in everything["items"] if e["contract_id"] == labour and e["outcome"] == "ok"
    ]
    # No entry keeps the id: a filter on it finds nothing; the class's refusal is a not_found.
    assert about["total"] == len(about["items"]) == 0
    refusals = [
        e
        for e in everything["items"]
        if e["actor"] == "both" and e["action"] == "contract.view" and e["contract_id"] is None
    ]
    assert refusals and all(e["outcome"] == "not_found" for e in refusals)
    assert all(e["details"] == {"redacted": "a contract you are not cleared for"} for e in refusals)
    assert not [e for e in refused["items"] if e["contract_id"] == labour]
    assert not [e for e in everything["items"] if e["contract_id"] == labour]
    assert refused["total"] == len(refused["items"])
    assert "复核 R-7" not in page.text and f'href="/contracts/{labour}"' not in page.text
    with world.client("auditor") as client:  # the whole log's page, the refusals included
        whole = client.get("/access-log", headers={"Accept": "text/html"})
    assert whole.status_code == 200 and f'href="/contracts/{labour}"' not in whole.text
    assert "a contract you are not cleared for" in page.text
    with world.client("auditor-hr") as client:  # cleared for LD: every entry in full
        full = client.get("/api/v1/access-log", params={"contract": labour, "limit": 1000}).json()
    mine = [e for e in full["items"] if e["purpose"] == "复核 R-7"]
    assert mine and mine[0]["details"]["file"] == "original" and mine[0]["outcome"] == "ok"
    refusal = next(e for e in full["items"] if e["actor"] == "both" and e["outcome"] == "denied")
    assert refusal["details"] == {"reason": "restricted class"}
    assert full["total"] > about["total"]


def test_no_route_edits_or_deletes_log_entries() -> None:
    for route in route_table():
        if "access-log" in route.path:
            assert route.methods == {"GET"}, route


def test_a_csv_export_cannot_smuggle_a_formula(world: World) -> None:
    with world.client("legal") as client:
        client.get("/api/v1/search", params={"q": '=HYPERLINK("http://x")'})
    with world.client("auditor") as client:
        exported = client.get(
            "/api/v1/access-log/export", params={"format": "csv", "action": "search"}
        ).content.decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(exported)))
    assert any("HYPERLINK" in cell for row in rows for cell in row)
    for row in rows:
        assert not any(cell.startswith(("=", "+", "@")) for cell in row), row


def test_a_route_added_later_hides_restricted_contracts_by_construction(world: World) -> None:
    """A new route on one contract that only declares its permission (as other features add
    them) answers 404 for a contract of a restricted class, before its body runs."""
    router = APIRouter()
    served: list[int] = []

    @router.get("/api/v1/contracts/{contract_id}/extra")
    def extra(contract_id: int, caller: CanReadContracts) -> dict[str, int]:
        served.append(contract_id)
        return {"id": contract_id}

    app = FastAPI()
    app.state.archive = world.archive
    app.add_middleware(AuthGate, routes=[r for r in router.routes if isinstance(r, APIRoute)])
    install_error_handlers(app)
    app.include_router(router)
    labour, house = world.ids["labour"], world.ids["house"]
    for who, status in (("legal", 404), ("legal-hr", 200)):
        headers = {"Authorization": f"Bearer {world.tokens[who]}"}
        with TestClient(app, raise_server_exceptions=False, headers=headers) as client:
            assert client.get(f"/api/v1/contracts/{labour}/extra").status_code == status
            assert client.get(f"/api/v1/contracts/{house}/extra").status_code == 200
            assert client.get("/api/v1/contracts/987654/extra").status_code == 404
    assert served == [house, labour, house]


def test_the_contract_model_leaves_restricted_contracts_out(world: World) -> None:
    """The filtered contract list, a customer's view, the reminders and the calendar (issue 6)
    show no contract of a restricted class to a caller outside its groups."""
    labour = world.ids["labour"]
    with world.client("legal") as client:
        listed = client.get("/api/v1/contracts", params={"classification": "LD"}).json()
        assert listed["total"] == 0 and listed["items"] == []
        everything = client.get("/api/v1/contracts", params={"limit": 500}).json()
        assert labour not in [c["id"] for c in everything["items"]]
        view = client.get("/api/v1/customers/新疆汽车贸易公司")
        if view.status_code == 200:
            assert labour not in [c["id"] for c in view.json()["contracts"]]
        else:
            assert view.status_code == 404
        page = client.get("/api/v1/customers", params={"limit": 200}).json()
        customers = page["items"]
        assert "新疆汽车贸易公司" not in [c["customer"]["name"] for c in customers]
        assert page["total"] == len(customers)  # the hidden customer is not counted either
        feed = client.get("/api/v1/reminders", params={"days": 3650}).json()
        assert labour not in [r["contract_id"] for r in feed["items"]]
        assert f"contract #{labour}," not in client.get("/api/v1/calendar.ics").text
    with world.client("legal-hr") as client:
        listed = client.get("/api/v1/contracts", params={"classification": "LD"}).json()
        assert [c["id"] for c in listed["items"]] == [labour]
        page = client.get("/api/v1/customers", params={"limit": 200}).json()
        assert "新疆汽车贸易公司" in [c["customer"]["name"] for c in page["items"]]
        assert page["total"] == len(page["items"])


def test_a_change_through_the_facade_that_fails_is_logged_failed(
    world: World,
) -> None:
    """The route acts through the facade: its action logs it (not the guard's generic entry)."""
    house = world.ids["house"]
    with world.client("archivist") as client:
        r = client.post(f"/api/v1/contracts/{house}/transitions", json={"to": "nonsense"})
    assert r.status_code == 400
    entries = world.access.store.entries(
        LogFilter(actor="archivist", action="contract.transition", contract_id=house), limit=5
    )
    assert [e.outcome for e in entries] == ["failed"]
    assert entries[0].details["to"] == "nonsense"
    generic = LogFilter(actor="archivist", action="api.", contract_id=house)
    assert not world.access.store.entries(generic, limit=5)
