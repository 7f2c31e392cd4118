"""bench.scaleout stops every server, process and database it started when it is told to stop.

The benchmark starts SeaweedFS, osmem-server, a PostgreSQL database and a child archive process;
a SIGTERM (or Ctrl-C) while the child works must leave none of them behind."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bench.common import ROOT, descendants
from tests.conftest import POSTGRES_URL

pytestmark = [pytest.mark.s3, pytest.mark.opensearch, pytest.mark.postgres, pytest.mark.slow]


def cmdline(pid: int) -> list[str]:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace").split("\0")
    except OSError:
        return []


def alive(pid: int, cmd: list[str]) -> bool:
    """The same process still runs (not a zombie, not a new process on a reused pid)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z" and cmdline(pid) == cmd


def test_bench_arguments_are_checked() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "bench.scaleout", "--docs", "0"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2
    assert "--docs and --queries must be at least 1" in done.stderr
    assert "Traceback" not in done.stderr


def test_sigterm_leaves_no_server_process_directory_or_database(tmp_path: Path) -> None:
    if not POSTGRES_URL:
        pytest.skip("needs ARCHIVE_TEST_POSTGRES_URL")
    import psycopg

    env = {k: v for k, v in os.environ.items() if not k.startswith("ARCHIVE_")}
    env["TMPDIR"] = str(tmp_path)
    bench = subprocess.Popen(
        [sys.executable, "-m", "bench.scaleout", "--only", "scaleout", "--no-ocr",
         "--docs", "20", "--queries", "2", "--postgres-url", POSTGRES_URL],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )  # fmt: skip
    seen: dict[int, list[str]] = {}
    database = None
    try:
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline and bench.poll() is None:
            for pid in descendants(bench.pid):
                seen.setdefault(pid, cmdline(pid))
            child = [c for c in seen.values() if "--config" in c]
            if child and any("weed" in Path(c[0]).name for c in seen.values() if c):
                database = child[0][child[0].index("--pg-db") + 1]
                time.sleep(2)  # the child is at work: opening the archive, ingesting
                for pid in descendants(bench.pid):
                    seen.setdefault(pid, cmdline(pid))
                break
            time.sleep(0.2)
        assert database, "the scale-out child did not start in 240 s"
        bench.send_signal(signal.SIGTERM)
        out = bench.communicate(timeout=120)[0].decode(errors="replace")
    finally:
        if bench.poll() is None:
            bench.kill()
            bench.wait()
    assert bench.returncode == 130, out
    assert "interrupted: stopping the servers" in out
    names = {Path(c[0]).name for c in seen.values() if c}
    assert {"weed", "osmem-server"} <= names, names
    time.sleep(1)
    assert [pid for pid, cmd in seen.items() if alive(pid, cmd)] == []
    assert list(tmp_path.iterdir()) == []  # the bench's temporary directory
    weed_dirs = [a.split("=", 1)[1] for c in seen.values() for a in c if a.startswith("-dir=")]
    assert weed_dirs and not any(Path(d).exists() for d in weed_dirs), out
    dsn = POSTGRES_URL.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(dsn) as conn:
        found = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (database,)).fetchall()
    assert found == []
