"""The access store on SQLAlchemy, in the record store's database (SQLite or PostgreSQL).

Appending to the access log locks the one ``access_log_head`` row (``SELECT ... FOR UPDATE`` on
PostgreSQL; SQLite write transactions are already serialised by ``BEGIN IMMEDIATE``), so entries
appended by concurrent requests, workers and CLI processes form a single chain with no gaps.
"""

from __future__ import annotations

import contextlib
import hashlib
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Select, and_, delete, false, func, not_, or_, select
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.orm import Session

from core.access_errors import AuditLogUnavailable
from core.errors import Conflict, InvalidRequest, NotFound
from storage.errors import StorageError
from storage.records.access_base import (
    CLASS_REFUSAL_REASON,
    GENESIS_HASH,
    LogEntry,
    LogFilter,
    LogHead,
    NewLogEntry,
    NewUser,
    SessionRecord,
    TokenRecord,
    UserRecord,
    canonical_bytes,
    canonical_fields,
    clean_text,
)
from storage.records.access_models import (
    AccessLogEntry,
    AccessLogHead,
    ApiToken,
    ClassRestriction,
    LoginFailure,
    User,
    WebSession,
)
from storage.records.base import ContractRecord
from storage.records.models import Contract, utcnow
from storage.records.sql import SqlRecordStore, _to_record
from storage.records.unit import after_commit
from storage.records.unit import current as current_unit

HEAD_ID = 1
USER_FIELDS = {"display_name", "roles", "groups", "password_hash", "must_change_password"}
USER_FIELDS |= {"disabled", "password_changed_at", "last_login_at"}
CONTRACT_FIELDS = {"title": 1000, "customer": 500, "classification": 50}


def _user(row: User) -> UserRecord:
    return UserRecord(
        id=row.id,
        username=row.username,
        display_name=row.display_name,
        roles=tuple(row.roles or ()),
        groups=tuple(row.groups or ()),
        password_hash=row.password_hash,
        must_change_password=row.must_change_password,
        disabled=row.disabled,
        created_at=row.created_at,
        created_by=row.created_by,
        password_changed_at=row.password_changed_at,
        last_login_at=row.last_login_at,
    )


def _token(row: ApiToken, username: str) -> TokenRecord:
    return TokenRecord(
        id=row.id,
        prefix=row.prefix,
        user_id=row.user_id,
        username=username,
        name=row.name,
        created_at=row.created_at,
        created_by=row.created_by,
        expires_at=row.expires_at,
        revoked_at=row.revoked_at,
        last_used_at=row.last_used_at,
    )


def _session_record(row: WebSession) -> SessionRecord:
    return SessionRecord(
        id_hash=row.id_hash,
        user_id=row.user_id,
        created_at=row.created_at,
        expires_at=row.expires_at,
        last_seen_at=row.last_seen_at,
        revoked_at=row.revoked_at,
    )


def _entry(row: AccessLogEntry) -> LogEntry:
    return LogEntry(
        seq=row.seq,
        at=row.at,
        actor=row.actor,
        via=row.via,
        ip=row.ip,
        user_agent=row.user_agent,
        action=row.action,
        contract_id=row.contract_id,
        outcome=row.outcome,
        purpose=row.purpose,
        details=dict(row.details or {}),
        prev_hash=row.prev_hash,
        entry_hash=row.entry_hash,
    )


def _head(row: AccessLogHead) -> LogHead:
    return LogHead(
        seq=row.seq,
        entry_hash=row.entry_hash,
        at=row.at,
        base_seq=row.base_seq,
        base_hash=row.base_hash,
    )


class Tx:
    """A write transaction shared by a change and its log entry."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.after_commit: list[Callable[[], None]] = []


NewDayHook = Callable[[LogHead], None]


class _Waiting:
    """An access-log entry waiting for its group commit (:meth:`SqlAccessStore.append`)."""

    __slots__ = ("done", "entry", "error", "lead", "result")

    def __init__(self, entry: NewLogEntry) -> None:
        self.entry = entry
        self.done = threading.Event()
        self.lead = False
        self.result: LogEntry | None = None
        self.error: BaseException | None = None

    def outcome(self) -> LogEntry:
        if self.error is not None:
            raise self.error
        assert self.result is not None
        return self.result


class SqlAccessStore:
    """Users, tokens, sessions, restrictions and the access log, beside the contracts."""

    def __init__(self, records: SqlRecordStore) -> None:
        self.records = records
        self.dialect = records.dialect
        self._waiting: list[_Waiting] = []
        self._writing = False
        self._group_lock = threading.Lock()
        self.on_new_day: NewDayHook | None = None
        """Called after commit with the chain head as it was at the end of a UTC day, when the
        first entry of a later day is appended (the daily checkpoint)."""

    # -- transactions ----------------------------------------------------------------------
    @contextlib.contextmanager
    def transaction(self) -> Iterator[Tx]:
        tx: Tx | None = None
        try:
            with self.records.session(write=True) as s:
                tx = Tx(s)
                yield tx
        except IntegrityError as exc:
            raise Conflict(f"the change conflicts with existing data: {exc.orig}") from exc
        except SQLAlchemyError as exc:
            raise StorageError(f"records database failed: {getattr(exc, 'orig', exc)}") from exc
        assert tx is not None
        for callback in tx.after_commit:
            after_commit(callback)  # inside a unit of work: once the unit committed

    @contextlib.contextmanager
    def _read(self) -> Iterator[Session]:
        try:
            with self.records.session(write=False) as s:
                yield s
        except SQLAlchemyError as exc:
            raise StorageError(f"records database failed: {getattr(exc, 'orig', exc)}") from exc

    @contextlib.contextmanager
    def _logged(self, log: NewLogEntry | None) -> Iterator[Session]:
        """A write transaction that appends ``log`` (when given) before it commits."""
        with self.transaction() as tx:
            yield tx.session
            if log is not None:
                self._append(tx, log)

    # -- users -----------------------------------------------------------------------------
    def count_users(self) -> int:
        with self._read() as s:
            return int(s.scalar(select(func.count(User.id))) or 0)

    def add_user(self, new: NewUser, *, log: NewLogEntry | None = None) -> UserRecord:
        try:
            with self._logged(log) as s:
                row = User(
                    username=new.username,
                    display_name=new.display_name,
                    roles=sorted(new.roles),
                    groups=sorted(new.groups),
                    password_hash=new.password_hash,
                    must_change_password=new.must_change_password,
                    disabled=False,
                    created_at=utcnow(),
                    created_by=new.created_by,
                    password_changed_at=utcnow() if new.password_hash else None,
                )
                s.add(row)
                s.flush()
                return _user(row)
        except Conflict:
            raise Conflict(
                f"a user named {new.username!r} already exists",
                hint="choose another name, or change the existing user",
            ) from None

    def get_user(self, username: str) -> UserRecord | None:
        with self._read() as s:
            row = s.scalars(select(User).where(User.username == username)).first()
            return _user(row) if row else None

    def get_user_by_id(self, user_id: int) -> UserRecord | None:
        with self._read() as s:
            row = s.get(User, user_id)
            return _user(row) if row else None

    def list_users(self) -> list[UserRecord]:
        with self._read() as s:
            return [_user(r) for r in s.scalars(select(User).order_by(User.id))]

    def first_admin(self) -> UserRecord | None:
        with self._read() as s:
            for row in s.scalars(select(User).where(User.disabled.is_(False)).order_by(User.id)):
                if "admin" in (row.roles or ()):
                    return _user(row)
        return None

    def update_user(
        self,
        username: str,
        changes: Mapping[str, Any],
        *,
        log: NewLogEntry | None = None,
        keep_sessions: bool = False,
    ) -> UserRecord:
        unknown = set(changes) - USER_FIELDS
        if unknown:
            raise InvalidRequest(f"cannot change {', '.join(sorted(unknown))} of a user")
        with self._logged(log) as s:
            row = s.scalars(select(User).where(User.username == username)).first()
            if row is None:
                raise NotFound(f"user {username!r} does not exist")
            for key, value in changes.items():
                if key in ("roles", "groups"):
                    value = sorted(value)
                setattr(row, key, value)
            if changes.get("disabled") or ("password_hash" in changes and not keep_sessions):
                # A disabled user, or one whose password changed, keeps no open session (the
                # same password hashed again at another cost keeps them: keep_sessions).
                for session_row in s.scalars(
                    select(WebSession).where(
                        WebSession.user_id == row.id, WebSession.revoked_at.is_(None)
                    )
                ):
                    session_row.revoked_at = utcnow()
            s.flush()
            return _user(row)

    # -- API tokens ------------------------------------------------------------------------
    def add_token(
        self,
        *,
        user_id: int,
        prefix: str,
        token_hash: str,
        name: str,
        expires_at: datetime,
        created_by: str,
        log: NewLogEntry | None = None,
    ) -> TokenRecord:
        with self._logged(log) as s:
            user = s.get(User, user_id)
            if user is None:
                raise NotFound(f"user {user_id} does not exist")
            row = ApiToken(
                prefix=prefix,
                token_hash=token_hash,
                user_id=user_id,
                name=clean_text(name, 200) or "",
                created_at=utcnow(),
                created_by=created_by,
                expires_at=expires_at,
            )
            s.add(row)
            s.flush()
            return _token(row, user.username)

    def find_token(self, token_hash: str) -> tuple[TokenRecord, UserRecord] | None:
        with self._read() as s:
            found = s.execute(
                select(ApiToken, User)
                .join(User, User.id == ApiToken.user_id)
                .where(ApiToken.token_hash == token_hash)
            ).first()
            if found is None:
                return None
            token, user = found
            return _token(token, user.username), _user(user)

    def get_token(self, prefix: str) -> TokenRecord | None:
        with self._read() as s:
            found = s.execute(
                select(ApiToken, User.username)
                .join(User, User.id == ApiToken.user_id)
                .where(ApiToken.prefix == prefix)
            ).first()
            return _token(found[0], found[1]) if found else None

    def list_tokens(self, user_id: int | None = None) -> list[TokenRecord]:
        with self._read() as s:
            stmt = select(ApiToken, User.username).join(User, User.id == ApiToken.user_id)
            if user_id is not None:
                stmt = stmt.where(ApiToken.user_id == user_id)
            return [_token(t, name) for t, name in s.execute(stmt.order_by(ApiToken.id))]

    def revoke_token(self, prefix: str, *, by: str, log: NewLogEntry | None = None) -> TokenRecord:
        with self._logged(log) as s:
            found = s.execute(
                select(ApiToken, User.username)
                .join(User, User.id == ApiToken.user_id)
                .where(ApiToken.prefix == prefix)
            ).first()
            if found is None:
                raise NotFound(f"token {prefix} does not exist")
            row, username = found
            if row.revoked_at is None:
                row.revoked_at = utcnow()
                row.revoked_by = by
            s.flush()
            return _token(row, username)

    def touch_token(self, token_id: int, at: datetime) -> None:
        with self.transaction() as tx:
            row = tx.session.get(ApiToken, token_id)
            if row is not None:
                row.last_used_at = at

    # -- browser sessions ------------------------------------------------------------------
    def add_session(
        self,
        *,
        id_hash: str,
        user_id: int,
        expires_at: datetime,
        ip: str | None,
        user_agent: str | None,
        log: NewLogEntry | None = None,
    ) -> SessionRecord:
        now = utcnow()
        with self._logged(log) as s:
            row = WebSession(
                id_hash=id_hash,
                user_id=user_id,
                created_at=now,
                expires_at=expires_at,
                last_seen_at=now,
                ip=clean_text(ip, 64),
                user_agent=clean_text(user_agent, 500),
            )
            s.add(row)
            user = s.get(User, user_id)
            if user is not None:
                user.last_login_at = now
            s.flush()
            return _session_record(row)

    def find_session(self, id_hash: str) -> tuple[SessionRecord, UserRecord] | None:
        with self._read() as s:
            found = s.execute(
                select(WebSession, User)
                .join(User, User.id == WebSession.user_id)
                .where(WebSession.id_hash == id_hash)
            ).first()
            if found is None:
                return None
            return _session_record(found[0]), _user(found[1])

    def touch_session(self, id_hash: str, at: datetime) -> None:
        with self.transaction() as tx:
            row = tx.session.get(WebSession, id_hash)
            if row is not None:
                row.last_seen_at = at

    def end_session(self, id_hash: str, *, log: NewLogEntry | None = None) -> None:
        with self._logged(log) as s:
            row = s.get(WebSession, id_hash)
            if row is not None and row.revoked_at is None:
                row.revoked_at = utcnow()

    # -- failed log-ins --------------------------------------------------------------------
    def add_login_failure(
        self, username: str, ip: str | None, *, log: NewLogEntry | None = None
    ) -> None:
        with self._logged(log) as s:
            s.add(
                LoginFailure(
                    username=clean_text(username, 100) or "", ip=clean_text(ip, 64), at=utcnow()
                )
            )

    def count_login_failures(
        self, *, since: datetime, username: str | None = None, ip: str | None = None
    ) -> int:
        stmt = select(func.count(LoginFailure.id)).where(LoginFailure.at >= since)
        if username is not None:
            stmt = stmt.where(LoginFailure.username == clean_text(username, 100))
        if ip is not None:
            stmt = stmt.where(LoginFailure.ip == ip)
        with self._read() as s:
            return int(s.scalar(stmt) or 0)

    def clear_login_failures(self, username: str) -> None:
        with self.transaction() as tx:
            tx.session.execute(
                delete(LoginFailure).where(LoginFailure.username == clean_text(username, 100))
            )

    def prune_login_failures(self, before: datetime) -> int:
        with self.transaction() as tx:
            result = tx.session.execute(delete(LoginFailure).where(LoginFailure.at < before))
            return int(getattr(result, "rowcount", 0) or 0)

    # -- restricted classes ----------------------------------------------------------------
    def restrictions(self) -> dict[str, frozenset[str]]:
        out: dict[str, set[str]] = {}
        with self._read() as s:
            for row in s.scalars(select(ClassRestriction)):
                out.setdefault(row.classification, set()).add(row.group_name)
        return {k: frozenset(v) for k, v in out.items()}

    def set_restriction(
        self,
        classification: str,
        groups: Sequence[str],
        *,
        by: str,
        log: NewLogEntry | None = None,
    ) -> None:
        with self._logged(log) as s:
            s.execute(
                delete(ClassRestriction).where(ClassRestriction.classification == classification)
            )
            for group in sorted(set(groups)):
                s.add(
                    ClassRestriction(
                        classification=classification,
                        group_name=group,
                        created_at=utcnow(),
                        created_by=by,
                    )
                )

    def remove_restriction(self, classification: str, *, log: NewLogEntry | None = None) -> bool:
        with self._logged(log) as s:
            result = s.execute(
                delete(ClassRestriction).where(ClassRestriction.classification == classification)
            )
            return bool(getattr(result, "rowcount", 0))

    # -- contracts -------------------------------------------------------------------------
    @staticmethod
    def _visible(stmt: Select[Any], hidden: frozenset[str]) -> Select[Any]:
        if not hidden:
            return stmt
        # NULL NOT IN (...) is NULL, not true: unclassified contracts need their own clause.
        return stmt.where(
            or_(Contract.classification.is_(None), Contract.classification.not_in(sorted(hidden)))
        )

    def list_visible_contracts(
        self, hidden: frozenset[str], *, offset: int = 0, limit: int = 50
    ) -> list[ContractRecord]:
        stmt = self._visible(select(Contract), hidden).order_by(Contract.id)
        with self._read() as s:
            return [_to_record(r) for r in s.scalars(stmt.offset(offset).limit(limit))]

    def count_visible_contracts(self, hidden: frozenset[str]) -> int:
        stmt = self._visible(select(func.count(Contract.id)), hidden)
        with self._read() as s:
            return int(s.scalar(stmt) or 0)

    def update_contract(
        self, contract_id: int, changes: Mapping[str, Any], *, log: NewLogEntry
    ) -> tuple[ContractRecord, ContractRecord]:
        unknown = set(changes) - set(CONTRACT_FIELDS)
        if unknown:
            raise InvalidRequest(f"cannot change {', '.join(sorted(unknown))} of a contract")
        unit = current_unit()
        with self.transaction() as tx:
            row = tx.session.get(Contract, contract_id)
            if row is None:
                raise NotFound(f"contract {contract_id} does not exist")
            before = _to_record(row)
            for key, value in changes.items():
                setattr(row, key, value)
            tx.session.flush()
            after = _to_record(row)
            if unit is None:
                self._append(tx, log)
        if unit is not None:
            # In a unit of work the entry is its last write (the log's head row stays
            # unlocked while the manifest version is sealed); it commits with the change or
            # neither does.
            unit.before_commit(lambda: self.append(log))
        return before, after

    # -- the access log --------------------------------------------------------------------
    def append(self, entry: NewLogEntry, *, tx: Any = None) -> LogEntry:
        """Append ``entry`` and return once it is committed.

        An entry of its own (not part of a change's transaction or unit of work: a search's,
        a view's, a refusal's) goes through a **group commit**: entries that arrive while a
        batch is being written wait, and the next writer appends all of them, each chained to
        the one before as always, in one transaction. Every caller still returns only once its
        own entry is committed (a read is logged before it is answered), but concurrent
        requests share one write transaction, one lock of the chain's head and one commit
        instead of queueing for one each behind the uploads' writes. A batch that fails is
        written again entry by entry, so each caller gets its own entry or its own error."""
        if tx is not None:
            return self._append(tx, entry)
        if current_unit() is not None:  # the unit's transaction: it commits with the change
            with self.transaction() as own:
                return self._append(own, entry)
        return self._append_grouped(entry)

    def _append_grouped(self, entry: NewLogEntry) -> LogEntry:
        mine = _Waiting(entry)
        with self._group_lock:
            self._waiting.append(mine)
            lead = not self._writing
            self._writing = True
        if not lead:
            mine.done.wait()
            if not mine.lead:  # written by the batch of another thread
                return mine.outcome()
        with self._group_lock:
            batch, self._waiting = self._waiting, []
        try:
            self._write_batch(batch)
        finally:
            with self._group_lock:
                if self._waiting:  # the first of those who came meanwhile writes the next batch
                    self._waiting[0].lead = True
                    self._waiting[0].done.set()
                else:
                    self._writing = False
        return mine.outcome()

    def _write_batch(self, batch: list[_Waiting]) -> None:
        try:
            if len(batch) > 1:
                results: list[LogEntry] | None = None
                try:
                    with self.transaction() as own:
                        results = [self._append(own, w.entry) for w in batch]
                except Exception:  # noqa: BLE001 - each entry is tried alone below
                    results = None
                if results is not None:
                    for waiting, result in zip(batch, results, strict=True):
                        waiting.result = result
                    return
            for waiting in batch:
                try:
                    with self.transaction() as own:
                        waiting.result = self._append(own, waiting.entry)
                except BaseException as exc:  # noqa: BLE001 - the caller's error, raised there
                    waiting.error = exc
        finally:
            for waiting in batch:
                if not waiting.lead:
                    waiting.done.set()

    def _locked_head(self, s: Session) -> AccessLogHead:
        stmt = select(AccessLogHead).where(AccessLogHead.id == HEAD_ID).with_for_update()
        row = s.scalars(stmt).first()
        if row is not None:
            return row
        # The head row is made by the migration; rebuild it if someone removed it. Started from
        # the stored entries, so removing it hides nothing from `audit verify`.
        newest = s.scalars(select(AccessLogEntry).order_by(AccessLogEntry.seq.desc())).first()
        oldest = s.scalars(select(AccessLogEntry).order_by(AccessLogEntry.seq)).first()
        restored = AccessLogHead(
            id=HEAD_ID,
            seq=newest.seq if newest else 0,
            entry_hash=newest.entry_hash if newest else GENESIS_HASH,
            at=newest.at if newest else None,
            base_seq=oldest.seq - 1 if oldest else 0,
            base_hash=oldest.prev_hash if oldest else GENESIS_HASH,
        )
        try:
            with s.begin_nested():
                s.add(restored)
        except IntegrityError:
            pass  # another transaction restored it first
        row = s.scalars(stmt).first()
        assert row is not None
        return row

    def _append(self, tx: Tx, entry: NewLogEntry) -> LogEntry:
        try:
            return self._append_row(tx, entry)
        except SQLAlchemyError as exc:
            # The caller's transaction fails with it: the action is not carried out.
            raise AuditLogUnavailable(
                "the access log cannot be written, so the request was not carried out: "
                f"{getattr(exc, 'orig', exc)}",
                hint="retry later; an administrator should check the records database",
            ) from exc

    def _append_row(self, tx: Tx, entry: NewLogEntry) -> LogEntry:
        s = tx.session
        clean = entry.cleaned()
        head = self._locked_head(s)
        at = utcnow()
        if head.at is not None and at < head.at:
            at = head.at  # entry times never go backwards, even when the clock does
        seq = head.seq + 1
        fields = canonical_fields(seq=seq, at=at, entry=clean, prev_hash=head.entry_hash)
        digest = hashlib.sha256(canonical_bytes(fields)).hexdigest()
        row = AccessLogEntry(
            seq=seq,
            at=at,
            actor=clean.actor,
            via=clean.via,
            ip=clean.ip,
            user_agent=clean.user_agent,
            action=clean.action,
            contract_id=clean.contract_id,
            outcome=clean.outcome,
            purpose=clean.purpose,
            details=dict(clean.details),
            prev_hash=head.entry_hash,
            entry_hash=digest,
        )
        s.add(row)
        previous = _head(head)
        head.seq, head.entry_hash, head.at = seq, digest, at
        s.flush()
        hook = self.on_new_day
        if hook is not None and previous.at is not None and previous.at.date() < at.date():
            tx.after_commit.append(lambda: hook(previous))
        return _entry(row)

    def head(self) -> LogHead:
        with self._read() as s:
            row = s.get(AccessLogHead, HEAD_ID)
            if row is None:
                newest = s.scalars(
                    select(AccessLogEntry).order_by(AccessLogEntry.seq.desc())
                ).first()
                if newest is None:
                    return LogHead(0, GENESIS_HASH, None, 0, GENESIS_HASH)
                return LogHead(newest.seq, newest.entry_hash, newest.at, -1, "")
            return _head(row)

    @staticmethod
    def _filtered(stmt: Select[Any], flt: LogFilter | None) -> Select[Any]:
        if flt is None:
            return stmt
        hidden = sorted(flt.hidden_references)
        about_hidden = AccessLogEntry.contract_id.in_(hidden) if hidden else false()
        class_refusal = and_(
            about_hidden,
            AccessLogEntry.outcome == "denied",
            AccessLogEntry.details["reason"].as_string() == CLASS_REFUSAL_REASON,
        )
        if flt.actor is not None:
            stmt = stmt.where(AccessLogEntry.actor == flt.actor)
        if flt.contract_id is not None:
            stmt = stmt.where(AccessLogEntry.contract_id == flt.contract_id)
            if flt.contract_id in flt.hidden_references:  # shown to no one without its id
                stmt = stmt.where(false())
        if flt.action is not None:
            if flt.action.endswith("."):
                stmt = stmt.where(AccessLogEntry.action.startswith(flt.action, autoescape=True))
            else:
                stmt = stmt.where(AccessLogEntry.action == flt.action)
        if flt.outcome is not None:
            if flt.outcome == "not_found" and hidden:
                stmt = stmt.where(or_(AccessLogEntry.outcome == "not_found", class_refusal))
            elif flt.outcome == "denied" and hidden:
                stmt = stmt.where(AccessLogEntry.outcome == "denied", not_(class_refusal))
            else:
                stmt = stmt.where(AccessLogEntry.outcome == flt.outcome)
        if flt.since is not None:
            stmt = stmt.where(AccessLogEntry.at >= flt.since)
        if flt.until is not None:
            stmt = stmt.where(AccessLogEntry.at < flt.until)
        return stmt

    def entries(
        self,
        flt: LogFilter | None = None,
        *,
        after: int | None = None,
        before: int | None = None,
        limit: int = 100,
        descending: bool = False,
    ) -> list[LogEntry]:
        stmt = self._filtered(select(AccessLogEntry), flt)
        if after is not None:
            stmt = stmt.where(AccessLogEntry.seq > after)
        if before is not None:
            stmt = stmt.where(AccessLogEntry.seq < before)
        order = AccessLogEntry.seq.desc() if descending else AccessLogEntry.seq
        with self._read() as s:
            return [_entry(r) for r in s.scalars(stmt.order_by(order).limit(limit))]

    def count_entries(self, flt: LogFilter | None = None) -> int:
        stmt = self._filtered(select(func.count(AccessLogEntry.seq)), flt)
        with self._read() as s:
            return int(s.scalar(stmt) or 0)

    def iter_entries(
        self, flt: LogFilter | None = None, *, batch_size: int = 1000
    ) -> Iterator[LogEntry]:
        last: int | None = None
        while True:
            batch = self.entries(flt, after=last, limit=batch_size)
            if not batch:
                return
            yield from batch
            last = batch[-1].seq

    def get_entry(self, seq: int) -> LogEntry | None:
        with self._read() as s:
            row = s.get(AccessLogEntry, seq)
            return _entry(row) if row else None

    def prune(self, *, before_seq: int) -> int:
        with self.transaction() as tx:
            s = tx.session
            head = self._locked_head(s)
            if before_seq <= head.base_seq:
                return 0
            if before_seq >= head.seq:
                raise InvalidRequest("retention never removes the newest entry of the log")
            anchor = s.get(AccessLogEntry, before_seq)
            if anchor is None:
                raise NotFound(f"access log entry {before_seq} does not exist")
            result = s.execute(delete(AccessLogEntry).where(AccessLogEntry.seq <= before_seq))
            head.base_seq, head.base_hash = anchor.seq, anchor.entry_hash
            return int(getattr(result, "rowcount", 0) or 0)
