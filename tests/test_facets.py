"""Facets users ask for (issue 15): governing law, signing year and expiry year, from the
confirmed terms, beside status, customer and classification; filters on them; on tantivy and on
OpenSearch alike (the archive's index completes every document with its terms)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from search_api.app import create_app
from services.access.credentials import hash_password
from services.access.service import AccessControl
from services.archive import Archive
from storage.records.access_base import NewUser
from tests.access_helpers import auth_headers
from tests.conftest import corpus_files, make_settings, opensearch_overrides

ZH_PDF = next(p for p in corpus_files("zh", ".pdf") if "新疆" in p.name)
EN_PDF = next(p for p in corpus_files("en-cuad", ".pdf") if "JOINT FILING" in p.name)
LAW = "中华人民共和国法律"


def check(archive: Archive) -> None:
    zh, en = (archive.ingest_path(p, display_name=p.name).id for p in (ZH_PDF, EN_PDF))
    assert zh and en
    archive.contracts.confirm(
        zh,
        {"governing_law": LAW, "sign_date": date(2025, 3, 1), "expiry_date": date(2027, 2, 28)},
        actor="tests",
    )
    with TestClient(
        create_app(archive), raise_server_exceptions=False, headers=auth_headers(archive, "legal")
    ) as client:
        body = client.get("/api/v1/search", params={"q": "", "facets": "true"}).json()
        facets = {name: {b["value"]: b["count"] for b in v} for name, v in body["facets"].items()}
        assert facets["governing_law"] == {LAW: 1}
        assert facets["signed"] == {"2025": 1} and facets["expires"] == {"2027": 1}
        for q, ids in (
            (f'governing_law:"{LAW}"', [zh]),
            ("signed:2025", [zh]),
            ("expires:2027", [zh]),
            ("expires:2026", []),
            ("-signed:2025", [en]),
        ):
            found = client.get("/api/v1/search", params={"q": q}).json()
            assert [h["id"] for h in found["hits"]] == ids, q
    # After a reindex the terms are still there (every path that indexes completes them).
    archive.reindex()
    with TestClient(
        create_app(archive), raise_server_exceptions=False, headers=auth_headers(archive, "legal")
    ) as client:
        found = client.get("/api/v1/search", params={"q": "signed:2025"}).json()
        assert [h["id"] for h in found["hits"]] == [zh]


def test_facets_of_the_terms_on_tantivy(tmp_path: Path) -> None:
    with Archive(make_settings(tmp_path / "var"), parser_workers=1).open() as archive:
        check(archive)
        AccessControl.for_archive(archive).store.add_user(
            NewUser(
                username="lee",
                roles=("legal",),
                password_hash=hash_password("a long enough passphrase 15"),
                created_by="tests",
            )
        )
        with TestClient(
            create_app(archive), raise_server_exceptions=False, headers={"Accept": "text/html"}
        ) as client:
            client.cookies.set("archive_lang", "zh")
            login = {"username": "lee", "password": "a long enough passphrase 15"}
            assert client.post("/login", data=login, follow_redirects=False).status_code == 303
            page = client.get("/search").text
            for heading in ("适用法律", "签订年度", "到期年度"):
                assert f"<h3>{heading}</h3>" in page
            assert "governing_law=" in page and "signed=2025" in page
            filtered = client.get("/search", params={"expires": "2027"}).text
            assert "共找到 1 份合同" in filtered


@pytest.mark.opensearch
def test_facets_of_the_terms_on_opensearch(opensearch_url: str, tmp_path: Path) -> None:
    settings = make_settings(tmp_path / "var", **opensearch_overrides(opensearch_url, "facets"))
    with Archive(settings, parser_workers=1).open() as archive:
        check(archive)
