"""Ingest throughput of text PDFs (pages/s) on the en-cuad corpus.

    uv run python -m bench.ingest_throughput [--rounds 3]

Each round archives every en-cuad PDF into a fresh data directory through the full pipeline
(spool + hash, parse and extract in a worker process, store original and text, record, index).
It is run with one job and one parser process ("per core"), then with two of each. For
comparison it also times pypdf's text extraction alone on the same files, in the same run (the
goal's bare tool), and pdfium's (pypdfium2), which reads the page text at ingest.

Beside pages/s (wall) it reports CPU milliseconds per page: pypdf alone (this process), and for
the ingest this process (stages, records, index, seal) plus its parser processes (pypdf in
the killable workers), read from /proc before and after the timed part. On a shared machine the
wall-clock figures move with the load; the CPU per page is the comparable one.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from bench.common import CORPUS, descendants, machine
from core.settings import Settings
from services.archive import Archive


def files() -> list[Path]:
    return sorted(
        p for p in (CORPUS / "en-cuad").rglob("*") if p.suffix.lower() == ".pdf" and p.is_file()
    )


_TICK = os.sysconf("SC_CLK_TCK")


def processes_cpu(pids: list[int]) -> float:
    """CPU seconds (user + system) the processes ``pids`` used so far (from /proc)."""
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])
    return total / _TICK


def pypdf_only(paths: list[Path]) -> tuple[float, float]:
    """pages/s (wall) and CPU seconds per page of pypdf's extract_text in this process."""
    import pypdf

    pages = 0
    cpu = time.process_time()
    started = time.perf_counter()
    for path in paths:
        reader = pypdf.PdfReader(path)
        for page in reader.pages:
            page.extract_text()
            pages += 1
    wall = time.perf_counter() - started
    return pages / wall, (time.process_time() - cpu) / pages


def pdfium_only(paths: list[Path]) -> float:
    """CPU seconds per page of pdfium's page text (pypdfium2 ``get_text_range``) here."""
    import pypdfium2 as pdfium

    pages = 0
    cpu = time.process_time()
    for path in paths:
        doc = pdfium.PdfDocument(str(path))
        for i in range(len(doc)):
            page = doc[i]
            textpage = page.get_textpage()
            textpage.get_text_range()
            textpage.close()
            page.close()
            pages += 1
        doc.close()
    return (time.process_time() - cpu) / pages


def time_stages(archive: Archive, spent: dict[str, float]) -> None:
    """Add each pipeline stage's CPU seconds (of the thread running it) to ``spent``."""
    for stage in archive.pipeline.stages:
        run = stage.run

        def timed(ctx: Any, work: Any, _run: Any = run, _name: str = stage.name) -> None:
            started = time.thread_time()
            try:
                _run(ctx, work)
            finally:
                spent[_name] = spent.get(_name, 0.0) + time.thread_time() - started

        stage.run = timed  # type: ignore[method-assign]


def ingest_round(
    paths: list[Path], jobs: int, stages: dict[str, float] | None = None
) -> tuple[int, float, float, float]:
    """Pages, wall seconds, CPU seconds of this process and of its parser processes."""
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(data_dir=Path(tmp) / "var", _env_file=None)  # type: ignore[call-arg]
        with Archive(settings, parser_workers=jobs).open() as archive:
            if stages is not None:
                time_stages(archive, stages)
            archive.ingest_path(paths[0])  # start the worker processes outside the timing
            archive.records.delete_contract(archive.records.list_contracts()[0].id)
            archive.index.delete(list(archive.index.ids()))
            for key in list(archive.objects.iter_keys()):
                archive.objects.delete(key)
            if stages is not None:
                stages.clear()
            workers = descendants(os.getpid())
            workers_cpu = processes_cpu(workers)
            cpu = time.process_time()
            started = time.perf_counter()
            with ThreadPoolExecutor(jobs) as pool:
                results = list(pool.map(archive.ingest_path, paths))
            elapsed = time.perf_counter() - started
            cpu = time.process_time() - cpu
            workers_cpu = processes_cpu(workers) - workers_cpu
    assert all(r.status == "archived" for r in results), [r.reason for r in results]
    return sum(r.pages or 0 for r in results), elapsed, cpu, workers_cpu


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--stages", action="store_true", help="also one round with each stage's CPU per page"
    )
    args = parser.parse_args()
    paths = files()
    print(f"machine: {machine()}")
    print(f"files: {len(paths)} en-cuad PDFs")
    print(f"load average: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    bare = [pypdf_only(paths) for _ in range(2)]
    alone = max(rate for rate, _ in bare)
    alone_cpu = min(cpu for _, cpu in bare)
    print(
        f"pypdf extract_text alone, one process: {alone:.1f} pages/s, "
        f"{alone_cpu * 1000:.2f} ms CPU/page"
    )
    pdfium_cpu = min(pdfium_only(paths) for _ in range(2))
    print(f"pdfium page text alone, one process: {pdfium_cpu * 1000:.2f} ms CPU/page")
    for jobs in (1, 2):
        best = 0.0
        least: tuple[float, float] | None = None  # the round with the least CPU
        for _ in range(args.rounds):
            pages, elapsed, cpu, workers_cpu = ingest_round(paths, jobs)
            best = max(best, pages / elapsed)
            if least is None or cpu + workers_cpu < sum(least):
                least = (cpu, workers_cpu)
        assert least is not None
        cpu, workers_cpu = least
        total = (cpu + workers_cpu) / pages
        print(
            f"full ingest, {jobs} job(s) and {jobs} parser process(es): {pages} pages, "
            f"best of {args.rounds}: {best:.1f} pages/s ({best / jobs:.1f} per core); "
            f"CPU {total * 1000:.2f} ms/page (this process {cpu / pages * 1000:.2f}, parser "
            f"processes {workers_cpu / pages * 1000:.2f}): {alone_cpu / total:.0%} of pypdf's "
            "pages per CPU second"
        )
    if args.stages:
        spent: dict[str, float] = {}
        pages, _, _, _ = ingest_round(paths, 1, spent)
        print("CPU per stage (this process, 1 job):")
        for name, seconds in sorted(spent.items(), key=lambda item: -item[1]):
            print(f"  {name:<16} {seconds / pages * 1000:6.2f} ms/page")
    print(f"load average: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
