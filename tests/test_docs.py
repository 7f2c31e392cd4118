"""The README documents every setting, every command and every API route."""

from __future__ import annotations

import re

from contract_archive.cli import app
from core.settings import Settings
from search_api.app import route_table
from tests.conftest import ROOT

README = (ROOT / "README.md").read_text()


def test_every_setting_is_in_the_readme() -> None:
    missing = [
        f"ARCHIVE_{name.upper()}"
        for name in Settings.model_fields
        if f"`ARCHIVE_{name.upper()}`" not in README
    ]
    assert not missing, f"document these settings in the README: {missing}"


def test_every_readme_setting_exists() -> None:
    documented = set(re.findall(r"`ARCHIVE_([A-Z0-9_]+)`", README))
    known = {name.upper() for name in Settings.model_fields}
    test_only = {n for n in documented if n.startswith("TEST_")}
    assert documented - known - test_only == set()


def test_every_command_is_in_the_readme() -> None:
    names = [
        (c.name or c.callback.__name__).replace("_", "-")  # type: ignore[union-attr]
        for c in app.registered_commands
    ]
    names += [g.name for g in app.registered_groups if g.name]
    assert len(names) >= 6
    missing = [n for n in names if f"`contract-archive {n}" not in README]
    assert not missing, f"document these commands in the README: {missing}"


def test_every_api_route_is_in_the_readme() -> None:
    missing = []
    for route in route_table():
        if not route.path.startswith("/api/"):
            continue
        for method in route.methods:
            pattern = f"`{method} {route.path.replace('{contract_id}', '{id}')}"
            if pattern not in README:
                missing.append(pattern)
    assert not missing, f"document these routes in the README: {missing}"
