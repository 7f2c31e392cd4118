"""The 四性检测's virus scan through a running clamd (``ARCHIVE_CLAMAV_SOCKET``, issue 13):
clamd keeps its signatures loaded, so a filing does not load the whole database again as
``clamscan`` does. A real clamd (Debian's clamav-daemon) is started here on a Unix socket with a
local signature file holding the EICAR test signature (no internet for freshclam); files are
streamed to it (INSTREAM), so its user needs no access to the archive."""

from __future__ import annotations

import json
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from ingest.fourprops_probe import scan_viruses_clamd
from tests.test_fourprops import CLEAN, CLI_PDF, EICAR, cli, items, props, signature_file, variant

CLAMD = shutil.which("clamd") or ("/usr/sbin/clamd" if Path("/usr/sbin/clamd").exists() else None)
pytestmark = pytest.mark.skipif(
    CLAMD is None, reason="needs ClamAV's daemon clamd (apt install clamav-daemon)"
)
STREAM_MAX = 2 * 1024 * 1024


@pytest.fixture(scope="module")
def clamd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A clamd on a Unix socket with the EICAR test signature; stopped with the module."""
    root = tmp_path_factory.mktemp("clamd")
    db = root / "db"
    db.mkdir()
    signature_file(db)
    sock = root / "clamd.sock"
    conf = root / "clamd.conf"
    conf.write_text(
        f"LocalSocket {sock}\nDatabaseDirectory {db}\nForeground yes\n"
        f"LogFile {root / 'clamd.log'}\nTemporaryDirectory {root}\n"
        f"StreamMaxLength {STREAM_MAX // 1024}K\n",
        "ascii",
    )
    assert CLAMD is not None
    proc = subprocess.Popen(
        [CLAMD, "-c", str(conf)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 60
        while not sock.exists():
            if proc.poll() is not None or time.monotonic() > deadline:
                log = (root / "clamd.log").read_text(errors="replace")[-2000:]
                pytest.fail(f"clamd did not start: {proc.stderr.read()!r} {log}")  # type: ignore[union-attr]
            time.sleep(0.1)
        yield str(sock)
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def test_clamd_finds_the_test_signature_and_calls_a_clean_folder_clean(
    clamd: str, tmp_path: Path
) -> None:
    folder = tmp_path / "package"
    (folder / "renditions").mkdir(parents=True)
    shutil.copy(CLEAN, folder / "original.pdf")
    (folder / "renditions" / "readme.txt").write_bytes(b"nothing to see " * 1000)
    clean = scan_viruses_clamd(clamd, folder, 30)
    assert clean["outcome"] == "clean", clean
    assert clean["reason"] is None and clean["found"] == [] and clean["engine"]
    assert clean["program"] == f"clamd ({clamd})"
    (folder / "renditions" / "note.com").write_bytes(b"junk " + EICAR + b" junk")
    found = scan_viruses_clamd(clamd, folder, 30)
    assert found["outcome"] == "found"
    assert found["found"] == [
        {"file": "note.com", "signature": "Eicar-Test-Signature-Local.UNOFFICIAL"}
    ]


def test_a_file_over_clamds_stream_limit_is_not_called_clean(clamd: str, tmp_path: Path) -> None:
    folder = tmp_path / "package"
    folder.mkdir()
    (folder / "large.bin").write_bytes(b"\0" * (STREAM_MAX + 1024 * 1024))
    result = scan_viruses_clamd(clamd, folder, 60)
    assert result["outcome"] == "unknown"
    assert result["exceeded"] and result["exceeded"][0]["file"] == "large.bin"
    assert "StreamMaxLength" in result["reason"]


def test_an_unreachable_clamd_says_nothing_and_names_the_setting(tmp_path: Path) -> None:
    (tmp_path / "package").mkdir()
    (tmp_path / "package" / "a.pdf").write_bytes(b"%PDF-1.7\n")
    result = scan_viruses_clamd(str(tmp_path / "no.sock"), tmp_path / "package", 5)
    assert result["outcome"] == "unknown"
    assert "cannot be reached" in result["reason"] and "ARCHIVE_CLAMAV_SOCKET" in result["reason"]
    with socket.socket() as s:  # a TCP port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    result = scan_viruses_clamd(f"tcp://127.0.0.1:{port}", tmp_path / "package", 5)
    assert result["outcome"] == "unknown" and "cannot be reached" in result["reason"]
    result = scan_viruses_clamd("no-port-here", tmp_path / "package", 5)
    assert result["outcome"] == "unknown" and "neither a socket path" in result["reason"]


def test_the_installed_command_files_through_clamd_and_refuses_the_test_virus(
    clamd: str, tmp_path: Path
) -> None:
    """`contract file` as ARCHIVE_USER with ARCHIVE_CLAMAV_SOCKET (and no clamscan at all): a
    clean contract is filed with the scan PASSED by clamd; one carrying the EICAR string is
    refused (FAILED), naming the signature, and nothing is filed. The clean filing runs as the
    installed program; the refused one, the setup and the reports in-process
    (tests/cli_runner.py: the same Typer app, the same clamd, without the program's 2 s of CPU
    at start)."""
    data = tmp_path / "var"
    env = {"ARCHIVE_CLAMAV_SOCKET": clamd, "ARCHIVE_CLAMAV_PROGRAM": str(tmp_path / "none")}
    infected = variant(CLEAN, tmp_path / "eicar.pdf", attachment=EICAR)
    lines = cli(data, "ingest", str(CLI_PDF), str(infected), "--json", "--customer", "广州置业")
    ids = {"eicar" in line: str(json.loads(line)["id"]) for line in lines.splitlines()[:2]}
    good, bad = ids[False], ids[True]
    for cid in (good, bad):
        cli(data, "contract", "set", cid, "classification=XS", "sign_date=2025-03-01")
    cli(data, "contract", "file", good, env=env, program=True)
    report = json.loads(cli(data, "contract", "fourprops", good, "--json"))
    scan = items(report)["virus_scan"]
    assert scan["status"] == "PASSED", scan
    assert props(report)["security"] != "FAILED"
    err = cli(data, "contract", "file", bad, env=env, code=1)
    assert "virus_scan" in err and "Eicar-Test-Signature-Local" in err
    cli(data, "contract", "fourprops", bad, code=1)  # refused: not filed, no report
