"""Issue 20: what a security review of the running server found, each over HTTP against a real
`contract-archive serve` process (``bench.common.Server``): body limits per route class, the
log-in limit under parallel attempts, proxy headers, nested queries; and the private data
directory. The ASVS pass that names these tests is docs/security.md."""

from __future__ import annotations

import json
import os
import socket
import stat
import subprocess
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx2 as httpx
import pytest

from bench.common import Server, bench_env
from tests.cli_runner import invoke

UPLOAD_LIMIT = 1024 * 1024
SERVER_ENV = {
    "ARCHIVE_OCR_BACKGROUND": "false",
    "ARCHIVE_MAX_UPLOAD_BYTES": str(UPLOAD_LIMIT),
    "ARCHIVE_LOGIN_MAX_FAILURES": "5",
    "ARCHIVE_LOGIN_MAX_FAILURES_PER_IP": "1000",
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


def make_user(server: Server, name: str, roles: tuple[str, ...] = ("archivist",)) -> str:
    """A user with a one-time password (enough to log in), made by the bench admin."""
    r = httpx.post(
        f"{server.url}/api/v1/users",
        json={"username": name, "roles": list(roles)},
        headers=server.headers,
        timeout=30,
    )
    assert r.status_code == 201, r.text
    password: str = r.json()["one_time_password"]
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


# --- log-in attempts -----------------------------------------------------------------------------
def log_entries(server: Server, **params: str) -> list[dict[str, Any]]:
    r = httpx.get(
        f"{server.url}/api/v1/access-log",
        params={"limit": "1000", **params},
        headers=server.headers,
        timeout=30,
    )
    assert r.status_code == 200, r.text
    items: list[dict[str, Any]] = r.json()["items"]
    return items


def test_thirty_parallel_wrong_passwords_for_one_user_get_429s(server: Server) -> None:
    """Attempts count from the moment they start: at most ARCHIVE_LOGIN_MAX_FAILURES (5) of
    30 simultaneous wrong passwords reach argon2; the others are 429 with Retry-After."""
    make_user(server, "parallel-target")

    def attempt(_: int) -> httpx.Response:
        return httpx.post(
            f"{server.url}/api/v1/auth/login",
            json={"username": "parallel-target", "password": "not the password"},
            timeout=120,
        )

    with ThreadPoolExecutor(30) as pool:
        answers = list(pool.map(attempt, range(30)))
    statuses = sorted(a.status_code for a in answers)
    assert set(statuses) <= {401, 429}, statuses
    assert statuses.count(401) <= 5, statuses
    assert statuses.count(429) >= 25, statuses
    refused = next(a for a in answers if a.status_code == 429)
    assert int(refused.headers["retry-after"]) >= 1
    assert err(refused)["code"] == "too_many_attempts"
    failed = log_entries(server, user="parallel-target", action="auth.login", outcome="failed")
    assert len(failed) == statuses.count(401)


# --- nested queries --------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("name", "query"),
    [
        ("parentheses", "(" * 400 + "a" + ")" * 400),
        ("minus signs", "-" * 1500 + "a"),
        ("40 parentheses", "(" * 40 + "a" + ")" * 40),
    ],
)
def test_deeply_nested_queries_are_a_query_error_and_logged(
    server: Server, name: str, query: str
) -> None:
    r = httpx.get(
        f"{server.url}/api/v1/search", params={"q": query}, headers=server.headers, timeout=60
    )
    assert r.status_code == 400, r.text[:300]
    error = err(r)
    assert error["code"] == "invalid_query", error
    assert "deep" in error["message"] or "operators" in error["message"], error
    logged = [e for e in log_entries(server, action="search") if e["details"]["query"] == query]
    assert [e["outcome"] for e in logged] == ["invalid"], logged


def test_a_query_with_too_many_operators_is_a_query_error(server: Server) -> None:
    query = " ".join(f"-a{i}" for i in range(300))
    r = httpx.get(
        f"{server.url}/api/v1/search", params={"q": query}, headers=server.headers, timeout=60
    )
    assert r.status_code == 400 and err(r)["code"] == "invalid_query", r.text[:300]


# --- proxy headers -------------------------------------------------------------------------------
def test_a_spoofed_forwarded_for_from_loopback_is_not_believed(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    """No ARCHIVE_TRUSTED_PROXIES: X-Forwarded-For from 127.0.0.1 changes neither the address
    the per-address limit counts (3 here) nor the one the access log records."""
    base = tmp_path_factory.mktemp("proxy")
    env = {**SERVER_ENV, "ARCHIVE_LOGIN_MAX_FAILURES_PER_IP": "3"}
    with Server(base / "data", extra_env=env) as server:
        answers = []
        for n in range(4):
            answers.append(
                httpx.post(
                    f"{server.url}/api/v1/auth/login",
                    json={"username": f"someone-{n}", "password": "wrong password"},
                    headers={"x-forwarded-for": f"203.0.113.{n + 1}"},
                    timeout=60,
                )
            )
        assert [a.status_code for a in answers] == [401, 401, 401, 429]
        entries = log_entries(server, action="auth.login")
        assert entries and {e["ip"] for e in entries} == {"127.0.0.1"}, entries
        assert "server" not in answers[0].headers


def test_proxy_headers_are_believed_only_from_the_named_proxies() -> None:
    from contract_archive.cli.admin import proxy_options
    from core.errors import ConfigurationError
    from core.settings import load_settings

    assert proxy_options(load_settings()) == {"proxy_headers": False, "forwarded_allow_ips": []}
    named = load_settings(trusted_proxies=" 10.0.0.5, 192.168.0.0/24")
    assert proxy_options(named) == {
        "proxy_headers": True,
        "forwarded_allow_ips": ["10.0.0.5", "192.168.0.0/24"],
    }
    for bad in ("*", "proxy.example"):
        with pytest.raises(ConfigurationError, match="ARCHIVE_TRUSTED_PROXIES"):
            load_settings(trusted_proxies=bad)


# --- the first administrator's password ------------------------------------------------------------
def test_the_first_password_goes_to_a_private_file_not_to_the_server_log(server: Server) -> None:
    """`serve` with standard error not a terminal (as under docker or systemd)."""
    written = server.data_dir / "first-admin-password"
    assert stat.S_IMODE(written.stat().st_mode) == 0o600
    password = written.read_text().strip()
    assert len(password) >= 16
    output = server.log.read_text()
    assert "First start" in output and str(written) in " ".join(output.split())
    assert password not in output
    r = httpx.post(
        f"{server.url}/api/v1/auth/login",
        json={"username": "admin", "password": password},
        timeout=60,
    )
    assert r.status_code == 200 and r.json()["user"]["must_change_password"] is True, r.text


def test_the_first_password_can_come_from_a_file(tmp_path: Path) -> None:
    from core.roles import Client
    from core.settings import load_settings
    from services.access.service import AccessControl
    from services.archive import Archive

    """In-process (tests/cli_runner.py): the subject is what the first command does with the
    file; the installed program's first start is run in tests/test_access_cli.py."""
    secret = tmp_path / "admin-secret"
    secret.write_text("a chosen admin passphrase 7\n")
    data = tmp_path / "var"
    done = invoke(data, "users", "list", env={"ARCHIVE_ADMIN_PASSWORD_FILE": str(secret)})
    assert done.returncode == 0, done.stderr
    assert "ARCHIVE_ADMIN_PASSWORD_FILE" in done.stderr
    assert "chosen" not in done.stderr + done.stdout
    assert not (data / "first-admin-password").exists()
    with Archive(load_settings(data_dir=data), parser_workers=1).open() as archive:
        result = AccessControl.for_archive(archive).login(
            "admin", "a chosen admin passphrase 7", Client(ip="127.0.0.1", user_agent="t")
        )
        assert result.caller.username == "admin" and result.caller.must_change_password
    weak = tmp_path / "weak"
    weak.write_text("short\n")
    refused = invoke(
        tmp_path / "other", "users", "list", env={"ARCHIVE_ADMIN_PASSWORD_FILE": str(weak)}
    )
    said = " ".join(refused.stderr.split())
    assert refused.returncode != 0 and "ARCHIVE_ADMIN_PASSWORD_FILE" in said, said
    assert "Traceback" not in said


# --- a private data directory ------------------------------------------------------------------
PROGRAM = str(Path(sys.executable).parent / "contract-archive")


def cli(
    data_dir: Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    env = {**bench_env(data_dir), "ARCHIVE_LOG_LEVEL": "warning", **(env or {})}
    return subprocess.run([PROGRAM, *args], capture_output=True, text=True, env=env, timeout=300)


def modes(data_dir: Path) -> dict[str, int]:
    found = {}
    for path in [data_dir, *data_dir.rglob("*")]:
        if not path.is_symlink():
            found[str(path.relative_to(data_dir))] = stat.S_IMODE(path.lstat().st_mode)
    return found


def one_pdf() -> Path:
    from tests.conftest import corpus_files

    return next(p for p in corpus_files("en-cuad", ".pdf") if "JOINT FILING" in p.name)


def test_what_the_server_stores_is_private_to_its_user(server: Server) -> None:
    """Folders 0700, objects 0400, every other file (the SQLite database) 0600 at most."""
    r = httpx.post(
        f"{server.url}/api/v1/contracts",
        files={"file": ("a.pdf", one_pdf().read_bytes(), "application/pdf")},
        headers=server.headers,
        timeout=120,
    )
    assert r.status_code in (200, 201, 202), r.text
    found = modes(server.data_dir)
    assert found["."] == 0o700 and found["archive.db"] == 0o600
    objects = {k: v for k, v in found.items() if k.startswith("objects/") and "/." not in k}
    files = [k for k in objects if (server.data_dir / k).is_file()]
    assert files and all(objects[k] == 0o400 for k in files), objects
    wide = {k: oct(v) for k, v in found.items() if v & 0o077}
    assert not wide, wide


@pytest.mark.slow
def test_doctor_reports_and_repairs_wider_permissions(tmp_path: Path) -> None:
    """In-process (tests/cli_runner.py): the subject is what doctor finds and repairs; the
    installed program's doctor is run in tests/test_doctor.py, its ingest in tests/test_cli.py."""
    data = tmp_path / "var"
    done = invoke(data, "ingest", str(one_pdf()))
    assert done.returncode == 0, done.stderr
    obj = next(p for p in (data / "objects").rglob("*") if p.is_file() and "/." not in str(p))
    os.chmod(data, 0o755)
    os.chmod(data / "archive.db", 0o644)
    os.chmod(obj, 0o444)
    report = invoke(data, "doctor", "--json")
    assert report.returncode != 0
    findings = json.loads(report.stdout)["findings"]
    wide = {f["subject"] for f in findings if f["code"] == "wide_permissions"}
    assert {str(data), str(data / "archive.db"), str(obj)} <= wide, findings
    repaired = invoke(data, "doctor", "--repair", "--json")
    assert repaired.returncode == 0, repaired.stdout + repaired.stderr
    assert stat.S_IMODE(data.stat().st_mode) == 0o700
    assert stat.S_IMODE((data / "archive.db").stat().st_mode) == 0o600
    assert stat.S_IMODE(obj.stat().st_mode) == 0o400
    again = json.loads(invoke(data, "doctor", "--json").stdout)["findings"]
    assert not [f for f in again if f["code"] == "wide_permissions"]


def test_start_refuses_a_data_dir_other_users_can_write(tmp_path: Path) -> None:
    """In-process (tests/cli_runner.py): the subject is the check before the server starts;
    the installed program's `serve` runs in tests/test_cli.py."""
    data = tmp_path / "var"
    data.mkdir()
    os.chmod(data, 0o777)
    done = invoke(data, "serve", "--port", "1")
    assert done.returncode != 0
    said = " ".join(done.stderr.split())
    assert "writable by other users" in said and "chmod 700" in said, said
    assert "Traceback" not in said
    assert not (data / "archive.db").exists()


def test_password_checks_beyond_the_bound_are_refused_with_retry_after() -> None:
    """ARCHIVE_LOGIN_MAX_CONCURRENT checks run at once; one more waits a second, then 429."""
    from core.access_errors import TooManyAttempts
    from services.access.throttle import bounded_verification, verifications

    with bounded_verification(7), bounded_verification(7):
        for _ in range(5):
            verifications(7).acquire()
        try:
            with pytest.raises(TooManyAttempts) as refused, bounded_verification(7):
                pass
        finally:
            for _ in range(5):
                verifications(7).release()
    assert refused.value.http_status == 429 and refused.value.headers["Retry-After"] == "1"
    with bounded_verification(7):  # free again
        pass


# --- amounts ------------------------------------------------------------------------------------
HUGE = "1" * 29
HUGE_TEXTS = [
    f"合同总价：人民币 {HUGE} 元整。",
    f"Total contract price: USD {HUGE}.00 payable on signing.",
    f"The purchase price is US$ {'999,' * 12}999 million.",
    "合同金额：人民币（大写）" + "玖" * 30 + "元整",
    "合同金额：人民币（大写）壹亿亿亿亿元整",
]


@pytest.mark.parametrize("text", HUGE_TEXTS)
def test_an_amount_past_the_money_column_gives_no_suggestion(text: str) -> None:
    from ingest.extraction import extract_terms

    extraction = extract_terms([text, "这是一份合同。 This is a contract."])
    assert not [f for f in extraction.found if f.field == "amount"], extraction.found


def test_the_largest_amount_is_still_found() -> None:
    from decimal import Decimal

    from ingest.extraction import extract_terms

    found = extract_terms(["合同总价：人民币 99,999,999,999,999.99 元。"]).best("amount")
    assert found is not None and Decimal(found.value["amount"]) == Decimal("99999999999999.99")


def test_re_extraction_after_ocr_survives_a_huge_amount(tmp_path: Path) -> None:
    """The re-extraction that runs when OCR adds text had no guard: a 29-digit figure was a
    decimal.InvalidOperation out of the OCR job."""
    from services.archive import Archive
    from tests.conftest import make_settings

    with Archive(make_settings(tmp_path / "var"), parser_workers=1).open() as archive:
        result = archive.ingest_path(one_pdf())
        assert result.id is not None
        record = archive.get(result.id)
        archive.page_texts = lambda _record: HUGE_TEXTS  # type: ignore[method-assign]
        archive.contracts.reextract(record.id)  # no exception
        amounts = [
            s for s in archive.records.list_suggestions(record.id, states=()) if s.field == "amount"
        ]
        assert not amounts


def test_parser_processes_yield_the_cores_and_share_them_among_workers() -> None:
    """Issue 19: the parser processes run niced (ARCHIVE_PARSER_NICE), so that an upload's
    parsing yields to searches, and the server's workers share the cores as parser processes."""
    from ingest.isolation import WorkerPool, default_workers

    pool = WorkerPool(1, timeout=120, memory_limit=0, nice=5)
    try:
        assert pool.run(os.nice, 0) == min(19, os.nice(0) + 5)
    finally:
        pool.close()
    cores = os.cpu_count() or 1
    assert default_workers() == max(1, min(4, cores))
    assert default_workers(sharing=2) == max(1, min(4, cores // 2))
    assert default_workers(sharing=cores * 4) == 1
