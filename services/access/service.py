"""AccessControl: the one place that decides who may do what, and records that they did.

The API (``search_api.auth``) and the command line both call these methods with a
:class:`~core.roles.Caller`. Each method checks the caller's permission, hides
contracts of restricted classes the caller is not cleared for, and appends an access log entry:

* for a change, in the same database transaction as the change;
* for a read (search, view, text, download, log export), before anything is returned;

so that an action whose entry cannot be written does not happen.
"""

from __future__ import annotations

import contextlib
import getpass
import logging
import os
import re
import socket
import sys
import threading
import unicodedata
import weakref
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import IO, Any

from core import __version__
from core.access_errors import (
    AuditLogUnavailable,
    Forbidden,
    PasswordChangeRequired,
    PurposeRequired,
    TooManyAttempts,
    Unauthorized,
)
from core.errors import (
    ArchiveError,
    ConfigurationError,
    IntegrityFailure,
    InvalidRequest,
    NotFound,
)
from core.roles import Caller, Client, Perm, Role, parse_roles
from core.rules import valid_classification
from ingest.context import IngestContext, IngestRequest, IngestResult, IngestWork, safe_name
from ingest.pipeline import Pipeline
from schemas.search import SearchResponse
from services.access import credentials as cred
from services.access.auditlog import (
    AuditLog,
    ChainReport,
    StoredCheckpoint,
    csv_lines,
    jsonl_lines,
)
from services.access.notes import NoteSigner, VerifierKey, load_or_create_signer
from services.access.throttle import AttemptCounter, bounded_verification
from services.archive import Archive
from storage.index.query import And, DateRange, Keyword, Node, Not, Or, Text, parse
from storage.records.access_base import (
    CLASS_REFUSAL_REASON,
    AccessStore,
    LogEntry,
    LogFilter,
    LogHead,
    NewLogEntry,
    NewUser,
    UserRecord,
    normalize_group,
)
from storage.records.base import MAX_ID, ContractRecord
from storage.records.unit import after_end

log = logging.getLogger(__name__)
LogView = Callable[[LogEntry], "LogEntry | None"]
"""How a reader is shown one access-log entry (None: not at all)."""

USERNAME_RE = re.compile(r"^[\w][\w.@-]{0,99}$")
TOUCH_EVERY = timedelta(seconds=60)
FIRST_ADMIN = "admin"
_ROLE_NAMES = frozenset(r.value for r in Role)


def archive_seal(archive: Archive) -> Callable[[bytes], bytes] | None:
    """The archive seal as a function of bytes to a detached CMS signature, when the archive
    has a seal service (issue 4); None before."""
    service = getattr(archive, "seal", None)
    if service is None or not hasattr(type(service), "sealer"):  # the class: no property call
        return None

    def seal(data: bytes) -> bytes:
        p7s: bytes = service.sealer.seal(data).p7s
        return p7s

    return seal


def make_access_store(archive: Archive) -> AccessStore:
    return archive.records.access_store()


def valid_username(name: str) -> str:
    text = unicodedata.normalize("NFKC", name).strip()
    if not USERNAME_RE.fullmatch(text):
        raise InvalidRequest(
            f"invalid user name {name!r}",
            hint="1-100 letters, digits, '.', '_', '@' or '-', starting with a letter or digit",
        )
    return text


def _groups(values: Sequence[str]) -> tuple[str, ...]:
    try:
        return tuple(sorted({normalize_group(v) for v in values}))
    except ValueError as exc:
        raise InvalidRequest(str(exc)) from None


def _roles(values: Sequence[str]) -> tuple[str, ...]:
    try:
        return tuple(sorted(r.value for r in parse_roles(tuple(values))))
    except ValueError as exc:
        raise InvalidRequest(str(exc)) from None


def query_filters(node: Node) -> list[str]:
    """The field filters of a parsed query, for the log (``customer:``, ``archived:`` ...)."""
    out: list[str] = []

    def walk(n: Node, negated: bool) -> None:
        sign = "-" if negated else ""
        if isinstance(n, Keyword):
            out.append(f"{sign}{n.field}:{n.value}")
        elif isinstance(n, DateRange):
            out.append(f"{sign}{n.field}:[{n.start or '*'} TO {n.end or '*'}]")
        elif isinstance(n, Not):
            walk(n.item, not negated)
        elif isinstance(n, And | Or):
            for item in n.items:
                walk(item, negated)
        elif isinstance(n, Text) and n.field:
            out.append(f"{sign}{n.field}:{n.raw}")

    walk(node, False)
    return out


@dataclass(frozen=True)
class LoginResult:
    caller: Caller
    session_token: str
    csrf_token: str
    expires_at: datetime


FIRST_PASSWORD_FILE = "first-admin-password"  # noqa: S105 - a file name
"""Where the first admin's one-time password is written (mode 0600, in the data directory) when
standard error is not a terminal: a service's stderr ends up in ``docker logs`` and the
journal (issue 20)."""


@dataclass(frozen=True)
class NewCredentials:
    username: str
    password: str
    password_file: Path | None = None
    """Where to write the password when standard error is not a terminal."""
    given: bool = False
    """The password is the operator's, from ARCHIVE_ADMIN_PASSWORD_FILE: never shown."""


def read_admin_password(path: Path) -> str:
    """The first admin's password from ARCHIVE_ADMIN_PASSWORD_FILE (one line; a Docker or
    systemd secret); a ConfigurationError naming the setting when it is missing or too weak."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigurationError(
            f"ARCHIVE_ADMIN_PASSWORD_FILE {path} cannot be read: {exc}",
            hint="point it at a readable file holding the first administrator's password",
        ) from None
    password = text.rstrip("\r\n")
    try:
        cred.check_password_policy(password, FIRST_ADMIN)
    except InvalidRequest as exc:
        raise ConfigurationError(
            f"the password in ARCHIVE_ADMIN_PASSWORD_FILE is refused: {exc.message}",
            hint=exc.hint,
        ) from None
    return password


class AuditStage:
    """The last ingest stage: the ingest's log entry. If it cannot be written, the pipeline
    undoes the ingest (nothing is archived without its entry)."""

    name = "access-log"

    def __init__(self, access: AccessControl, caller: Caller) -> None:
        self.access = access
        self.caller = caller

    def applies_to(self, ctx: IngestContext, work: IngestWork) -> bool:
        return work.record is not None

    def run(self, ctx: IngestContext, work: IngestWork) -> None:
        assert work.record is not None
        record = work.record
        self.access.record(
            self.caller,
            "contract.ingest",
            contract_id=record.id,
            details={
                "file": work.request.filename,
                "sha256": record.sha256,
                "size": record.size,
                "pages": record.page_count,
            },
        )

    def undo(self, ctx: IngestContext, work: IngestWork) -> None:
        return None


class AccessControl:
    def __init__(self, archive: Archive) -> None:
        self.archive = archive
        self.settings = archive.settings
        self.store = make_access_store(archive)
        self._audit: AuditLog | None = None
        self._lock = threading.Lock()
        self._attempts = AttemptCounter()
        self.store.on_new_day = self._new_day  # type: ignore[attr-defined]

    # -- registry --------------------------------------------------------------------------
    @classmethod
    def for_archive(cls, archive: Archive) -> AccessControl:
        """The access control of an archive (one per Archive object, made on first use)."""
        with _instances_lock:
            found = _instances.get(archive)
            if found is None:
                found = _instances[archive] = cls(archive)
            return found

    @property
    def audit(self) -> AuditLog:
        with self._lock:
            if self._audit is None:
                signer = load_or_create_signer(
                    self.settings.data_dir / "keys", self.settings.log_name
                )
                self._audit = AuditLog(
                    self.store, self.archive.objects, signer, seal=archive_seal(self.archive)
                )
            return self._audit

    @property
    def signer(self) -> NoteSigner:
        return self.audit.signer

    def _new_day(self, previous: LogHead) -> None:
        self.audit.new_day(previous)

    # -- the log ---------------------------------------------------------------------------
    def entry(
        self,
        caller: Caller | Client | None,
        action: str,
        *,
        outcome: str = "ok",
        contract_id: int | None = None,
        purpose: str | None = None,
        details: Mapping[str, Any] | None = None,
        actor: str | None = None,
    ) -> NewLogEntry:
        if contract_id is not None and not 0 < contract_id <= MAX_ID:
            # An id no contract can have (a probe): kept as text, the column is a BIGINT.
            details = {**(details or {}), "contract_id": str(contract_id)[:40]}
            contract_id = None
        if isinstance(caller, Caller):
            grant = caller.grant_for(contract_id) if contract_id is not None else None
            if grant is not None:
                # A read or change under a borrowing grant names the grant (借阅登记).
                details = {**(details or {}), "grant_id": grant.grant_id}
            name = actor or caller.username
            via = caller.via + (f":{caller.credential}" if caller.credential else "")
        elif caller is None:
            name, via = actor or "system", "system"
        else:
            name, via = actor or "anonymous", "anonymous"
        return NewLogEntry(
            actor=_text(name),
            via=via,
            action=action,
            outcome=outcome,
            contract_id=contract_id,
            purpose=_text(purpose) if purpose is not None else None,
            details=_clean(dict(details or {})),
            ip=caller.ip if caller else None,
            user_agent=_text(caller.user_agent) if caller and caller.user_agent else None,
        )

    def record(self, caller: Caller | Client | None, action: str, **kwargs: Any) -> LogEntry | None:
        """Append an entry now; AuditLogUnavailable (the action must not go on) if it fails.

        Inside a change's unit of work (:mod:`storage.records.unit`) an entry that is not
        ``ok`` (a refusal, a miss) is written once the unit ended, in a transaction of its
        own, so it stands when the change rolls back (None is returned then)."""
        new = self.entry(caller, action, **kwargs)
        if new.outcome != "ok" and after_end(lambda: self._append_later(new)):
            return None
        try:
            return self.store.append(new)
        except ArchiveError as exc:
            log.error("access log entry for %s could not be written: %s", action, exc.message)
            raise AuditLogUnavailable(
                "the access log cannot be written, so the request was not carried out",
                hint="retry later; an administrator should check the records database",
            ) from exc

    def _append_later(self, new: NewLogEntry) -> None:
        try:
            self.store.append(new)
        except ArchiveError as exc:
            log.error("access log entry for %s could not be written: %s", new.action, exc.message)

    # -- authorization ---------------------------------------------------------------------
    def require(
        self,
        caller: Caller,
        perm: Perm,
        *,
        action: str | None = None,
        contract_id: int | None = None,
        details: Mapping[str, Any] | None = None,
    ) -> None:
        if caller.must_change_password and perm is not Perm.PUBLIC:
            raise PasswordChangeRequired(
                "the password must be changed before anything else",
                hint="POST /api/v1/auth/password with the one-time password and a new one",
            )
        if caller.can(perm):
            return
        self.record(
            caller,
            action or f"denied:{perm.value}",
            outcome="denied",
            contract_id=contract_id,
            details={"permission": perm.value, **(details or {})},
        )
        raise Forbidden(
            f"{caller.username} may not do this: it needs the permission {perm.value}",
            hint="ask an administrator for a role that grants it",
            details={"permission": perm.value},
        )

    def hidden_classes(self, caller: Caller) -> frozenset[str]:
        """Restricted classifications the caller is in none of the groups of."""
        return frozenset(
            code for code, groups in self.store.restrictions().items() if not groups & caller.groups
        )

    def restriction(self, caller: Caller) -> Node | None:
        """The clause ANDed into every search the caller runs."""
        hidden = self.hidden_classes(caller)
        if not hidden:
            return None
        return Not(Or(tuple(Keyword("classification", code) for code in sorted(hidden))))

    def _visible_record(
        self,
        caller: Caller,
        contract_id: int,
        action: str,
        purpose: str | None,
    ) -> tuple[ContractRecord, bool]:
        """The record if the caller may see it, and whether its class is restricted. An unknown
        or hidden contract is the same NotFound (existence is not revealed); both are logged."""
        try:
            record = self.archive.get(contract_id)
        except NotFound:
            self.record(caller, action, outcome="not_found", contract_id=contract_id)
            raise
        restrictions = self.store.restrictions()
        groups = restrictions.get(record.classification or "", frozenset())
        if (
            groups
            and not groups & caller.groups
            and caller.grant_for(contract_id, download=action == "contract.download") is None
        ):
            self.record(
                caller,
                action,
                outcome="denied",
                contract_id=contract_id,
                purpose=purpose,
                details={"reason": CLASS_REFUSAL_REASON},
            )
            raise NotFound(f"contract {contract_id} does not exist")
        return record, bool(groups)

    # -- identity: tokens, sessions, the CLI ------------------------------------------------
    def _active_user(self, user: UserRecord) -> None:
        if user.disabled:
            raise Unauthorized("this user is disabled", hint="ask an administrator")

    def caller_for(
        self,
        user: UserRecord,
        *,
        via: str,
        credential: str | None = None,
        ip: str | None = None,
        user_agent: str | None = None,
    ) -> Caller:
        return Caller(
            user_id=user.id,
            username=user.username,
            roles=frozenset(Role(r) for r in user.roles if r in _ROLE_NAMES),
            groups=frozenset(user.groups),
            via=via,
            credential=credential,
            ip=ip,
            user_agent=user_agent,
            # A one-time password must be changed before the session it opened can do
            # anything; tokens are separate credentials, handed out deliberately.
            must_change_password=user.must_change_password and via == "session",
        )

    def authenticate_token(self, token: str, client: Client) -> Caller:
        if not cred.looks_like_token(token):
            raise Unauthorized("the API token is malformed", hint="tokens start with cat_")
        found = self.store.find_token(cred.token_digest(token))
        if found is None:
            raise Unauthorized("the API token is not valid", hint="create a new token")
        token_record, user = found
        now = datetime.now(UTC)
        if token_record.revoked_at is not None:
            raise Unauthorized(f"the API token {token_record.prefix} was revoked")
        if token_record.expires_at <= now:
            raise Unauthorized(
                f"the API token {token_record.prefix} expired on "
                f"{token_record.expires_at.date().isoformat()}",
                hint="create a new token",
            )
        self._active_user(user)
        if token_record.last_used_at is None or now - token_record.last_used_at > TOUCH_EVERY:
            with contextlib.suppress(ArchiveError):
                self.store.touch_token(token_record.id, now)
        return self.caller_for(
            user,
            via="token",
            credential=token_record.prefix,
            ip=client.ip,
            user_agent=client.user_agent,
        )

    def authenticate_session(self, session_token: str, client: Client) -> Caller:
        found = self.store.find_session(cred.token_digest(session_token))
        if found is None:
            raise Unauthorized("not logged in", hint="log in again")
        session, user = found
        now = datetime.now(UTC)
        idle = timedelta(minutes=self.settings.session_idle_minutes)
        if session.revoked_at is not None:
            raise Unauthorized("the session has ended", hint="log in again")
        if session.expires_at <= now or now - session.last_seen_at > idle:
            raise Unauthorized("the session has expired", hint="log in again")
        self._active_user(user)
        if now - session.last_seen_at > TOUCH_EVERY:
            with contextlib.suppress(ArchiveError):
                self.store.touch_session(session.id_hash, now)
        return self.caller_for(
            user,
            via="session",
            credential=session.id_hash[:8],
            ip=client.ip,
            user_agent=client.user_agent,
        )

    def cli_caller(self, *, announce: Callable[[NewCredentials], None] | None = None) -> Caller:
        """Who the command line acts as: ARCHIVE_USER, default the first admin (made on the
        first start, its one-time credentials handed to ``announce``)."""
        created = self.ensure_first_admin()
        if created is not None and announce is not None:
            announce(created)
        wanted = self.settings.user
        user = self.store.get_user(wanted) if wanted else self.store.first_admin()
        if user is None:
            raise ConfigurationError(
                f"ARCHIVE_USER names no user: {wanted!r}"
                if wanted
                else "the archive has no enabled admin for the command line to act as",
                hint="set ARCHIVE_USER to an existing user (`contract-archive users list`)",
            )
        if user.disabled:
            raise ConfigurationError(
                f"ARCHIVE_USER {user.username!r} is disabled",
                hint="set ARCHIVE_USER to an enabled user",
            )
        try:
            os_user = getpass.getuser()
        except (KeyError, OSError):
            os_user = str(os.getuid())
        agent = f"contract-archive-cli/{__version__} ({os_user}@{socket.gethostname()})"
        return self.caller_for(user, via="cli", ip=None, user_agent=agent)

    def ensure_first_admin(self) -> NewCredentials | None:
        """On the first start (no users at all), make an admin with a one-time password."""
        if self.store.count_users() > 0:
            return None
        given = self.settings.admin_password_file
        password = read_admin_password(given) if given is not None else cred.new_password()
        try:
            self.store.add_user(
                NewUser(
                    username=FIRST_ADMIN,
                    roles=(Role.ADMIN.value,),
                    display_name="Administrator",
                    password_hash=cred.hash_password(password),
                    must_change_password=True,
                    created_by="first start",
                ),
                log=self.entry(
                    None,
                    "user.create",
                    actor="system",
                    details={"user": FIRST_ADMIN, "roles": ["admin"], "first_start": True},
                ),
            )
        except ArchiveError:
            return None  # another process made the first user at the same moment
        return NewCredentials(
            FIRST_ADMIN,
            password,
            password_file=self.settings.data_dir / FIRST_PASSWORD_FILE,
            given=given is not None,
        )

    def login(self, username: str, password: str, client: Client) -> LoginResult:
        name = unicodedata.normalize("NFKC", username).strip()[:100]
        s = self.settings
        since = datetime.now(UTC) - timedelta(minutes=s.login_window_minutes)

        def refuse_if_locked(pending_user: int, pending_ip: int) -> None:
            # Stored failures plus attempts still being checked (services.access.throttle).
            locked = self.store.count_login_failures(
                since=since, username=name
            ) + pending_user >= s.login_max_failures or (
                client.ip is not None
                and self.store.count_login_failures(since=since, ip=client.ip) + pending_ip
                >= s.login_max_failures_per_ip
            )
            if locked:
                self.record(client, "auth.login", outcome="locked", actor=name)
                raise TooManyAttempts(
                    "too many failed log-ins; wait before trying again",
                    hint=f"log-in is refused for {s.login_window_minutes} minutes after "
                    f"{s.login_max_failures} failures",
                    retry_after=s.login_window_minutes * 60,
                )

        with self._attempts.attempt(name, client.ip, locked=refuse_if_locked):
            user = self.store.get_user(name)
            try:
                with bounded_verification(s.login_max_concurrent):
                    ok = cred.verify_password(user.password_hash if user else None, password)
            except TooManyAttempts:
                self.record(client, "auth.login", outcome="busy", actor=name)
                raise
            if user is None or not ok or user.disabled:
                outcome = "disabled" if (user is not None and ok) else "failed"
                self.store.add_login_failure(
                    name,
                    client.ip,
                    log=self.entry(client, "auth.login", outcome=outcome, actor=name),
                )
                raise Unauthorized("wrong user name or password")
        assert user.password_hash is not None
        token, digest = cred.new_session_token()
        expires = datetime.now(UTC) + timedelta(hours=s.session_max_hours)
        caller = self.caller_for(
            user, via="session", credential=digest[:8], ip=client.ip, user_agent=client.user_agent
        )
        self.store.add_session(
            id_hash=digest,
            user_id=user.id,
            expires_at=expires,
            ip=client.ip,
            user_agent=client.user_agent,
            log=self.entry(caller, "auth.login"),
        )
        self.store.clear_login_failures(name)
        if cred.needs_rehash(user.password_hash):
            with contextlib.suppress(ArchiveError):
                self.store.update_user(name, {"password_hash": cred.hash_password(password)})
        return LoginResult(caller, token, cred.csrf_token(token), expires)

    def logout(self, caller: Caller, session_token: str | None) -> None:
        if session_token is None:
            return
        self.store.end_session(
            cred.token_digest(session_token), log=self.entry(caller, "auth.logout")
        )

    def change_password(self, caller: Caller, current: str, new: str) -> None:
        user = self.store.get_user(caller.username)
        if user is None:
            raise Unauthorized("the user no longer exists")
        with bounded_verification(self.settings.login_max_concurrent):
            right = cred.verify_password(user.password_hash, current)
        if not right:
            self.record(caller, "auth.password", outcome="failed")
            raise Forbidden("the current password is wrong")
        cred.check_password_policy(new, user.username)
        if new == current:
            raise InvalidRequest("the new password must differ from the current one")
        self.store.update_user(
            user.username,
            {
                "password_hash": cred.hash_password(new),
                "must_change_password": False,
                "password_changed_at": datetime.now(UTC),
            },
            log=self.entry(caller, "auth.password"),
        )

    # -- users -----------------------------------------------------------------------------
    def create_user(
        self,
        caller: Caller,
        username: str,
        *,
        roles: Sequence[str],
        groups: Sequence[str] = (),
        display_name: str | None = None,
        with_password: bool = True,
    ) -> tuple[UserRecord, str | None]:
        """A new user; with a one-time password (changed at first log-in) unless token-only."""
        self.require(caller, Perm.USERS_MANAGE, action="user.create")
        name = valid_username(username)
        role_names, group_names = _roles(roles), _groups(groups)
        if not role_names:
            raise InvalidRequest("a user needs at least one role", hint="archivist, legal, ...")
        password = cred.new_password() if with_password else None
        user = self.store.add_user(
            NewUser(
                username=name,
                roles=role_names,
                groups=group_names,
                display_name=(display_name or "").strip()[:200] or None,
                password_hash=cred.hash_password(password) if password else None,
                must_change_password=password is not None,
                created_by=caller.username,
            ),
            log=self.entry(
                caller,
                "user.create",
                details={"user": name, "roles": list(role_names), "groups": list(group_names)},
            ),
        )
        return user, password

    def list_users(self, caller: Caller) -> list[UserRecord]:
        self.require(caller, Perm.USERS_MANAGE, action="user.list")
        return self.store.list_users()

    def get_user(self, caller: Caller, username: str) -> UserRecord:
        self.require(caller, Perm.USERS_MANAGE, action="user.view")
        user = self.store.get_user(username)
        if user is None:
            raise NotFound(f"user {username!r} does not exist")
        return user

    def update_user(
        self,
        caller: Caller,
        username: str,
        *,
        roles: Sequence[str] | None = None,
        groups: Sequence[str] | None = None,
        disabled: bool | None = None,
        display_name: str | None = None,
    ) -> UserRecord:
        self.require(caller, Perm.USERS_MANAGE, action="user.update")
        changes: dict[str, Any] = {}
        if roles is not None:
            changes["roles"] = list(_roles(roles))
            if not changes["roles"]:
                raise InvalidRequest("a user needs at least one role")
        if groups is not None:
            changes["groups"] = list(_groups(groups))
        if disabled is not None:
            changes["disabled"] = disabled
        if display_name is not None:
            changes["display_name"] = display_name.strip()[:200] or None
        if not changes:
            raise InvalidRequest("nothing to change")
        target = self.store.get_user(username)
        if target is None:
            raise NotFound(f"user {username!r} does not exist")
        removes_admin = "admin" in target.roles and (
            changes.get("disabled") or ("roles" in changes and "admin" not in changes["roles"])
        )
        if removes_admin and not any(
            u.id != target.id and "admin" in u.roles and not u.disabled
            for u in self.store.list_users()
        ):
            raise InvalidRequest(
                "this is the last enabled admin; make another admin first",
                hint="an archive without an admin cannot be administered",
            )
        action = "user.disable" if changes.get("disabled") else "user.update"
        shown = {k: v for k, v in changes.items()}
        return self.store.update_user(
            target.username,
            changes,
            log=self.entry(caller, action, details={"user": target.username, **shown}),
        )

    def reset_password(self, caller: Caller, username: str) -> str:
        """A new one-time password for a user (to be changed at their next log-in)."""
        self.require(caller, Perm.USERS_MANAGE, action="user.password_reset")
        password = cred.new_password()
        self.store.update_user(
            username,
            {
                "password_hash": cred.hash_password(password),
                "must_change_password": True,
                "password_changed_at": datetime.now(UTC),
            },
            log=self.entry(caller, "user.password_reset", details={"user": username}),
        )
        return password

    # -- API tokens ------------------------------------------------------------------------
    def create_token(
        self,
        caller: Caller,
        *,
        name: str,
        days: int | None = None,
        username: str | None = None,
    ) -> tuple[Any, str]:
        """A new API token (returned once, only its digest is kept)."""
        self.require(caller, Perm.SELF, action="token.create")
        owner = caller.username if username is None else username
        if owner != caller.username:
            self.require(caller, Perm.USERS_MANAGE, action="token.create")
        user = self.store.get_user(owner)
        if user is None:
            raise NotFound(f"user {owner!r} does not exist")
        if user.disabled:
            raise InvalidRequest(f"user {owner!r} is disabled")
        days = days or self.settings.token_days
        if not 1 <= days <= self.settings.token_max_days:
            raise InvalidRequest(
                f"a token is valid for 1 to {self.settings.token_max_days} days, not {days}",
                hint="ARCHIVE_TOKEN_MAX_DAYS sets the longest validity",
            )
        label = (name or "").strip()[:200]
        if not label:
            raise InvalidRequest("a token needs a name saying what it is for")
        token, prefix, digest = cred.new_token()
        expires = datetime.now(UTC) + timedelta(days=days)
        record = self.store.add_token(
            user_id=user.id,
            prefix=prefix,
            token_hash=digest,
            name=label,
            expires_at=expires,
            created_by=caller.username,
            log=self.entry(
                caller,
                "token.create",
                details={"token": prefix, "user": owner, "name": label, "days": days},
            ),
        )
        return record, token

    def list_tokens(
        self, caller: Caller, *, username: str | None = None, every: bool = False
    ) -> Any:
        self.require(caller, Perm.SELF)
        if every or (username is not None and username != caller.username):
            self.require(caller, Perm.USERS_MANAGE, action="token.list")
            if every:
                return self.store.list_tokens()
            user = self.store.get_user(username or "")
            if user is None:
                raise NotFound(f"user {username!r} does not exist")
            return self.store.list_tokens(user.id)
        return self.store.list_tokens(caller.user_id)

    def revoke_token(self, caller: Caller, prefix: str) -> Any:
        self.require(caller, Perm.SELF, action="token.revoke")
        token = self.store.get_token(prefix.strip())
        if token is None:
            raise NotFound(f"token {prefix} does not exist")
        if token.user_id != caller.user_id:
            self.require(caller, Perm.USERS_MANAGE, action="token.revoke")
        return self.store.revoke_token(
            token.prefix,
            by=caller.username,
            log=self.entry(
                caller, "token.revoke", details={"token": token.prefix, "user": token.username}
            ),
        )

    # -- restricted classes ----------------------------------------------------------------
    def list_restrictions(self, caller: Caller) -> dict[str, frozenset[str]]:
        self.require(caller, Perm.SETTINGS_MANAGE, action="restriction.list")
        return self.store.restrictions()

    def set_restriction(
        self, caller: Caller, classification: str, groups: Sequence[str]
    ) -> tuple[str, tuple[str, ...]]:
        self.require(caller, Perm.SETTINGS_MANAGE, action="restriction.set")
        code, names = valid_classification(classification), _groups(groups)
        if not names:
            raise InvalidRequest("a restriction needs at least one group")
        self.store.set_restriction(
            code,
            names,
            by=caller.username,
            log=self.entry(
                caller,
                "restriction.set",
                details={"classification": code, "groups": list(names)},
            ),
        )
        return code, names

    def remove_restriction(self, caller: Caller, classification: str) -> None:
        self.require(caller, Perm.SETTINGS_MANAGE, action="restriction.remove")
        code = valid_classification(classification)
        removed = self.store.remove_restriction(
            code,
            log=self.entry(caller, "restriction.remove", details={"classification": code}),
        )
        if not removed:
            raise NotFound(f"the classification {code!r} is not restricted")

    # -- contracts -------------------------------------------------------------------------
    def search(
        self,
        caller: Caller,
        q: str,
        *,
        limit: int = 10,
        offset: int = 0,
        sort: str = "relevance",
        facets: bool = False,
        purpose: str | None = None,
        metadata_only: bool = False,
    ) -> SearchResponse:
        self.require(caller, Perm.SEARCH, action="search", details={"query": q})
        details: dict[str, Any] = {
            "query": q,
            "sort": sort,
            "limit": limit,
            "offset": offset,
            "facets": facets,
        }
        try:
            details["filters"] = query_filters(parse(q))
            result = self.archive.search(
                q,
                limit=limit,
                offset=offset,
                sort=sort,
                facets=facets,
                restrict=self.restriction(caller),
                metadata_only=metadata_only,
            )
        except InvalidRequest as exc:
            self.record(
                caller,
                "search",
                outcome="invalid",
                purpose=purpose,
                details={**details, "error": exc.message},
            )
            raise
        self.record(
            caller,
            "search",
            purpose=purpose,
            details={**details, "hits": result.total, "returned": [h.id for h in result.hits]},
        )
        return result

    def list_contracts(
        self, caller: Caller, *, offset: int = 0, limit: int = 50
    ) -> tuple[int, list[ContractRecord]]:
        self.require(caller, Perm.CONTRACTS_VIEW, action="contract.list")
        hidden = self.hidden_classes(caller)
        records = self.store.list_visible_contracts(hidden, offset=offset, limit=limit)
        total = self.store.count_visible_contracts(hidden)
        self.record(
            caller,
            "contract.list",
            details={"offset": offset, "limit": limit, "returned": [r.id for r in records]},
        )
        return total, records

    def view(
        self, caller: Caller, contract_id: int, *, purpose: str | None = None
    ) -> ContractRecord:
        self.require(caller, Perm.CONTRACTS_VIEW, action="contract.view", contract_id=contract_id)
        record, _ = self._visible_record(caller, contract_id, "contract.view", purpose)
        self.record(caller, "contract.view", contract_id=contract_id, purpose=purpose)
        return record

    def check_visible(self, caller: Caller, contract_id: int, action: str) -> ContractRecord:
        """For routes other issues add (verify, OCR, seal...): NotFound for a contract the
        caller may not see. The route logs its own action."""
        record, _ = self._visible_record(caller, contract_id, action, None)
        return record

    def read_text(
        self, caller: Caller, contract_id: int, *, purpose: str | None = None
    ) -> dict[str, Any]:
        self.require(caller, Perm.CONTRACTS_READ, action="contract.text", contract_id=contract_id)
        record, _ = self._visible_record(caller, contract_id, "contract.text", purpose)
        stream, _checked = self.open_checked(
            caller,
            record.text_key,
            record.text_sha256,
            contract_id=contract_id,
            purpose=purpose,
            file="text",
        )
        with stream:
            document = self.archive.parse_text(record, stream.read())
        self.record(
            caller,
            "contract.text",
            contract_id=contract_id,
            purpose=purpose,
            details={"file": "text", "sha256": record.text_sha256},
        )
        return document

    def download(
        self,
        caller: Caller,
        contract_id: int,
        *,
        purpose: str | None = None,
        conditional: bool = False,
    ) -> tuple[ContractRecord, IO[bytes] | None]:
        """The record and the original, opened, once the download is logged. A download of a
        restricted class needs a purpose (借阅登记). ``conditional``: the client already has
        these bytes (If-None-Match matched): logged as such, and no stream is opened."""
        record, purpose = self.may_download(caller, contract_id, purpose=purpose, file="original")
        stream, checked = None, False
        if not conditional:
            stream, checked = self.open_checked(
                caller,
                record.original_key,
                record.sha256,
                contract_id=contract_id,
                purpose=purpose,
                file="original",
            )
        try:
            self.record(
                caller,
                "contract.download",
                outcome="not_modified" if conditional else "ok",
                contract_id=contract_id,
                purpose=purpose,
                details={
                    "file": "original",
                    "filename": record.filename,
                    "sha256": record.sha256,
                    "size": record.size,
                    **({} if conditional else {"checked": checked}),
                },
            )
        except BaseException:
            if stream is not None:
                stream.close()
            raise
        return record, stream

    def open_checked(
        self,
        caller: Caller,
        key: str,
        sha256: str | None,
        *,
        contract_id: int,
        purpose: str | None,
        file: str,
    ) -> tuple[IO[bytes], bool]:
        """A contract's stored file opened to be served, checked against its recorded digest
        (:meth:`services.archive.Archive.read_checked`). A damaged file is not served: the
        attempt is logged (``integrity_failure``) and :class:`IntegrityFailure` raised."""
        try:
            return self.archive.read_checked(key, sha256, contract_id=contract_id, what=file)
        except IntegrityFailure as exc:
            # The contract is flagged (its page's banner, `doctor`) before the refusal is logged.
            self.archive.records.raise_alert(
                contract_id,
                file=file,
                expected_sha256=sha256,
                problem=exc.message,
                detected_by=caller.username,
            )
            self.record(
                caller,
                "contract.download",
                outcome="integrity_failure",
                contract_id=contract_id,
                purpose=purpose,
                details={"file": file, "expected_sha256": sha256, "error": exc.message[:500]},
            )
            raise

    def may_download(
        self, caller: Caller, contract_id: int, *, purpose: str | None, file: str
    ) -> tuple[ContractRecord, str | None]:
        """The checks of any download of a contract's files (the original, the searchable copy,
        the evidence package): the permission, the restricted class, and the purpose a
        restricted class needs (借阅登记). Returns the record and the cleaned purpose; the
        caller logs the download (``contract.download`` with ``file``) before sending bytes."""
        self.require(
            caller, Perm.CONTRACTS_DOWNLOAD, action="contract.download", contract_id=contract_id
        )
        record, restricted = self._visible_record(caller, contract_id, "contract.download", purpose)
        purpose = (purpose or "").strip() or None
        grant = caller.grant_for(contract_id)
        if restricted and purpose is None and grant is not None:
            purpose = grant.log_purpose
        if restricted and purpose is None:
            self.record(
                caller,
                "contract.download",
                outcome="refused",
                contract_id=contract_id,
                details={
                    "file": file,
                    "reason": "purpose required",
                    "classification": record.classification,
                },
            )
            raise PurposeRequired(
                "a purpose is required to download a contract of a restricted class (借阅登记)",
                hint="say why, e.g. ?purpose=litigation case 2024-17",
            )
        return record, purpose

    def ingest(
        self,
        caller: Caller,
        source: IO[bytes],
        *,
        filename: str,
        title: str | None = None,
        customer: str | None = None,
        classification: str | None = None,
    ) -> IngestResult:
        request = IngestRequest(
            filename=safe_name(filename),  # as Archive.ingest: a non-UTF-8 name cannot be stored
            title=title,
            customer=customer,
            classification=valid_classification(classification) if classification else None,
        )
        return self.ingest_request(caller, request, source)

    def ingest_request(
        self, caller: Caller, request: IngestRequest, source: IO[bytes]
    ) -> IngestResult:
        """Archive one file as ``request`` says (a batch's segment: its master and
        provenance), logged as every ingest is."""
        self.require(caller, Perm.CONTRACTS_INGEST, action="contract.ingest")
        if request.classification:
            self.require(caller, Perm.CONTRACTS_CLASSIFY, action="contract.ingest")
        pipeline = Pipeline([*self.archive.pipeline.stages, AuditStage(self, caller)])
        filename = request.filename
        result = self.archive.ingest_request(request, source, caller.username, pipeline=pipeline)
        if result.status != "archived":
            # Archived ingests were logged by the AuditStage inside the pipeline.
            self.record(
                caller,
                "contract.ingest",
                outcome=result.status,
                contract_id=result.id,
                details={"file": filename, "sha256": result.sha256, "reason": result.reason},
            )
        return result

    def ingest_path(
        self,
        caller: Caller,
        path: Path,
        *,
        display_name: str | None = None,
        title: str | None = None,
        customer: str | None = None,
        classification: str | None = None,
    ) -> IngestResult:
        name = display_name or str(path)
        try:
            fh = open(path, "rb")  # noqa: SIM115 - closed by the with below
        except OSError as exc:
            return IngestResult(
                file=name, status="rejected", reason=f"cannot read the file: {exc.strerror or exc}"
            )
        with fh:
            return self.ingest(
                caller,
                fh,
                filename=name,
                title=title,
                customer=customer,
                classification=classification,
            )

    def may_see(self, caller: Caller, record: ContractRecord) -> bool:
        groups = self.store.restrictions().get(record.classification or "", frozenset())
        return not groups or bool(groups & caller.groups) or bool(caller.grant_for(record.id))

    def update_contract(
        self,
        caller: Caller,
        contract_id: int,
        changes: Mapping[str, Any],
        *,
        purpose: str | None = None,
    ) -> ContractRecord:
        """Change title, customer or classification; the change and its log entry are one
        transaction, and the index follows before the call returns."""
        needed = {Perm.CONTRACTS_CLASSIFY} if "classification" in changes else set()
        if set(changes) - {"classification"}:
            needed.add(Perm.CONTRACTS_EDIT)
        for perm in sorted(needed or {Perm.CONTRACTS_EDIT}):
            self.require(caller, perm, action="contract.update", contract_id=contract_id)
        current, _ = self._visible_record(caller, contract_id, "contract.update", purpose)
        clean: dict[str, Any] = {}
        for key, value in changes.items():
            if key == "title":
                text = " ".join(str(value or "").split())
                if not text:
                    raise InvalidRequest("the title must not be empty")
                clean[key] = text[:1000]
            elif key == "customer":
                clean[key] = " ".join(str(value or "").split())[:500] or None
            elif key == "classification":
                clean[key] = valid_classification(value) if value else None
            else:
                raise InvalidRequest(f"cannot change {key!r} of a contract")
        if not clean:
            raise InvalidRequest("nothing to change")
        changed = {k: v for k, v in clean.items() if getattr(current, k) != v}
        model = getattr(self.archive, "contracts", None)
        if "classification" in changed and changed["classification"] and model is not None:
            # The contract model (issue 6) keeps a confirmed classification of its own and
            # derives the record's from it: the code must be in its scheme.
            scheme = model.store.current_scheme()
            if scheme.get(changed["classification"]) is None:
                raise InvalidRequest(
                    f"{changed['classification']} is not a code of the classification scheme",
                    hint="codes: " + ", ".join(c.code for c in scheme.codes),
                )
        action = "contract.classify" if set(changed) == {"classification"} else "contract.update"
        entry = self.entry(
            caller,
            action,
            contract_id=contract_id,
            purpose=purpose,
            details={k: {"from": getattr(current, k), "to": v} for k, v in changed.items()},
        )
        _, after = self.store.update_contract(contract_id, clean, log=entry)
        if "classification" in changed and model is not None:
            # Confirmed in the model too, or its next refresh would put the suggestion back.
            model.confirm(
                contract_id,
                {"classification": changed["classification"]},
                actor=caller.username,
                reason=purpose,
            )
            after = self.archive.get(contract_id)
        try:
            self.archive.index_changed(after)
        except ArchiveError:
            log.error("contract %s changed but its index entry is stale: run reindex", contract_id)
            raise
        return after

    def reindex(self, caller: Caller, progress: Callable[[int], None] | None = None) -> int:
        self.require(caller, Perm.SETTINGS_MANAGE, action="index.rebuild")
        self.record(caller, "index.rebuild")
        return self.archive.reindex(progress)

    # -- the access log --------------------------------------------------------------------
    def read_log(
        self,
        caller: Caller,
        flt: LogFilter,
        *,
        cursor: int | None = None,
        limit: int = 100,
        newest_first: bool = True,
        view: LogView | None = None,
    ) -> tuple[list[LogEntry], int]:
        """A page of entries and the total matching ``flt``; ``view``: how the reader is shown
        each entry (None: left out), see :class:`services.facade.audit.AuditArea`."""
        self.require(caller, Perm.AUDIT_READ, action="audit.read")
        # The read itself is logged first, so that it shows in what it returns.
        self.record(caller, "audit.read", details={"filter": flt.as_dict(), "cursor": cursor})
        entries = self.store.entries(
            flt,
            before=cursor if newest_first else None,
            after=cursor if not newest_first else None,
            limit=limit,
            descending=newest_first,
        )
        shown = [v for v in (view(e) for e in entries) if v is not None] if view else entries
        return shown, self.store.count_entries(flt)

    def export_log(
        self, caller: Caller, flt: LogFilter, fmt: str, *, view: LogView | None = None
    ) -> Iterator[bytes]:
        self.require(caller, Perm.AUDIT_EXPORT, action="audit.export")
        if fmt not in ("csv", "jsonl"):
            raise InvalidRequest(f"unknown export format {fmt!r}: csv or jsonl")
        head = self.store.head()
        self.record(
            caller, "audit.export", details={"format": fmt, "filter": flt.as_dict(), "to": head.seq}
        )
        entries: Iterator[LogEntry] = (e for e in self.store.iter_entries(flt) if e.seq <= head.seq)
        if view is not None:  # only what the reader is shown unchanged: every line verifies
            entries = (e for e in entries if view(e) == e)
        return csv_lines(entries) if fmt == "csv" else jsonl_lines(entries)

    def extract(self, caller: Caller, flt: LogFilter, *, view: LogView | None = None) -> bytes:
        """A signed extract; ``view`` returns an entry unchanged to include it, anything else
        leaves it out (a changed entry would no longer verify)."""
        self.require(caller, Perm.AUDIT_EXPORT, action="audit.extract")
        self.record(caller, "audit.extract", details={"filter": flt.as_dict()})
        entries: Iterator[LogEntry] = self.store.iter_entries(flt)
        if view is not None:
            entries = (e for e in entries if view(e) == e)
        return self.audit.extract(entries, flt=flt, created_by=caller.username)

    def verify_log(self, caller: Caller) -> ChainReport:
        self.require(caller, Perm.AUDIT_VERIFY, action="audit.verify")
        report = self.audit.verify()
        self.record(
            caller,
            "audit.verify",
            outcome="passed" if report.status == "PASSED" else "failed",
            details={
                "entries": report.entries_checked,
                "head": report.head_seq,
                "first_broken": report.first_broken,
                "reason": report.reason,
            },
        )
        return report

    def list_checkpoints(self, caller: Caller) -> list[StoredCheckpoint]:
        self.require(caller, Perm.AUDIT_READ, action="audit.checkpoints")
        self.record(caller, "audit.checkpoints")
        return self.audit.checkpoints()

    def checkpoint(self, caller: Caller) -> str | None:
        self.require(caller, Perm.AUDIT_VERIFY, action="audit.checkpoint")
        self.record(caller, "audit.checkpoint")
        written = self.audit.write_checkpoint()
        return written[0] if written else None

    def prune_log(self, caller: Caller, *, now: datetime | None = None) -> int:
        """Apply ARCHIVE_ACCESS_LOG_RETENTION_DAYS (nothing is removed when it is unset)."""
        self.require(caller, Perm.SETTINGS_MANAGE, action="audit.prune")
        days = self.settings.access_log_retention_days
        if days is None:
            return 0
        cutoff = (now or datetime.now(UTC)) - timedelta(days=days)
        removed = self.audit.prune(cutoff)
        self.store.prune_login_failures(cutoff)
        self.record(
            caller, "audit.prune", details={"before": cutoff.isoformat(), "removed": removed}
        )
        return removed

    def public_key(self) -> VerifierKey:
        return self.signer.verifier


_instances: weakref.WeakKeyDictionary[Archive, AccessControl] = weakref.WeakKeyDictionary()
_instances_lock = threading.Lock()


def print_first_credentials(creds: NewCredentials) -> None:
    """Tell the operator the first admin's one-time credentials, never through logging: on a
    terminal, shown once on standard error; otherwise (a service, a container: stderr goes to
    ``docker logs`` and the journal) written to DATA_DIR/first-admin-password with mode 0600,
    and only its path is shown. A password from ARCHIVE_ADMIN_PASSWORD_FILE is never shown."""
    head = "\n  First start: an administrator was created.\n"
    if creds.given:
        sys.stderr.write(
            f"{head}    user name: {creds.username}\n"
            "    password:  the one in ARCHIVE_ADMIN_PASSWORD_FILE\n"
            "  It must be changed at the first log-in.\n\n"
        )
    elif creds.password_file is not None and not _is_terminal(sys.stderr):
        _write_private(creds.password_file, creds.password + "\n")
        sys.stderr.write(
            f"{head}    user name: {creds.username}\n"
            f"    one-time password written to {creds.password_file} (mode 0600; standard "
            "error is not a terminal, so it is not shown here)\n"
            "  Read it, log in, change the password and delete the file.\n\n"
        )
    else:
        sys.stderr.write(
            f"{head}    user name: {creds.username}\n"
            f"    password:  {creds.password}\n"
            "  This password is shown once and must be changed at the first log-in.\n\n"
        )
    sys.stderr.flush()


def _is_terminal(stream: IO[str]) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


def _write_private(path: Path, text: str) -> None:
    """``text`` into ``path``, created 0600 (a stale file is replaced, never widened)."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _text(value: str) -> str:
    """Text the log can store as UTF-8: a file name that is not UTF-8 reaches Python with lone
    surrogates (os.fsdecode); its undecodable bytes are kept visible as \\xNN escapes."""
    try:
        value.encode("utf-8")
        return value
    except UnicodeEncodeError:
        try:
            raw = value.encode("utf-8", "surrogateescape")
        except UnicodeEncodeError:
            raw = value.encode("utf-8", "replace")
        return raw.decode("utf-8", "backslashreplace")


def _clean(value: Any) -> Any:
    """``_text`` applied to every string of an entry's details, keys included."""
    if isinstance(value, str):
        return _text(value)
    if isinstance(value, Mapping):
        return {_text(str(k)): _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    return value
