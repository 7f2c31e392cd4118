"""Move an archive onto other engines: ``contract-archive migrate --to target.env``.

The source is the archive the current settings describe; the target is described by a file of
``ARCHIVE_`` settings (the environment does not leak into it). Three steps, then a proof:

1. **Objects**: every object is streamed into the target store under the same key (write-once:
   an object already there with the same bytes is skipped, other bytes stop the migration).
   Originals get their COMPLIANCE retention on a store that enforces it.
2. **Records**: every table of the records database is copied row by row with its primary keys
   (tables other parts of the archive add are copied too); rows already in the target are kept,
   so an interrupted migration can be run again. PostgreSQL sequences are moved past the ids.
3. **Index**: rebuilt on the target from the copied records and objects.
4. **Verification**: object count and a digest over every object's key and SHA-256, read back
   from both stores; row count and a digest over every row, per table; the index holds exactly
   the target's contract ids. The report says ``ok`` only when all of them agree.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource
from sqlalchemy import Table, func, select, text
from sqlalchemy.engine import Engine

from core.errors import ArchiveError, ConfigurationError
from core.settings import Settings
from services.archive import Archive
from storage.objects.base import CHUNK_SIZE, ObjectStore

# Rows that only mean something while a process runs: not copied.
TRANSIENT_TABLES = frozenset({"ingest_claims", "search_words"})
"""Not copied nor compared: short-lived locks, and the index's vocabulary (derived like the
index itself: the target's reindex counts it again)."""
REPLACED_TABLES = frozenset({"access_log_head"})
"""State that describes the rows copied with it (the access log's chain head): the target's
row (made by its migrations) is replaced by the source's, not kept."""
BATCH = 1000

Progress = Callable[[str, int], None]


class MigrationError(ArchiveError):
    code = "migration_failed"
    http_status = 500


class _FileSettings(Settings):
    """Settings read from one file only (and explicit values), never from the environment."""

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings, dotenv_settings)


def load_target_settings(path: Path) -> Settings:
    """The target archive's settings, from a file of ARCHIVE_ variables (like .env)."""
    if not path.is_file():
        raise ConfigurationError(
            f"the target settings file {path} does not exist",
            hint="write the target's ARCHIVE_ settings into a file "
            "(see 'Running at scale' in the README)",
        )
    try:
        return _FileSettings(_env_file=path)
    except ValidationError as exc:
        problems = [
            "ARCHIVE_" + "_".join(str(p) for p in e["loc"]).upper() + ": " + e["msg"]
            for e in exc.errors()
        ]
        raise ConfigurationError(
            f"invalid setting in {path}: " + "; ".join(problems),
            hint="fix the target settings file (see 'Settings' in the README)",
        ) from None


# --- the report -------------------------------------------------------------------------------
@dataclass(frozen=True)
class Check:
    what: str
    source_count: int
    target_count: int
    source_digest: str
    target_digest: str

    @property
    def ok(self) -> bool:
        return self.source_count == self.target_count and self.source_digest == self.target_digest

    def to_dict(self) -> dict[str, Any]:
        return {
            "what": self.what,
            "source_count": self.source_count,
            "target_count": self.target_count,
            "source_digest": self.source_digest,
            "target_digest": self.target_digest,
            "ok": self.ok,
        }


@dataclass(frozen=True)
class MigrationReport:
    objects_copied: int
    objects_skipped: int
    rows_copied: dict[str, int]
    indexed: int
    checks: list[Check]

    @property
    def ok(self) -> bool:
        return all(c.ok for c in self.checks)

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "objects_copied": self.objects_copied,
            "objects_skipped": self.objects_skipped,
            "rows_copied": self.rows_copied,
            "indexed": self.indexed,
            "checks": [c.to_dict() for c in self.checks],
        }


# --- digests ----------------------------------------------------------------------------------
def _object_sha256(store: ObjectStore, key: str) -> str:
    digest = hashlib.sha256()
    with store.open(key) as fh:
        while chunk := fh.read(CHUNK_SIZE):
            digest.update(chunk)
    return digest.hexdigest()


def object_digest(store: ObjectStore) -> tuple[int, str]:
    """Number of objects and a SHA-256 over "key sha256" lines of all of them, read back."""
    lines = sorted(f"{key} {_object_sha256(store, key)}\n" for key in store.iter_keys())
    return len(lines), hashlib.sha256("".join(lines).encode()).hexdigest()


def _canonical(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, bytes):
        return value.hex()
    if isinstance(value, float):
        return repr(value)
    return value


def _tables() -> list[Table]:
    # The SQL store loads every module that defines tables into Base.metadata; imported here,
    # not at the top, so that `contract-archive --help` does not load SQLAlchemy's ORM.
    from storage.records.models import Base
    from storage.records.sql import SqlRecordStore  # noqa: F401

    return [t for t in Base.metadata.sorted_tables if t.name not in TRANSIENT_TABLES]


def table_digest(engine: Engine, table: Table) -> tuple[int, str]:
    """Rows of ``table`` and a SHA-256 over them in primary-key order, values normalised."""
    digest = hashlib.sha256()
    count = 0
    columns = sorted(table.columns, key=lambda c: c.name)
    with engine.connect() as conn:
        rows = conn.execution_options(yield_per=BATCH).execute(
            select(*columns).order_by(*table.primary_key.columns)
        )
        for row in rows:
            line = json.dumps(
                [_canonical(v) for v in row], ensure_ascii=False, sort_keys=True, default=str
            )
            digest.update(line.encode() + b"\n")
            count += 1
    return count, digest.hexdigest()


# --- copying ----------------------------------------------------------------------------------


def copy_objects(
    source: ObjectStore, target: ObjectStore, progress: Progress | None = None
) -> tuple[int, int]:
    """Copy every object; returns (copied, already there)."""
    copied = skipped = 0
    for key in sorted(source.iter_keys()):
        with source.open(key) as fh:
            result = target.put(key, fh)
        if result.created:
            copied += 1
        else:
            skipped += 1
        if progress:
            progress("objects", 1)
    return copied, skipped


def copy_rows(
    source: Engine, target: Engine, tables: Sequence[Table], progress: Progress | None = None
) -> dict[str, int]:
    """Insert every row of ``tables`` missing from the target (by primary key)."""
    copied: dict[str, int] = {}
    for table in tables:
        if table.name in REPLACED_TABLES:
            with source.connect() as conn:
                state = [dict(r._mapping) for r in conn.execute(select(table))]
            with target.connect() as conn:
                current = [dict(r._mapping) for r in conn.execute(select(table))]
            if current != state:
                with target.begin() as out:
                    out.execute(table.delete())
                    if state:
                        out.execute(table.insert(), state)
            copied[table.name] = len(state) if current != state else 0
            continue
        pk = list(table.primary_key.columns)
        with target.connect() as conn:
            existing = {tuple(r) for r in conn.execute(select(*pk))}
        n = 0
        with source.connect() as conn:
            result = conn.execution_options(yield_per=BATCH).execute(select(table).order_by(*pk))
            for part in result.partitions():
                rows = [
                    dict(r._mapping)
                    for r in part
                    if tuple(r._mapping[c.name] for c in pk) not in existing
                ]
                if rows:
                    with target.begin() as out:
                        out.execute(table.insert(), rows)
                    n += len(rows)
                if progress:
                    progress(table.name, len(part))
        copied[table.name] = n
    _fix_sequences(target, tables)
    return copied


def _fix_sequences(engine: Engine, tables: Iterable[Table]) -> None:
    """After inserting explicit ids, move PostgreSQL's identity sequences past them."""
    if engine.dialect.name != "postgresql":
        return
    with engine.begin() as conn:
        for table in tables:
            pk = list(table.primary_key.columns)
            if len(pk) != 1 or pk[0].autoincrement is False:
                continue
            column = pk[0]
            sequence = conn.execute(
                select(func.pg_get_serial_sequence(table.name, column.name))
            ).scalar()
            if sequence is None:
                continue
            top = conn.execute(select(func.max(column))).scalar()
            conn.execute(
                text("SELECT setval(:seq, :value, false)"),
                {"seq": sequence, "value": int(top or 0) + 1},
            )


def _retain_originals(target: Archive) -> None:
    days = target.settings.default_retention_days
    if days <= 0 or not target.objects.supports_locks:
        return
    for record in target.records.iter_contracts():
        target.objects.set_retention(record.original_key, record.created_at + timedelta(days=days))


def carry_development_keys(source: Settings, target: Settings) -> bool:
    """Copy the source's development seal keys to a target that has none, before the target is
    opened (which would generate its own): the migrated seals must still chain to a trusted
    root. Production keys come from settings and are not copied. True when copied."""
    if source.seal_key_file is not None or target.seal_key_file is not None:
        return False
    src, dst = source.keys_dir, target.keys_dir
    if not src.is_dir() or (dst.exists() and any(dst.iterdir())) or src.resolve() == dst.resolve():
        return False
    dst.parent.mkdir(parents=True, exist_ok=True)
    shutil.copytree(src, dst, dirs_exist_ok=True)  # copies the 0600/0700 modes too
    os.chmod(dst, 0o700)
    return True


def _same_place(source: Settings, target: Settings) -> bool:
    return source.effective_database_url == target.effective_database_url


def migrate(source: Archive, target: Archive, progress: Progress | None = None) -> MigrationReport:
    """Copy objects and records from ``source`` to ``target``, rebuild its index, verify."""
    if _same_place(source.settings, target.settings):
        raise ConfigurationError(
            "the target's records database is the source's own "
            f"({source.records.name}); a migration needs another place",
            hint="point ARCHIVE_DATABASE_URL in the target settings file elsewhere",
        )
    src_sql, dst_sql = source.records, target.records
    copied, skipped = copy_objects(source.objects, target.objects, progress)
    tables = _tables()
    rows = copy_rows(src_sql.engine, dst_sql.engine, tables, progress)
    _retain_originals(target)
    indexed = target.reindex(lambda n: progress("index", n) if progress else None)
    checks = [
        Check("objects", *_pair(object_digest(source.objects), object_digest(target.objects)))
    ]
    for table in tables:
        checks.append(
            Check(
                f"table {table.name}",
                *_pair(table_digest(src_sql.engine, table), table_digest(dst_sql.engine, table)),
            )
        )
    contract_ids = sorted(target.records.contract_ids())
    index_ids = sorted(target.index.ids())
    checks.append(
        Check(
            "index",
            len(contract_ids),
            len(index_ids),
            hashlib.sha256(json.dumps(contract_ids).encode()).hexdigest(),
            hashlib.sha256(json.dumps(index_ids).encode()).hexdigest(),
        )
    )
    return MigrationReport(
        objects_copied=copied,
        objects_skipped=skipped,
        rows_copied=rows,
        indexed=indexed,
        checks=checks,
    )


def _pair(source: tuple[int, str], target: tuple[int, str]) -> tuple[int, int, str, str]:
    return source[0], target[0], source[1], target[1]
