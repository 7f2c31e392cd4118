"""`serve` archives uploads in its ingest process (``services.ingest_process``, issue 19).

The installed `contract-archive serve --workers 2`, an API token, real uploads over HTTP: the
file is archived by the niced ingest process (the workers start no parser process), logged with
the caller who uploaded it; when the ingest process is killed in the middle of a file, that
upload gets a 503 saying to retry, a new ingest process takes the next uploads, the retry is
archived and verifies, and no spooled upload is left behind; Ctrl-C ends the whole tree."""

from __future__ import annotations

import os
import signal
import threading
import time
from pathlib import Path
from typing import Any

import httpx2 as httpx
import pytest

from bench.bad_input import text_pages_pdf
from bench.common import Server, descendants
from core.errors import Unavailable
from services.ingest_process import IngestClient


def _stat(pid: int) -> list[str]:
    """The fields of ``/proc/PID/stat`` after the command name (state first), [] when gone."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return []


def _nice(pid: int) -> int | None:
    fields = _stat(pid)
    return int(fields[16]) if fields else None


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def _children(pid: int) -> list[int]:
    return [p for p in descendants(pid) if _parent(p) == pid]


def _parent(pid: int) -> int:
    fields = _stat(pid)
    return int(fields[1]) if fields else -1


def _ingest_process(server: Server, *, not_pid: int | None = None, wait: float = 60) -> int:
    """The server's ingest process: its child at ARCHIVE_UPLOAD_NICE (10) that is no worker."""
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        for pid in _children(server.proc.pid):
            if "spawn_main" in _cmdline(pid) and _nice(pid) == 10 and pid != not_pid:
                return pid
        time.sleep(0.1)
    raise AssertionError(f"no ingest process below the server {server.proc.pid}")


def _upload(http: httpx.Client, name: str, pdf: bytes) -> httpx.Response:
    return http.post(
        "/api/v1/contracts",
        files={"file": (name, pdf, "application/pdf")},
        data={"customer": "Ingest Process Ltd"},
    )


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Any:
    # A data directory deeper than a Unix socket's path may be (108 bytes): the socket is
    # abstract, so the server starts all the same.
    data = tmp_path_factory.mktemp("ingest-process") / ("a-long-folder-name-" * 6) / "var"
    assert len(str(data / "tmp" / "ingest-12345678" / "socket")) > 108
    with Server(data, workers=2) as s:
        yield s


@pytest.mark.slow
def test_an_upload_is_archived_by_the_niced_ingest_process(server: Server) -> None:
    ingest = _ingest_process(server)
    workers = [p for p in _children(server.proc.pid) if "spawn_main" in _cmdline(p) and p != ingest]
    assert len(workers) == 2
    assert all(_nice(p) == 0 for p in workers)
    with httpx.Client(base_url=server.url, headers=server.headers, timeout=120) as http:
        r = _upload(http, "first.pdf", text_pages_pdf(3, f"ingest process {time.time()}"))
        assert r.status_code == 201, r.text
        contract = r.json()["contract"]
        assert contract["customer"] == "Ingest Process Ltd"
        found = http.get("/api/v1/search", params={"q": '"ingest process"'}).json()
        assert contract["id"] in [h["id"] for h in found["hits"]]
        log = http.get(
            "/api/v1/access-log", params={"action": "contract.ingest", "limit": 5}
        ).json()
        mine = [e for e in log["items"] if e["contract_id"] == contract["id"]]
        # Logged by the ingest process with the caller of the worker: who, through what, from where.
        assert [(e["actor"], e["ip"], e["outcome"]) for e in mine] == [
            ("bench-admin", "127.0.0.1", "ok")
        ]
        prefix = mine[0]["via"].removeprefix("token:")  # the token's public prefix
        assert prefix and server.headers["Authorization"].startswith(f"Bearer {prefix}")
    # The file was read by the ingest process's parser processes, not by the workers'.
    assert descendants(ingest), "the ingest process started no parser process"
    assert all(descendants(p) == [] for p in workers)


@pytest.mark.slow
def test_a_killed_ingest_process_fails_its_upload_with_503_and_is_replaced(
    server: Server,
) -> None:
    ingest = _ingest_process(server)
    tmp = server.data_dir / "tmp"
    big = text_pages_pdf(300, f"killed in the middle {time.time()}")
    answer: dict[str, httpx.Response] = {}

    def send() -> None:
        with httpx.Client(base_url=server.url, headers=server.headers, timeout=300) as http:
            answer["r"] = _upload(http, "big.pdf", big)

    thread = threading.Thread(target=send)
    thread.start()
    # Kill it while it holds the spooled upload open: in the middle of archiving that file.
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and thread.is_alive():
        held = []
        for fd in Path(f"/proc/{ingest}/fd").iterdir():
            try:
                held.append(os.readlink(fd))
            except OSError:
                continue
        if any(Path(h).name.startswith("upload-") for h in held):
            break
        time.sleep(0.01)
    else:
        raise AssertionError("the ingest process never opened the upload")
    os.kill(ingest, signal.SIGKILL)
    thread.join(120)
    r = answer["r"]
    assert r.status_code == 503, r.text
    error = r.json()["error"]
    assert "ingest process ended" in error["message"]
    assert "retry the upload" in error["hint"]

    replaced = _ingest_process(server, not_pid=ingest)
    assert replaced != ingest
    with httpx.Client(base_url=server.url, headers=server.headers, timeout=300) as http:
        again = _upload(http, "big.pdf", big)
        assert again.status_code in (200, 201), again.text  # archived, or its duplicate
        contract_id = again.json()["id"]
        report = http.get(f"/api/v1/contracts/{contract_id}/verification").json()
        assert report["overall"] == "PASSED", report
    assert not list(tmp.glob("upload-*")), "a spooled upload was left behind"


@pytest.mark.slow
def test_ctrl_c_ends_the_whole_server_tree(tmp_path: Path) -> None:
    with Server(tmp_path / "var", workers=2) as s:
        _ingest_process(s)
        with httpx.Client(base_url=s.url, headers=s.headers, timeout=120) as http:
            r = _upload(http, "one.pdf", text_pages_pdf(2, f"ctrl-c {time.time()}"))
            assert r.status_code == 201, r.text
        tree = descendants(s.proc.pid)  # with the ingest process's parser processes
        assert len(tree) >= 6, [_cmdline(p) for p in tree]
        os.killpg(s.proc.pid, signal.SIGINT)  # what a terminal's Ctrl-C sends
        s.proc.wait(60)
        deadline = time.monotonic() + 60
        alive = tree
        while alive and time.monotonic() < deadline:
            alive = [p for p in tree if _running(p)]
            time.sleep(0.2)
        assert alive == [], [_cmdline(p) for p in alive]
        assert not list((tmp_path / "var" / "tmp").glob("ingest-*")), "its socket was left"


def _running(pid: int) -> bool:
    """Still there and not a zombie (a process that ended and waits for its parent to reap)."""
    fields = _stat(pid)
    return bool(fields) and fields[0] != "Z"


def test_an_upload_that_cannot_be_spooled_is_a_clear_error(tmp_path: Path) -> None:
    """The worker keeps the upload in the data directory's tmp for the ingest process: when it
    cannot (the folder gone, the disk full), the caller gets the reason, not a 500."""
    import io

    from core.roles import Caller, Role
    from ingest.context import IngestRequest

    client = IngestClient("\0no-such-ingest-process", b"k" * 32, tmp_path / "missing")
    caller = Caller(1, "alice", frozenset({Role.ADMIN}), frozenset(), via="token")
    with pytest.raises(Unavailable) as err:
        client.ingest(caller, IngestRequest(filename="a.pdf"), io.BytesIO(b"%PDF-1.7"))
    assert err.value.message.startswith("the upload could not be kept for archiving: ")
    assert "nothing was archived" in (err.value.hint or "")
