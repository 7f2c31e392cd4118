"""A full disk: the data directory on a small tmpfs, filled up to different margins.

Each ingest on the full disk ends with a clear error (``no space left on the device``), never
an exception; nothing of that file is left; what was archived before stays intact; once space
is freed the same file is archived. Needs root to mount the tmpfs (skipped otherwise).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from services.archive import Archive
from services.doctor import Doctor
from tests.conftest import corpus_files, make_settings

CUAD = corpus_files("en-cuad", ".pdf")
FIRST = next(p for p in CUAD if "JOINT FILING" in p.name)
BIG = max(CUAD, key=lambda p: p.stat().st_size if p.stat().st_size < 2_000_000 else 0)
# From nothing free to just enough: the failures move from receiving the upload through
# storing the original and the text to the records and the index.
MARGINS = [0, 65_536, 262_144, 1_048_576, *range(1_150_000, 1_700_000, 12_000), 4_000_000]


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    mount = tmp_path / "disk"
    mount.mkdir()
    r = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=24m", "tmpfs", str(mount)],
        capture_output=True,
        text=True,
        check=False,
    )
    if r.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {r.stderr.strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def fill(mount: Path, leave: int) -> Path:
    """Fill the file system until ``leave`` bytes are free."""
    filler = mount / f"filler-{leave}"
    st = os.statvfs(mount)
    free = st.f_bavail * st.f_frsize
    with open(filler, "wb") as fh, contextlib.suppress(OSError):
        chunk = b"\0" * 65536
        remaining = max(0, free - leave)
        while remaining > 0:
            n = fh.write(chunk[: min(len(chunk), remaining)])
            remaining -= n
    return filler


@pytest.mark.slow
def test_ingest_stops_before_the_disk_is_full(small_disk: Path) -> None:
    """ARCHIVE_MIN_FREE_BYTES: on a nearly full disk ingest is refused before anything runs."""
    settings = make_settings(small_disk / "var", min_free_bytes=4 * 1024**2)
    with Archive(settings, parser_workers=1).open() as archive:
        filler = fill(small_disk, 3 * 1024**2)
        result = archive.ingest_path(FIRST)
        assert result.status == "failed" and result.error_code == "storage_full"
        assert "ARCHIVE_MIN_FREE_BYTES" in (result.reason or "")
        assert archive.records.count_contracts() == 0
        assert list(archive.objects.iter_keys()) == []
        filler.unlink()
        assert archive.ingest_path(FIRST).status == "archived"


@pytest.mark.slow
def test_a_full_disk_gives_a_clear_error_and_no_damage(small_disk: Path) -> None:
    """Without the guard the disk fills up in every stage in turn. Each failure is a clear
    error; the undo may itself fail for want of space (SQLite cannot delete on a full disk):
    then doctor --repair, once space is freed, leaves the file absent or fully archived."""
    settings = make_settings(small_disk / "var", min_free_bytes=0)
    with Archive(settings, parser_workers=1).open() as archive:
        first = archive.ingest_path(FIRST)
        assert first.status == "archived"
        digest = hashlib.sha256(BIG.read_bytes()).hexdigest()
        failed = 0
        reasons: set[str] = set()
        undo_failed: set[str] = set()
        for margin in MARGINS:
            filler = fill(small_disk, margin)
            result = archive.ingest_path(BIG)
            reasons.add((result.reason or "").split(" while ")[-1].split("/")[0])
            assert result.status in ("archived", "failed"), (margin, result)
            if result.status == "failed":
                failed += 1
                assert "no space left on the device" in (result.reason or ""), result
                assert result.hint and "free disk space" in result.hint
                assert result.error_code == "storage_full"
                assert list(settings.tmp_dir.iterdir()) == []
            # What was archived before is intact and found.
            record, stream = archive.open_original(first.id)  # type: ignore[arg-type]
            with stream:
                assert hashlib.sha256(stream.read()).hexdigest() == record.sha256
            assert [h.id for h in archive.search(f"sha256:{record.sha256}").hits] == [first.id]
            filler.unlink()
            repaired = Doctor(archive).run(repair=True)
            assert repaired.ok, [f.to_dict() for f in repaired.findings]
            undo_failed.update(f.code for f in repaired.findings)
            record = archive.records.find_by_sha256(digest)
            keys = list(archive.objects.iter_keys(f"packages/{digest[:2]}/{digest}/"))
            if record is None:
                assert keys == [] and archive.records.claims() == []
            else:  # the undo could not delete the record: doctor completed the file instead
                assert record.id in archive.index.ids()
                assert {record.original_key, record.text_key} <= set(keys)
                break
            if result.status == "archived":
                break
        assert failed >= 2, "the disk was never full enough to fail an ingest"
        assert len(reasons) >= 3, reasons  # receiving, storing objects, records or index
        print(sorted(reasons), sorted(undo_failed))
        again = archive.ingest_path(BIG)
        assert again.status in ("archived", "duplicate"), again
        report = Doctor(archive, verify=True).run()
        assert report.findings == [], [f.to_dict() for f in report.findings]
