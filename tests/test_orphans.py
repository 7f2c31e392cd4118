"""No orphans (issue 14): after SIGKILL of `contract-archive ingest` or `contract-archive serve`
in the middle of OCR, no process it started (the forkserver, parser and OCR workers, tesseract)
survives more than 5 s.

The processes are found through /proc by a marker in their environment, which every process the
command starts inherits (the forkserver, the workers it forks, the tesseract processes the
workers run). Before, the forkserver and its workers lived on, reparented to init, holding the
command's pipes; tesseract ran its page to the end.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx2 as httpx
import pytest

from tests.servers import start_serve, stop_serve
from tests.test_ocr_pipeline import SCAN_ZH
from tests.test_ocr_poison import PROGRAM

pytestmark = [pytest.mark.slow, pytest.mark.ocr]
MARKER = "ARCHIVE_TEST_PROCESS_MARKER"
BOUND = 15.0
"""Seconds a process below a killed one may outlive it: the forkserver notices its parent's death
and then gives its cleanup up to 10 s (``ingest.forkserver_watchdog.kill_everything_below``),
which a niced forkserver needs on a loaded machine (5 s here failed once at load average 10)."""


def marked(value: str) -> dict[int, tuple[int, str]]:
    """Live (not zombie) processes whose environment carries the marker: pid -> (parent pid,
    command)."""
    needle = f"{MARKER}={value}".encode()
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if needle not in (entry / "environ").read_bytes().split(b"\0"):
                continue
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            if fields[0] in ("Z", "X"):
                continue
            cmd = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:  # gone meanwhile, or not ours to read
            continue
        found[int(entry.name)] = (int(fields[1]), cmd.strip())
    return found


def slow_scans(directory: Path, count: int) -> None:
    """Scans of one big page each: the corpus scan's three pages side by side at 300 dpi, so
    that tesseract is still reading a page some seconds after it started (a page it finished
    before the kill would hide a tesseract that outlives its worker)."""
    import pypdfium2 as pdfium
    from PIL import Image, ImageDraw

    doc = pdfium.PdfDocument(str(SCAN_ZH))
    pages = [doc[i].render(scale=300 / 72).to_pil().convert("L") for i in range(len(doc))]
    doc.close()
    width, height = pages[0].size
    big = Image.new("L", (width * 2, height * 2), 255)
    for k, page in enumerate(pages[:4]):
        big.paste(page, ((k % 2) * width, (k // 2) * height))
    for n in range(count):
        copy = big.copy()
        ImageDraw.Draw(copy).rectangle([40, 40 + 30 * n, 60, 60 + 30 * n], fill=0)  # unique
        copy.save(directory / f"scan-{n}.pdf", "PDF", resolution=300)


def wait_for(condition, limit: float, step: float = 0.05):
    deadline = time.monotonic() + limit
    while True:
        value = condition()
        if value or time.monotonic() >= deadline:
            return value
        time.sleep(step)


def kill_mid_ocr_and_check(cli: subprocess.Popen[bytes], value: str) -> None:
    """Wait until a tesseract of the command reads a page, SIGKILL the command, and check that
    every process it started is gone within the bound; kill what is left whatever happened."""
    try:
        # mid-OCR: a tesseract process run by an OCR worker (not the command's own check of
        # the tesseract installation) is reading a page
        running = wait_for(
            lambda: [
                pid
                for pid, (parent, cmd) in marked(value).items()
                if cmd.startswith("tesseract") and parent != cli.pid
            ],
            limit=180,
            step=0.02,
        )
        assert running, f"no tesseract was started: {marked(value)}"
        assert cli.poll() is None, "ingest ended before it could be killed"
        family = marked(value)
        assert cli.pid in family and len(family) >= 4, family  # itself, forkserver, workers...
        killed = time.monotonic()
        os.kill(cli.pid, signal.SIGKILL)
        cli.wait(timeout=10)
        all_gone = wait_for(lambda: not marked(value), limit=BOUND)
        assert all_gone, f"still running {BOUND:g} s after SIGKILL: {marked(value)}"
        print(  # the README's figure (pytest -s)
            f"\n{len(family)} processes, all gone {time.monotonic() - killed:.2f} s after SIGKILL"
        )
    finally:
        if cli.poll() is None:
            cli.kill()
            cli.wait()
        for pid in marked(value):  # leave nothing behind, whatever happened
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass


def test_sigkill_of_ingest_mid_ocr_leaves_no_process_behind(tmp_path: Path) -> None:
    scans = tmp_path / "scans"
    scans.mkdir()
    slow_scans(scans, 4)
    value = secrets.token_hex(8)
    env = {
        **os.environ,
        "ARCHIVE_DATA_DIR": str(tmp_path / "var"),
        "ARCHIVE_OCR_WORKERS": "2",
        MARKER: value,
    }
    cli = subprocess.Popen(
        [PROGRAM, "ingest", "--json", str(scans)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    kill_mid_ocr_and_check(cli, value)


def test_sigkill_of_serve_mid_ocr_leaves_no_process_behind(tmp_path: Path) -> None:
    scans = tmp_path / "scans"
    scans.mkdir()
    slow_scans(scans, 3)
    value = secrets.token_hex(8)
    env = {
        **os.environ,
        "ARCHIVE_DATA_DIR": str(tmp_path / "var"),
        "ARCHIVE_OCR_WORKERS": "2",
        MARKER: value,
    }
    served = start_serve(PROGRAM, env, token="orphans")
    server, base, auth = served.process, served.base, served.auth
    try:
        for scan in sorted(scans.iterdir()):
            with open(scan, "rb") as fh:
                r = httpx.post(
                    f"{base}/api/v1/contracts",
                    files={"file": (scan.name, fh)},
                    headers=auth,
                    timeout=120,
                )
            assert r.status_code == 202, r.text  # archived, OCR in the background
    except BaseException:
        stop_serve(server, grace=0)
        raise
    kill_mid_ocr_and_check(server, value)


PARENT = """
import os, sys
from ingest.isolation import WorkerPool
pool = WorkerPool(1, timeout=60, memory_limit=0)
# a program a worker's program started: no death signal of its own (it is not inherited
# across fork), in a session of its own, as LibreOffice's helpers would be
pid = pool.run(os.posix_spawnp, "sleep", ["sleep", "300"], dict(os.environ), setsid=True)
print(pid, flush=True)
sys.stdin.read()  # until killed
"""


def test_sigkill_leaves_nothing_that_a_workers_program_started(tmp_path: Path) -> None:
    """The forkserver is a subreaper and kills what is left below it when it ends: a process
    started by a worker's program (which the kernel's death signal does not reach) does not
    outlive the SIGKILL of the process that started the pool. Before, it lived on, reparented
    to init."""
    value = secrets.token_hex(8)
    parent = subprocess.Popen(
        [sys.executable, "-c", PARENT],
        env={**os.environ, MARKER: value},
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        cwd=Path(__file__).resolve().parents[1],
    )
    try:
        assert parent.stdout is not None
        line = parent.stdout.readline().decode().strip()
        assert line.isdigit(), line
        sleeper = int(line)
        assert sleeper in marked(value)
        os.kill(parent.pid, signal.SIGKILL)
        parent.wait(timeout=10)
        all_gone = wait_for(lambda: not marked(value), limit=BOUND)
        assert all_gone, f"still running {BOUND:g} s after SIGKILL: {marked(value)}"
    finally:
        if parent.poll() is None:
            parent.kill()
            parent.wait()
        for pid in marked(value):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
