"""Benchmark: what one edit costs as a unit of work (the record change, its manifest version and
its access-log entry in one transaction), and what the two ways of handling a manifest object
written for a transaction that rolls back would cost.

Ingests one contract, then times N edits through the facade as the first administrator
(alternately a title change, ``contract.update``, and a terms change,
``contract.terms.update``; each issues one sealed manifest version with the development TSA),
on SQLite in a temporary directory or on the PostgreSQL given by ``--database-url`` (use an
empty schema). Then, on the local object store, a manifest-sized object: ``put`` alone (what an
edit does now: the final name, deleted if the unit rolls back), ``put`` + ``delete`` (the
rollback), and ``put`` under a pending name + a second ``put`` under the final name + ``delete``
of the pending one (the alternative: promote after the commit). Medians, wall clock.

uv run python -m bench.unit_of_work [--edits 40] [--database-url URL] [--pdf FILE]
"""

from __future__ import annotations

import argparse
import io
import os
import statistics
import tempfile
import time
from pathlib import Path

from core.settings import Settings
from services.archive import Archive
from services.facade.runtime import Runtime
from storage.objects.local import LocalObjectStore

DEFAULT_PDF = Path("/work/shared/corpus/zh")


def _pdf(path: Path) -> Path:
    if path.is_file():
        return path
    return next(p for p in sorted(path.rglob("*.pdf")))


def median_ms(samples: list[float]) -> str:
    p90 = sorted(samples)[int(len(samples) * 0.9)]
    return f"{statistics.median(samples) * 1000:7.1f} ms (p90 {p90 * 1000:.1f})"


def edits(data: Path, url: str | None, n: int, pdf: Path) -> None:
    settings = Settings(data_dir=data, database_url=url, _env_file=None)  # type: ignore[call-arg]
    with Archive(settings, parser_workers=1).open() as archive:
        result = archive.ingest_path(pdf, display_name=pdf.name)
        assert result.id is not None, result
        cid = result.id
        f = Runtime(archive).cli_facade()
        titles: list[float] = []
        terms: list[float] = []
        for i in range(n):
            t = time.perf_counter()
            if i % 2 == 0:
                f.contracts.update(cid, {"title": f"bench title {i}"})
                titles.append(time.perf_counter() - t)
            else:
                f.terms.update(cid, {"owner": f"owner {i}"})
                terms.append(time.perf_counter() - t)
        versions = len(archive.seal.seals.manifests(cid))
    print(f"database {'PostgreSQL' if url else 'SQLite'}; {n} edits, {versions} versions")
    print(f"  contract.update (title)        {median_ms(titles)}")
    print(f"  contract.terms.update (owner)  {median_ms(terms)}")


def objects(root: Path, n: int) -> None:
    store = LocalObjectStore(root)
    body = os.urandom(3000)
    final_only: list[float] = []
    rollback: list[float] = []
    promote: list[float] = []
    for i in range(n):
        t = time.perf_counter()
        store.put(f"packages/ab/final-{i}/manifest.v2.json", io.BytesIO(body))
        final_only.append(time.perf_counter() - t)
        t = time.perf_counter()
        store.put(f"packages/ab/rolled-{i}/manifest.v2.json", io.BytesIO(body))
        store.delete(f"packages/ab/rolled-{i}/manifest.v2.json")
        rollback.append(time.perf_counter() - t)
        t = time.perf_counter()
        store.put(f"pending/{i}/manifest.v2.json", io.BytesIO(body))
        store.put(f"packages/ab/promoted-{i}/manifest.v2.json", io.BytesIO(body))
        store.delete(f"pending/{i}/manifest.v2.json")
        promote.append(time.perf_counter() - t)
    print(f"local object store, a 3 KB manifest, {n} times:")
    print(f"  put under the final name        {median_ms(final_only)}")
    print(f"  put + delete (a rollback)       {median_ms(rollback)}")
    print(f"  pending put + final put + delete {median_ms(promote)}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--edits", type=int, default=40)
    parser.add_argument("--database-url")
    parser.add_argument("--pdf", type=Path, default=DEFAULT_PDF)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        edits(Path(tmp) / "var", args.database_url, args.edits, _pdf(args.pdf))
        objects(Path(tmp) / "objects", args.edits)


if __name__ == "__main__":
    main()
