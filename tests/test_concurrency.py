"""Two processes ingest overlapping batches at once, on one PostgreSQL, one S3 bucket and one
OpenSearch index: the scale-out deployment's `api` and `worker` (or two workers) at work.

Each process is the installed program, started as a user starts it, with its own data
directory (as on two machines). Afterwards no file is recorded twice, no record is lost, and
the contract ids (the archival item numbers) run 1..N with no duplicate and no gap.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from services.archive import Archive
from tests.conftest import corpus_files, make_settings, opensearch_overrides, s3_overrides
from tests.servers import SeaweedS3

pytestmark = [pytest.mark.postgres, pytest.mark.s3, pytest.mark.opensearch, pytest.mark.slow]

PROGRAM = str(Path(sys.executable).parent / "contract-archive")


def small_pdfs() -> list[Path]:
    english = sorted(corpus_files("en-cuad", ".pdf"), key=lambda p: p.stat().st_size)[:4]
    chinese = sorted(corpus_files("zh", ".pdf"), key=lambda p: p.stat().st_size)[:2]
    return english + chinese


def test_two_processes_ingest_overlapping_batches(
    tmp_path: Path,
    postgres_url: str,
    s3_server: SeaweedS3,
    s3_bucket: str,
    opensearch_url: str,
) -> None:
    files = small_pdfs()
    assert len(files) == 6
    # 2 and 3 are in both batches; the second process takes them in the opposite order, so both
    # reach the shared files while the other is still working on them.
    batches = {"a": files[:4], "b": list(reversed(files[2:]))}
    backends = {
        "database_url": postgres_url,
        **s3_overrides(s3_server, s3_bucket),
        **opensearch_overrides(opensearch_url),
    }
    env_base = {k: v for k, v in os.environ.items() if not k.startswith("ARCHIVE_")}
    env_base.update({f"ARCHIVE_{k.upper()}": str(v) for k, v in backends.items()})
    procs = {}
    for name, batch in batches.items():
        env = {**env_base, "ARCHIVE_DATA_DIR": str(tmp_path / name)}
        # Both start on an empty schema: the migration is taken by one, waited for by the other.
        procs[name] = subprocess.Popen(
            [PROGRAM, "ingest", "--json", "--jobs", "2", *map(str, batch)],
            env=env,
            cwd=tmp_path,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
    results: dict[str, list[dict]] = {}  # type: ignore[type-arg]
    for name, proc in procs.items():
        out, errors = proc.communicate(timeout=300)
        assert proc.returncode == 0, f"process {name}: {errors}\n{out}"
        results[name] = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
        assert len(results[name]) == len(batches[name]), out

    # Every file was archived by exactly one process; the other reported it as a duplicate
    # of the same contract.
    outcome: dict[str, list[dict]] = {}  # type: ignore[type-arg]
    for rows in results.values():
        for row in rows:
            outcome.setdefault(Path(row["file"]).name, []).append(row)
    assert set(outcome) == {p.name for p in files}
    archived_ids = {}
    for name, rows in outcome.items():
        statuses = sorted(r["status"] for r in rows)
        assert statuses in (["archived"], ["archived", "duplicate"]), (name, rows)
        assert len({r["id"] for r in rows}) == 1, (name, rows)
        archived_ids[name] = rows[0]["id"]
    shared = {p.name for p in files[2:4]}
    assert {n for n, rows in outcome.items() if len(rows) == 2} == shared

    settings = make_settings(tmp_path / "check", **backends)
    with Archive(settings, parser_workers=1).open() as archive:
        records = list(archive.records.iter_contracts())
        # No record lost, none twice, and the item numbers run 1..N without a gap.
        assert sorted(r.id for r in records) == list(range(1, len(files) + 1))
        assert sorted(archived_ids.values()) == list(range(1, len(files) + 1))
        by_sha = {hashlib.sha256(p.read_bytes()).hexdigest(): p.name for p in files}
        assert sorted(r.sha256 for r in records) == sorted(by_sha)
        assert {r.id: by_sha[r.sha256] for r in records} == {i: n for n, i in archived_ids.items()}
        # The bucket holds each contract's package once: one version of each object, and
        # nothing belonging to no record.
        objects = archive.objects
        keys = list(objects.iter_keys())
        assert {k.split("/")[2] for k in keys} == set(by_sha)
        for record in records:
            assert record.original_key in keys and record.text_key in keys
            versions = list(
                objects.client.list_objects(  # type: ignore[attr-defined]
                    objects.bucket,  # type: ignore[attr-defined]
                    prefix=record.original_key,
                    include_version=True,
                )
            )
            assert len(versions) == 1, [v.version_id for v in versions]
        # The index has every contract once.
        assert archive.index.count() == len(files)
        assert archive.index.ids() == set(range(1, len(files) + 1))
        assert archive.search("agreement", limit=50).hits
