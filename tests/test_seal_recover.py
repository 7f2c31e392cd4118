"""The metadata database rebuilt from the packages' manifests (`contract-archive recover`)."""

from __future__ import annotations

import io
import shutil
from pathlib import Path

import pytest

from services.archive import Archive
from signing.report import Status
from storage.objects.base import package_key
from tests.conftest import corpus_files, make_settings
from tests.seal_helpers import replace_byte
from tests.test_cli import run

FILES = [
    *[p for p in corpus_files("en-cuad", ".pdf") if p.stat().st_size < 200_000][:2],
    next(p for p in corpus_files("zh", ".pdf") if "肇新" in p.name),
]
RECORD_FIELDS = (
    "id", "sha256", "size", "content_type", "filename", "title", "customer", "page_count",
    "status", "created_at", "ingested_by", "original_key", "text_key", "text_sha256", "pages",
    "warnings", "classification",
)  # fmt: skip


def snapshot(archive: Archive) -> dict[int, tuple[object, ...]]:
    records = {r.id: r for r in archive.records.iter_contracts()}
    return {
        i: (
            tuple(getattr(r, f) for f in RECORD_FIELDS),
            [
                (m.version, m.manifest_key, m.manifest_sha256, m.state, m.seal_key, m.key_id)
                for m in archive.seal.seals.manifests(i)
            ],
        )
        for i, r in records.items()
    }


@pytest.fixture(scope="module")
def archived(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    """An archive of three contracts, the first with a second manifest version."""
    data = tmp_path_factory.mktemp("recover") / "var"
    with Archive(make_settings(data), parser_workers=1).open() as archive:
        for i, path in enumerate(FILES):
            result = archive.ingest_path(path, customer=f"customer {i}", title=f"合同 {i}")
            assert result.status == "archived", result.reason
        first = archive.get(1)
        archive.objects.put(
            package_key(first.sha256, "searchable.v1.pdf"), io.BytesIO(b"%PDF-1.7\n%copy\n")
        )
        archive.package_changed(1)
        before = snapshot(archive)
    assert [len(m) for _, m in before.values()] == [2, 1, 1]
    return data, before


def test_recover_rebuilds_a_lost_database(archived, tmp_path: Path) -> None:
    source, before = archived
    data = tmp_path / "var"
    shutil.copytree(source, data, symlinks=True)
    (data / "archive.db").unlink()  # the database is lost; the packages are not

    r = run(data, "recover")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "3 packages: 3 contracts recovered (4 manifests), 0 already present" in r.stdout

    with Archive(make_settings(data), parser_workers=1).open() as archive:
        assert snapshot(archive) == before
        for contract_id in before:
            report = archive.seal.verify(contract_id)
            assert report.overall is Status.PASSED, report.summary()
        hits = archive.search("合同", limit=10)
        assert {h.id for h in hits.hits} == set(before)
        # a contract archived after recovery gets a fresh id
        extra = next(p for p in corpus_files("en-cuad", ".pdf") if p not in FILES)
        result = archive.ingest_path(extra)
        assert result.id == max(before) + 1

    again = run(data, "recover")  # nothing left to do
    assert again.returncode == 0
    assert "0 contracts recovered (0 manifests), 4 already present" in again.stdout


def test_a_damaged_manifest_is_reported_and_skipped(archived, tmp_path: Path) -> None:
    source, before = archived
    data = tmp_path / "var"
    shutil.copytree(source, data, symlinks=True)
    (data / "archive.db").unlink()
    with Archive(make_settings(data), parser_workers=1).open() as archive:
        sha = before[2][0][1]
        assert isinstance(sha, str)
        replace_byte(archive.settings.objects_dir / package_key(sha, "manifest.v1.json"), 0, 0x20)
    r = run(data, "recover")
    assert r.returncode == 1
    assert "2 contracts recovered" in r.stdout
    flat = " ".join(r.stderr.split())
    assert f"not recovered: package {sha}:" in flat and "Traceback" not in r.stderr
    with Archive(make_settings(data), parser_workers=1).open() as archive:
        assert archive.records.contract_ids() == {1, 3}


def test_recover_into_postgresql(archived, tmp_path: Path, postgres_url: str) -> None:
    """The packages of an SQLite archive recovered into an empty PostgreSQL database: the same
    records, and PostgreSQL's id sequence moved past the recovered ids."""
    source, before = archived
    data = tmp_path / "var"
    shutil.copytree(source, data, symlinks=True)
    settings = make_settings(data, database_url=postgres_url)
    with Archive(settings, parser_workers=1).open() as archive:
        summary = archive.recover()
        assert (summary.recovered, summary.manifests, summary.problems) == (3, 4, [])
        assert snapshot(archive) == before
        extra = next(p for p in corpus_files("en-cuad", ".pdf") if p not in FILES)
        assert archive.ingest_path(extra).id == max(before) + 1
        assert archive.seal.verify(2).overall is Status.PASSED
