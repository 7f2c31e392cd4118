"""The record store on SQLAlchemy 2: SQLite (embedded default, WAL) or PostgreSQL."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import create_engine, delete, event, func, select, text, update
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.exc import ArgumentError, IntegrityError, OperationalError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from core.errors import ConfigurationError, NotFound
from storage.errors import StorageError, StorageFull
from storage.records import access_models, seal_models  # noqa: F401 - every table in Base.metadata
from storage.records.base import MAX_ID, Claim, ContractRecord, NewContract, PageRecord
from storage.records.contract_store import SqlContractStore
from storage.records.models import Contract, ContractPage, IngestClaim, utcnow
from storage.records.ocr_sql import OcrQueueSql

if TYPE_CHECKING:
    # alembic is imported where migrations are checked or run, not by every command.
    from alembic.config import Config as AlembicConfig

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


MIGRATE_LOCK = 0x636F6E7472616374  # 'contract': the advisory lock held while migrating


def _redact(url: str) -> str:
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "<unparseable URL>"


def _to_record(row: Contract) -> ContractRecord:
    return ContractRecord(
        id=row.id,
        sha256=row.sha256,
        size=row.size,
        content_type=row.content_type,
        filename=row.filename,
        title=row.title,
        customer=row.customer,
        page_count=row.page_count,
        status=row.status,
        created_at=row.created_at,
        ingested_by=row.ingested_by,
        original_key=row.original_key,
        text_key=row.text_key,
        text_sha256=row.text_sha256,
        classification=row.classification,
        warnings=tuple(row.warnings or ()),
        pages=tuple(
            PageRecord(
                page_no=p.page_no,
                text_source=p.text_source,
                chars=p.chars,
                needs_ocr=p.needs_ocr,
                ocr_status=p.ocr_status,
                ocr_confidence=p.ocr_confidence,
                ocr_error=p.ocr_error,
            )
            for p in row.pages
        ),
    )


def alembic_config(url: str) -> AlembicConfig:
    from alembic.config import Config as AlembicConfig

    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


class SqlRecordStore(SqlContractStore, OcrQueueSql):
    """Records in SQLite or PostgreSQL, chosen by the URL (mixins: contract model, OCR queue)."""

    def __init__(self, url: str, *, connect_args: dict[str, Any] | None = None) -> None:
        self.url = url
        try:
            parsed = make_url(url)
        except ArgumentError as exc:
            raise ConfigurationError(
                f"ARCHIVE_DATABASE_URL is not a database URL: {exc}",
                hint="use sqlite:///path/archive.db or postgresql+psycopg://user@host/db",
            ) from exc
        self.dialect = parsed.get_backend_name()
        self.name = self.dialect
        args = dict(connect_args or {})
        self._sqlite_file = (
            Path(parsed.database)
            if self.dialect == "sqlite" and parsed.database and parsed.database != ":memory:"
            else None
        )
        if self.dialect == "sqlite":
            args.setdefault("timeout", 30)
            self.engine = create_engine(url, connect_args=args)
            self._write_engine = create_engine(url, connect_args=args)
            self._sqlite_setup(self.engine, begin="BEGIN")
            self._sqlite_setup(self._write_engine, begin="BEGIN IMMEDIATE")
        else:
            self.engine = create_engine(url, connect_args=args, pool_pre_ping=True)
            self._write_engine = self.engine
        self._read = sessionmaker(self.engine, expire_on_commit=False)
        self._write = sessionmaker(self._write_engine, expire_on_commit=False)

    @staticmethod
    def _sqlite_setup(engine: Engine, *, begin: str) -> None:
        # The pysqlite driver's own transaction handling defeats BEGIN IMMEDIATE; take it over
        # (the recipe from SQLAlchemy's SQLite dialect documentation).
        @event.listens_for(engine, "connect")
        def _on_connect(dbapi_conn: Any, _record: Any) -> None:
            dbapi_conn.isolation_level = None
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.close()

        @event.listens_for(engine, "begin")
        def _on_begin(conn: Connection) -> None:
            conn.exec_driver_sql(begin)

    # -- lifecycle -------------------------------------------------------------------------
    def _unavailable(self, exc: Exception) -> StorageError:
        cause = getattr(exc, "orig", exc)
        if "database or disk is full" in str(cause) or getattr(cause, "sqlstate", None) == "53100":
            return StorageFull(
                f"no space left on the device while writing the records database "
                f"{_redact(self.url)}",
                hint="free disk space where the database lives, then retry: nothing was archived",
            )
        return StorageError(
            f"records database {_redact(self.url)} failed: {getattr(exc, 'orig', exc)}",
            hint="check ARCHIVE_DATABASE_URL and that the database server is running",
        )

    def check(self) -> None:
        from alembic.runtime.migration import MigrationContext
        from alembic.script import ScriptDirectory

        try:
            with self.engine.connect() as conn:
                current = MigrationContext.configure(conn).get_current_revision()
        except SQLAlchemyError as exc:
            raise ConfigurationError(
                f"cannot connect to the records database {_redact(self.url)}: "
                f"{getattr(exc, 'orig', exc)}",
                hint="check ARCHIVE_DATABASE_URL and that the database server is running",
            ) from exc
        head = ScriptDirectory.from_config(alembic_config(self.url)).get_current_head()
        if current != head:
            raise ConfigurationError(
                f"records database is at migration {current}, the code expects {head}",
                hint="run `contract-archive migrate-db` (the server does it at start-up)",
            )

    def migrate(self) -> None:
        from alembic import command

        if self._sqlite_file is not None:
            try:
                self._sqlite_file.parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise ConfigurationError(
                    f"the directory of the SQLite database {self._sqlite_file} cannot be "
                    f"created: {exc.strerror or exc}",
                    hint="set ARCHIVE_DATA_DIR or ARCHIVE_DATABASE_URL to a writable place",
                ) from exc
        try:
            with self._write_engine.begin() as conn:
                if self.dialect == "postgresql":
                    # Two processes starting on an empty database: one migrates, the other
                    # waits here and then finds the schema at head.
                    conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATE_LOCK})
                cfg = alembic_config(self.url)
                cfg.attributes["connection"] = conn
                command.upgrade(cfg, "head")
        except OperationalError as exc:
            raise ConfigurationError(
                f"cannot migrate the records database {_redact(self.url)}: "
                f"{getattr(exc, 'orig', exc)}",
                hint="check ARCHIVE_DATABASE_URL and that the database server is running",
            ) from exc

    def close(self) -> None:
        self.engine.dispose()
        if self._write_engine is not self.engine:
            self._write_engine.dispose()

    def session(self, *, write: bool) -> contextlib.AbstractContextManager[Session]:
        """A session inside a transaction, for stores that share this database."""
        return self._session(write=write)

    @contextlib.contextmanager
    def _session(self, *, write: bool) -> Iterator[Session]:
        maker = self._write if write else self._read
        try:
            with maker() as session, session.begin():
                yield session
        except IntegrityError:
            raise
        except OperationalError as exc:
            raise self._unavailable(exc) from exc

    # -- ingest claims ---------------------------------------------------------------------
    def claim(self, sha256: str, owner: str) -> bool:
        try:
            with self._session(write=True) as s:
                s.add(IngestClaim(sha256=sha256, owner=owner, claimed_at=utcnow()))
        except IntegrityError:
            return False
        return True

    def release(self, sha256: str) -> None:
        with self._session(write=True) as s:
            s.execute(delete(IngestClaim).where(IngestClaim.sha256 == sha256))

    def stale_claims(self, older_than: datetime) -> list[str]:
        with self._session(write=False) as s:
            rows = s.scalars(select(IngestClaim.sha256).where(IngestClaim.claimed_at < older_than))
            return list(rows)

    def claims(self) -> list[Claim]:
        with self._session(write=False) as s:
            rows = s.scalars(select(IngestClaim).order_by(IngestClaim.claimed_at))
            return [Claim(r.sha256, r.owner, r.claimed_at) for r in rows]

    def take_over_claim(self, sha256: str, old_owner: str, new_owner: str) -> bool:
        with self._session(write=True) as s:
            result = s.execute(
                update(IngestClaim)
                .where(IngestClaim.sha256 == sha256, IngestClaim.owner == old_owner)
                .values(owner=new_owner, claimed_at=utcnow())
            )
            return bool(getattr(result, "rowcount", 0) == 1)

    # -- contracts -------------------------------------------------------------------------
    def add_contract(self, new: NewContract) -> ContractRecord:
        row = Contract(
            sha256=new.sha256,
            size=new.size,
            content_type=new.content_type,
            filename=new.filename,
            title=new.title,
            customer=new.customer,
            page_count=new.page_count,
            status=new.status,
            classification=new.classification,
            created_at=new.created_at or utcnow(),
            ingested_by=new.ingested_by,
            original_key=new.original_key,
            text_key=new.text_key,
            text_sha256=new.text_sha256,
            warnings=list(new.warnings),
            pages=[
                ContractPage(
                    page_no=p.page_no,
                    text_source=p.text_source,
                    chars=p.chars,
                    needs_ocr=p.needs_ocr,
                    ocr_status=p.ocr_status,
                    ocr_confidence=p.ocr_confidence,
                    ocr_error=p.ocr_error,
                )
                for p in new.pages
            ],
        )
        if new.id is not None:
            row.id = new.id
        with self._session(write=True) as s:
            s.add(row)
            s.flush()
            record = _to_record(row)
        return record

    def delete_contract(self, contract_id: int) -> None:
        if not 0 < contract_id <= MAX_ID:
            return
        with self._session(write=True) as s:
            row = s.get(Contract, contract_id)
            if row is not None:
                s.delete(row)

    def get_contract(self, contract_id: int) -> ContractRecord:
        if not 0 < contract_id <= MAX_ID:  # beyond a BIGINT: the driver would overflow
            raise NotFound(f"contract {contract_id} does not exist")
        with self._session(write=False) as s:
            row = s.get(Contract, contract_id)
            if row is None:
                raise NotFound(f"contract {contract_id} does not exist")
            return _to_record(row)

    def find_by_sha256(self, sha256: str) -> ContractRecord | None:
        with self._session(write=False) as s:
            row = s.scalars(select(Contract).where(Contract.sha256 == sha256)).first()
            return _to_record(row) if row else None

    def list_contracts(self, *, offset: int = 0, limit: int = 50) -> list[ContractRecord]:
        with self._session(write=False) as s:
            rows = s.scalars(select(Contract).order_by(Contract.id).offset(offset).limit(limit))
            return [_to_record(r) for r in rows]

    def count_contracts(self) -> int:
        with self._session(write=False) as s:
            return int(s.scalar(select(func.count(Contract.id))) or 0)

    def page_totals(self) -> tuple[int, int]:
        with self._session(write=False) as s:
            pages = s.scalar(select(func.coalesce(func.sum(Contract.page_count), 0)))
            waiting = s.scalar(select(func.count()).where(ContractPage.needs_ocr.is_(True)))
            return int(pages or 0), int(waiting or 0)

    def iter_contracts(self, batch_size: int = 500) -> Iterator[ContractRecord]:
        last = 0
        while True:
            with self._session(write=False) as s:
                rows = list(
                    s.scalars(
                        select(Contract)
                        .where(Contract.id > last)
                        .order_by(Contract.id)
                        .limit(batch_size)
                    )
                )
                batch = [_to_record(r) for r in rows]
            if not batch:
                return
            yield from batch
            last = batch[-1].id

    def contract_ids(self) -> set[int]:
        with self._session(write=False) as s:
            return set(s.scalars(select(Contract.id)))

    def fix_sequences(self) -> None:
        """After inserting explicit ids (``recover``), move PostgreSQL's sequence past them."""
        if self.dialect != "postgresql":
            return
        with self._session(write=True) as s:
            s.execute(
                select(
                    func.setval(
                        func.pg_get_serial_sequence("contracts", "id"),
                        func.coalesce(select(func.max(Contract.id)).scalar_subquery(), 0) + 1,
                        False,
                    )
                )
            )
