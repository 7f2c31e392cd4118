"""Approval before signing and borrowing (借阅), over HTTP with each user's token (issue 18).

One archive for the module: three contracts uploaded through the API, users with roles and
groups, a restricted class. The tests run in file order (they share the archive's state).
Time: the archive's clock is frozen (ARCHIVE_FROZEN_NOW); a test moves it by opening the
same data directory with another frozen instant, as a restart with another setting does.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from search_api.app import create_app
from services.archive import Archive
from tests.access_helpers import auth_headers, ensure_user
from tests.conftest import CORPUS, make_settings

ZH = CORPUS / "zh" / "samr-model-contracts"
PDFS = {
    "sales": ZH / "新疆维吾尔自治区汽车买卖合同.pdf",
    "big": ZH / "南京市存量房买卖合同.pdf",
    "secret": ZH / "青岛市木门买卖合同示范文本.pdf",
}
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
USERS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "root": (("admin",), ("mgmt", "vault")),
    "clerk": (("archivist",), ("mgmt",)),  # submits; also in mgmt: never their own approver
    "mgr1": (("legal",), ("mgmt",)),
    "mgr2": (("legal",), ("mgmt",)),
    "cfo": (("legal",), ()),
    "risk1": (("auditor",), ()),
    "risk2": (("auditor",), ()),
    "counsel": (("legal",), ()),
    "reader": (("legal",), ()),  # not in vault: borrows
    "keeper": (("archivist",), ("vault",)),  # lends the vault's contracts
    "auditor": (("auditor",), ("vault",)),
}
RULES = [
    {"name": "sales", "when": {"classification": ["XS"]}, "steps": [{"groups": ["mgmt"]}]},
    {
        "name": "big amounts",
        "when": {"amount_over": "1000000", "currency": "CNY"},
        "steps": [{"users": ["cfo"]}],
    },
    {
        "name": "risky customers",
        "when": {"customer_flag": ["high-risk"]},
        "steps": [{"users": ["risk1", "risk2"], "mode": "all"}],
    },
    {"name": "legal dept", "when": {"department": ["法务部"]}, "steps": [{"users": ["counsel"]}]},
]


class World:
    def __init__(self, data: Path, database_url: str | None = None) -> None:
        self.data = data
        self.database_url = database_url
        self.ids: dict[str, int] = {}
        self.now = T0
        self.archive: Archive | None = None
        self.clients: dict[str, TestClient] = {}

    def open(self, now: datetime) -> None:
        self.close()
        self.now = now
        settings = make_settings(
            self.data, frozen_now=now, borrow_max_days=365, database_url=self.database_url
        )
        self.archive = Archive(settings, parser_workers=1).open()
        for name, (roles, groups) in USERS.items():
            ensure_user(self.archive, name, roles, groups)
        app = create_app(self.archive)
        self.clients = {
            name: TestClient(
                app,
                raise_server_exceptions=False,
                headers=auth_headers(self.archive, *roles, username=name, groups=groups),
            )
            for name, (roles, groups) in USERS.items()
        }

    def close(self) -> None:
        if self.archive is not None:
            self.archive.close()
            self.archive = None

    def __getitem__(self, name: str) -> TestClient:
        return self.clients[name]

    def log(self, where: str) -> list[dict[str, Any]]:
        assert self.archive is not None
        with self.archive.records.engine.connect() as db:
            rows = db.execute(text(f"SELECT * FROM access_log WHERE {where} ORDER BY seq"))
            return [{**r._asdict(), "details": _json_text(r._asdict()["details"])} for r in rows]


def _json_text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def ok(r: Any, status: int = 200) -> Any:
    assert r.status_code == status, f"{r.request.method} {r.request.url}: {r.status_code} {r.text}"
    return r.json()


def refused(r: Any, status: int, words: str) -> dict[str, Any]:
    assert r.status_code == status, f"{r.status_code} {r.text}"
    body = r.json()["error"]
    assert set(body) >= {"code", "message"} and words in body["message"], body
    return body


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def w(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    url = request.getfixturevalue("postgres_url") if request.param == "postgres" else None
    world = World(tmp_path_factory.mktemp("workflows") / "var", url)
    world.open(T0)
    root = world["root"]
    ok(
        root.put(
            "/api/v1/classification/codes/MJ",
            json={"name_zh": "机密", "name_en": "confidential", "retention": "D30"},
        )
    )
    for key, path in PDFS.items():
        with open(path, "rb") as fh:
            r = root.post(
                "/api/v1/contracts",
                files={"file": (path.name, fh, "application/pdf")},
                data={
                    "title": f"{key} contract",
                    "classification": "MJ" if key == "secret" else "XS",
                },
            )
        world.ids[key] = ok(r, r.status_code if r.status_code in (201, 202) else 201)["id"]
    ok(root.put("/api/v1/restrictions/MJ", json={"groups": ["vault"]}))
    customer = ok(root.post("/api/v1/customers", json={"name": "险峻贸易 Risky Trading"}), 201)
    world.ids["risky"] = customer["id"]
    ok(root.put("/api/v1/approvals/rules", json={"rules": RULES, "note": "first rules"}))
    yield world
    world.close()


def draft(w: World, key: str, **terms: Any) -> int:
    cid = w.ids[key]
    if terms:
        ok(w["root"].patch(f"/api/v1/contracts/{cid}/terms", json=terms))
    ok(
        w["root"].post(
            f"/api/v1/contracts/{cid}/transitions",
            json={"to": "draft", "force": True, "reason": "a new draft to approve"},
        )
    )
    return cid


def approvers(a: dict[str, Any]) -> list[list[str]]:
    return [s["approvers"] for s in a["steps"]]


# -- approval ------------------------------------------------------------------------------------
def test_rules_are_versioned_and_bad_rules_are_refused(w: World) -> None:
    shown = ok(w["clerk"].get("/api/v1/approvals/rules"))
    assert shown["version"] == 1 and [r["name"] for r in shown["rules"]] == [
        r["name"] for r in RULES
    ]
    nobody = [{"name": "empty", "steps": [{"mode": "any"}]}]
    refused(w["root"].put("/api/v1/approvals/rules", json={"rules": nobody}), 422, "selects no one")
    stale = {"rules": RULES, "based_on": 0}
    refused(w["root"].put("/api/v1/approvals/rules", json=stale), 409, "changed meanwhile")
    refused(w["clerk"].put("/api/v1/approvals/rules", json={"rules": RULES}), 403, "may not")
    assert ok(w["clerk"].get("/api/v1/approvals/rules"))["version"] == 1


def test_plain_transitions_cannot_enter_or_leave_approval(w: World) -> None:
    cid = draft(w, "sales")
    r = w["clerk"].post(f"/api/v1/contracts/{cid}/transitions", json={"to": "in_approval"})
    refused(r, 409, "only by being submitted")
    assert ok(w["clerk"].get(f"/api/v1/contracts/{cid}/terms"))["status"] == "draft"


def test_classification_rule_any_of_a_group_without_self_approval(w: World) -> None:
    cid = w.ids["sales"]
    a = ok(w["clerk"].post(f"/api/v1/contracts/{cid}/approval"), 201)
    assert a["rule_names"] == ["sales"] and a["state"] == "open"
    assert approvers(a) == [["mgr1", "mgr2", "root"]]  # mgmt, without the submitter clerk
    assert ok(w["clerk"].get(f"/api/v1/contracts/{cid}/terms"))["status"] == "in_approval"
    refused(
        w["clerk"].post(f"/api/v1/contracts/{cid}/approval/approve", json={}), 403, "own submission"
    )
    refused(
        w["cfo"].post(f"/api/v1/contracts/{cid}/approval/approve", json={}), 403, "not an approver"
    )
    refused(
        w["root"].post(f"/api/v1/contracts/{cid}/transitions", json={"to": "signing"}),
        409,
        "in approval",
    )
    mine = ok(w["mgr1"].get("/api/v1/approvals", params={"mine": "true"}))["items"]
    assert [i["contract_id"] for i in mine] == [cid] and mine[0]["may_decide"]
    assert ok(w["cfo"].get("/api/v1/approvals", params={"mine": "true"}))["items"] == []
    done = ok(w["mgr1"].post(f"/api/v1/contracts/{cid}/approval/approve", json={"comment": "ok"}))
    assert done["state"] == "approved" and done["status"] == "signing"
    refused(
        w["mgr2"].post(f"/api/v1/contracts/{cid}/approval/approve", json={}), 409, "not in approval"
    )
    events = ok(w["root"].get(f"/api/v1/contracts/{cid}/events"))["events"]
    kinds = [e["kind"] for e in events]
    assert kinds[-2:] == ["approval.submit", "approval.approve"]
    logged = w.log(f"contract_id = {cid} AND action LIKE 'approval.%' AND outcome = 'ok'")
    assert [(r["action"], r["actor"]) for r in logged] == [
        ("approval.submit", "clerk"),
        ("approval.approve", "mgr1"),
    ]


def test_each_approval_step_is_sealed_into_the_next_manifest_version(w: World) -> None:
    """The submission and the approval of the test above each issued a manifest version,
    sealed with who and through which action; verification compares the sealed decisions with
    the database, so a decision changed behind the archive's back is found."""
    cid = w.ids["sales"]
    versions = ok(w["root"].get(f"/api/v1/contracts/{cid}/manifests"))["versions"]
    steps = [(v["action"], v["by"]) for v in versions if "approvals" in v["changed"]]
    assert steps[-2:] == [("approval.submit", "clerk"), ("approval.approve", "mgr1")]
    sealed = versions[-1]["changed"]["approvals"]["to"]
    assert sealed[-1]["state"] == "approved" and sealed[-1]["submitted_by"] == "clerk"
    assert [(d["actor"], d["decision"], d["comment"]) for d in sealed[-1]["decisions"]] == [
        ("mgr1", "approve", "ok")
    ]
    report = ok(w["auditor"].get(f"/api/v1/contracts/{cid}/verification"))
    assert report["overall"] == "PASSED", report
    assert w.archive is not None
    with w.archive.records.engine.begin() as db:
        db.execute(
            text(
                "UPDATE approval_decisions SET comment = 'forged' WHERE round_id IN "
                "(SELECT id FROM approval_rounds WHERE contract_id = :c)"
            ),
            {"c": cid},
        )
    try:
        report = ok(w["auditor"].get(f"/api/v1/contracts/{cid}/verification"))
        assert report["overall"] == "FAILED"
        assert "approvals" in json.dumps(report, ensure_ascii=False)
    finally:
        with w.archive.records.engine.begin() as db:
            db.execute(
                text(
                    "UPDATE approval_decisions SET comment = 'ok' WHERE round_id IN "
                    "(SELECT id FROM approval_rounds WHERE contract_id = :c)"
                ),
                {"c": cid},
            )
    assert ok(w["auditor"].get(f"/api/v1/contracts/{cid}/verification"))["overall"] == "PASSED"


def test_amount_threshold_adds_a_step_and_rejection_returns_to_draft(w: World) -> None:
    cid = draft(w, "big", amount="2500000.00", currency="CNY")
    a = ok(w["clerk"].post(f"/api/v1/contracts/{cid}/approval"), 201)
    assert a["rule_names"] == ["sales", "big amounts"]
    assert approvers(a) == [["mgr1", "mgr2", "root"], ["cfo"]]
    ok(w["mgr2"].post(f"/api/v1/contracts/{cid}/approval/approve", json={}))
    refused(w["cfo"].post(f"/api/v1/contracts/{cid}/approval/reject", json={}), 400, "required")
    back = ok(
        w["cfo"].post(
            f"/api/v1/contracts/{cid}/approval/reject", json={"comment": "price too high"}
        )
    )
    assert back["state"] == "rejected" and back["status"] == "draft"
    assert back["reason"] == "price too high"
    # Resubmission after a change: a new round, which shows what changed since the last one.
    ok(w["root"].patch(f"/api/v1/contracts/{cid}/terms", json={"amount": "900000.00"}))
    again = ok(w["clerk"].post(f"/api/v1/contracts/{cid}/approval"), 201)
    assert again["round_no"] == 2 and again["rule_names"] == ["sales"]
    view = ok(w["mgr1"].get(f"/api/v1/contracts/{cid}/approval"))["items"]
    assert [r["state"] for r in view] == ["rejected", "open"]
    assert any(c["field"] == "amount" for c in view[1]["changes_since_last_round"])
    assert view[1]["terms"]["amount"] == "900000.00"
    ok(w["mgr1"].post(f"/api/v1/contracts/{cid}/approval/approve", json={}))
    assert ok(w["clerk"].get(f"/api/v1/contracts/{cid}/terms"))["status"] == "signing"


def test_customer_risk_flag_all_of_two_approvers(w: World) -> None:
    risky = w.ids["risky"]
    ok(w["root"].put(f"/api/v1/customers/{risky}/risk-flags", json={"flags": ["High-Risk"]}))
    cid = draft(w, "sales", customer_id=risky, classification="FW")
    a = ok(w["clerk"].post(f"/api/v1/contracts/{cid}/approval"), 201)
    assert a["rule_names"] == ["risky customers"] and approvers(a) == [["risk1", "risk2"]]
    one = ok(w["risk1"].post(f"/api/v1/contracts/{cid}/approval/approve", json={}))
    assert one["state"] == "open" and one["steps"][0]["approved_by"] == ["risk1"]
    refused(w["risk1"].post(f"/api/v1/contracts/{cid}/approval/approve", json={}), 409, "already")
    two = ok(w["risk2"].post(f"/api/v1/contracts/{cid}/approval/approve", json={}))
    assert two["state"] == "approved" and two["status"] == "signing"


def test_department_rule_names_a_user(w: World) -> None:
    cid = draft(w, "sales", department="法务部", classification="FW", customer_id=None)
    a = ok(w["clerk"].post(f"/api/v1/contracts/{cid}/approval"), 201)
    assert a["rule_names"] == ["legal dept"] and approvers(a) == [["counsel"]]
    done = ok(w["counsel"].post(f"/api/v1/contracts/{cid}/approval/approve", json={}))
    assert done["status"] == "signing"


def test_a_group_approver_who_left_the_group_is_refused(w: World) -> None:
    cid = draft(w, "sales", department=None, classification="XS")
    a = ok(w["clerk"].post(f"/api/v1/contracts/{cid}/approval"), 201)
    assert approvers(a) == [["mgr1", "mgr2", "root"]]
    ok(w["root"].patch("/api/v1/users/mgr2", json={"groups": []}))
    r = w["mgr2"].post(f"/api/v1/contracts/{cid}/approval/approve", json={})
    refused(r, 409, "no longer one of the approvers")
    assert ok(w["clerk"].get(f"/api/v1/contracts/{cid}/terms"))["status"] == "in_approval"
    ok(w["root"].patch("/api/v1/users/mgr2", json={"groups": ["mgmt"]}))
    ok(w["mgr2"].post(f"/api/v1/contracts/{cid}/approval/reject", json={"comment": "redo"}))


def test_a_chain_that_selects_no_one_changes_nothing(w: World) -> None:
    cid = w.ids["sales"]  # a draft again after the rejection above
    rules = [{"name": "only clerk", "steps": [{"users": ["clerk"]}]}]
    ok(w["root"].put("/api/v1/approvals/rules", json={"rules": rules}))
    refused(w["clerk"].post(f"/api/v1/contracts/{cid}/approval"), 422, "selects no one")
    assert ok(w["clerk"].get(f"/api/v1/contracts/{cid}/terms"))["status"] == "draft"
    ok(
        w["root"].put(
            "/api/v1/approvals/rules",
            json={
                "rules": [
                    {"name": "n", "when": {"department": ["无"]}, "steps": [{"users": ["cfo"]}]}
                ]
            },
        )
    )
    refused(w["clerk"].post(f"/api/v1/contracts/{cid}/approval"), 422, "no approval rule")
    assert ok(w["clerk"].get(f"/api/v1/contracts/{cid}/terms"))["status"] == "draft"
    versions = ok(w["clerk"].get("/api/v1/approvals/rules"))["version"]
    assert versions == 3
    signing = w.ids["big"]
    refused(
        w["mgr1"].post(f"/api/v1/contracts/{signing}/approval/approve", json={}),
        409,
        "not in approval",
    )
    ok(w["root"].put("/api/v1/approvals/rules", json={"rules": RULES}))


def test_approval_reminders_for_waiting_steps(w: World) -> None:
    cid = w.ids["sales"]
    ok(w["clerk"].post(f"/api/v1/contracts/{cid}/approval"), 201)
    assert ok(w["root"].post("/api/v1/approvals/remind"))["reminders"] == []
    w.open(T0 + timedelta(hours=49))
    run = ok(w["root"].post("/api/v1/approvals/remind"))
    assert [(r["contract_id"], r["approvers"]) for r in run["reminders"]] == [
        (cid, ["mgr1", "mgr2", "root"])
    ]
    assert ok(w["root"].post("/api/v1/approvals/remind"))["reminders"] == []  # once
    feed = ok(w["mgr1"].get("/api/v1/reminders", params={"kind": "approval_waiting"}))
    assert [i["contract_id"] for i in feed["items"]] == [cid]
    ok(w["mgr1"].post(f"/api/v1/contracts/{cid}/approval/approve", json={}))


# -- borrowing -----------------------------------------------------------------------------------
def test_borrowing_bad_input(w: World) -> None:
    secret, sales = w.ids["secret"], w.ids["sales"]
    reader = w["reader"]
    ask = {"contract_id": secret, "purpose": "litigation 2026-17", "days": 0}
    refused(reader.post("/api/v1/borrowings", json=ask), 422, "1 to 365 days")
    refused(reader.post("/api/v1/borrowings", json={**ask, "days": 3650}), 422, "1 to 365 days")
    refused(
        reader.post("/api/v1/borrowings", json={**ask, "contract_id": sales, "days": 3}),
        422,
        "you may see contract",
    )
    assert ok(reader.get("/api/v1/borrowings", params={"mine": "true"}))["items"] == []


def test_borrow_view_only_then_return(w: World) -> None:
    secret = w.ids["secret"]
    reader, keeper = w["reader"], w["keeper"]
    assert reader.get(f"/api/v1/contracts/{secret}").status_code == 404
    asked = ok(
        reader.post(
            "/api/v1/borrowings",
            json={"contract_id": secret, "purpose": "litigation 2026-17", "days": 7},
        ),
        201,
    )
    rid = asked["id"]
    assert asked["state"] == "requested" and asked["title"] is None
    again = {"contract_id": secret, "purpose": "again", "days": 3}
    refused(reader.post("/api/v1/borrowings", json=again), 409, "pending request")
    assert reader.get(f"/api/v1/contracts/{secret}").status_code == 404
    # Only an approver of the class sees and decides it; for others it is missing.
    refused(w["cfo"].post(f"/api/v1/borrowings/{rid}/grant", json={}), 403, "may not")
    refused(w["clerk"].post(f"/api/v1/borrowings/{rid}/grant", json={}), 404, "does not exist")
    queue = ok(keeper.get("/api/v1/borrowings", params={"open": "true"}))["items"]
    assert [(b["id"], b["title"]) for b in queue] == [(rid, "secret contract")]
    granted = ok(keeper.post(f"/api/v1/borrowings/{rid}/grant", json={"comment": "7 days"}))
    assert granted["state"] == "granted"
    assert granted["expires_at"].startswith((w.now + timedelta(days=7)).date().isoformat())
    refused(reader.post("/api/v1/borrowings", json=again), 409, "live grant")
    # Exactly this contract, view only.
    assert ok(reader.get(f"/api/v1/contracts/{secret}"))["title"] == "secret contract"
    assert reader.get(f"/api/v1/contracts/{secret}/text").status_code == 200
    assert reader.get(f"/api/v1/contracts/{secret}/original").status_code == 404
    assert reader.patch(f"/api/v1/contracts/{secret}", json={"title": "x"}).status_code in (
        403,
        404,
    )
    hits = ok(reader.get("/api/v1/search", params={"q": "secret"}))
    assert secret not in [h["id"] for h in hits["hits"]]  # lent, not listed
    reads = w.log(f"actor = 'reader' AND contract_id = {secret} AND outcome = 'ok'")
    assert {r["action"] for r in reads} >= {"contract.view", "contract.text"}
    assert all(json.loads(r["details"]).get("grant_id") == rid for r in reads)
    mine = ok(reader.get("/api/v1/borrowings", params={"mine": "true"}))["items"]
    assert mine[0]["live"] and mine[0]["title"] == "secret contract"
    refused(w["keeper"].post(f"/api/v1/borrowings/{rid}/return"), 404, "does not exist")
    back = ok(reader.post(f"/api/v1/borrowings/{rid}/return"))
    assert back["state"] == "returned"
    assert reader.get(f"/api/v1/contracts/{secret}").status_code == 404
    refused(reader.post(f"/api/v1/borrowings/{rid}/return"), 409, "nothing to return")


def test_borrow_with_download_expires_by_itself(w: World) -> None:
    secret = w.ids["secret"]
    asked = ok(
        w["reader"].post(
            "/api/v1/borrowings",
            json={"contract_id": secret, "purpose": "audit copy", "days": 2, "download": True},
        ),
        201,
    )
    ok(w["keeper"].post(f"/api/v1/borrowings/{asked['id']}/grant", json={}))
    r = w["reader"].get(f"/api/v1/contracts/{secret}/original")
    assert r.status_code == 200 and r.content.startswith(b"%PDF")
    start = w.now
    w.open(start + timedelta(days=2, seconds=-1))
    assert w["reader"].get(f"/api/v1/contracts/{secret}").status_code == 200
    w.open(start + timedelta(days=2))
    assert w["reader"].get(f"/api/v1/contracts/{secret}").status_code == 404
    assert w["reader"].get(f"/api/v1/contracts/{secret}/original").status_code == 404
    # The auditor sees open and past grants, and this one as overdue (never returned).
    seen = {b["id"]: b for b in ok(w["auditor"].get("/api/v1/borrowings"))["items"]}
    assert seen[asked["id"]]["overdue"] and not seen[asked["id"]]["live"]
    assert any(b["state"] == "returned" for b in seen.values())
    assert [
        b["id"]
        for b in ok(w["auditor"].get("/api/v1/borrowings", params={"open": "true"}))["items"]
    ] == [asked["id"]]


def test_a_grant_ends_when_its_approver_loses_the_right(w: World) -> None:
    secret = w.ids["secret"]
    asked = ok(
        w["reader"].post(
            "/api/v1/borrowings",
            json={"contract_id": secret, "purpose": "due diligence", "days": 5},
        ),
        201,
    )
    refused(w["reader"].post(f"/api/v1/borrowings/{asked['id']}/grant", json={}), 403, "may not")
    ok(w["keeper"].post(f"/api/v1/borrowings/{asked['id']}/grant", json={}))
    assert w["reader"].get(f"/api/v1/contracts/{secret}").status_code == 200
    ok(w["root"].patch("/api/v1/users/keeper", json={"groups": []}))
    assert w["reader"].get(f"/api/v1/contracts/{secret}").status_code == 404
    ok(w["root"].patch("/api/v1/users/keeper", json={"groups": ["vault"]}))
    ok(w["reader"].post(f"/api/v1/borrowings/{asked['id']}/return"))


def test_a_request_for_a_missing_id_answers_as_for_a_hidden_one(w: World) -> None:
    bodies = [
        {"contract_id": cid, "purpose": "probe", "days": 1} for cid in (w.ids["secret"], 98_765)
    ]
    answers = [w["cfo"].post("/api/v1/borrowings", json=b) for b in bodies]
    assert [a.status_code for a in answers] == [201, 201]
    assert [a.json()["title"] for a in answers] == [None, None]
    for a in answers:
        ok(w["cfo"].post(f"/api/v1/borrowings/{a.json()['id']}/return"))


# -- the web pages -------------------------------------------------------------------------------
PASSWORD = "a long workflow passphrase 42"


def browser(w: World, name: str, roles: list[str], groups: list[str]) -> tuple[TestClient, str]:
    """A browser of a new user with a password, signed in through the log-in form."""
    from services.access.service import AccessControl

    assert w.archive is not None
    access = AccessControl.for_archive(w.archive)
    root = ensure_user(w.archive, "root", ("admin",), ("mgmt", "vault"))
    _, one_time = access.create_user(root, name, roles=roles, groups=groups)
    assert one_time
    access.change_password(ensure_user(w.archive, name, tuple(roles)), one_time, PASSWORD)
    client = TestClient(
        create_app(w.archive), raise_server_exceptions=False, headers={"Accept": "text/html"}
    )
    r = client.post(
        "/login", data={"username": name, "password": PASSWORD, "next": "/"}, follow_redirects=False
    )
    assert r.status_code == 303, r.text
    token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/").text)
    assert token
    return client, token.group(1)


def test_web_borrowing_from_request_to_return(w: World) -> None:
    secret = w.ids["secret"]
    reader, rt = browser(w, "webreader", ["legal"], [])
    keeper, kt = browser(w, "webkeeper", ["archivist"], ["vault"])
    page = reader.get("/borrowings", params={"lang": "zh"})
    assert page.status_code == 200 and "申请借阅" in page.text
    assert "Approvals" in reader.get("/approvals", params={"lang": "en"}).text
    form = {"contract_id": secret, "purpose": "web case", "days": "3", "csrf_token": rt}
    assert reader.post("/borrowings", data=form, follow_redirects=False).status_code == 303
    queue = keeper.get("/borrowings", params={"lang": "en"}).text
    found = re.search(r'action="/borrowings/(\d+)/grant"', queue)
    assert found and "web case" in queue and "secret contract" in queue
    granted = keeper.post(
        f"/borrowings/{found.group(1)}/grant",
        data={"comment": "ok", "csrf_token": kt},
        follow_redirects=False,
    )
    assert granted.status_code == 303
    assert "secret contract" in reader.get(f"/contracts/{secret}").text
    back = reader.post(
        f"/borrowings/{found.group(1)}/return", data={"csrf_token": rt}, follow_redirects=False
    )
    assert back.status_code == 303
    assert reader.get(f"/contracts/{secret}").status_code == 404
