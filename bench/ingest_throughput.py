"""Ingest throughput of text PDFs (pages/s) on the en-cuad corpus.

    uv run python -m bench.ingest_throughput [--rounds 3]

Each round archives every en-cuad PDF into a fresh data directory through the full pipeline
(spool + hash, parse and extract in a worker process, store original and text, record, index).
It is run with one job and one parser process ("per core"), then with two of each. For
comparison it also times pypdf's text extraction alone on the same files.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from bench.common import CORPUS, machine
from core.settings import Settings
from services.archive import Archive


def files() -> list[Path]:
    return sorted(
        p for p in (CORPUS / "en-cuad").rglob("*") if p.suffix.lower() == ".pdf" and p.is_file()
    )


def pypdf_only(paths: list[Path]) -> float:
    import pypdf

    pages = 0
    started = time.perf_counter()
    for path in paths:
        reader = pypdf.PdfReader(path)
        for page in reader.pages:
            page.extract_text()
            pages += 1
    return pages / (time.perf_counter() - started)


def ingest_round(paths: list[Path], jobs: int) -> tuple[int, float]:
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(data_dir=Path(tmp) / "var", _env_file=None)  # type: ignore[call-arg]
        with Archive(settings, parser_workers=jobs).open() as archive:
            archive.ingest_path(paths[0])  # start the worker processes outside the timing
            archive.records.delete_contract(archive.records.list_contracts()[0].id)
            archive.index.delete(list(archive.index.ids()))
            for key in list(archive.objects.iter_keys()):
                archive.objects.delete(key)
            started = time.perf_counter()
            with ThreadPoolExecutor(jobs) as pool:
                results = list(pool.map(archive.ingest_path, paths))
            elapsed = time.perf_counter() - started
    assert all(r.status == "archived" for r in results), [r.reason for r in results]
    return sum(r.pages or 0 for r in results), elapsed


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    paths = files()
    print(f"machine: {machine()}")
    print(f"files: {len(paths)} en-cuad PDFs")
    alone = max(pypdf_only(paths) for _ in range(2))
    print(f"pypdf extract_text alone, one process: {alone:.1f} pages/s")
    for jobs in (1, 2):
        best = 0.0
        for _ in range(args.rounds):
            pages, elapsed = ingest_round(paths, jobs)
            best = max(best, pages / elapsed)
        print(
            f"full ingest, {jobs} job(s) and {jobs} parser process(es): {pages} pages, "
            f"best of {args.rounds}: {best:.1f} pages/s ({best / jobs:.1f} per core)"
        )


if __name__ == "__main__":
    main()
