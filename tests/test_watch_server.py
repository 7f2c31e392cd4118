"""The server's watched folder (issue 16): a real ``contract-archive serve`` with
ARCHIVE_WATCH_DIR archives what is dropped (found by search through the API with a token), a
file in CUSTOMER/CODE/ gets the customer and the classification, an unknown code and a code
where the customer belongs are rejected with their reason file, a claim left by a watcher that
died is taken again, and shutting the server down leaves no claimed file behind. ``ingest
FOLDER`` of the same cabinet gives the same contracts (``--no-folder-rule``: folders say
nothing). A watched folder that is missing stops ``serve`` with the reason, and ``doctor``
reports it and repairs a dead watcher's claim.

``serve`` is the installed program as ARCHIVE_USER (the watcher is its subject); the token, the
two ``ingest FOLDER`` runs and ``doctor`` run in-process (tests/cli_runner.py: the same Typer
app without the program's 2 s of CPU at start; their own program runs are in tests/test_cli.py,
tests/test_background_jobs.py and others).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path, PurePath
from typing import Any

import httpx2 as httpx
import pytest

from services.archive import Archive
from services.watch import folder_rule
from storage.maintenance import host_id
from tests.cli_runner import invoke
from tests.conftest import corpus_files, make_settings
from tests.servers import free_ports
from tests.test_cli import PROGRAM, run

pytestmark = pytest.mark.timeout(900)

ADMIN = {"ARCHIVE_USER": "admin", "ARCHIVE_OCR_BACKGROUND": "false"}
DEAD_CLAIM = f"{host_id()}-999999-1"  # a pid no process has


def wait_for(check: Callable[[], Any], limit: float = 180, step: float = 0.3) -> Any:
    """Poll ``check`` until it returns something true (and return it); None after ``limit``
    seconds (a generous bound for a loaded machine, not a measurement)."""
    end = time.monotonic() + limit
    while time.monotonic() < end:
        got = check()
        if got:
            return got
        time.sleep(step)
    return None


@pytest.fixture(scope="module")
def pdfs() -> list[Path]:
    """Five small text PDFs of the corpus (different bytes: no duplicates)."""
    return sorted(corpus_files("en-cuad", ".pdf"), key=lambda p: p.stat().st_size)[:5]


def cabinet(folder: Path, pdfs: list[Path]) -> None:
    """A file at the top, one in CUSTOMER/CODE/ (deeper), one under an unknown code, one in a
    top-level folder named like a code."""
    for relative, pdf in (
        ("zebradrop.pdf", pdfs[0]),
        ("ACME Ltd/xs/2026/quokkasale.pdf", pdfs[1]),
        ("ACME Ltd/NOPE/wombat.pdf", pdfs[2]),
        ("CG/narwhal.pdf", pdfs[3]),
    ):
        (folder / relative).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(pdf, folder / relative)


PLACED = {
    "archived/zebradrop.pdf",
    "archived/ACME Ltd/xs/2026/quokkasale.pdf",
    "archived/ACME Ltd/lostclaim.pdf",
    "rejected/ACME Ltd/NOPE/wombat.pdf",
    "rejected/ACME Ltd/NOPE/wombat.pdf.reason.txt",
    "rejected/CG/narwhal.pdf",
    "rejected/CG/narwhal.pdf.reason.txt",
}
"""Where the cabinet's files end (with the stale claim of a dead watcher, lostclaim.pdf)."""


def contracts(var: Path) -> dict[str, tuple[str | None, str | None]]:
    """Title → customer and classification (the record's: given, or else derived from the
    terms the archive extracted, the same for the same bytes)."""
    with Archive(make_settings(var), parser_workers=1).open() as archive:
        return {
            r.title: (r.customer, r.classification)
            for r in (archive.get(cid) for cid in archive.records.contract_ids())
        }


def files(folder: Path) -> list[str]:
    """The files under ``folder``, relative to it. Listed while a watcher moves them: a claim
    folder that goes between being listed and being read is skipped (``Path.rglob`` raised
    FileNotFoundError then, and failed the test on a loaded machine)."""
    found = []
    for top, _dirs, names in os.walk(folder):  # errors (a folder gone) are ignored
        found += [str((Path(top) / name).relative_to(folder)) for name in names]
    return sorted(found)


def test_the_server_watches_a_folder_by_the_folder_rule_and_ingest_gives_the_same(
    tmp_path: Path, pdfs: list[Path]
) -> None:
    var, inbox = tmp_path / "var", tmp_path / "inbox"
    inbox.mkdir()
    made = invoke(var, "tokens", "create", "--name", "watch-test", env=ADMIN)
    assert made.returncode == 0, made.stderr
    auth = {"Authorization": f"Bearer {made.stdout.strip()}"}
    # A claim of a watcher that died (on this host) before the server starts: taken again.
    stale = inbox / ".processing" / DEAD_CLAIM / "ACME Ltd" / "lostclaim.pdf"
    stale.parent.mkdir(parents=True)
    shutil.copy(pdfs[4], stale)
    (port,) = free_ports(1)
    env = {
        **os.environ,
        **ADMIN,
        "ARCHIVE_DATA_DIR": str(var),
        "ARCHIVE_JOBS_BACKGROUND": "false",
        "ARCHIVE_WATCH_DIR": str(inbox),
        "ARCHIVE_WATCH_INTERVAL_SECONDS": "0.2",
        "ARCHIVE_WATCH_STABLE_SECONDS": "0.5",
    }
    env.pop("ARCHIVE_USER")  # the watcher acts as the first admin by default
    server = subprocess.Popen(
        [PROGRAM, "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    api = httpx.Client(base_url=base, headers=auth, timeout=60)

    def up() -> bool:
        assert server.poll() is None, server.stderr.read() if server.stderr else "stopped"
        try:
            return httpx.get(f"{base}/api/v1/health", timeout=2).status_code == 200
        except httpx.TransportError:
            return False

    def search(q: str) -> list[dict[str, Any]]:
        r = api.get("/api/v1/search", params={"q": q})
        assert r.status_code == 200, r.text
        hits: list[dict[str, Any]] = r.json()["hits"]
        return hits

    try:
        assert wait_for(up, limit=120), "the server did not start"
        cabinet(inbox, pdfs)
        placed = PLACED
        assert wait_for(lambda: set(files(inbox)) == placed), files(inbox)

        hit = wait_for(lambda: search("title:zebradrop"))
        assert hit and hit[0]["title"] == "zebradrop"
        hit = wait_for(lambda: search('customer:"ACME Ltd" title:quokkasale'))
        assert hit, "the file in CUSTOMER/CODE/ is not found by its customer"
        record = api.get(f"/api/v1/contracts/{hit[0]['id']}").json()
        assert (record["customer"], record["classification"]) == ("ACME Ltd", "XS")
        assert search('customer:"ACME Ltd" title:lostclaim')

        reason = (inbox / "rejected/ACME Ltd/NOPE/wombat.pdf.reason.txt").read_text()
        assert "'NOPE' is not a code of the classification scheme" in reason
        assert "hint: use one of the codes: " in reason and "XS" in reason and "CG" in reason
        reason = (inbox / "rejected/CG/narwhal.pdf.reason.txt").read_text()
        assert "'CG' is a classification code, where the customer belongs" in reason
        assert "CUSTOMER/CG/" in reason

        # Shutting down while a file is dropped: it is archived or still waits where it was
        # dropped, never left claimed in .processing.
        shutil.copy(pdfs[0], inbox / "late.pdf")  # a duplicate: archived/ if taken
        (inbox / "late.pdf.done").touch()
        time.sleep(0.3)
        server.send_signal(signal.SIGINT)
        assert server.wait(timeout=180) == 0
        left = files(inbox)
        assert not [f for f in left if f.startswith(".processing")], left
        assert "late.pdf" in left or "archived/late.pdf" in left, left
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()
        api.close()
    watched = contracts(var)
    assert set(watched) == {"zebradrop", "quokkasale", "lostclaim"}
    assert watched["quokkasale"] == ("ACME Ltd", "XS")
    assert watched["lostclaim"][0] == "ACME Ltd"
    del watched["lostclaim"]

    # `ingest FOLDER` of the same cabinet: the same contracts, the same refusals.
    again = tmp_path / "again"
    cabinet(again, pdfs)
    r = invoke(tmp_path / "var2", "ingest", str(again), "--json", "--no-ocr", env=ADMIN)
    assert r.returncode == 1, r.stderr  # two files refused
    status = {
        x["file"].removeprefix(str(again) + "/"): (x["status"], x.get("reason"))
        for x in map(json.loads, r.stdout.splitlines())
    }
    assert {f: s for f, (s, _) in status.items()} == {
        "zebradrop.pdf": "archived",
        "ACME Ltd/xs/2026/quokkasale.pdf": "archived",
        "ACME Ltd/NOPE/wombat.pdf": "rejected",
        "CG/narwhal.pdf": "rejected",
    }
    assert "'NOPE' is not a code" in status["ACME Ltd/NOPE/wombat.pdf"][1]
    assert contracts(tmp_path / "var2") == watched

    # --no-folder-rule: folders say nothing, every file is archived as before.
    r = invoke(tmp_path / "var3", "ingest", str(again), "--no-ocr", "--no-folder-rule", env=ADMIN)
    assert r.returncode == 0, r.stdout + r.stderr
    flat = contracts(tmp_path / "var3")
    assert set(flat) == {"zebradrop", "quokkasale", "wombat", "narwhal"}
    assert {customer for customer, _ in flat.values()} == {None}


def test_a_missing_watched_folder_stops_serve_and_doctor_reports_and_repairs(
    tmp_path: Path,
) -> None:
    var, inbox = tmp_path / "var", tmp_path / "inbox"
    env = {**ADMIN, "ARCHIVE_WATCH_DIR": str(inbox)}
    (port,) = free_ports(1)
    r = run(var, "serve", "--port", str(port), env=env, timeout=180)
    assert r.returncode == 2, r.stdout + r.stderr
    assert f"the watched folder {inbox} does not exist (ARCHIVE_WATCH_DIR)" in r.stderr
    assert "Traceback" not in r.stderr

    r = invoke(var, "doctor", "--json", env=env)
    findings = [f for f in json.loads(r.stdout)["findings"] if f["check"] == "watch"]
    assert [f["code"] for f in findings] == ["watch_folder_unusable"], findings
    assert r.returncode != 0

    claim = inbox / ".processing" / DEAD_CLAIM / "ACME Ltd" / "x.pdf"
    claim.parent.mkdir(parents=True)
    claim.write_bytes(b"%PDF-1.4 dropped")
    r = invoke(var, "doctor", "--json", "--repair", env=env)
    findings = [f for f in json.loads(r.stdout)["findings"] if f["check"] == "watch"]
    assert [f["code"] for f in findings] == ["watch_claim_of_dead_process"], findings
    assert findings[0]["repaired"] == f"moved 1 file back into {inbox} to be taken again"
    assert files(inbox) == ["ACME Ltd/x.pdf"]
    assert (inbox / "ACME Ltd/x.pdf").read_bytes() == b"%PDF-1.4 dropped"


def test_the_folder_rule_level_by_level() -> None:
    codes = {"XS", "CG", "QT"}

    def rule(relative: str, **given: bool) -> tuple[str | None, str | None, str | None]:
        place = folder_rule(PurePath(relative), codes, **given)
        return place.customer, place.classification, place.reason and place.reason[:31]

    assert rule("x.pdf") == (None, None, None)
    assert rule("ACME Ltd/x.pdf") == ("ACME Ltd", None, None)
    assert rule("ACME Ltd/xs/x.pdf") == ("ACME Ltd", "XS", None)  # read as every code is
    assert rule("ACME Ltd/XS/2026/q1/x.pdf") == ("ACME Ltd", "XS", None)
    assert rule("batches/box.pdf") == (None, None, None)
    assert rule("ACME Ltd/batches/box.pdf") == ("ACME Ltd", None, None)
    assert rule("ACME Ltd/CG/batches/box.pdf") == ("ACME Ltd", "CG", None)
    assert rule("ACME Ltd/2026/x.pdf") == ("ACME Ltd", None, "the folder '2026' is not a code")
    assert rule("XS/x.pdf") == (None, None, "the folder 'XS' is a classifica")
    assert rule("XS Trading/x.pdf") == ("XS Trading", None, None)  # a name, not a code
    # What an option of `ingest` gives is neither read nor refused.
    assert rule("ACME Ltd/2026/x.pdf", classification_given=True) == ("ACME Ltd", None, None)
    assert rule("XS/x.pdf", customer_given=True)[2] is None
