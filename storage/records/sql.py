"""The record store on SQLAlchemy 2: SQLite (embedded default, WAL) or PostgreSQL.

:class:`SqlRecordStore` is the one implementation of
:class:`~storage.records.base.RecordStore`. It owns the engines, the sessions and the schema
(check, migrate); everything else it is composed of, one mixin per area, each beside its
Protocol: ``contracts_sql``, ``customers_sql``, ``terms_sql``, ``lifecycle_sql``,
``payments_sql``, ``scheme_sql``, ``reminders_sql``, ``listing_sql``, ``seals_sql``,
``ledger_sql`` and ``ocr_sql``. The mixins share :class:`~storage.records.sql_common.SqlPart`:
they reach the database only through ``self._session``, defined here.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import create_engine, event, inspect, text
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.exc import ArgumentError, IntegrityError, OperationalError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from core.errors import ConfigurationError, Conflict
from storage.errors import StorageError, StorageFull
from storage.records import (  # noqa: F401 - every table in Base.metadata
    access_models,
    jobs_models,
    ledger_models,
    seal_models,
    view_models,
    workflow_models,
)
from storage.records.approvals_sql import SqlApprovals
from storage.records.borrowing_sql import SqlBorrowing
from storage.records.contracts_sql import SqlContracts
from storage.records.customers_sql import SqlCustomers
from storage.records.jobs_sql import SqlJobs
from storage.records.ledger_sql import SqlLedger
from storage.records.lifecycle_sql import SqlLifecycle
from storage.records.listing_sql import SqlListing
from storage.records.ocr_sql import OcrQueueSql
from storage.records.payments_sql import SqlPayments
from storage.records.reminders_sql import SqlReminders
from storage.records.scheme_sql import SqlScheme
from storage.records.seals_sql import SqlSeals
from storage.records.sql_common import MAX_ID, contract_record
from storage.records.terms_sql import SqlTerms
from storage.records.unit import current as current_unit
from storage.records.vocabulary_sql import SqlVocabulary

if TYPE_CHECKING:
    # alembic is imported where migrations are checked or run, not by every command.
    from alembic.config import Config as AlembicConfig

    from storage.records.access_sql import SqlAccessStore

__all__ = ["MAX_ID", "MIGRATION_HEAD", "SqlRecordStore", "_to_record", "alembic_config"]

MIGRATION_HEAD = "0019_renewal_limit"
"""The newest migration, written here so that every command's start-up check compares one
string instead of reading every migration file (alembic's ``ScriptDirectory``: 25 ms, more
than the check's query). ``tests/test_records.py`` fails when a new migration is added and this
is not moved to it."""

MIGRATIONS_DIR = Path(__file__).parent / "migrations"

_to_record = contract_record
"""The old name of :func:`~storage.records.sql_common.contract_record`."""

MIGRATE_LOCK = 0x636F6E7472616374  # 'contract': the advisory lock held while migrating
UNIT_LOCK = 0x6368616E6765  # 'change': held by a unit of work (storage.records.unit) on PostgreSQL


def _redact(url: str) -> str:
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "<unparseable URL>"


def alembic_config(url: str) -> AlembicConfig:
    from alembic.config import Config as AlembicConfig

    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


class WriterQueue:
    """Writers to one SQLite database wait here instead of in SQLite's busy handler.

    SQLite lets one writer in at a time; a connection that finds the write lock taken polls
    for it (``busy_timeout``), sleeping 1, 2, 5, ... up to 100 ms between tries. Under load
    (an upload writes a dozen short transactions, every search appends its access-log entry)
    that polling kept writers waiting long after the lock was free, and a late poller lost to
    newcomers again and again: a search's one-row log append waited 70 ms at the median and
    seconds at worst while uploads ran. So every write transaction of the store first takes
    a process-wide lock (its threads sleep until the holder's transaction ends and are woken at
    once) and then an exclusive ``flock`` on ``<database>.writers``, shared by every process of
    the archive (one thread per process tries it, every 0.5-2 ms). ``BEGIN IMMEDIATE`` and
    ``busy_timeout`` stay as they were, for processes that do not queue (an older version, the
    sqlite3 shell), and as the last word: a writer that waited ``timeout`` seconds in the queue
    goes on without it and lets SQLite decide, so the queue can never wait forever.

    The same thread may enter again (a nested write session): it holds the queue already, and
    SQLite decides as before. Only SQLite; PostgreSQL queues its lock waiters itself."""

    def __init__(self, path: Path | None, *, timeout: float = 30.0) -> None:
        self._lock = threading.Lock()
        self._owner: int | None = None
        self._depth = 0
        self._locked_file = False
        self._path = path
        self._fd: int | None = None
        self._pid = 0
        self._fd_lock = threading.Lock()
        self.timeout = timeout

    def _file(self) -> int | None:
        if self._path is None:
            return None
        with self._fd_lock:
            if self._fd is None or self._pid != os.getpid():
                try:
                    self._fd = os.open(self._path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
                    self._pid = os.getpid()
                except OSError:
                    self._path = None  # a read-only or odd place: SQLite's own locking only
                    return None
            return self._fd

    def acquire(self) -> bool:
        """Wait for this thread's turn; False when it went on without (re-entry or timeout)."""
        me = threading.get_ident()
        if self._owner == me:
            self._depth += 1
            return True
        if not self._lock.acquire(timeout=self.timeout):
            return False
        self._owner, self._depth, self._locked_file = me, 1, False
        fd = self._file()
        if fd is not None:
            deadline = time.monotonic() + self.timeout
            pause = 0.0005
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    self._locked_file = True
                    break
                except BlockingIOError:
                    if time.monotonic() > deadline:
                        break
                    time.sleep(pause)
                    pause = min(pause * 2, 0.002)
                except OSError:
                    break  # SQLite's own locking still serialises the writers
        return True

    def release(self) -> None:
        self._depth -= 1
        if self._depth > 0:
            return
        if self._locked_file and self._fd is not None:
            with contextlib.suppress(OSError):
                fcntl.flock(self._fd, fcntl.LOCK_UN)
        self._owner, self._locked_file = None, False
        self._lock.release()

    def close(self) -> None:
        with self._fd_lock:
            if self._fd is not None:
                with contextlib.suppress(OSError):
                    os.close(self._fd)
                self._fd = None


_QUEUED = "archive_writer_queued"
"""Set in a DBAPI connection's ``info`` while its transaction holds the :class:`WriterQueue`."""


class _UnitSession:
    """The record store's one session in a unit of work; its commit's errors are the store's."""

    def __init__(self, store: SqlRecordStore, session: Session) -> None:
        self.store = store
        self.session = session

    def commit(self) -> None:
        try:
            self.session.commit()
        except IntegrityError as exc:
            raise Conflict(f"the change conflicts with existing data: {exc.orig}") from exc
        except SQLAlchemyError as exc:
            raise self.store._unavailable(exc) from exc

    def rollback(self) -> None:
        self.session.rollback()

    def close(self) -> None:
        self.session.close()


class SqlRecordStore(
    SqlContracts,
    SqlCustomers,
    SqlTerms,
    SqlLifecycle,
    SqlPayments,
    SqlScheme,
    SqlReminders,
    SqlListing,
    SqlSeals,
    SqlLedger,
    OcrQueueSql,
    SqlVocabulary,
    SqlApprovals,
    SqlBorrowing,
    SqlJobs,
):
    """Records in SQLite or PostgreSQL, chosen by the URL; one mixin per area of the store."""

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
            self.writers = WriterQueue(
                self._sqlite_file.with_name(self._sqlite_file.name + ".writers")
                if self._sqlite_file is not None
                else None
            )
            self._sqlite_setup(self._write_engine, begin="BEGIN IMMEDIATE", queue=self.writers)
        else:
            self.engine = create_engine(url, connect_args=args, pool_pre_ping=True)
            self._write_engine = self.engine
        self._read = sessionmaker(self.engine, expire_on_commit=False)
        self._write = sessionmaker(self._write_engine, expire_on_commit=False)

    @staticmethod
    def _sqlite_setup(engine: Engine, *, begin: str, queue: WriterQueue | None = None) -> None:
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
            if queue is not None:
                info = conn.connection.info
                if not info.get(_QUEUED) and queue.acquire():
                    info[_QUEUED] = True
            conn.exec_driver_sql(begin)

        if queue is None:
            return

        # Released once the connection goes back to the pool: after its COMMIT or ROLLBACK
        # (SQLAlchemy's ``commit`` event comes before the COMMIT itself), or when it is
        # closed or thrown away.
        def _release(dbapi_conn: Any, record: Any, *_: Any) -> None:
            if record is not None and record.info.pop(_QUEUED, False):
                queue.release()

        event.listen(engine, "checkin", _release)
        event.listen(engine, "invalidate", _release)
        event.listen(engine, "soft_invalidate", _release)
        event.listen(engine, "close", _release)
        event.listen(engine, "detach", _release)

    # -- the database: errors, schema, sessions --------------------------------------------
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

    def _revision(self) -> str | None:
        """The migration the database is at (None: not migrated yet), read with one query
        instead of alembic's machinery (which parses every migration script)."""
        with self.engine.connect() as conn:
            if not inspect(conn).has_table("alembic_version"):
                return None
            rows = conn.execute(text("SELECT version_num FROM alembic_version")).all()
        return rows[0][0] if len(rows) == 1 else None

    def check(self) -> None:
        try:
            current = self._revision()
        except SQLAlchemyError as exc:
            raise ConfigurationError(
                f"cannot connect to the records database {_redact(self.url)}: "
                f"{getattr(exc, 'orig', exc)}",
                hint="check ARCHIVE_DATABASE_URL and that the database server is running",
            ) from exc
        if current != MIGRATION_HEAD:
            raise ConfigurationError(
                f"records database is at migration {current}, the code expects {MIGRATION_HEAD}",
                hint="run `contract-archive migrate-db` (the server does it at start-up)",
            )

    def migrate(self) -> None:
        if self._sqlite_file is not None:
            try:
                self._sqlite_file.parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise ConfigurationError(
                    f"the directory of the SQLite database {self._sqlite_file} cannot be "
                    f"created: {exc.strerror or exc}",
                    hint="set ARCHIVE_DATA_DIR or ARCHIVE_DATABASE_URL to a writable place",
                ) from exc
        # At the head already (every start but the first after an upgrade): nothing to do, and
        # no write lock taken, so a command's start never waits behind a writer for this.
        with contextlib.suppress(SQLAlchemyError):
            if self._revision() == MIGRATION_HEAD:
                return
        from alembic import command  # only when there is something to migrate (0.1 s of imports)

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
        if self.dialect == "sqlite":
            self.writers.close()

    def session(self, *, write: bool) -> contextlib.AbstractContextManager[Session]:
        """A session inside a transaction, for stores that share this database."""
        return self._session(write=write)

    @contextlib.contextmanager
    def _session(self, *, write: bool) -> Iterator[Session]:
        """A session in a transaction of its own or, inside a unit of work
        (:mod:`storage.records.unit`), the unit's one transaction: a write is a SAVEPOINT of
        it (an error takes back only that write; the unit decides), a read sees what the unit
        wrote."""
        unit = current_unit()
        try:
            if unit is not None:
                joined: _UnitSession = unit.session(self, self._unit_session)
                if write:
                    with joined.session.begin_nested():
                        yield joined.session
                else:
                    yield joined.session
                return
            maker = self._write if write else self._read
            with maker() as session, session.begin():
                yield session
        except IntegrityError:
            raise
        except OperationalError as exc:
            raise self._unavailable(exc) from exc

    def _unit_session(self) -> _UnitSession:
        """The unit of work's session. On PostgreSQL it first takes the archive's change lock
        (a transaction-level advisory lock), so units commit one at a time and take the locks
        inside (a contract's rows, the ledger's next position, the access log's head row) in
        one order, never crosswise; SQLite's ``BEGIN IMMEDIATE`` does the same for it."""
        session = self._write()
        try:
            session.begin()
            if self.dialect == "postgresql":
                session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": UNIT_LOCK})
        except BaseException:
            session.close()
            raise
        return _UnitSession(self, session)

    # -- the stores that share this database -----------------------------------------------
    def access_store(self) -> SqlAccessStore:
        """A new access store (users, tokens, sessions, the access log) on this database."""
        from storage.records.access_sql import SqlAccessStore

        return SqlAccessStore(self)
