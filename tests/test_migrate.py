"""`contract-archive migrate --to`: an embedded archive moved onto S3, PostgreSQL and OpenSearch.

The target's records go to PostgreSQL when ARCHIVE_TEST_POSTGRES_URL is set (as in CI), else to
a second SQLite database; objects always to SeaweedFS and the index to osmem.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from typer.testing import CliRunner

from contract_archive.cli import app
from core.settings import reset_settings
from services.archive import Archive
from tests.conftest import (
    POSTGRES_URL,
    corpus_files,
    make_settings,
    opensearch_overrides,
    postgres_schema_url,
    s3_overrides,
)
from tests.servers import SeaweedS3

pytestmark = [pytest.mark.s3, pytest.mark.opensearch, pytest.mark.slow]

FILES = [
    next(p for p in corpus_files("zh", ".pdf") if "肇新" in p.name),
    next(p for p in corpus_files("en-cuad", ".pdf") if "JOINT FILING" in p.name),
    next(p for p in corpus_files("en-cuad", ".pdf") if "Endorsement Agreement" in p.name),
]


@pytest.fixture
def target_db(tmp_path: Path) -> Iterator[str]:
    """An empty database for each test: a fresh PostgreSQL schema in CI, else SQLite."""
    if not POSTGRES_URL:
        yield f"sqlite:///{tmp_path / 'target' / 'archive.db'}"
        return
    schema = f"m_{uuid.uuid4().hex[:12]}"
    engine = create_engine(POSTGRES_URL)
    with engine.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield postgres_schema_url(POSTGRES_URL, schema)
    finally:
        with engine.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        engine.dispose()


@pytest.fixture
def source(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Archive]:
    settings = make_settings(tmp_path / "source")
    monkeypatch.setenv("ARCHIVE_DATA_DIR", str(settings.data_dir))
    reset_settings()
    with Archive(settings, parser_workers=1).open() as archive:
        for i, path in enumerate(FILES):
            customer = "青岛木门有限公司" if i == 0 else "Acme Corp"
            assert archive.ingest_path(path, customer=customer).status == "archived"
        yield archive


def write_env(path: Path, values: dict[str, object]) -> Path:
    lines = [f"ARCHIVE_{k.upper()}={v}" for k, v in values.items()]
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.fixture
def target_env(
    tmp_path: Path, s3_server: SeaweedS3, s3_bucket: str, opensearch_url: str, target_db: str
) -> tuple[Path, dict[str, object]]:
    values: dict[str, object] = {
        "data_dir": tmp_path / "target",
        "database_url": target_db,
        "default_retention_days": 1,
        **s3_overrides(s3_server, s3_bucket),
        **opensearch_overrides(opensearch_url),
    }
    return write_env(tmp_path / "target.env", values), values


PACKAGE_FILES = 4


def migrate(env: Path) -> tuple[int, dict]:  # type: ignore[type-arg]
    result = CliRunner().invoke(app, ["migrate", "--to", str(env), "--json"])
    lines = [line for line in result.stdout.splitlines() if line.startswith("{")]
    return result.exit_code, (json.loads(lines[-1]) if lines else {"output": result.output})


def test_migrate_copies_everything_and_proves_it(source: Archive, target_env) -> None:
    env, values = target_env
    code, report = migrate(env)
    assert code == 0, report
    # a package: the original, the text, the manifest and its seal
    assert report["ok"] and report["objects_copied"] == PACKAGE_FILES * len(FILES)
    assert report["rows_copied"]["contracts"] == len(FILES)
    assert report["rows_copied"]["package_manifests"] == len(FILES)
    assert report["indexed"] == len(FILES)
    checks = {c["what"]: c for c in report["checks"]}
    assert {"objects", "table contracts", "table contract_pages", "index"} <= set(checks)
    assert checks["objects"]["source_count"] == checks["objects"]["target_count"] == 12
    assert all(c["source_digest"] == c["target_digest"] for c in checks.values())

    # Running it again copies nothing and still proves the copy.
    code, again = migrate(env)
    assert code == 0 and again["ok"], again
    assert again["objects_copied"] == 0 and again["objects_skipped"] == PACKAGE_FILES * len(FILES)
    # (but for the access log: the first run's one entry, written after its copy: a long
    # maintenance action is logged once, at its end; issues 7 and 12)
    assert again["rows_copied"]["access_log"] == 1
    assert sum(n for t, n in again["rows_copied"].items() if not t.startswith("access_log")) == 0

    target_settings = make_settings(Path(str(values["data_dir"])), **_without_data_dir(values))
    with Archive(target_settings, parser_workers=1).open() as target:
        assert target.objects.name == "s3" and target.index.name == "opensearch"
        assert [r.id for r in target.records.iter_contracts()] == [
            r.id for r in source.records.iter_contracts()
        ]
        for query in ("肇新", '"joint filing"', "customer:acme -肇新", "agreement OR 合同"):
            found = {h.id for h in target.search(query, limit=50).hits}
            assert found and found == {h.id for h in source.search(query, limit=50).hits}, query
        for record in target.records.iter_contracts():
            # the seals still verify: the development keys came along
            report = target.seal.verify(record.id)
            assert report.overall.value == "PASSED", report.summary()
            _, fh = target.open_original(record.id)
            with fh:
                assert hashlib.sha256(fh.read()).hexdigest() == record.sha256
            assert target.objects.lock_info(record.original_key).mode == "COMPLIANCE"
        # New contracts on the target get ids after the copied ones (sequences were moved).
        new = target.ingest_path(next(p for p in corpus_files("zh", ".pdf") if "新疆" in p.name))
        assert new.status == "archived" and new.id == len(FILES) + 1

    # Now the target has a contract the source lacks: reported, not hidden.
    code, after = migrate(env)
    assert code == 1
    assert {"objects", "table contracts"} <= {c["what"] for c in after["checks"] if not c["ok"]}


def test_a_damaged_copy_is_reported(source: Archive, target_env) -> None:
    env, values = target_env
    code, first = migrate(env)
    assert code == 0, first
    engine = create_engine(str(values["database_url"]))
    with engine.begin() as conn:
        conn.execute(text("UPDATE contracts SET title = 'changed' WHERE id = 1"))
    engine.dispose()
    code, report = migrate(env)  # rows already there are not copied again: the digest differs
    assert code == 1
    assert [c["what"] for c in report["checks"] if not c["ok"]] == ["table contracts"]


def test_migrate_refuses_bad_targets(source: Archive, tmp_path: Path) -> None:
    missing = CliRunner().invoke(app, ["migrate", "--to", str(tmp_path / "nope.env")])
    assert missing.exit_code == 2 and "does not exist" in flat(missing.output)
    same = write_env(
        tmp_path / "same.env",
        {
            "data_dir": source.settings.data_dir,
            "database_url": source.settings.effective_database_url,
        },
    )
    result = CliRunner().invoke(app, ["migrate", "--to", str(same)])
    assert result.exit_code == 2 and "the source's own" in flat(result.output)
    bad = write_env(tmp_path / "bad.env", {"object_store": "floppy"})
    result = CliRunner().invoke(app, ["migrate", "--to", str(bad)])
    assert result.exit_code == 2 and "ARCHIVE_OBJECT_STORE" in flat(result.output)


def flat(output: str) -> str:
    return " ".join(output.split())


def _without_data_dir(values: dict[str, object]) -> dict[str, object]:
    return {k: v for k, v in values.items() if k != "data_dir"}
