"""Benchmark: the fixity audit (``contract-archive verify --all``) in MB/s.

Builds an archive of N contracts through the real pipeline (each a real scanned contract from the
corpus with a unique random annex attached, about SIZE MB) plus every corpus PDF that ingests
(real, mostly small contracts), then runs the complete audit: every file's SHA-256 and SM3, every
seal, timestamp and record. Reported: the hash functions alone on this machine, the audit with
the files in the page cache, and (when the page cache can be dropped, as root) from disk.

uv run python -m bench.fixity_audit [--contracts 100] [--size-mb 10] [--workers 2]
"""

from __future__ import annotations

import argparse
import hashlib
import io
import os
import subprocess
import tempfile
import time
from pathlib import Path

from pypdf import PdfReader, PdfWriter

from bench.common import CORPUS, machine
from core.settings import Settings
from services.archive import Archive
from signing.audit import run_audit

SCAN = CORPUS / "scanned/real/WESTERN_COPPER-NON-COMPETITION_AGREEMENT.pdf"


def with_annex(seed: int, size: int) -> bytes:
    writer = PdfWriter(clone_from=PdfReader(str(SCAN)))
    writer.add_attachment(f"annex-{seed}.bin", os.urandom(max(0, size)))
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def hash_speed(name: str, mb: int = 256) -> tuple[float, float]:
    """MB/s of one hash on one core: by the wall clock, and per CPU second (what the hash
    does on a core of its own, whatever else the shared machine runs)."""
    data = os.urandom(1 << 20)
    h = hashlib.new(name)
    t, c = time.perf_counter(), time.process_time()
    for _ in range(mb):
        h.update(data)
    return mb / (time.perf_counter() - t), mb / (time.process_time() - c)


def drop_caches() -> bool:
    try:
        subprocess.run(["sync"], check=True)
        Path("/proc/sys/vm/drop_caches").write_text("3\n")
    except OSError:
        return False
    return True


def audit(archive: Archive, workers: int) -> tuple[float, int, int, int]:
    started, cpu = time.perf_counter(), time.process_time()
    summary = run_audit(archive.seal, restart=True, workers=workers)
    seconds = time.perf_counter() - started
    cpu = time.process_time() - cpu
    r = summary.run
    assert r.failed == 0, summary.findings
    print(
        f"  ({cpu:.2f} CPU seconds: {r.bytes_hashed / 1e6 / cpu:.0f} MB per CPU second, "
        f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores)"
    )
    return seconds, r.bytes_hashed, r.checked, r.passed


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--contracts", type=int, default=100)
    parser.add_argument("--size-mb", type=float, default=10.0)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--data-dir", type=Path, default=None)
    args = parser.parse_args()

    print(f"machine: {machine()}")
    for name in ("sha256", "sm3"):
        wall, per_cpu = hash_speed(name)
        print(f"{name} alone, one thread: {wall:.0f} MB/s, {per_cpu:.0f} MB per CPU second")
    with tempfile.TemporaryDirectory(prefix="fixity-bench-") as tmp:
        data_dir = args.data_dir or Path(tmp) / "var"
        settings = Settings(data_dir=data_dir, _env_file=None)  # type: ignore[call-arg]
        with Archive(settings).open() as archive:
            if archive.records.count_contracts() == 0:
                t = time.perf_counter()
                size = int(args.size_mb * 1024 * 1024) - SCAN.stat().st_size
                for i in range(args.contracts):
                    result = archive.ingest(io.BytesIO(with_annex(i, size)), filename=f"c{i}.pdf")
                    assert result.status == "archived", result
                for pdf in sorted(
                    p
                    for f in ("en-cuad", "zh", "scanned", "edge")
                    for p in (CORPUS / f).rglob("*.pdf")
                ):
                    archive.ingest_path(pdf)
                print(
                    f"built {archive.records.count_contracts()} contracts in "
                    f"{time.perf_counter() - t:.0f} s"
                )
            seconds, hashed, checked, passed = audit(archive, args.workers)
            print(
                f"audit, page cache warm, {args.workers} workers: {checked} contracts "
                f"({passed} PASSED), {hashed / 1e6:.0f} MB in {seconds:.2f} s = "
                f"{hashed / 1e6 / seconds:.0f} MB/s, {checked / seconds:.0f} contracts/s"
            )
            seconds, hashed, checked, _ = audit(archive, args.workers)
            print(f"audit again, warm: {hashed / 1e6 / seconds:.0f} MB/s")
            if drop_caches():
                seconds, hashed, checked, _ = audit(archive, args.workers)
                print(
                    f"audit, page cache dropped (from disk): {hashed / 1e6:.0f} MB in "
                    f"{seconds:.2f} s = {hashed / 1e6 / seconds:.0f} MB/s"
                )
            else:
                print("the page cache cannot be dropped here (not root): no cold-cache number")


if __name__ == "__main__":
    main()
