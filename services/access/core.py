"""The core of access control: the log entry of every action, the permission check, the caller's
hidden classes; the helpers the other parts share. :class:`services.access.service.AccessControl`
is this with its parts: identity (log-in, users, tokens), contracts (what a caller may read and
change) and the access log's readers."""

from __future__ import annotations

import logging
import os
import re
import sys
import threading
import unicodedata
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import IO, Any

from core.access_errors import (
    AuditLogUnavailable,
    Forbidden,
    PasswordChangeRequired,
)
from core.errors import (
    ArchiveError,
    ConfigurationError,
    InvalidRequest,
    NotFound,
)
from core.roles import Caller, Client, Perm, Role, parse_roles
from ingest.context import IngestContext, IngestWork
from services.access import credentials as cred
from services.access.auditlog import (
    AuditLog,
)
from services.access.notes import NoteSigner, load_or_create_signer
from services.access.throttle import AttemptCounter
from services.archive import Archive
from storage.index.query import And, DateRange, Keyword, Node, Not, Or, Text
from storage.records.access_base import (
    CLASS_REFUSAL_REASON,
    AccessStore,
    LogEntry,
    LogHead,
    NewLogEntry,
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

    def __init__(self, access: AccessCore, caller: Caller) -> None:
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


class AccessCore:
    def __init__(self, archive: Archive) -> None:
        self.archive = archive
        self.settings = archive.settings
        self.store = make_access_store(archive)
        self._audit: AuditLog | None = None
        self._lock = threading.Lock()
        self._attempts = AttemptCounter()
        self.store.on_new_day = self._new_day  # type: ignore[attr-defined]

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
