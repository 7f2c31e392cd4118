"""Contract tests of the RecordStore Protocol: SQLite always, PostgreSQL when configured."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from core.errors import ConfigurationError, NotFound
from storage.records.base import NewContract, PageRecord, RecordStore
from storage.records.models import Base
from storage.records.sql import MIGRATION_HEAD, SqlRecordStore, alembic_config


def new_contract(n: int, **overrides: object) -> NewContract:
    values: dict[str, object] = {
        "sha256": f"{n:064x}",
        "size": 100 + n,
        "content_type": "application/pdf",
        "filename": f"contract-{n}.pdf",
        "title": f"合同 {n}",
        "customer": "甲公司",
        "page_count": 2,
        "ingested_by": "local:test",
        "original_key": f"packages/00/{n:064x}/original",
        "text_key": f"packages/00/{n:064x}/text.v1.json",
        "text_sha256": "0" * 64,
        "pages": [
            PageRecord(page_no=1, text_source="text-layer", chars=500, needs_ocr=False),
            PageRecord(
                page_no=2, text_source="none", chars=0, needs_ocr=True, ocr_status="pending"
            ),
        ],
        "warnings": ["a warning"],
    }
    values.update(overrides)
    return NewContract(**values)  # type: ignore[arg-type]


def test_is_a_record_store(store: SqlRecordStore) -> None:
    assert isinstance(store, RecordStore)
    store.check()


def test_add_get_find_delete(store: SqlRecordStore) -> None:
    rec = store.add_contract(new_contract(1))
    assert rec.id > 0
    assert rec.created_at.tzinfo is not None
    got = store.get_contract(rec.id)
    assert got == rec
    assert got.title == "合同 1" and got.customer == "甲公司"
    assert got.pages_needing_ocr == [2]
    assert got.warnings == ("a warning",)
    assert store.find_by_sha256(f"{1:064x}") == rec
    assert store.find_by_sha256("f" * 64) is None
    store.delete_contract(rec.id)
    with pytest.raises(NotFound):
        store.get_contract(rec.id)
    assert store.count_contracts() == 0


def test_sha256_is_unique(store: SqlRecordStore) -> None:
    store.add_contract(new_contract(1))
    from sqlalchemy.exc import IntegrityError

    with pytest.raises(IntegrityError):
        store.add_contract(new_contract(1))
    assert store.count_contracts() == 1


def test_listing_and_iteration(store: SqlRecordStore) -> None:
    ids = [store.add_contract(new_contract(n)).id for n in range(1, 8)]
    assert [r.id for r in store.list_contracts(offset=2, limit=3)] == ids[2:5]
    assert [r.id for r in store.iter_contracts(batch_size=3)] == ids
    assert store.contract_ids() == set(ids)
    assert store.count_contracts() == 7
    pages = sum(r.page_count for r in store.iter_contracts())
    waiting = sum(len(r.pages_needing_ocr) for r in store.iter_contracts())
    assert store.page_totals() == (pages, waiting) and waiting == 7


def test_explicit_ids_and_sequences(store: SqlRecordStore) -> None:
    store.add_contract(new_contract(1, id=41))
    store.fix_sequences()
    nxt = store.add_contract(new_contract(2))
    assert nxt.id > 41


def test_claims(store: SqlRecordStore) -> None:
    digest = "a" * 64
    assert store.claim(digest, "host:1")
    assert not store.claim(digest, "host:2")
    assert store.stale_claims(datetime.now(UTC) + timedelta(seconds=1)) == [digest]
    assert store.stale_claims(datetime.now(UTC) - timedelta(hours=1)) == []
    store.release(digest)
    assert store.claim(digest, "host:2")


def test_migrations_match_models(store: SqlRecordStore) -> None:
    with store.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert diff == [], "models changed without a migration: run alembic revision --autogenerate"


def test_unreachable_database_is_a_clear_error() -> None:
    s = SqlRecordStore("postgresql+psycopg://nobody@127.0.0.1:1/none?connect_timeout=2")
    with pytest.raises(ConfigurationError, match="ARCHIVE_DATABASE_URL|cannot connect"):
        s.check()


def test_unparseable_url_names_the_setting() -> None:
    with pytest.raises(ConfigurationError, match="ARCHIVE_DATABASE_URL"):
        SqlRecordStore("not a url")


def test_the_start_up_check_knows_the_newest_migration(store: SqlRecordStore) -> None:
    """``check()`` compares with ``MIGRATION_HEAD`` instead of reading the migration files: a
    new migration must move it, or every command would refuse a database at the new head."""
    assert (
        ScriptDirectory.from_config(alembic_config(store.url)).get_current_head() == MIGRATION_HEAD
    )
    store.check()  # a database migrated to head passes
