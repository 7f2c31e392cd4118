"""Issue 20: what a security review of the running server found, each over HTTP against a real
`contract-archive serve` process (``bench.common.Server``): body limits per route class, the
log-in limit under parallel attempts, proxy headers, nested queries; and the private data
directory. The ASVS pass that names these tests is docs/security.md."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from typing import Any

import httpx2 as httpx
import pytest

from bench.common import Server

UPLOAD_LIMIT = 1024 * 1024
SERVER_ENV = {
    "ARCHIVE_OCR_BACKGROUND": "false",
    "ARCHIVE_MAX_UPLOAD_BYTES": str(UPLOAD_LIMIT),
    "ARCHIVE_LOGIN_MAX_FAILURES": "5",
}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    base = tmp_path_factory.mktemp("hardening")
    with Server(base / "data", extra_env=SERVER_ENV) as running:
        yield running


def err(response: httpx.Response) -> dict[str, Any]:
    body = response.json()
    assert set(body) == {"error"}, body
    return dict(body["error"])


def make_user(server: Server, name: str, roles: tuple[str, ...] = ("viewer",)) -> str:
    """A user with a one-time password (enough to log in), made by the bench admin."""
    r = httpx.post(
        f"{server.url}/api/v1/users",
        json={"username": name, "roles": list(roles)},
        headers=server.headers,
        timeout=30,
    )
    assert r.status_code == 201, r.text
    password: str = r.json()["password"]
    return password


def raw_request(server: Server, head: str, chunks: list[bytes]) -> tuple[int, bytes]:
    """Send a request by hand (chunked, no Content-Length); the status and body of the answer.
    The sending stops at the first error: the server may close the connection early."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=30) as s:
        s.sendall(head.encode())
        try:
            for chunk in chunks:
                s.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk))
            s.sendall(b"0\r\n\r\n")
        except OSError:
            pass
        data = b""
        while b"\r\n\r\n" not in data or len(data) < data.index(b"\r\n\r\n") + 4 + _length(data):
            part = s.recv(65536)
            if not part:
                break
            data += part
    head_bytes, _, body = data.partition(b"\r\n\r\n")
    return int(head_bytes.split()[1]), body


def _length(data: bytes) -> int:
    for line in data.split(b"\r\n\r\n", 1)[0].split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            return int(line.split(b":", 1)[1])
    return 0


# --- body limits per route class ---------------------------------------------------------------
def test_login_body_past_the_small_limit_is_413_by_its_declared_length(server: Server) -> None:
    body = json.dumps({"username": "x", "password": "p" * 100_000})
    r = httpx.post(
        f"{server.url}/api/v1/auth/login",
        content=body,
        headers={"content-type": "application/json"},
        timeout=30,
    )
    assert r.status_code == 413, r.text
    error = err(r)
    assert error["code"] == "payload_too_large" and "ARCHIVE_MAX_BODY_BYTES" in error["message"]


def test_login_body_past_the_small_limit_is_413_while_streaming(server: Server) -> None:
    """No Content-Length (chunked): counted as it arrives, refused before it is parsed."""
    head = (
        "POST /api/v1/auth/login HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
    )
    status, body = raw_request(
        server, head, [b'{"username": "x", "password": "'] + [b"p" * 16384] * 16
    )
    assert status == 413, body
    assert json.loads(body)["error"]["code"] == "payload_too_large"


def test_a_small_login_body_is_still_read(server: Server) -> None:
    r = httpx.post(
        f"{server.url}/api/v1/auth/login",
        json={"username": "nobody-here", "password": "wrong password"},
        timeout=30,
    )
    assert r.status_code == 401, r.text


def test_form_route_body_past_the_small_limit_is_413(server: Server) -> None:
    r = httpx.post(
        f"{server.url}/login",
        data={"username": "x", "password": "p" * 100_000},
        headers={"origin": server.url},
        timeout=30,
    )
    assert r.status_code == 413, r.text[:500]


def test_json_route_of_a_signed_in_caller_past_the_small_limit_is_413(server: Server) -> None:
    r = httpx.patch(
        f"{server.url}/api/v1/users/bench-admin",
        json={"display_name": "d" * 100_000},
        headers=server.headers,
        timeout=30,
    )
    assert r.status_code == 413, r.text
    assert err(r)["code"] == "payload_too_large"


def test_upload_route_takes_more_than_the_small_limit_up_to_the_upload_limit(
    server: Server,
) -> None:
    """A 200 KiB file passes the body limit (refused later as no PDF: 422), a file past
    ARCHIVE_MAX_UPLOAD_BYTES is a 413 naming that setting."""
    small = httpx.post(
        f"{server.url}/api/v1/contracts",
        files={"file": ("a.pdf", b"x" * 200_000, "application/pdf")},
        headers=server.headers,
        timeout=60,
    )
    assert small.status_code == 422, small.text
    big = httpx.post(
        f"{server.url}/api/v1/contracts",
        files={"file": ("a.pdf", b"x" * (UPLOAD_LIMIT + 100_000), "application/pdf")},
        headers=server.headers,
        timeout=60,
    )
    assert big.status_code == 413, big.text
    assert "ARCHIVE_MAX_UPLOAD_BYTES" in err(big)["message"]


def test_web_upload_route_has_the_upload_limit(server: Server) -> None:
    """The page's upload form is an upload route: past the small limit it is not a 413 (the
    caller has no session here: the gate answers), past the upload limit it is."""
    middle = httpx.post(
        f"{server.url}/upload",
        files={"files": ("a.pdf", b"x" * 200_000, "application/pdf")},
        headers=server.headers,
        timeout=60,
    )
    assert middle.status_code != 413, middle.text[:300]
    big = httpx.post(
        f"{server.url}/upload",
        files={"files": ("a.pdf", b"x" * (UPLOAD_LIMIT + 100_000), "application/pdf")},
        headers=server.headers,
        timeout=60,
    )
    assert big.status_code == 413
