"""The command line of access control: the first start, users, tokens, restricted classes,
acting as ARCHIVE_USER, and `audit verify` catching a database edit. One data directory for the
module; tests run in file order.

Each command family runs as a user runs it (the installed program, ``run``) in at least one
place: the first start, a user made, an ingest and refusals as ARCHIVE_USER, an extract, the
broken chain found; the other commands run in-process (``invoke``, tests/cli_runner.py: the
real Typer app, without the 2 s of CPU a program start costs)."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from services.access.service import AccessControl
from services.archive import Archive
from tests.access_helpers import ensure_user
from tests.cli_runner import invoke
from tests.conftest import corpus_files, make_settings
from tests.test_cli import run

EN = next(p for p in corpus_files("en-cuad", ".pdf") if "JOINT FILING" in p.name)


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("access-cli") / "var"


def log_rows(data: Path, where: str = "1=1") -> list[sqlite3.Row]:
    with sqlite3.connect(data / "archive.db") as db:
        db.row_factory = sqlite3.Row
        return db.execute(f"SELECT * FROM access_log WHERE {where} ORDER BY seq").fetchall()


def test_first_command_creates_the_admin_once_and_acts_as_it(data: Path) -> None:
    first = run(data, "users", "list", "--json")
    assert first.returncode == 0, first.stderr
    assert "First start: an administrator was created." in first.stderr
    # Standard error is no terminal here: the password is in a 0600 file, not on stderr.
    password = (data / "first-admin-password").read_text().strip()
    assert password not in first.stderr
    assert len(password) >= 16
    users = json.loads(first.stdout)
    assert [(u["username"], u["roles"], u["must_change_password"]) for u in users] == [
        ("admin", ["admin"], True)
    ]
    again = run(data, "users", "list")
    assert again.returncode == 0 and "First start" not in again.stderr
    assert password not in again.stderr + again.stdout
    # The command line's reads are logged under the admin, through the CLI.
    assert run(data, "search", "违约").returncode == 0
    searched = log_rows(data, "action = 'search'")
    assert [(r["actor"], r["via"]) for r in searched] == [("admin", "cli")]
    assert json.loads(searched[0]["details"])["query"] == "违约"
    assert "contract-archive-cli/" in searched[0]["user_agent"]


def test_users_tokens_and_restrictions(data: Path) -> None:
    made = run(data, "users", "create", "lena", "--role", "legal", "--group", "hr")
    assert made.returncode == 0, made.stderr
    one_time = made.stdout.strip()
    assert len(one_time) >= 16 and "\n" not in one_time
    bad = invoke(data, "users", "create", "x", "--role", "wizard")
    assert bad.returncode == 2 or bad.returncode == 1
    assert "unknown role 'wizard'" in bad.stderr and "Traceback" not in bad.stderr

    token = invoke(data, "tokens", "create", "--user", "lena", "--name", "scripts", "--days", "3")
    assert token.returncode == 0, token.stderr
    secret = token.stdout.strip()
    assert secret.startswith("cat_")
    listed = invoke(data, "tokens", "list", "--all", "--json")
    assert listed.returncode == 0, listed.stderr
    tokens = json.loads(listed.stdout)
    mine = next(t for t in tokens if t["username"] == "lena")
    assert mine["active"] and secret.startswith(mine["id"]) and secret not in listed.stdout
    revoked = invoke(data, "tokens", "revoke", mine["id"])
    assert revoked.returncode == 0, revoked.stderr
    tokens = json.loads(invoke(data, "tokens", "list", "--all", "--json").stdout)
    assert not next(t for t in tokens if t["id"] == mine["id"])["active"]

    assert invoke(data, "restrictions", "set", "LD", "--group", "hr").returncode == 0
    shown = invoke(data, "restrictions", "list", "--json")
    assert json.loads(shown.stdout) == {"LD": ["hr"]}
    assert invoke(data, "users", "disable", "lena").returncode == 0
    actions = [r["action"] for r in log_rows(data)]
    for wanted in (
        "user.create",
        "token.create",
        "token.revoke",
        "restriction.set",
        "user.disable",
    ):
        assert wanted in actions, wanted
    # Secrets never reach the log.
    everything = json.dumps([dict(r) for r in log_rows(data)])
    assert secret not in everything and one_time not in everything


def test_archive_user_names_who_the_command_line_is(data: Path) -> None:
    made = invoke(data, "users", "create", "clerk", "--role", "archivist", "--no-password")
    assert made.returncode == 0, made.stderr
    env = {"ARCHIVE_USER": "clerk"}
    ingested = run(data, "ingest", str(EN), "--json", env=env)
    assert ingested.returncode == 0, ingested.stderr
    # An archivist may not search or read the log: refused, and the refusal is logged.
    refused = run(data, "search", "agreement", env=env)
    assert refused.returncode == 1 and "clerk may not do this" in refused.stderr
    assert invoke(data, "audit", "verify", env=env).returncode == 1
    rows = log_rows(data, "actor = 'clerk'")
    assert {(r["action"], r["outcome"]) for r in rows} >= {("contract.ingest", "ok")}
    assert any(r["outcome"] == "denied" for r in rows)
    assert all(r["via"] == "cli" for r in rows)
    unknown = run(data, "search", "x", env={"ARCHIVE_USER": "ghost"})
    assert unknown.returncode == 2 and "ARCHIVE_USER names no user" in unknown.stderr
    disabled = invoke(data, "users", "list", env={"ARCHIVE_USER": "lena"})
    assert disabled.returncode == 2 and "disabled" in disabled.stderr


def test_every_user_and_log_command_acts_through_the_facade(data: Path, tmp_path: Path) -> None:
    """The commands of users, tokens, restrictions and the audit log run as ARCHIVE_USER
    through the facade: each does its work, is logged by its action, and a user without the
    permission is refused (logged under the action's name)."""
    assert invoke(data, "users", "enable", "lena").returncode == 0
    updated = invoke(data, "users", "update", "lena", "--role", "legal", "--role", "auditor")
    assert updated.returncode == 0 and "roles auditor, legal" in updated.stderr, updated.stderr
    reset = invoke(data, "users", "password", "lena")
    assert reset.returncode == 0 and len(reset.stdout.strip()) >= 16
    assert invoke(data, "restrictions", "remove", "LD").returncode == 0
    assert json.loads(invoke(data, "restrictions", "list", "--json").stdout) == {}
    missing = invoke(data, "restrictions", "remove", "LD")
    assert missing.returncode == 1 and "not restricted" in missing.stderr
    checkpoint = invoke(data, "audit", "checkpoint")
    assert checkpoint.returncode == 0 and "checkpoint stored as" in checkpoint.stdout
    key = invoke(data, "audit", "key")
    assert key.returncode == 0 and key.stdout.count("+") >= 2, key.stdout
    pem = invoke(data, "audit", "key", "--pem")
    assert pem.stdout.startswith("-----BEGIN PUBLIC KEY-----")
    kept = invoke(data, "audit", "prune")
    assert kept.returncode == 0 and "kept forever" in kept.stdout
    extract = tmp_path / "extract.zip"
    made = run(data, "audit", "extract", "--user", "lena", "-o", str(extract))
    assert made.returncode == 0, made.stderr
    checked = invoke(data, "audit", "verify-extract", str(extract), "--json")
    assert checked.returncode == 0 and json.loads(checked.stdout)["status"] == "PASSED"
    exported = invoke(data, "audit", "export", "--action", "user.", "--format", "jsonl")
    assert exported.returncode == 0
    users_actions = [json.loads(line)["action"] for line in exported.stdout.splitlines()]
    assert {"user.create", "user.update", "user.password_reset"} <= set(users_actions)
    actions = {(r["action"], r["outcome"]) for r in log_rows(data, "actor = 'admin'")}
    for wanted in (
        "user.update",
        "user.password_reset",
        "restriction.remove",
        "audit.checkpoint",
        "audit.extract",
        "audit.export",
    ):
        assert (wanted, "ok") in actions, wanted
    # Refused, under the action's own name, for a user without the permission.
    env = {"ARCHIVE_USER": "clerk"}
    for args, action in (
        (("users", "list"), "user.list"),
        (("restrictions", "set", "HR", "--group", "hr"), "restriction.set"),
        (("audit", "checkpoint"), "audit.checkpoint"),
        (("audit", "prune"), "audit.prune"),
    ):
        refused = invoke(data, *args, env=env)
        assert refused.returncode == 1 and "clerk may not do this" in refused.stderr, args
        assert log_rows(data, f"actor = 'clerk' AND action = '{action}' AND outcome = 'denied'")
    # The public key is anyone's.
    assert invoke(data, "audit", "key", env=env).returncode == 0


def test_audit_verify_catches_an_edit_in_the_database(data: Path, tmp_path: Path) -> None:
    ok = invoke(data, "audit", "verify", "--json")
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert json.loads(ok.stdout)["status"] == "PASSED"
    exported = invoke(data, "audit", "export", "--format", "jsonl")
    assert exported.returncode == 0 and exported.stdout.count("\n") >= 10
    extract = tmp_path / "extract.zip"
    assert invoke(data, "audit", "extract", "--output", str(extract)).returncode == 0
    checked = invoke(data, "audit", "verify-extract", str(extract))
    assert checked.returncode == 0 and "PASSED" in checked.stdout
    target = log_rows(data, "action = 'contract.ingest'")[0]["seq"]
    with sqlite3.connect(data / "archive.db") as db:
        db.execute("UPDATE access_log SET actor = 'nobody' WHERE seq = ?", (target,))
    broken = run(data, "audit", "verify")
    assert broken.returncode == 1
    assert f"entry {target}" in broken.stdout or f"#{target}" in broken.stdout, broken.stdout


# --- every command declares its access ----------------------------------------------------------
def command_paths(app: Any = None) -> dict[str, Any]:
    """Every command of the Typer tree (``users create``), with its click command."""
    import typer

    if app is None:
        from contract_archive.cli import app

    def walk(command: Any, prefix: str) -> dict[str, Any]:
        subcommands = getattr(command, "commands", None)
        if subcommands is None:
            return {prefix: command}
        found: dict[str, Any] = {}
        for name, sub in subcommands.items():
            found |= walk(sub, f"{prefix} {name}".strip())
        return found

    return walk(typer.main.get_command(app), "")


def acts_through_facade(command: Any) -> bool:
    return bool(getattr(command.callback, "acts_through_facade", False))


def access_problems(commands: dict[str, Any], declared: Any) -> list[str]:
    """What the fail-closed rule finds wrong: a command neither ``@acts`` nor declared in
    COMMANDS, one that is both, and a declaration of a command that does not exist."""
    problems = [
        f"{path}: neither @acts nor declared in contract_archive/cli/acting.py COMMANDS"
        for path, command in commands.items()
        if not acts_through_facade(command) and path not in declared
    ]
    problems += [
        f"{path}: @acts, so its COMMANDS entry must go"
        for path, command in commands.items()
        if acts_through_facade(command) and path in declared
    ]
    problems += [f"{path}: declared but no such command" for path in set(declared) - set(commands)]
    return problems


def test_every_command_declares_its_access() -> None:
    """A command acts through the facade (whose actions declare their permission and logging)
    or declares its access in COMMANDS."""
    from contract_archive.cli.acting import COMMANDS

    commands = command_paths()
    assert len(commands) >= 20 and "users create" in commands
    assert acts_through_facade(commands["users create"])
    assert not access_problems(commands, COMMANDS)


def test_a_command_neither_acting_nor_declared_fails_the_walk() -> None:
    """The walk above is not vacuous: a command added without @acts and without a declaration
    is named, and so is an @acts command still declared."""
    import typer

    from contract_archive.cli import acts
    from contract_archive.cli.acting import COMMANDS

    cli = typer.Typer()
    sub = typer.Typer()
    cli.add_typer(sub, name="users")

    @sub.command("create")
    @acts
    def create(f: object, name: str) -> None:
        raise AssertionError("not run")

    @sub.command("forgotten")
    def forgotten() -> None:
        raise AssertionError("not run")

    @cli.command("serve")
    def serve() -> None:
        raise AssertionError("not run")

    commands = command_paths(cli)
    assert set(commands) == {"users create", "users forgotten", "serve"}
    problems = access_problems(commands, {"serve": COMMANDS["serve"]})
    assert problems == [
        "users forgotten: neither @acts nor declared in contract_archive/cli/acting.py COMMANDS"
    ]
    both = access_problems(commands, {"serve": None, "users forgotten": None, "users create": None})
    assert both == ["users create: @acts, so its COMMANDS entry must go"]


def test_an_undeclared_command_does_not_run_and_a_declared_one_is_logged(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A command that is not @acts runs the guard (acting.guard_command) when it opens the archive:
    here two commands of a small Typer app do the same."""
    import typer
    from typer.testing import CliRunner

    from contract_archive.cli import acting
    from core.roles import Perm
    from services.access.service import AccessControl
    from services.archive import Archive
    from storage.records.access_base import LogFilter
    from tests.access_helpers import ensure_user
    from tests.conftest import make_settings

    monkeypatch.setitem(acting.COMMANDS, "mystery", acting.CommandAccess(Perm.CONTRACTS_VERIFY))
    cli = typer.Typer()
    ran: list[str] = []
    with Archive(make_settings(tmp_path / "var"), parser_workers=1).open() as archive:

        @cli.command()
        def mystery(contract_id: int, key_passphrase: str = "", path: list[str] = []) -> None:  # noqa: B006
            acting.guard_command(archive)
            ran.append("mystery")

        @cli.command()
        def forgotten() -> None:
            acting.guard_command(archive)
            ran.append("forgotten")

        ensure_user(archive, "vera", ("auditor",))
        ensure_user(archive, "lou", ("legal",))
        runner = CliRunner()
        refused = runner.invoke(cli, ["forgotten"])
        assert "declares no access permission" in str(refused.exception)
        access = AccessControl.for_archive(archive)
        access.settings = archive.settings.model_copy(update={"user": "vera"})
        args = ["mystery", "7", "--key-passphrase", "hunter2", "--path", "a", "--path", "b"]
        done = runner.invoke(cli, args)
        assert done.exit_code == 0, done.output
        access.settings = archive.settings.model_copy(update={"user": "lou"})
        denied = runner.invoke(cli, args)
        assert "lou may not do this" in str(denied.exception)
        entries = access.store.entries(LogFilter(action="cli.mystery"), limit=10)
    assert ran == ["mystery"]
    assert [(e.actor, e.via, e.outcome) for e in entries] == [
        ("vera", "cli", "started"),
        ("lou", "cli", "denied"),
    ]
    assert entries[0].details == {"params": {"contract_id": 7, "path": ["a", "b"]}}
    assert "hunter2" not in str(entries[1].details)


def test_audit_commands_redact_a_class_the_auditor_is_not_cleared_for(tmp_path: Path) -> None:
    """`audit export` and `audit extract` (the facade's one redaction, issue 12): an auditor
    outside the class's group gets none of the restricted contract's entries (their hashes
    verify, its purpose is nowhere); an auditor in the group gets them all."""
    data = tmp_path / "var"
    with Archive(make_settings(data), parser_workers=1).open() as archive:
        root = ensure_user(archive, "root", ("admin",), groups=("hr",))
        ensure_user(archive, "aud", ("auditor",))
        ensure_user(archive, "aud-hr", ("auditor",), groups=("hr",))
        ensure_user(archive, "peeker", ("legal",))
        access = AccessControl.for_archive(archive)
        with open(EN, "rb") as fh:
            made = access.ingest(root, fh, filename=EN.name, customer="Cloakwise Holdings")
        assert made.id is not None
        secret = made.id
        access.update_contract(root, secret, {"classification": "LD"}, purpose="Vaultmark case")
        access.set_restriction(root, "LD", ["hr"])
    shown = run(data, "show", str(secret), env={"ARCHIVE_USER": "peeker"})
    assert shown.returncode == 1  # refused because of the class, as a missing contract
    outputs: dict[str, list[dict[str, Any]]] = {}
    for reader in ("aud", "aud-hr"):
        env = {"ARCHIVE_USER": reader}
        exported = invoke(data, "audit", "export", "--format", "jsonl", env=env)
        assert exported.returncode == 0, exported.stderr
        outputs[reader] = [json.loads(line) for line in exported.stdout.splitlines()]
        extract = tmp_path / f"{reader}.zip"
        made_extract = run(
            data, "audit", "extract", "--contract", str(secret), "-o", str(extract), env=env
        )
        assert made_extract.returncode == 0, made_extract.stderr
        checked = json.loads(invoke(data, "audit", "verify-extract", str(extract), "--json").stdout)
        assert checked["status"] == "PASSED", checked
        outputs[f"{reader} extract"] = [{"entries": checked["entries"]}]
    hidden, cleared = outputs["aud"], outputs["aud-hr"]
    about = [e for e in cleared if e["contract_id"] == secret]
    assert any(e["purpose"] == "Vaultmark case" for e in about)  # cleared: all of it
    assert any(e["actor"] == "peeker" and e["details"].get("reason") for e in about)
    text = json.dumps(hidden, ensure_ascii=False)
    assert "Vaultmark" not in text and "Cloakwise" not in text
    assert not [e for e in hidden if e["contract_id"] == secret]
    assert outputs["aud extract"][0]["entries"] == 0
    assert outputs["aud-hr extract"][0]["entries"] > 0
