"""Pages by role (issue 15): each role signs in through the log-in form and sees the navigation,
buttons and links its permissions allow, and none that would lead to a refusal.

* the archivist uploads and confirms suggestions, and opens a contract's record;
* the lawyer searches, reads the pages and downloads; no upload, no confirm/reject, no hold;
* the auditor opens a contract's record from the home page and a customer page, searches the
  records' metadata (not the text), and has the verification report, the evidence links and
  the access log.
"""

from __future__ import annotations

import html as html_lib
import re
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from fastapi.testclient import TestClient

from search_api.app import create_app
from services.access.credentials import hash_password
from services.access.service import AccessControl
from services.archive import Archive
from storage.records.access_base import NewUser
from tests.conftest import corpus_files, make_settings

ZH_PDF = next(p for p in corpus_files("zh", ".pdf") if "新疆" in p.name)
EN_PDF = next(p for p in corpus_files("en-cuad", ".pdf") if "JOINT FILING" in p.name)
PASSWORD = "a long enough passphrase 15"
HTML = {"Accept": "text/html"}


@dataclass
class World:
    archive: Archive
    zh: int
    en: int


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    settings = make_settings(tmp_path_factory.mktemp("web-roles") / "var")
    with Archive(settings, parser_workers=1).open() as archive:
        ids = []
        for path, customer in ((ZH_PDF, "新疆汽车贸易公司"), (EN_PDF, "Atentosa Holdings")):
            result = archive.ingest_path(path, display_name=path.name, customer=customer)
            assert result.status == "archived" and result.id
            ids.append(result.id)
        store = AccessControl.for_archive(archive).store
        for role in ("archivist", "legal", "auditor"):
            store.add_user(
                NewUser(
                    username=f"web-{role}",
                    roles=(role,),
                    password_hash=hash_password(PASSWORD),
                    created_by="tests",
                )
            )
        yield World(archive, ids[0], ids[1])


def signed_in(world: World, role: str, lang: str = "en") -> TestClient:
    """A browser-like client signed in through the log-in form (POST /login)."""
    client = TestClient(create_app(world.archive), raise_server_exceptions=False, headers=HTML)
    client.cookies.set("archive_lang", lang)
    r = client.post(
        "/login",
        data={"username": f"web-{role}", "password": PASSWORD, "next": "/"},
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text[:300]
    return client


def get(client: TestClient, url: str) -> str:
    r = client.get(url)
    assert r.status_code == 200, (url, r.status_code, r.text[:400])
    return r.text


def nav(html: str) -> list[str]:
    block = html.split('<ul class="nav">', 1)[1].split("</ul>", 1)[0]
    return re.findall(r'<a href="([^"]+)"', block)


def section(html: str, heading_id: str) -> str:
    return html.split(f'id="{heading_id}"', 1)[1].split("</section>", 1)[0]


def text(html: str) -> str:
    body = re.sub(r"<(script|style)[^>]*>.*?</\1>", " ", html, flags=re.S)
    return html_lib.unescape(" ".join(re.sub(r"<[^>]+>", " ", body).split()))


def test_the_archivist_uploads_and_confirms_but_is_offered_no_search(world: World) -> None:
    with signed_in(world, "archivist", "zh") as client:
        home = get(client, "/")
        assert nav(home) == [
            "/",
            "/contracts",
            "/upload",
            "/batches",
            "/customers",
            "/approvals",
            "/borrowings",
        ]
        assert all(client.get(link).status_code == 200 for link in nav(home))
        assert 'role="search"' not in home  # no search form that would answer 403
        page = get(client, f"/contracts/{world.zh}")
        assert "/suggestions/" in page and 'value="accept"' in page
        assert "download-original" not in page  # downloading is the lawyer's
        assert 'src="/contracts/' not in page  # no page image
        assert f"/contracts/{world.zh}/verification" not in page
        assert get(client, "/upload")
        assert client.get("/search?q=合同").status_code == 403


def test_the_lawyer_reads_and_downloads_but_is_offered_no_upload_nor_decisions(
    world: World,
) -> None:
    with signed_in(world, "legal", "zh") as client:
        home = get(client, "/")
        assert nav(home) == [
            "/",
            "/contracts",
            "/search",
            "/customers",
            "/approvals",
            "/borrowings",
        ]
        assert all(client.get(link).status_code == 200 for link in nav(home))
        assert "上传" not in text(home)
        page = get(client, f"/contracts/{world.zh}")
        assert "/suggestions/" not in page and 'value="accept"' not in page
        assert "<button" not in section(page, "terms-h")
        assert "legal-hold" not in page and "/ocr/retry" not in page
        assert 'id="download-original"' in page
        assert f'src="/contracts/{world.zh}/pages/1.png' in page
        assert "/access-log" not in page
        found = get(client, "/search?q=汽车")
        assert f"/contracts/{world.zh}" in found and 'class="snippet"' in found
        # what is not offered is refused anyway, by the facade
        assert client.get("/upload").status_code == 403


def test_the_auditor_opens_records_searches_metadata_and_reaches_the_evidence(
    world: World,
) -> None:
    with signed_in(world, "auditor") as client:
        home = get(client, "/")
        assert nav(home) == [
            "/",
            "/contracts",
            "/search",
            "/customers",
            "/approvals",
            "/borrowings",
            "/access-log",
        ]
        assert all(client.get(link).status_code == 200 for link in nav(home))
        assert "/upload" not in home
        assert f'href="/contracts/{world.en}"' in home  # recently archived
        page = get(client, f"/contracts/{world.en}")
        assert "Atentosa Holdings" in page and "SHA-256" in page
        assert 'src="/contracts/' not in page and "download-original" not in page
        assert "reading its pages needs the permission" in text(page)
        evidence = section(page, "ver-h")
        assert f'href="/contracts/{world.en}/verification"' in evidence
        assert f'href="/api/v1/contracts/{world.en}/verification"' in evidence
        assert f'href="/api/v1/access-log/extract?contract={world.en}"' in evidence
        assert f'href="/access-log?contract={world.en}"' in page
        assert "/suggestions/" not in page and "legal-hold" not in page
        assert get(client, f"/contracts/{world.en}/verification")
        customer = get(client, "/customers/Atentosa Holdings")
        assert f'href="/contracts/{world.en}"' in customer
        # search: the records' metadata, never the text
        by_customer = get(client, "/search?q=Atentosa")
        assert f"/contracts/{world.en}" in by_customer and 'class="snippet"' not in by_customer
        by_text = get(client, "/search?q=汽车贸易")  # the customer's words: found
        assert f"/contracts/{world.zh}" in by_text
        body_only = get(client, '/search?q="Securities Exchange"')
        assert f"/contracts/{world.en}" not in body_only
        api = client.get("/api/v1/search", params={"q": "Atentosa"}).json()
        assert api["total"] == 1 and api["hits"][0]["snippets"] == []
        assert get(client, "/access-log")
        # reading the pages or the text stays refused
        assert client.get(f"/contracts/{world.en}/pages/1.png").status_code == 403
        assert client.get(f"/api/v1/contracts/{world.en}/text").status_code == 403


def test_the_lawyer_finds_the_text_the_auditor_does_not(world: World) -> None:
    """The twin of the auditor's metadata search: the same query finds the body for a reader."""
    with signed_in(world, "legal") as client:
        found = get(client, '/search?q="Securities Exchange"')
        assert f"/contracts/{world.en}" in found
