"""The contract model over HTTP and on the command line: customers, the filtered contract list,
terms with evidence, transitions, filing, payments, the scheme, reminders and calendar.ics."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from search_api.app import create_app, route_table
from services.archive import Archive
from tests.access_helpers import auth_headers
from tests.cli_runner import invoke
from tests.conftest import CORPUS, make_settings

ZH = CORPUS / "zh" / "contracttools-example" / "肇新合同管理系统源码销售合同.pdf"
CAR = CORPUS / "zh" / "samr-model-contracts" / "新疆维吾尔自治区汽车买卖合同.pdf"
PROGRAM = str(Path(sys.executable).parent / "contract-archive")


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    settings = make_settings(tmp_path / "var", fonds_code="Z001")
    with (
        Archive(settings, parser_workers=1).open() as archive,
        TestClient(
            create_app(archive), headers=auth_headers(archive), raise_server_exceptions=False
        ) as c,
    ):
        yield c


def upload(client: TestClient, path: Path, **fields: str) -> int:
    with open(path, "rb") as fh:
        r = client.post(
            "/api/v1/contracts", files={"file": (path.name, fh, "application/pdf")}, data=fields
        )
    assert r.status_code == 201, r.text
    return int(r.json()["id"])


def error(r, status: int) -> dict:
    assert r.status_code == status, r.text
    body = r.json()
    assert set(body) == {"error"} and body["error"]["message"]
    return body["error"]


def test_customer_contracts_terms_and_lifecycle_over_http(client: TestClient) -> None:
    cid = upload(client, ZH, customer="山西肇新科技有限公司")
    other = upload(client, CAR, customer="山西肇新科技")
    terms = client.get(f"/api/v1/contracts/{cid}/terms").json()
    assert terms["confirmed"]["amount"] is None
    suggestion = terms["suggested"]["amount"][0]
    assert suggestion["evidence"]["page"] >= 1 and suggestion["confidence"] > 0
    # accept the amount; confirm dates; the confirmed values are apart from suggestions
    r = client.post(f"/api/v1/contracts/{cid}/suggestions/{suggestion['id']}/accept")
    assert r.status_code == 200 and r.json()["confirmed"]["amount"] == "58000.00"
    soon = (date.today() + timedelta(days=40)).isoformat()
    r = client.patch(
        f"/api/v1/contracts/{cid}/terms",
        json={"classification": "JS", "expiry_date": soon, "reason": "checked the paper"},
    )
    assert r.status_code == 200, r.text
    error(client.patch(f"/api/v1/contracts/{cid}/terms", json={"expiry_date": "soon"}), 422)
    error(client.patch(f"/api/v1/contracts/{cid}/terms", json={"classification": "ZZ"}), 400)
    # the number of renewals: set with a reason, in the history; out of range is a 422
    r = client.patch(
        f"/api/v1/contracts/{cid}/terms",
        json={"renewal_type": "automatic", "renewal_max_count": 2, "reason": "第8条"},
    )
    assert r.status_code == 200, r.text
    assert r.json()["confirmed"]["renewal_max_count"] == 2
    assert r.json()["confirmed"]["renewal_count"] is None
    for bad in (-1, 101, "two", 1.5):
        refused = error(
            client.patch(f"/api/v1/contracts/{cid}/terms", json={"renewal_max_count": bad}), 422
        )
        assert "renewal_max_count" in json.dumps(refused)
    error(client.patch(f"/api/v1/contracts/{cid}/terms", json={"renewal_count": -3}), 422)
    events = client.get(f"/api/v1/contracts/{cid}/events").json()["events"]
    limit = [e for e in events if e["data"].get("field") == "renewal_max_count"]
    assert [(e["to_value"], e["reason"], e["actor"]) for e in limit] == [("2", "第8条", "admin")]
    # lifecycle: by the rules, with history
    r = client.post(f"/api/v1/contracts/{cid}/transitions", json={"to": "active"})
    assert r.status_code == 200 and r.json()["to_value"] == "active"
    assert error(client.post(f"/api/v1/contracts/{cid}/transitions", json={"to": "draft"}), 409)[
        "hint"
    ]
    events = client.get(f"/api/v1/contracts/{cid}/events").json()["events"]
    assert any(e["kind"] == "transition" and e["actor"] == "admin" for e in events)
    # payments and the filtered list
    past = (date.today() - timedelta(days=5)).isoformat()
    r = client.post(f"/api/v1/contracts/{cid}/payments", json={"due_date": past, "amount": "10"})
    assert r.status_code == 201 and r.json()["overdue"] is True
    error(client.post(f"/api/v1/contracts/{cid}/payments", json={"due_date": past}), 422)
    listed = client.get(
        "/api/v1/contracts", params={"expiring_within": "90d", "overdue_payments": "true"}
    ).json()
    assert [c["id"] for c in listed["items"]] == [cid]
    assert listed["items"][0]["terms"]["overdue_items"] == 1
    assert client.get("/api/v1/contracts", params={"classification": "JS"}).json()["total"] == 1
    error(client.get("/api/v1/contracts", params={"expiring_within": "later"}), 400)
    error(client.get("/api/v1/contracts", params={"status": "flying"}), 400)
    # the customer view: both contracts (the variant name matched), totals, facets
    customers = client.get("/api/v1/customers").json()
    assert customers["total"] == 1
    view = client.get("/api/v1/customers/山西肇新科技有限公司").json()
    assert {c["id"] for c in view["contracts"]} == {cid, other}
    assert view["totals"]["overdue"] == [{"currency": "CNY", "amount": "10.00"}]
    assert client.get(f"/api/v1/customers/{view['customer']['id']}").status_code == 200
    error(client.get("/api/v1/customers/nobody"), 404)
    # filing: 档号 once
    r = client.post(f"/api/v1/contracts/{cid}/filing", json={})
    assert r.status_code == 200, r.text
    code = r.json()["archival_code"]
    assert code.startswith("Z001-HT·") and code.endswith("-JS-0001")
    error(client.post(f"/api/v1/contracts/{cid}/filing", json={}), 409)
    hold = client.post(f"/api/v1/contracts/{cid}/holds", json={"reason": "审计"})
    assert hold.status_code == 201
    assert client.get(f"/api/v1/contracts/{cid}/terms").json()["archival"]["held"] is True


def test_a_customer_change_with_nulls_is_refused_or_clears(client: TestClient) -> None:
    """Found by the API fuzz once it used ids that exist: ``{"contacts": null}`` answered 500
    (a TypeError in the store) and ``{"name": null}`` renamed the customer "None"."""
    made = client.post(
        "/api/v1/customers",
        json={"name": "青岛木门有限公司", "contacts": [{"name": "王工", "phone": "123"}]},
    )
    assert made.status_code == 201, made.text
    ref = made.json()["id"]
    cleared = client.patch(f"/api/v1/customers/{ref}", json={"contacts": None})
    assert cleared.status_code == 200, cleared.text
    assert cleared.json()["contacts"] == []
    refused = error(client.patch(f"/api/v1/customers/{ref}", json={"name": None}), 400)
    assert "name" in refused["message"]
    assert client.get(f"/api/v1/customers/{ref}").json()["customer"]["name"] == "青岛木门有限公司"


def test_scheme_reminders_and_calendar_over_http(client: TestClient) -> None:
    scheme = client.get("/api/v1/classification").json()
    assert {c["code"] for c in scheme["codes"]} >= {"XS", "CG", "QT"}
    r = client.put(
        "/api/v1/classification/codes/HZ",
        json={"name_zh": "合作", "name_en": "cooperation", "retention": "D30"},
    )
    assert r.status_code == 200 and r.json()["version"] == scheme["version"] + 1
    error(
        client.put(
            "/api/v1/classification/codes/HZ",
            json={"name_zh": "合作", "name_en": "x", "retention": "D99"},
        ),
        422,
    )
    assert len(client.get("/api/v1/classification/versions").json()) == 2
    cid = upload(client, CAR)
    soon = (date.today() + timedelta(days=20)).isoformat()
    start = (date.today() - timedelta(days=100)).isoformat()
    client.patch(
        f"/api/v1/contracts/{cid}/terms", json={"effective_date": start, "expiry_date": soon}
    )
    run = client.post("/api/v1/reminders/run").json()
    assert [r["kind"] for r in run["reminders"]] == ["expiry"]
    feed = client.get("/api/v1/reminders").json()["items"]
    assert [r["contract_id"] for r in feed] == [cid]
    ics = client.get("/api/v1/calendar.ics")
    assert ics.status_code == 200 and ics.headers["content-type"].startswith("text/calendar")
    assert f"DTSTART;VALUE=DATE:{soon.replace('-', '')}" in ics.text


def test_model_routes_are_in_the_route_table() -> None:
    paths = {r.path for r in route_table()}
    assert {
        "/api/v1/customers",
        "/api/v1/customers/{ref}",
        "/api/v1/contracts/{contract_id}/terms",
        "/api/v1/calendar.ics",
        "/api/v1/reminders",
    } <= paths


def cli(data_dir: Path, *args: str, program: bool = False) -> subprocess.CompletedProcess[str]:
    """In-process (tests/cli_runner.py: the same Typer app without the program's 2 s of CPU at
    start), or with ``program`` the installed program, as a user runs it."""
    if not program:
        return invoke(data_dir, *args, env={"ARCHIVE_FONDS_CODE": "Z001"})
    env = {**os.environ, "ARCHIVE_DATA_DIR": str(data_dir), "ARCHIVE_FONDS_CODE": "Z001"}
    return subprocess.run([PROGRAM, *args], capture_output=True, text=True, env=env, timeout=300)


def test_cli_customer_contract_payment_and_reminders(tmp_path: Path) -> None:
    data = tmp_path / "var"
    r = cli(data, "ingest", str(ZH), "--customer", "四川客户有限公司", "--json")
    assert r.returncode == 0, r.stderr
    cid = json.loads(r.stdout)["id"]
    r = cli(data, "contract", "set", str(cid), "classification=XS", "expiry_date=2020-01-01x")
    assert r.returncode == 1 and "not a date" in r.stderr and "Traceback" not in r.stderr
    for field, bad, says in (
        ("renewal_max_count", "-1", "whole number"),
        ("renewal_max_count", "101", "from 0 to 100"),
        ("renewal_max_count", "zwei", "whole number"),
        # the API's bounds hold on the command line too (it stored 99999 months)
        ("renewal_term_months", "99999", "from 1 to 1200"),
        ("renewal_term_months", "0", "from 1 to 1200"),
        ("notice_days", "4000", "from 0 to 3650"),
        ("legal_minimum_years", "500", "from 0 to 100"),
    ):
        r = cli(data, "contract", "set", str(cid), f"{field}={bad}")
        assert r.returncode == 1 and says in r.stderr and "Traceback" not in r.stderr, r.stderr
    r = cli(data, "contract", "set", str(cid), "renewal_max_count=3", "--reason", "原件")
    assert r.returncode == 0, r.stderr
    view = json.loads(cli(data, "contract", "terms", str(cid), "--json").stdout)
    assert view["confirmed"]["renewal_max_count"] == 3
    soon = (date.today() + timedelta(days=50)).isoformat()
    r = cli(data, "contract", "set", str(cid), "classification=XS", f"expiry_date={soon}")
    assert r.returncode == 0, r.stderr
    assert cli(data, "contract", "transition", str(cid), "active").returncode == 0
    past = (date.today() - timedelta(days=3)).isoformat()
    r = cli(data, "payment", "add", str(cid), "--due", past, "--amount", "500", program=True)
    assert r.returncode == 0, r.stderr
    r = cli(data, "contract", "list", "--expiring-within", "60d", "--overdue-payments", "--json")
    assert [c["id"] for c in json.loads(r.stdout)["items"]] == [cid]
    r = cli(data, "customer", "show", "四川客户", "--json", program=True)
    assert r.returncode == 0, r.stderr
    view = json.loads(r.stdout)
    assert view["totals"]["overdue"] == [{"currency": "CNY", "amount": "500.00"}]
    r = cli(data, "reminders", "run", "--json")
    kinds = sorted(x["kind"] for x in json.loads(r.stdout)["reminders"])
    assert kinds == ["expiry", "payment_overdue"]
    r = cli(data, "contract", "file", str(cid))
    assert r.returncode == 0 and "-XS-0001" in r.stdout, r.stderr
    r = cli(data, "contract", "history", str(cid))
    assert "filed" in r.stdout and "transition" in r.stdout
    csv_path = tmp_path / "meta.csv"
    csv_path.write_text("file,status\nnone.pdf,flying\n", encoding="utf-8")
    r = cli(data, "import", str(csv_path), "--dry-run", program=True)
    assert r.returncode == 1 and "line 2" in r.stderr and "none.pdf" in r.stderr
