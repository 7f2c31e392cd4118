"""The background worker watches ARCHIVE_WATCH_DIR as the server does (issue 16): the installed
``contract-archive worker`` runs the one watcher of services/watch.py (acting as
ARCHIVE_WATCH_USER, with the ARCHIVE_WATCH_* settings). What is dropped is archived by the
folder rule and placed in archived/ or rejected/ with its reason, a dead watcher's claim is taken
again, a file still being written is taken only once complete (the archived original is the
whole file), stopping with SIGTERM leaves nothing claimed, and a watch user who may not ingest
stops the worker at its start with the reason.

The worker is the installed program as ARCHIVE_USER; creating the users and the run with
``--no-watch`` (what the worker does, not how it starts) are in-process (tests/cli_runner.py).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest

from services.archive import Archive
from tests.cli_runner import invoke
from tests.conftest import corpus_files, make_settings
from tests.test_cli import PROGRAM
from tests.test_watch_server import DEAD_CLAIM, PLACED, cabinet, contracts, files, wait_for

pytestmark = pytest.mark.timeout(600)

ADMIN = {"ARCHIVE_USER": "admin"}


def worker_env(var: Path, inbox: Path, **more: str) -> dict[str, str]:
    return {
        **os.environ,
        "ARCHIVE_DATA_DIR": str(var),
        "ARCHIVE_WATCH_DIR": str(inbox),
        "ARCHIVE_WATCH_INTERVAL_SECONDS": "0.2",
        "ARCHIVE_WATCH_STABLE_SECONDS": "1.0",
        **more,
    }


def test_the_worker_watches_the_folder_as_the_server_does(tmp_path: Path) -> None:
    pdfs = sorted(corpus_files("en-cuad", ".pdf"), key=lambda p: p.stat().st_size)[:6]
    var, inbox = tmp_path / "var", tmp_path / "inbox"
    inbox.mkdir()
    made = invoke(
        var, "users", "create", "clerk", "--role", "archivist", "--no-password", env=ADMIN
    )
    assert made.returncode == 0, made.stderr
    stale = inbox / ".processing" / DEAD_CLAIM / "ACME Ltd" / "lostclaim.pdf"
    stale.parent.mkdir(parents=True)
    shutil.copy(pdfs[4], stale)
    cabinet(inbox, pdfs)
    worker = subprocess.Popen(
        [PROGRAM, "worker", "--no-jobs"],
        env=worker_env(var, inbox, ARCHIVE_USER="admin", ARCHIVE_WATCH_USER="clerk"),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        placed = PLACED

        def settled() -> bool:
            assert worker.poll() is None, worker.communicate()[1]
            return set(files(inbox)) == placed

        assert wait_for(settled, limit=240), files(inbox)
        reason = (inbox / "rejected/ACME Ltd/NOPE/wombat.pdf.reason.txt").read_text()
        assert "'NOPE' is not a code of the classification scheme" in reason

        # A file still being written: a chunk every 0.3 s (less than the 1 s it must stay
        # unchanged), then complete. It is taken only once whole.
        whole = pdfs[5].read_bytes()
        growing = inbox / "ACME Ltd" / "growing.pdf"
        step = len(whole) // 8 + 1
        with open(growing, "wb") as fh:
            for at in range(0, len(whole), step):
                fh.write(whole[at : at + step])
                fh.flush()
                time.sleep(0.3)
                assert growing.exists(), "taken while it was still being written"
        assert wait_for(lambda: (inbox / "archived/ACME Ltd/growing.pdf").exists(), limit=120)
        assert (inbox / "archived/ACME Ltd/growing.pdf").read_bytes() == whole

        # SIGTERM with a file just dropped: archived, or still where it was; never left claimed.
        shutil.copy(pdfs[0], inbox / "late.pdf")  # a duplicate when taken
        (inbox / "late.pdf.done").touch()
        time.sleep(0.3)
        worker.send_signal(signal.SIGTERM)
        _, stderr = worker.communicate(timeout=180)
        assert worker.returncode == 0, stderr
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.wait()
    assert "watching" in stderr and str(inbox) in stderr.replace("\n", "")
    left = files(inbox)
    assert not [f for f in left if f.startswith(".processing")], left
    assert "late.pdf" in left or "archived/late.pdf" in left, left

    watched = contracts(var)
    assert set(watched) == {"zebradrop", "quokkasale", "lostclaim", "growing"}
    assert watched["quokkasale"] == ("ACME Ltd", "XS")
    assert watched["growing"][0] == "ACME Ltd"
    with Archive(make_settings(var), parser_workers=1).open() as archive:
        records = [archive.get(cid) for cid in archive.records.contract_ids()]
        grown = next(r for r in records if r.title == "growing")
        assert grown.sha256 == hashlib.sha256(whole).hexdigest()
        # The watcher acted as ARCHIVE_WATCH_USER, not as the worker's ARCHIVE_USER.
        assert {r.ingested_by for r in records} == {"clerk"}


def test_the_worker_refuses_a_watch_user_who_may_not_ingest(tmp_path: Path) -> None:
    var, inbox = tmp_path / "var", tmp_path / "inbox"
    inbox.mkdir()
    made = invoke(var, "users", "create", "reader", "--role", "legal", "--no-password", env=ADMIN)
    assert made.returncode == 0, made.stderr
    r = subprocess.run(
        [PROGRAM, "worker", "--no-jobs", "--until-idle"],
        env=worker_env(var, inbox, ARCHIVE_USER="admin", ARCHIVE_WATCH_USER="reader"),
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert r.returncode == 2, r.stdout + r.stderr
    assert "ARCHIVE_WATCH_USER may not ingest" in r.stderr
    # --no-watch leaves the folder to the server: the worker runs (and stops when idle).
    wanted = worker_env(var, inbox, ARCHIVE_USER="admin", ARCHIVE_WATCH_USER="reader")
    r = invoke(
        var,
        "worker",
        "--no-jobs",
        "--until-idle",
        "--no-watch",
        env={k: v for k, v in wanted.items() if k.startswith("ARCHIVE_")},
    )
    assert r.returncode == 0, r.stdout + r.stderr
    assert "watching" not in r.stderr
