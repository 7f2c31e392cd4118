"""The facade's rules, once: an action checks its permission, hides what the caller may not
see (404 as for a missing contract) and is logged as it declares, whatever front end calls it.

A small area defined here exercises :func:`services.facade.action` on a real archive with one
restricted contract; the areas of the product are walked by ``tests/test_leaks.py``.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from core.access_errors import Forbidden
from core.errors import InvalidRequest, NotFound
from core.roles import Perm
from services.archive import Archive
from services.facade import AREAS, Area, Facade, Runtime, action, actions_of
from storage.records.access_base import LogFilter
from tests.access_helpers import ensure_user
from tests.conftest import corpus_files, make_settings

ZH = next(p for p in corpus_files("zh", ".pdf") if "新疆" in p.name)
EN = next(p for p in corpus_files("en-cuad", ".pdf") if "JOINT FILING" in p.name)


class Probe(Area):
    """A made-up area: one read, one change, one that fails, one not logged."""

    @action("probe.read", Perm.CONTRACTS_VIEW, logged="read", contract="contract_id")
    def read(self, contract_id: int, purpose: str | None = None) -> str:
        self.acting.note(seen=True)
        return self.archive.get(contract_id).title

    @action("probe.change", Perm.CONTRACTS_EDIT, logged="change", contract="contract_id")
    def change(self, contract_id: int, value: str, password: str = "") -> str:
        return value

    @action("probe.fail", Perm.CONTRACTS_EDIT, logged="change", contract="contract_id")
    def fail(self, contract_id: int) -> None:
        raise InvalidRequest("refused by the probe")

    @action("probe.quiet", Perm.CONTRACTS_VIEW, logged="no")
    def quiet(self) -> tuple[str, ...]:
        return self.acting.hidden


class World:
    def __init__(self, archive: Archive) -> None:
        self.runtime = Runtime(archive)
        self.access = self.runtime.access
        root = ensure_user(archive, "root", ("admin",))
        self.ids: dict[str, int] = {}
        for key, path in (("secret", ZH), ("open", EN)):
            with open(path, "rb") as fh:
                result = self.access.ingest(root, fh, filename=path.name)
            assert result.id is not None
            self.ids[key] = result.id
        self.access.update_contract(root, self.ids["secret"], {"classification": "LD"})
        self.access.set_restriction(root, "LD", ["hr"])
        self.legal = ensure_user(archive, "legal1", ("legal",))
        self.archivist = ensure_user(archive, "arch1", ("archivist",))
        self.hr = ensure_user(archive, "arch-hr", ("archivist",), ("hr",))

    def probe(self, caller: object) -> Probe:
        facade = self.runtime.facade(caller)  # type: ignore[arg-type]
        return Probe(facade.acting)

    def log(self, action: str) -> list[tuple[str, str, int | None, dict[str, object]]]:
        rows = self.access.store.entries(LogFilter(action=action), limit=100)
        return [(e.actor, e.outcome, e.contract_id, dict(e.details or {})) for e in rows]


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    settings = make_settings(tmp_path_factory.mktemp("facade") / "var")
    with Archive(settings, parser_workers=1).open() as archive:
        yield World(archive)


def test_every_area_of_the_facade_exists_and_declares_its_actions(world: World) -> None:
    facade: Facade = world.runtime.facade(world.legal)
    for name in AREAS:
        area = getattr(facade, name)
        assert isinstance(area, Area), name
        for method, spec in actions_of(type(area)).items():
            assert spec.logged in ("change", "read", "self", "no"), (name, method)
            assert "." in spec.name, (name, method, spec.name)


def test_a_read_is_logged_once_with_its_purpose_and_notes(world: World) -> None:
    title = world.probe(world.legal).read(world.ids["open"], purpose="case 17")
    assert title
    [(actor, outcome, cid, details)] = world.log("probe.read")
    assert (actor, outcome, cid) == ("legal1", "ok", world.ids["open"])
    assert details.get("seen") is True


def test_a_hidden_contract_is_missing_and_the_attempt_is_logged(world: World) -> None:
    with pytest.raises(NotFound) as hidden:
        world.probe(world.legal).read(world.ids["secret"])
    with pytest.raises(NotFound) as missing:
        world.probe(world.legal).read(999_999)
    assert str(world.ids["secret"]) in hidden.value.message
    assert hidden.value.message.replace(str(world.ids["secret"]), "N") == (
        missing.value.message.replace("999999", "N")
    )
    outcomes = {(o, c) for _, o, c, _ in world.log("probe.read")}
    assert ("denied", world.ids["secret"]) in outcomes
    assert ("not_found", 999_999) in outcomes
    # the cleared archivist sees it
    assert world.probe(world.hr).quiet() == ()
    assert world.probe(world.archivist).quiet() == ("LD",)


def test_a_permission_refusal_is_logged_and_nothing_runs(world: World) -> None:
    with pytest.raises(Forbidden):
        world.probe(world.legal).change(world.ids["open"], "x")
    [(actor, outcome, _, _)] = world.log("probe.change")
    assert (actor, outcome) == ("legal1", "denied")


def test_a_change_is_logged_once_in_its_transaction_without_secrets(world: World) -> None:
    assert world.probe(world.archivist).change(world.ids["open"], "v1", password="hunter2") == "v1"
    entries = [e for e in world.log("probe.change") if e[0] == "arch1"]
    assert sorted(o for _, o, _, _ in entries) == ["ok"]
    for _, _, cid, details in entries:
        assert cid == world.ids["open"]
        assert details.get("value") == "v1"
        assert "password" not in details and "hunter2" not in str(details)


def test_a_failed_change_is_logged_as_failed(world: World) -> None:
    with pytest.raises(InvalidRequest):
        world.probe(world.hr).fail(world.ids["secret"])
    outcomes = sorted(o for _, o, _, _ in world.log("probe.fail"))
    assert outcomes == ["failed"]


def test_the_cli_acts_as_archive_user(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    settings = world.access.settings.model_copy(update={"user": "legal1"})
    monkeypatch.setattr(world.access, "settings", settings)
    facade = world.runtime.cli_facade()
    assert facade.caller.username == "legal1"
    assert facade.caller.via == "cli"
    assert facade.hidden == ("LD",)
