"""`contract-archive ingest` never waits for OCR forever (issue 14), through the installed program.

The wait is bounded (``--wait-seconds``, default ``ARCHIVE_OCR_WAIT_SECONDS``) and ``--no-wait``
skips it; what is still open is listed and the exit status tells the cases apart: 0 ok, 1 a file
rejected or a page failed (with the reason), 2 usage, 3 the wait ran out.

Nothing here depends on how fast tesseract is: a page timeout too short for any OCR makes every
attempt fail for sure; with a backoff of an hour the page is still open (waiting for its first
or its next attempt) when the bound runs out, and with one attempt allowed it ends failed.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from tests.cli_runner import invoke
from tests.test_ocr_poison import PROGRAM, one_page_scan

pytestmark = [pytest.mark.ocr, pytest.mark.slow]


def program(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    """The installed program, as a user runs it (its exit status is the process's)."""
    return subprocess.run([PROGRAM, *args], env=env, capture_output=True, text=True, timeout=300)


def run(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    """The same command in-process (tests/cli_runner.py): the same code and exit status
    without the 2 s of CPU a program start costs; each case below keeps one program run."""
    archive_env = {k: v for k, v in env.items() if k.startswith("ARCHIVE_")}
    return invoke(Path(env["ARCHIVE_DATA_DIR"]), *args, env=archive_env)


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return {
        **os.environ,
        "ARCHIVE_DATA_DIR": str(tmp_path / "var"),
        "ARCHIVE_OCR_PAGE_TIMEOUT_SECONDS": "0.001",  # no page can be read in time
        "ARCHIVE_OCR_RETRY_BACKOFF_SECONDS": "3600",
        "ARCHIVE_OCR_WORKERS": "1",
    }


def json_lines(stdout: str) -> dict[str, dict]:
    lines = [json.loads(line) for line in stdout.splitlines() if line.startswith("{")]
    return {Path(line["file"]).name: line for line in lines}


def test_the_wait_runs_out_lists_what_is_open_and_exits_3(env: dict[str, str], tmp_path: Path):
    scan = one_page_scan(tmp_path / "scan.pdf", "wait")
    done = program(env, "ingest", "--json", "--wait-seconds", "3", str(scan))
    assert done.returncode == 3, done.stderr
    assert "Traceback" not in done.stderr
    line = json_lines(done.stdout)["scan.pdf"]
    assert line["status"] == "archived"
    cid = line["id"]
    assert line["ocr"]["pages_open"] == 1 and line["ocr"]["pages_failed"] == []
    (page,) = line["ocr"]["pages"]
    # waiting for its first attempt (a slow start) or, after it failed, for the next
    assert page["status"] == "queued" and page["attempts"] in (0, 1)
    assert "stopped waiting for OCR after 3 s: 1 page of 1 contract still open" in done.stderr
    assert f"#{cid}" in done.stderr and "scan.pdf  page 1" in done.stderr
    assert f"contract-archive ocr {cid}" in done.stderr

    # the page stayed queued for the server or a worker
    shown = run(env, "ocr", "--json", str(cid))
    assert shown.returncode == 0, shown.stderr
    status = json.loads(shown.stdout)
    assert status["state"] in ("queued", "running") and status["pages"][0]["status"] == "queued"

    # the default bound is the setting
    other = one_page_scan(tmp_path / "other.pdf", "other")
    bounded = run({**env, "ARCHIVE_OCR_WAIT_SECONDS": "2"}, "ingest", str(other))
    assert bounded.returncode == 3, bounded.stderr
    assert "stopped waiting for OCR after 2 s" in bounded.stderr
    assert "other.pdf  page 1" in bounded.stderr


def test_a_page_that_failed_ocr_exits_1_with_the_reason(env: dict[str, str], tmp_path: Path):
    scan = one_page_scan(tmp_path / "scan.pdf", "fail")
    done = program({**env, "ARCHIVE_OCR_MAX_ATTEMPTS": "1"}, "ingest", str(scan))
    assert done.returncode == 1, done.stderr
    assert "Traceback" not in done.stderr
    assert "OCR incomplete: page 1" in done.stdout
    assert "page 1: OCR took longer than ARCHIVE_OCR_PAGE_TIMEOUT_SECONDS" in done.stdout
    assert "contract-archive ocr --retry" in done.stdout
    assert "still open" not in done.stderr

    as_json = run(
        {**env, "ARCHIVE_OCR_MAX_ATTEMPTS": "1"},
        "ingest",
        "--json",
        str(one_page_scan(tmp_path / "second.pdf", "second")),
    )
    assert as_json.returncode == 1, as_json.stderr
    ocr = json_lines(as_json.stdout)["second.pdf"]["ocr"]
    assert ocr["state"] == "incomplete" and ocr["pages_failed"] == [1]
    assert "ARCHIVE_OCR_PAGE_TIMEOUT_SECONDS" in ocr["pages"][0]["error"]

    # a scan and its copy in one batch: a line for each, the scan's after its OCR
    twins = tmp_path / "twins"
    twins.mkdir()
    one_page_scan(twins / "one.pdf", "twins")
    (twins / "two.pdf").write_bytes((twins / "one.pdf").read_bytes())
    both = run({**env, "ARCHIVE_OCR_MAX_ATTEMPTS": "1"}, "ingest", "--json", str(twins))
    assert both.returncode == 1, both.stderr
    lines = json_lines(both.stdout)
    assert set(lines) == {"one.pdf", "two.pdf"}, both.stdout
    assert sorted(line["status"] for line in lines.values()) == ["archived", "duplicate"]

    # `ocr --retry` waits with the same bound: its new first attempt fails, the page waits an
    # hour for the next one, the wait runs out (exit status 3)
    cid = json_lines(as_json.stdout)["second.pdf"]["id"]
    again = run(
        {**env, "ARCHIVE_OCR_MAX_ATTEMPTS": "2", "ARCHIVE_OCR_WAIT_SECONDS": "3"},
        "ocr",
        "--retry",
        str(cid),
    )
    assert again.returncode == 3, again.stderr
    assert f"stopped waiting for OCR after 3 s: #{cid} still open" in again.stderr
    assert "queued" in again.stdout and "Traceback" not in again.stderr


def test_no_wait_leaves_pages_queued_lists_them_and_exits_0(env: dict[str, str], tmp_path: Path):
    scan = one_page_scan(tmp_path / "scan.pdf", "no wait")
    done = program(env, "ingest", "--json", "--no-wait", str(scan))
    assert done.returncode == 0, done.stderr
    line = json_lines(done.stdout)["scan.pdf"]
    assert line["status"] == "archived" and line["pages_needing_ocr"] == [1]
    (page,) = line["ocr"]["pages"]
    assert page["status"] == "queued" and page["attempts"] == 0
    assert "not waiting for OCR (--no-wait): 1 page of 1 contract still open" in done.stderr

    # a scan and its copy in one batch: a line for each (the copy is a duplicate of the scan)
    twins = tmp_path / "twins"
    twins.mkdir()
    one_page_scan(twins / "one.pdf", "twins")
    (twins / "two.pdf").write_bytes((twins / "one.pdf").read_bytes())
    both = run(env, "ingest", "--json", "--no-wait", str(twins))
    assert both.returncode == 0, both.stderr
    lines = json_lines(both.stdout)
    assert set(lines) == {"one.pdf", "two.pdf"}, both.stdout
    assert sorted(line["status"] for line in lines.values()) == ["archived", "duplicate"]

    plain = run(env, "ingest", "--no-wait", str(one_page_scan(tmp_path / "b.pdf", "b")))
    assert plain.returncode == 0, plain.stderr
    assert "archived" in plain.stdout and "pages awaiting OCR: 1" in plain.stdout
    assert "b.pdf  page 1" in plain.stderr


def test_a_negative_wait_is_a_usage_error(env: dict[str, str], tmp_path: Path):
    done = program(env, "ingest", "--wait-seconds", "-1", str(tmp_path))
    assert done.returncode == 2
    assert "--wait-seconds" in done.stderr
