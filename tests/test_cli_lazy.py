"""The command line loads its commands when used (issue 12): `contract-archive --help` imports
none of the archive's engines, and the table that lists the commands without importing them
agrees with what their modules register."""

from __future__ import annotations

import json
import subprocess
import sys

import typer

from contract_archive import cli
from tests.test_cli import PROGRAM

HEAVY = ("pyhanko", "alembic", "argon2", "tantivy", "pypdfium2", "sqlalchemy.orm")

_PROBE = """
import json, sys
from typer.testing import CliRunner
import contract_archive.cli as cli
after_import = sorted(m for m in {heavy!r} if m in sys.modules)
result = CliRunner().invoke(cli.app, ["--help"])
after_help = sorted(m for m in {heavy!r} if m in sys.modules)
ours = sorted(m for m in sys.modules if m.startswith(("contract_archive.cli.", "services.")))
print(json.dumps({{"import": after_import, "help": after_help, "ours": ours,
                  "code": result.exit_code, "out": result.output}}))
"""


def test_importing_the_cli_and_its_help_load_no_engine() -> None:
    probe = subprocess.run(
        [sys.executable, "-c", _PROBE.format(heavy=HEAVY)],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    seen = json.loads(probe.stdout)
    assert seen["code"] == 0, seen["out"]
    assert seen["import"] == [] and seen["help"] == [], seen
    assert seen["ours"] == [], "--help imported command modules or services"
    for name in cli.COMMANDS:  # every command is listed, by the table
        assert f" {name} " in seen["out"], name


def test_a_command_loads_what_it_needs_and_runs() -> None:
    """A command's own help loads its module (and with it the archive's engines) on demand."""
    r = subprocess.run(
        [PROGRAM, "audit", "--help"], capture_output=True, text=True, timeout=120, check=False
    )
    assert r.returncode == 0, r.stderr
    assert "verify-extract" in r.stdout and "The access log" in r.stdout


def test_the_table_agrees_with_the_registered_commands() -> None:
    """Every command the modules register is in :data:`COMMANDS`, in its module, with the help
    `--help` would show for it (the first paragraph of its own)."""
    cli.load_all()
    root = typer.main.get_command(cli.app)
    assert isinstance(root, typer.core.TyperGroup)
    registered = dict(root.commands.items())
    assert sorted(registered) == sorted(cli.COMMANDS)
    for name, command in registered.items():
        module, help_text = cli.COMMANDS[name]
        shown = (command.short_help or command.help or "").split("\n\n")[0]
        assert shown == help_text, name
        callback = command.callback
        if isinstance(command, typer.core.TyperGroup):
            callback = next(iter(command.commands.values())).callback
        assert callback is not None and callback.__module__ == f"contract_archive.cli.{module}"


def test_the_tree_is_walked_whole_without_loading_it_first() -> None:
    """The walks of the tree (the leak test's, the access matrix's) see every command through
    ``commands`` of a freshly built root, as before."""
    root = typer.main.get_command(cli.app)
    names = {name for name, _ in root.commands.items()}  # type: ignore[attr-defined]
    assert names == set(cli.COMMANDS)
