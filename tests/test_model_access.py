"""The contract model (issue 6) under access control (issue 12): the dashboard, a contract's
related contracts, customers, the suggestion form and the command line show nothing of a
restricted class to a caller outside its groups, log what they do, and record who did it; and
a classification code is validated once (``core.rules``).

One archive serves the API tests (three real contracts, the Xinjiang one classified LD and
restricted to the group hr); the command line has its own data directory, made in-process
(tests/cli_runner.py); the reads the defects were found in (``contract terms``, ``contract
list``, ``reminders list``) and an edit whose history must name ARCHIVE_USER run as the installed
program, the other commands in-process.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from core.errors import InvalidRequest
from core.rules import valid_classification
from search_api.app import create_app
from services.access.service import AccessControl
from services.archive import Archive
from storage.records.access_base import LogFilter
from tests.access_helpers import ensure_user, token_for
from tests.cli_runner import invoke
from tests.conftest import corpus_files, make_settings
from tests.test_cli import run

ZH = next(p for p in corpus_files("zh", ".pdf") if "新疆" in p.name)  # 汽车买卖合同
NANJING = next(p for p in corpus_files("zh", ".pdf") if "南京" in p.name)  # 存量房买卖合同
EN = next(p for p in corpus_files("en-cuad", ".pdf") if "JOINT FILING" in p.name)
HIDDEN_CUSTOMER = "新疆汽车贸易公司"


class World:
    """labour (LD, restricted to hr) is an amendment of house, and en an amendment of labour;
    labour expires soon and has an overdue payment."""

    def __init__(self, archive: Archive) -> None:
        self.archive = archive
        self.access = AccessControl.for_archive(archive)
        self.app = create_app(archive)
        root = ensure_user(archive, "root", ("admin",), ("hr",))
        self.ids: dict[str, int] = {}
        for key, path, customer in (
            ("labour", ZH, HIDDEN_CUSTOMER),
            ("house", NANJING, "南京房产"),
            ("en", EN, "Acme Corp"),
        ):
            with open(path, "rb") as fh:
                result = self.access.ingest(root, fh, filename=path.name, customer=customer)
            assert result.status == "archived" and result.id is not None
            self.ids[key] = result.id
        self.access.update_contract(root, self.ids["labour"], {"classification": "LD"})
        self.access.update_contract(root, self.ids["house"], {"classification": "XS"})
        model = archive.contracts
        soon = date.today() + timedelta(days=30)
        model.confirm(
            self.ids["labour"],
            {"master_id": self.ids["house"], "relation": "amendment", "expiry_date": soon},
            actor="root",
        )
        model.confirm(
            self.ids["en"], {"master_id": self.ids["labour"], "relation": "amendment"}, actor="root"
        )
        model.add_payment(
            self.ids["labour"],
            actor="root",
            due_date=date.today() - timedelta(days=10),
            amount=Decimal("1234.00"),
            currency="CNY",
            direction="receivable",
            description=None,
        )
        self.access.set_restriction(root, "LD", ["hr"])
        self.labour_title = archive.get(self.ids["labour"]).title
        self.tokens = {
            "legal": token_for(archive, "legal", username="legal"),
            "archivist": token_for(archive, "archivist", username="archivist"),
            "legal-hr": token_for(archive, "legal", username="legal-hr", groups=("hr",)),
            "archivist-hr": token_for(
                archive, "archivist", username="archivist-hr", groups=("hr",)
            ),
        }

    def client(self, who: str) -> TestClient:
        return TestClient(
            self.app,
            raise_server_exceptions=False,
            headers={"Authorization": f"Bearer {self.tokens[who]}"},
        )

    def log(self, actor: str, action: str) -> list[tuple[str, str, int | None]]:
        rows = self.access.store.entries(LogFilter(actor=actor, action=action), limit=100)
        return [(e.action, e.outcome, e.contract_id) for e in rows]


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    settings = make_settings(tmp_path_factory.mktemp("model-access") / "var")
    with Archive(settings, parser_workers=1).open() as archive:
        yield World(archive)


def same_error(hidden: Any, missing: Any, hidden_id: int, missing_id: int) -> None:
    """A hidden thing answers as a missing one: the same status, the same words."""
    assert hidden.status_code == missing.status_code == 404, (hidden.text, missing.text)
    assert hidden.json()["error"]["code"] == missing.json()["error"]["code"]
    assert hidden.json()["error"]["message"].replace(str(hidden_id), "N") == (
        missing.json()["error"]["message"].replace(str(missing_id), "N")
    )


def numbers(html: str) -> list[int]:
    return [int(n) for n in re.findall(r'<span class="num">(\d+)</span>', html)]


# --- 1. the dashboard ----------------------------------------------------------------------------
def test_the_dashboard_applies_the_hidden_classes(world: World) -> None:
    with world.client("legal-hr") as client:
        cleared = client.get("/")
    assert cleared.status_code == 200
    assert world.labour_title in cleared.text and HIDDEN_CUSTOMER in cleared.text
    with world.client("legal") as client:
        page = client.get("/")
    assert page.status_code == 200
    assert world.labour_title not in page.text
    assert HIDDEN_CUSTOMER not in page.text
    assert "1,234" not in page.text and "1234" not in page.text
    # counts and totals leave the hidden contract out too
    visible = [world.archive.get(world.ids[k]) for k in ("house", "en")]
    total, pages = numbers(page.text)[:2]
    assert total == 2
    assert pages == sum(r.page_count for r in visible)
    assert numbers(cleared.text)[:2] == [
        3,
        pages + world.archive.get(world.ids["labour"]).page_count,
    ]
    assert ("dashboard.view", "ok", None) in world.log("legal", "dashboard.view")


# --- 2. related contracts and the master-id oracle ---------------------------------------------
def test_terms_hide_restricted_related_contracts_and_linking_is_no_oracle(world: World) -> None:
    house, labour, en = world.ids["house"], world.ids["labour"], world.ids["en"]
    with world.client("legal-hr") as client:
        assert labour in [
            r["id"] for r in client.get(f"/api/v1/contracts/{house}/terms").json()["related"]
        ]
        assert client.get(f"/api/v1/contracts/{en}/terms").json()["master"]["id"] == labour
    with world.client("legal") as client:
        house_terms = client.get(f"/api/v1/contracts/{house}/terms")
        en_terms = client.get(f"/api/v1/contracts/{en}/terms")
    assert house_terms.status_code == en_terms.status_code == 200
    assert labour not in [r["id"] for r in house_terms.json()["related"]]
    assert en_terms.json()["master"] is None
    assert world.labour_title not in house_terms.text + en_terms.text
    with world.client("archivist") as client:
        hidden = client.patch(f"/api/v1/contracts/{house}/terms", json={"master_id": labour})
        missing = client.patch(f"/api/v1/contracts/{house}/terms", json={"master_id": 987654})
    same_error(hidden, missing, labour, 987654)
    assert world.archive.contracts.view(house).master is None  # nothing was linked


# --- 3. customers known only through restricted contracts -----------------------------------
def test_a_hidden_customer_is_missing_to_reads_and_changes(world: World) -> None:
    customer = world.archive.contracts.resolve_customer(HIDDEN_CUSTOMER)
    visible = world.archive.contracts.resolve_customer("南京房产")
    cid, gone = customer.id, 987654
    with world.client("archivist-hr") as client:
        assert client.get(f"/api/v1/customers/{cid}").status_code == 200
    with world.client("archivist") as client:
        same_error(
            client.get(f"/api/v1/customers/{cid}"),
            client.get(f"/api/v1/customers/{gone}"),
            cid,
            gone,
        )
        by_name = client.get(f"/api/v1/customers/{HIDDEN_CUSTOMER}")
        assert by_name.status_code == 404 and HIDDEN_CUSTOMER in by_name.json()["error"]["message"]
        assert "no customer is named" in by_name.json()["error"]["message"]
        for method, suffix, body in (
            ("PATCH", "", {"notes": "seen"}),
            ("POST", "/aliases", {"alias": "新疆汽贸"}),
        ):
            hidden = client.request(method, f"/api/v1/customers/{cid}{suffix}", json=body)
            missing = client.request(method, f"/api/v1/customers/{gone}{suffix}", json=body)
            same_error(hidden, missing, cid, gone)
        same_error(
            client.post(f"/api/v1/customers/{visible.id}/merge", json={"source_id": cid}),
            client.post(f"/api/v1/customers/{visible.id}/merge", json={"source_id": gone}),
            cid,
            gone,
        )
        same_error(
            client.post(f"/api/v1/customers/{cid}/merge", json={"source_id": visible.id}),
            client.post(f"/api/v1/customers/{gone}/merge", json={"source_id": visible.id}),
            cid,
            gone,
        )
        house = world.ids["house"]
        for as_body in (
            lambda n: {"customer_id": n},
            lambda n: {"parties": [{"role": "buyer", "name": "某某", "customer_id": n}]},
        ):
            same_error(
                client.patch(f"/api/v1/contracts/{house}/terms", json=as_body(cid)),
                client.patch(f"/api/v1/contracts/{house}/terms", json=as_body(gone)),
                cid,
                gone,
            )
        page = client.get(f"/customers/{cid}", headers={"Accept": "text/html"})
        assert page.status_code == 404 and HIDDEN_CUSTOMER not in page.text
    after = world.archive.contracts.resolve_customer(cid)
    assert after.notes == customer.notes and after.aliases == customer.aliases
    assert world.archive.contracts.resolve_customer(visible.id).id == visible.id
    assert ("customer.update", "denied", None) in world.log("archivist", "customer.update")


# --- 4. the suggestion form is logged ------------------------------------------------------------
def test_the_suggestion_form_is_logged_as_a_change(world: World) -> None:
    house = world.ids["house"]
    view = world.archive.contracts.view(house)
    suggestion = next(s for items in view.suggested.values() for s in items if s.state == "open")
    with world.client("archivist") as client:
        r = client.post(
            f"/contracts/{house}/suggestions/{suggestion.id}",
            data={"decision": "reject"},
            follow_redirects=False,
        )
    assert r.status_code == 303, r.text
    entries = world.log("archivist", "contract.suggestion.reject")
    assert sorted(entries) == [("contract.suggestion.reject", "ok", house)]
    events = world.archive.contracts.events(house)
    assert ("suggestion_rejected", "archivist") in [(e.kind, e.actor) for e in events]


# --- 6. one validator per value ------------------------------------------------------------------
def test_one_classification_validator(world: World) -> None:
    from services import archive as archive_module
    from services.access import contracts as access_module

    assert valid_classification(" ld ") == "LD" and valid_classification("ＬＤ") == "LD"
    assert valid_classification("劳动.合同-1") == "劳动.合同-1"
    for bad in ("a b", "-x", "", "x" * 51):
        with pytest.raises(InvalidRequest):
            valid_classification(bad)
    # both services use it: the same answer wherever a code comes in
    assert archive_module.valid_classification("ld") == "LD"
    assert archive_module.valid_classification("劳动") == "劳动"
    assert access_module.valid_classification is valid_classification
    root = ensure_user(world.archive, "root", ("admin",), ("hr",))
    code, _ = world.access.set_restriction(root, "ｚｌ", ["legal"])
    assert code == "ZL" and "ZL" in world.access.store.restrictions()
    world.access.remove_restriction(root, "zl")
    # set on a contract: validated the same way, and checked against the scheme
    en = world.ids["en"]
    with world.client("archivist-hr") as client:
        r = client.patch(f"/api/v1/contracts/{en}/terms", json={"classification": "ｘｓ"})
        assert r.status_code == 200, r.text
        assert r.json()["confirmed"]["classification"] == "XS"
        r = client.patch(f"/api/v1/contracts/{en}/terms", json={"classification": "劳动"})
        assert r.status_code == 400 and "classification scheme" in r.json()["error"]["message"]
        r = client.patch(f"/api/v1/contracts/{en}/terms", json={"classification": "a b"})
        assert r.status_code == 400 and "invalid classification" in r.json()["error"]["message"]
    assert world.archive.get(en).classification == "XS"


# --- 5. the command line -------------------------------------------------------------------------
@pytest.fixture(scope="module")
def cli_data(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, int]]:
    data = tmp_path_factory.mktemp("model-cli") / "var"
    ids: dict[str, int] = {}
    for key, path in (("labour", ZH), ("house", NANJING)):
        r = invoke(data, "ingest", str(path), "--json", "--customer", key)
        assert r.returncode == 0, r.stderr
        ids[key] = json.loads(r.stdout.splitlines()[-1])["id"]
    soon = (date.today() + timedelta(days=20)).isoformat()
    for key, code in (("labour", "LD"), ("house", "XS")):
        r = invoke(
            data, "contract", "set", str(ids[key]), f"classification={code}", f"expiry_date={soon}"
        )
        assert r.returncode == 0, r.stderr
    past = (date.today() - timedelta(days=5)).isoformat()
    for key in ids:
        r = invoke(data, "payment", "add", str(ids[key]), "--due", past, "--amount", "100")
        assert r.returncode == 0, r.stderr
    assert invoke(data, "reminders", "run").returncode == 0
    assert invoke(data, "restrictions", "set", "LD", "--group", "hr").returncode == 0
    for name, role in (("legal1", "legal"), ("clerk", "archivist")):
        r = invoke(data, "users", "create", name, "--role", role, "--no-password")
        assert r.returncode == 0, r.stderr
    return data, ids


def test_the_command_line_hides_restricted_contracts(cli_data: tuple[Path, dict[str, int]]) -> None:
    data, ids = cli_data
    labour, house = ids["labour"], ids["house"]
    env = {"ARCHIVE_USER": "legal1"}
    terms = run(data, "contract", "terms", str(labour), "--json", env=env)
    assert terms.returncode == 1 and f"contract {labour} does not exist" in terms.stderr
    assert "汽车" not in terms.stdout and terms.stdout == ""
    assert invoke(data, "contract", "terms", str(house), "--json", env=env).returncode == 0
    assert invoke(data, "payment", "list", str(labour), env=env).returncode == 1
    assert invoke(data, "contract", "history", str(labour), env=env).returncode == 1
    listed = json.loads(run(data, "contract", "list", "--json", env=env).stdout)
    assert [c["id"] for c in listed["items"]] == [house] and listed["total"] == 1
    reminders = json.loads(run(data, "reminders", "list", "--json", env=env).stdout)
    assert reminders and {r["contract_id"] for r in reminders} == {house}
    customers = json.loads(invoke(data, "customer", "list", "--json", env=env).stdout)
    assert [c["customer"]["name"] for c in customers["items"]] == ["house"]
    assert invoke(data, "customer", "show", "labour", env=env).returncode == 1
    # reads are logged under ARCHIVE_USER
    with_log = invoke(data, "audit", "export", "--format", "jsonl")
    entries = [json.loads(line) for line in with_log.stdout.splitlines()]
    mine = {(e["actor"], e["action"], e["outcome"]) for e in entries}
    assert ("legal1", "contract.terms.view", "ok") in mine
    assert ("legal1", "contract.list", "ok") in mine


def test_the_command_line_records_archive_user_in_the_history(
    cli_data: tuple[Path, dict[str, int]],
) -> None:
    data, ids = cli_data
    house = str(ids["house"])
    env = {"ARCHIVE_USER": "clerk"}
    r = run(data, "contract", "set", house, "notice_days=30", "--reason", "谈判", env=env)
    assert r.returncode == 0, r.stderr
    r = invoke(data, "contract", "transition", house, "active", env=env)
    assert r.returncode == 0, r.stderr
    events = json.loads(invoke(data, "contract", "history", house, "--json", env=env).stdout)
    mine = [e for e in events if e["actor"] == "clerk"]
    assert {e["kind"] for e in mine} >= {"confirmed", "transition"}
    assert not [e for e in events if str(e["actor"]).startswith("local:")]
    # the clerk may not change the scheme: refused, and the refusal is logged
    refused = invoke(data, "classification", "retire", "GC", env=env)
    assert refused.returncode == 1 and "clerk may not do this" in refused.stderr
