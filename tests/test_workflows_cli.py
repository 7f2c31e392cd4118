"""Approval and borrowing (借阅) on the command line, as ARCHIVE_USER: one approval chain from
submission to signing, and one borrowing from request to expiry under a frozen clock
(ARCHIVE_FROZEN_NOW), then another returned early.

The commands run in-process (tests/cli_runner.py: the real Typer app, 2 s of CPU less a run);
the steps marked ``program=True`` run the installed program, as a user runs it (a submission,
a decision, a borrowing request, the expiry seen under the frozen clock, a return)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.cli_runner import invoke
from tests.test_cli import ZH_DIR, run

pytestmark = pytest.mark.slow  # two dozen commands each

T0 = "2026-03-02T09:00:00+00:00"
LATER = "2026-03-05T09:00:00+00:00"  # three days on: a two-day grant has expired


def ok(data: Path, *args: str, user: str = "admin", now: str = T0, program: bool = False) -> str:
    r = (run if program else invoke)(
        data, *args, env={"ARCHIVE_USER": user, "ARCHIVE_FROZEN_NOW": now}
    )
    assert r.returncode == 0, f"{args}: {r.stderr}"
    assert "Traceback" not in r.stderr
    return r.stdout


def fails(data: Path, *args: str, user: str, now: str = T0, program: bool = False) -> str:
    r = (run if program else invoke)(
        data, *args, env={"ARCHIVE_USER": user, "ARCHIVE_FROZEN_NOW": now}
    )
    assert r.returncode == 1, f"{args}: {r.stdout} {r.stderr}"
    assert "Traceback" not in r.stderr
    return r.stderr


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, int]]:
    data = tmp_path_factory.mktemp("workflows-cli") / "var"
    ids: dict[str, int] = {}
    for key, name in (
        ("sales", "新疆维吾尔自治区汽车买卖合同.pdf"),
        ("secret", "南京市存量房买卖合同.pdf"),
    ):
        line = ok(data, "ingest", str(ZH_DIR / name), "--json", "--title", f"{key} contract")
        ids[key] = json.loads(line.splitlines()[0])["id"]
    ok(
        data,
        "classification",
        "set",
        "MJ",
        "--zh",
        "机密",
        "--en",
        "confidential",
        "--retention",
        "D30",
    )
    ok(data, "contract", "set", str(ids["secret"]), "classification=MJ")
    ok(data, "restrictions", "set", "MJ", "--group", "vault")
    for name, role, group in (
        ("clerk", "archivist", None),
        ("mgr", "legal", "mgmt"),
        ("reader", "legal", None),
        ("keeper", "archivist", "vault"),
    ):
        args = ["users", "create", name, "--role", role, "--no-password"]
        ok(data, *args, *(["--group", group] if group else []))
    return data, ids


def test_one_approval_chain(data: tuple[Path, dict[str, int]], tmp_path: Path) -> None:
    d, ids = data
    cid = str(ids["sales"])
    rules = tmp_path / "rules.json"
    rules.write_text(
        json.dumps({"rules": [{"name": "all", "steps": [{"groups": ["mgmt"]}]}]}), "utf-8"
    )
    assert "version 1" in ok(d, "approvals", "rules", "set", str(rules), "--note", "first")
    ok(d, "contract", "transition", cid, "draft", "--force", "--reason", "new draft")
    assert "draft → in_approval" in ok(d, "approvals", "submit", cid, user="clerk", program=True)
    assert "in approval" in fails(d, "contract", "transition", cid, "signing", user="admin")
    queue = json.loads(ok(d, "approvals", "list", "--mine", "--json", user="mgr"))["items"]
    assert [(a["contract_id"], a["may_decide"]) for a in queue] == [(int(cid), True)]
    assert "own submission" in fails(d, "approvals", "approve", cid, user="clerk", program=True)
    rejected = ok(d, "approvals", "reject", cid, "--comment", "add the penalty cap", user="mgr")
    assert "back to draft" in rejected
    assert "not in approval" in fails(d, "approvals", "approve", cid, user="mgr")
    ok(d, "approvals", "submit", cid, user="clerk")
    approved = ok(d, "approvals", "approve", cid, "--comment", "fine", user="mgr", program=True)
    assert "signing" in approved
    history = json.loads(ok(d, "contract", "history", cid, "--json"))
    kinds = [e["kind"] for e in history if e["kind"].startswith("approval.")]
    assert kinds == ["approval.submit", "approval.reject", "approval.submit", "approval.approve"]


def test_one_borrowing_expires_and_another_is_returned(data: tuple[Path, dict[str, int]]) -> None:
    d, ids = data
    secret = str(ids["secret"])
    assert "does not exist" in fails(d, "contract", "terms", secret, user="reader")
    asked = json.loads(
        ok(
            d,
            "borrow",
            "request",
            secret,
            "--purpose",
            "诉讼 2026-17",
            "--days",
            "2",
            "--json",
            user="reader",
            program=True,
        )
    )
    rid = str(asked["id"])
    assert asked["state"] == "requested"
    assert "1 to 365 days" in fails(
        d, "borrow", "request", secret, "--purpose", "x", "--days", "3650", user="reader"
    )
    assert "pending request" in fails(
        d, "borrow", "request", secret, "--purpose", "x", "--days", "1", user="reader"
    )
    listed = json.loads(ok(d, "borrow", "list", "--open", "--json", user="keeper"))["items"]
    assert [b["id"] for b in listed] == [int(rid)]
    assert "in force" in ok(d, "borrow", "grant", rid, "--comment", "two days", user="keeper")
    assert "secret contract" in ok(d, "contract", "terms", secret, user="reader")
    # Two days on, the grant has ended by itself.
    expired = fails(d, "contract", "terms", secret, user="reader", now=LATER, program=True)
    assert "does not exist" in expired
    mine = json.loads(ok(d, "borrow", "list", "--mine", "--json", user="reader", now=LATER))
    assert mine["items"][0]["overdue"] and not mine["items"][0]["live"]
    # A new one, returned early.
    again = json.loads(
        ok(
            d,
            "borrow",
            "request",
            secret,
            "--purpose",
            "appeal",
            "--days",
            "5",
            "--json",
            user="reader",
            now=LATER,
        )
    )
    ok(d, "borrow", "grant", str(again["id"]), user="keeper", now=LATER)
    assert "secret contract" in ok(d, "contract", "terms", secret, user="reader", now=LATER)
    returned = ok(d, "borrow", "return", str(again["id"]), user="reader", now=LATER, program=True)
    assert "returned" in returned
    assert "does not exist" in fails(d, "contract", "terms", secret, user="reader", now=LATER)
    states = [
        b["state"] for b in json.loads(ok(d, "borrow", "list", "--json", user="keeper"))["items"]
    ]
    assert states == ["returned", "granted"]
