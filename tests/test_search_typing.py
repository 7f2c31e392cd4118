"""Typing help (issue 15): "did you mean" for words the index does not know, and close matches
when the exact query finds nothing, said on the page and in the API (``did_you_mean``,
``corrections``, ``fuzzy``). The vocabulary is kept by the archive as it indexes (the records
database: ``storage.records.vocabulary_*``), so it is the same on every index backend; Chinese
near forms come from the index itself (``services.search.near_cjk``)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from fastapi.testclient import TestClient

from search_api.app import create_app
from services.access.credentials import hash_password
from services.access.service import AccessControl
from services.archive import Archive
from services.search import edit_distance, nearest_word
from storage.records.access_base import NewUser
from tests.access_helpers import auth_headers, ensure_user
from tests.conftest import corpus_files, make_settings, opensearch_overrides

ZH_PDF = next(p for p in corpus_files("zh", ".pdf") if "新疆" in p.name)
EN_PDF = next(p for p in corpus_files("en-cuad", ".pdf") if "Penntex" in p.name)
PASSWORD = "a long enough passphrase 15"


@dataclass
class World:
    archive: Archive
    zh: int
    en: int


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    settings = make_settings(tmp_path_factory.mktemp("typing") / "var")
    with Archive(settings, parser_workers=1).open() as archive:
        ids = []
        for path in (ZH_PDF, EN_PDF):
            result = archive.ingest_path(path, display_name=path.name)
            assert result.id
            ids.append(result.id)
        AccessControl.for_archive(archive).store.add_user(
            NewUser(
                username="lee",
                roles=("legal",),
                password_hash=hash_password(PASSWORD),
                created_by="tests",
            )
        )
        yield World(archive, ids[0], ids[1])


def api(world: World, q: str, **headers: str) -> dict:
    with TestClient(
        create_app(world.archive),
        raise_server_exceptions=False,
        headers=headers or auth_headers(world.archive, "legal"),
    ) as client:
        r = client.get("/api/v1/search", params={"q": q})
    assert r.status_code == 200, r.text
    return r.json()


def test_edit_distance_and_the_nearest_word() -> None:
    assert edit_distance("limitaton", "limitation") == 1
    assert edit_distance("liabilty", "liability") == 1
    assert edit_distance("teh", "the") == 1  # a transposition is one edit
    assert edit_distance("contract", "xyz", cutoff=2) == 3
    known = [("limitation", 5), ("imitation", 1), ("limitations", 2)]
    assert nearest_word("limitaton", known) == "limitation"
    assert nearest_word("cat", [("bat", 9), ("car", 1)]) == "bat"  # fewer edits, then more docs
    assert nearest_word("zzzzzz", known) is None


def test_a_misspelled_english_word_finds_close_matches(world: World) -> None:
    body = api(world, "limitaton of liability")
    assert body["fuzzy"] is True
    assert body["did_you_mean"] == "limitation of liability"
    assert body["corrections"] == {"limitaton": "limitation"}
    assert world.en in [h["id"] for h in body["hits"]] and body["total"] >= 1
    quoted = api(world, '"limitaton of liability"')
    assert quoted["did_you_mean"] == '"limitation of liability"' and quoted["fuzzy"]


def test_a_near_chinese_form_is_found_in_the_index(world: World) -> None:
    body = api(world, "不可抗拒")
    assert body["did_you_mean"] == "不可抗力" and body["fuzzy"] is True
    assert [h["id"] for h in body["hits"]] == [world.zh]


def test_a_known_query_gets_no_suggestion(world: World) -> None:
    for q in ("limitation of liability", "不可抗力", "zzzqqqxx"):
        body = api(world, q)
        assert body["did_you_mean"] is None and body["fuzzy"] is False, q
    assert api(world, "zzzqqqxx")["total"] == 0


def test_the_page_says_plainly_that_it_shows_close_matches(world: World) -> None:
    with TestClient(
        create_app(world.archive), raise_server_exceptions=False, headers={"Accept": "text/html"}
    ) as client:
        client.cookies.set("archive_lang", "en")
        login = {"username": "lee", "password": PASSWORD}
        assert client.post("/login", data=login, follow_redirects=False).status_code == 303
        page = client.get("/search", params={"q": "limitaton of liability"}).text
        notice = page.split('id="did-you-mean"', 1)[1].split("</p>", 1)[0]
        assert "No exact matches for limitaton of liability; showing close ones" in notice
        assert "limitation of liability</a>" in notice
        assert f'href="/contracts/{world.en}?q=limitation' in page
        assert "any of the words" not in page  # no OR-ing of the misspelled words
        client.cookies.set("archive_lang", "zh")
        page = client.get("/search", params={"q": "不可抗拒"}).text
        assert "没有与 不可抗拒 完全匹配的合同" in page and "不可抗力</a>" in page


def test_a_hidden_contract_lends_no_word(world: World) -> None:
    """The twin: once the only contract with 不可抗力 is of a class the caller may not see,
    nothing is suggested (the index is asked with the caller's restriction)."""
    archive = world.archive
    root = ensure_user(archive, "root", ("admin",))
    access = AccessControl.for_archive(archive)
    access.update_contract(root, world.zh, {"classification": "LD"})
    access.set_restriction(root, "LD", ["hr"])
    try:
        outsider = api(world, "不可抗拒", **auth_headers(archive, "legal", username="out"))
        assert outsider["did_you_mean"] is None and outsider["total"] == 0
        cleared = api(
            world, "不可抗拒", **auth_headers(archive, "legal", username="in", groups=("hr",))
        )
        assert cleared["did_you_mean"] == "不可抗力"
    finally:
        access.remove_restriction(root, "LD")


def test_the_vocabulary_survives_a_reindex(world: World) -> None:
    world.archive.reindex()
    assert world.archive.records.known_words({"limitation", "limitaton"}) == {"limitation"}
    assert "limitation" in dict(world.archive.records.words_like("limitaton"))


@pytest.mark.opensearch
def test_the_same_help_on_opensearch(opensearch_url: str, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """The vocabulary is the archive's, the near forms are read through the SearchIndex
    Protocol: OpenSearch gives the same suggestions as tantivy."""
    settings = make_settings(
        tmp_path / "var", **opensearch_overrides(opensearch_url, "typing-help")
    )
    with Archive(settings, parser_workers=1).open() as archive:
        ids = [archive.ingest_path(p, display_name=p.name).id for p in (ZH_PDF, EN_PDF)]
        on = World(archive, ids[0], ids[1])  # type: ignore[arg-type]
        body = api(on, "limitaton of liability")
        assert body["did_you_mean"] == "limitation of liability" and body["fuzzy"]
        assert on.en in [h["id"] for h in body["hits"]]
        body = api(on, "不可抗拒")
        assert body["did_you_mean"] == "不可抗力" and [h["id"] for h in body["hits"]] == [on.zh]


@pytest.mark.postgres
def test_the_vocabulary_on_postgresql(postgres_url: str) -> None:
    from storage.records.sql import SqlRecordStore

    store = SqlRecordStore(postgres_url)
    try:
        store.migrate()
        store.add_words({"limitation": 1, "liability": 1, "of": 3})  # "of": too short to keep
        store.add_words({"limitation": 1})
        assert store.known_words({"limitation", "liability", "of", "limitaton"}) == {
            "limitation",
            "liability",
        }
        assert store.words_like("limitaton") == [("limitation", 2), ("liability", 1)]
        assert store.words_like("zebra") == []
    finally:
        store.close()
