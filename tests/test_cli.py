"""The command line, run as a user runs it: the installed program, in a subprocess."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx2 as httpx
import pytest

from tests.conftest import CORPUS, corpus_files

PROGRAM = str(Path(sys.executable).parent / "contract-archive")
ZH_DIR = CORPUS / "zh" / "samr-model-contracts"


def run(data_dir: Path, *args: str, env: dict[str, str] | None = None, timeout: float = 300):
    environment = {**os.environ, "ARCHIVE_DATA_DIR": str(data_dir), **(env or {})}
    return subprocess.run(
        [PROGRAM, *args], capture_output=True, text=True, env=environment, timeout=timeout
    )


@pytest.fixture(scope="module")
def loaded(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[dict]]:
    data = tmp_path_factory.mktemp("cli") / "var"
    batch = tmp_path_factory.mktemp("batch")
    shutil.copy(ZH_DIR / "南京市存量房买卖合同.pdf", batch / "南京.pdf")
    shutil.copy(ZH_DIR / "新疆维吾尔自治区汽车买卖合同.pdf", batch / "新疆.PDF")
    (batch / "sub").mkdir()
    shutil.copy(CORPUS / "bad/pypdf-encrypted/r4-user-password.pdf", batch / "sub" / "locked.pdf")
    (batch / "notes.txt").write_text("not a contract")
    r = run(data, "ingest", str(batch), "--json", "--customer", "南京房产")
    assert r.returncode == 1, r.stderr  # one file was rejected
    lines = [json.loads(line) for line in r.stdout.splitlines()]
    return data, lines


def test_ingest_json_lines(loaded) -> None:
    _, lines = loaded
    by_name = {Path(x["file"]).name: x for x in lines}
    # notes.txt is not skipped in silence: it is listed, refused for its format
    assert set(by_name) == {"南京.pdf", "新疆.PDF", "locked.pdf", "notes.txt"}
    assert by_name.pop("notes.txt")["reason"].startswith("unsupported format: ")
    for name in ("南京.pdf", "新疆.PDF"):
        assert by_name[name]["status"] == "archived"
        assert by_name[name]["id"] and len(by_name[name]["sha256"]) == 64
        assert by_name[name]["reason"] is None
    locked = by_name["locked.pdf"]
    assert locked["status"] == "rejected"
    assert locked["reason"] == "encrypted PDF: a password is required"
    for line in lines:
        assert {"file", "status", "id", "sha256", "reason"} <= set(line)


def test_ingest_again_reports_duplicates_and_exit_0(loaded, tmp_path: Path) -> None:
    data, lines = loaded
    one = tmp_path / "again.pdf"
    shutil.copy(ZH_DIR / "南京市存量房买卖合同.pdf", one)
    r = run(data, "ingest", str(one), "--json")
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["status"] == "duplicate"
    assert out["id"] == next(x["id"] for x in lines if x["file"].endswith("南京.pdf"))


def test_ingest_missing_path(loaded) -> None:
    data, _ = loaded
    r = run(data, "ingest", "/no/such/file.pdf")
    assert r.returncode == 1
    assert "does not exist" in r.stderr and "Traceback" not in r.stderr


def test_search_show_text(loaded) -> None:
    data, lines = loaded
    nanjing = next(x for x in lines if x["file"].endswith("南京.pdf"))
    r = run(data, "search", "存量房 违约责任", "--json")
    assert r.returncode == 0, r.stderr
    result = json.loads(r.stdout)
    assert result["total"] == 1
    hit = result["hits"][0]
    assert hit["id"] == nanjing["id"] and hit["title"] == "南京" and hit["score"] > 0
    assert any("<mark>" in s["html"] for s in hit["snippets"])

    human = run(data, "search", "违约责任")
    assert human.returncode == 0 and "2 matching contracts (" in human.stdout, human.stdout
    # English counts of one take the singular (core.plural, the web's rule too)
    one = run(data, "search", "存量房 违约责任")
    assert one.returncode == 0 and "1-1 of 1 matching contract (" in one.stdout, one.stdout

    shown = json.loads(run(data, "show", str(nanjing["id"]), "--json").stdout)
    assert shown["customer"] == "南京房产" and shown["pages"] == 15
    assert {"id", "title", "customer", "sha256", "pages", "created_at"} <= set(shown)

    text = run(data, "text", str(nanjing["id"]))
    assert text.returncode == 0 and text.stdout.count("\f") == 14
    assert "存量房买卖合同" in text.stdout


def test_errors_are_one_line_not_tracebacks(loaded) -> None:
    data, _ = loaded
    r = run(data, "search", '"unclosed')
    assert r.returncode == 1
    assert "error: invalid query" in r.stderr and "Traceback" not in r.stderr
    r = run(data, "show", "99999")
    assert r.returncode == 1 and "contract 99999 does not exist" in r.stderr
    r = run(data, "show", "1", env={"ARCHIVE_MAX_PAGES": "lots"})
    assert r.returncode == 2 and "ARCHIVE_MAX_PAGES" in r.stderr
    r = run(Path("/proc/forbidden"), "show", "1")
    assert r.returncode == 2 and "Traceback" not in r.stderr


def test_reindex(loaded) -> None:
    data, _ = loaded
    before = json.loads(run(data, "search", "合同", "--json").stdout)
    r = run(data, "reindex")
    assert r.returncode == 0 and "reindexed 2 contracts" in r.stdout
    after = json.loads(run(data, "search", "合同", "--json").stdout)
    assert [h["id"] for h in before["hits"]] == [h["id"] for h in after["hits"]]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_serve_answers_uploads_and_searches(tmp_path: Path) -> None:
    port = free_port()
    env = {**os.environ, "ARCHIVE_DATA_DIR": str(tmp_path / "var")}
    # The first command of a fresh archive makes the first admin (one-time password on
    # stderr); the command line acts as that admin and makes an API token for the test.
    made = run(tmp_path / "var", "tokens", "create", "--name", "test")
    assert made.returncode == 0, made.stderr
    assert "First start: an administrator was created." in made.stderr
    auth = {"Authorization": f"Bearer {made.stdout.strip()}"}
    proc = subprocess.Popen(
        [PROGRAM, "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{base}/api/v1/health", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert proc.poll() is None, proc.communicate()[1]
            assert time.monotonic() < deadline, "server did not start"
            time.sleep(0.3)
        pdf = corpus_files("en-cuad", ".pdf")[0]
        with open(pdf, "rb") as fh:
            r = httpx.post(
                f"{base}/api/v1/contracts", files={"file": (pdf.name, fh)}, timeout=60, headers=auth
            )
        assert r.status_code == 201, r.text
        found = httpx.get(f"{base}/api/v1/search", params={"q": "agreement"}, headers=auth).json()
        assert found["total"] == 1
    finally:
        proc.terminate()
        _, stderr = proc.communicate(timeout=30)
    assert f"running at http://127.0.0.1:{port}/" in stderr


def test_counts_of_one_are_singular_in_the_cli_and_on_the_web() -> None:
    """One rule (core.plural) for the command line's messages and the web's English texts:
    "1 page of 1 contract", never "1 pages of 1 contracts"; other numbers keep the plural."""
    from core.plural import count, counted
    from search_api.web.i18n import translate

    assert counted("1 pages of 1 contracts still open") == "1 page of 1 contract still open"
    assert counted("[bold]1[/] matching contracts") == "[bold]1[/] matching contract"
    assert counted("11 pages, 0.1 pages/s, #1 files, 21 contracts, 1/3 attempts") == (
        "11 pages, 0.1 pages/s, #1 files, 21 contracts, 1/3 attempts"
    )
    assert [count(n, "leaves") for n in (0, 1, 2)] == ["0 leaves", "1 leaf", "2 leaves"]
    assert count(1, "OCR pages") == "1 OCR page"
    assert translate("en", "{n} contracts", n=1) == "1 contract"
