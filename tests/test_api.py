"""The HTTP API: upload, read, download, search, and one error envelope everywhere."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from search_api.app import route_table
from services.archive import Archive
from tests.access_helpers import client_as
from tests.conftest import CORPUS, corpus_files, make_settings

ZH = next(p for p in corpus_files("zh", ".pdf") if "新疆" in p.name)
EN = next(p for p in corpus_files("en-cuad", ".pdf") if "JOINT FILING" in p.name)


@pytest.fixture
def client(archive: Archive) -> Iterator[TestClient]:
    with client_as(archive) as c:
        yield c


def upload(client: TestClient, path: Path, **fields: str):
    with open(path, "rb") as fh:
        return client.post(
            "/api/v1/contracts",
            files={"file": (path.name, fh, "application/pdf")},
            data=fields,
        )


def assert_envelope(response, status: int, code: str | None = None) -> dict:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"}
    assert set(body["error"]) <= {"code", "message", "hint", "details"}
    assert isinstance(body["error"]["code"], str) and body["error"]["message"]
    if code:
        assert body["error"]["code"] == code
    return body["error"]


def test_upload_show_download_text_search(client: TestClient) -> None:
    r = upload(client, ZH, customer="新疆汽车贸易公司", title="汽车买卖合同")
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["status"] == "archived" and body["id"] > 0
    cid = body["id"]
    assert body["contract"]["customer"] == "新疆汽车贸易公司"

    shown = client.get(f"/api/v1/contracts/{cid}").json()
    assert shown["title"] == "汽车买卖合同" and shown["pages"] == 9
    assert shown["sha256"] == hashlib.sha256(ZH.read_bytes()).hexdigest()

    original = client.get(f"/api/v1/contracts/{cid}/original")
    assert original.status_code == 200
    assert original.content == ZH.read_bytes()
    assert original.headers["content-type"] == "application/pdf"
    assert original.headers["etag"] == f'"{shown["sha256"]}"'
    assert "filename*=UTF-8''" in original.headers["content-disposition"]
    cached = client.get(
        f"/api/v1/contracts/{cid}/original", headers={"If-None-Match": original.headers["etag"]}
    )
    assert cached.status_code == 304

    text = client.get(f"/api/v1/contracts/{cid}/text").json()
    assert len(text["pages"]) == 9 and "汽车" in text["pages"][0]["text"]
    plain = client.get(f"/api/v1/contracts/{cid}/text", params={"format": "plain"})
    assert plain.text.count("\f") == 8

    found = client.get("/api/v1/search", params={"q": "违约责任", "facets": "true"}).json()
    assert found["total"] == 1 and found["hits"][0]["id"] == cid
    assert "<mark>违约责任</mark>" in found["hits"][0]["snippets"][0]["html"]
    assert found["facets"]["customer"] == [{"value": "新疆汽车贸易公司", "count": 1}]

    listed = client.get("/api/v1/contracts").json()
    assert listed["total"] == 1 and listed["items"][0]["id"] == cid
    assert client.get("/api/v1/health").json()["contracts"] == 1


def test_duplicate_upload_is_200_with_the_existing_id(client: TestClient) -> None:
    first = upload(client, EN).json()
    again = upload(client, EN)
    assert again.status_code == 200
    assert again.json()["status"] == "duplicate" and again.json()["id"] == first["id"]


def test_rejected_upload_is_422_with_the_reason(client: TestClient, tmp_path: Path) -> None:
    fake = tmp_path / "scan.pdf"
    fake.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 64)
    err = assert_envelope(upload(client, fake), 422, "rejected")
    assert err["message"].startswith("damaged image: the file is a PNG image that cannot be")
    assert err["details"]["file"] == "scan.pdf"
    err = assert_envelope(upload(client, CORPUS / "bad/pypdf-encrypted/r4-user-password.pdf"), 422)
    assert err["message"] == "encrypted PDF: a password is required"
    assert client.get("/api/v1/contracts").json()["total"] == 0


def test_upload_without_a_file(client: TestClient) -> None:
    err = assert_envelope(client.post("/api/v1/contracts", data={"title": "x"}), 422)
    assert "file" in err["message"]


def test_oversized_upload_is_refused_with_413(tmp_path: Path) -> None:
    settings = make_settings(tmp_path / "var", max_upload_bytes=20_000)
    with (
        Archive(settings, parser_workers=1).open() as archive,
        client_as(archive) as client,
    ):
        big = tmp_path / "big.pdf"
        big.write_bytes(b"%PDF-1.4\n" + b"0" * 200_000)
        err = assert_envelope(upload(client, big), 413, "payload_too_large")
        assert "ARCHIVE_MAX_UPLOAD_BYTES" in err["message"]

        def chunks() -> Iterator[bytes]:  # no Content-Length: refused while streaming
            boundary = (
                b'--x\r\nContent-Disposition: form-data; name="file"; filename="a.pdf"\r\n\r\n'
            )
            yield boundary
            for _ in range(100):
                yield b"0" * 10_000

        r = client.post(
            "/api/v1/contracts",
            content=chunks(),
            headers={"content-type": "multipart/form-data; boundary=x"},
        )
        assert_envelope(r, 413, "payload_too_large")
        assert archive.records.count_contracts() == 0


@pytest.mark.parametrize(
    ("params", "status", "code"),
    [
        ({"q": '"unclosed'}, 400, "invalid_query"),
        ({"q": "foo:bar"}, 400, "invalid_query"),
        ({"q": "a", "limit": "0"}, 422, "invalid_request"),
        ({"q": "a", "limit": "x"}, 422, "invalid_request"),
        ({"q": "a", "sort": "random"}, 422, "invalid_request"),
        ({"q": "a" * 3000}, 422, "invalid_request"),
    ],
)
def test_bad_searches_are_4xx_envelopes(client: TestClient, params, status, code) -> None:
    assert_envelope(client.get("/api/v1/search", params=params), status, code)


def test_every_route_answers_errors_in_the_envelope(client: TestClient) -> None:
    """Walk the route table so a new route cannot be forgotten."""
    seen = 0
    spec_paths = client.get("/openapi.json").json()["paths"]
    for route in route_table():
        path = route.path
        if route.in_schema:
            assert path in spec_paths
        if not path.startswith("/api/"):
            continue
        for method in route.methods:
            seen += 1
            bad_path = path.replace("{contract_id}", "999999")
            r = client.request(method, bad_path, params={"limit": "-1", "format": "bogus"})
            if r.status_code < 400:
                r = client.request(method, path.replace("{contract_id}", "not-a-number"))
            if r.status_code >= 400:
                assert_envelope(r, r.status_code)
            assert r.status_code < 500, (method, path, r.text)
    assert seen >= 6
    assert_envelope(client.get("/api/v1/nope"), 404, "not_found")
    assert_envelope(client.delete("/api/v1/search"), 405, "method_not_allowed")
    assert_envelope(client.get("/api/v1/contracts/12345"), 404, "not_found")


def test_openapi_documents_the_routes(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    for path in [
        "/api/v1/contracts",
        "/api/v1/contracts/{contract_id}/original",
        "/api/v1/contracts/{contract_id}/text",
        "/api/v1/search",
    ]:
        assert path in spec["paths"]
    assert client.get("/docs").status_code == 200
