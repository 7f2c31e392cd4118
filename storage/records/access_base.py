"""The AccessStore Protocol and the plain records it returns.

The access store keeps users, API tokens, browser sessions, failed log-ins, restricted classes
and the hash-chained access log. Every change it makes takes an optional log entry that is
appended **in the same database transaction**: if the entry cannot be written, the change does
not happen either. Its one implementation, ``SqlAccessStore``, shares the record store's
database (and so can change a contract and log it in one transaction).
"""

from __future__ import annotations

import hashlib
import json
import re
import unicodedata
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol, runtime_checkable

from storage.records.contracts_base import ContractRecord

GENESIS_HASH = "0" * 64
CANONICAL_VERSION = 1

# Column sizes: values are cut to these before hashing, so the canonical form computed at append
# time is exactly the one recomputed from the stored row.
LIMITS = {"actor": 100, "via": 30, "ip": 64, "user_agent": 500, "action": 50, "outcome": 30}
MAX_PURPOSE_CHARS = 2000
MAX_DETAIL_STRING = 4000

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def clean_text(value: str | None, limit: int | None = None) -> str | None:
    """A string fit for the log: no NUL or control characters (PostgreSQL refuses NUL), cut."""
    if value is None:
        return None
    text = _CONTROL.sub("\ufffd", value)
    if limit is not None and len(text) > limit:
        text = text[: limit - 1] + "…"
    return text


def clean_details(value: Any) -> Any:
    """JSON values the canonical form can carry exactly: no floats, no NULs, bounded strings."""
    if isinstance(value, Mapping):
        return {str(k): clean_details(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        items = sorted(value) if isinstance(value, set | frozenset) else value
        return [clean_details(v) for v in items]
    if value is None or isinstance(value, bool | int):
        return value
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, datetime):
        return iso(value)
    return clean_text(str(value), MAX_DETAIL_STRING)


def iso(at: datetime) -> str:
    """UTC, microseconds, a Z: the one time format of the log."""
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@dataclass(frozen=True)
class NewLogEntry:
    actor: str
    via: str
    action: str
    outcome: str = "ok"
    contract_id: int | None = None
    purpose: str | None = None
    details: Mapping[str, Any] = field(default_factory=dict)
    ip: str | None = None
    user_agent: str | None = None

    def cleaned(self) -> NewLogEntry:
        purpose = clean_text(self.purpose.strip(), MAX_PURPOSE_CHARS) if self.purpose else None
        return NewLogEntry(
            actor=clean_text(self.actor, LIMITS["actor"]) or "",
            via=clean_text(self.via, LIMITS["via"]) or "",
            action=clean_text(self.action, LIMITS["action"]) or "",
            outcome=clean_text(self.outcome, LIMITS["outcome"]) or "",
            contract_id=self.contract_id,
            purpose=purpose or None,
            details=clean_details(dict(self.details)),
            ip=clean_text(self.ip, LIMITS["ip"]),
            user_agent=clean_text(self.user_agent, LIMITS["user_agent"]),
        )


@dataclass(frozen=True)
class LogEntry:
    seq: int
    at: datetime
    actor: str
    via: str
    ip: str | None
    user_agent: str | None
    action: str
    contract_id: int | None
    outcome: str
    purpose: str | None
    details: dict[str, Any]
    prev_hash: str
    entry_hash: str

    def canonical_fields(self) -> dict[str, Any]:
        return canonical_fields(
            seq=self.seq,
            at=self.at,
            entry=NewLogEntry(
                actor=self.actor,
                via=self.via,
                action=self.action,
                outcome=self.outcome,
                contract_id=self.contract_id,
                purpose=self.purpose,
                details=self.details,
                ip=self.ip,
                user_agent=self.user_agent,
            ),
            prev_hash=self.prev_hash,
        )

    def canonical(self) -> bytes:
        return canonical_bytes(self.canonical_fields())

    def computed_hash(self) -> str:
        return hashlib.sha256(self.canonical()).hexdigest()

    def to_dict(self) -> dict[str, Any]:
        """The entry as exported: its canonical fields plus its own hash."""
        return {**self.canonical_fields(), "hash": self.entry_hash}


def canonical_fields(
    *, seq: int, at: datetime, entry: NewLogEntry, prev_hash: str
) -> dict[str, Any]:
    return {
        "v": CANONICAL_VERSION,
        "seq": seq,
        "at": iso(at),
        "actor": entry.actor,
        "via": entry.via,
        "ip": entry.ip,
        "user_agent": entry.user_agent,
        "action": entry.action,
        "contract_id": entry.contract_id,
        "outcome": entry.outcome,
        "purpose": entry.purpose,
        "details": dict(entry.details),
        "prev": prev_hash,
    }


def canonical_bytes(fields: Mapping[str, Any]) -> bytes:
    """The canonical form: JSON, keys sorted, no insignificant whitespace, UTF-8.

    For the values the log holds (strings, integers, booleans, null, arrays, objects with ASCII
    keys; never floats) this is byte-for-byte RFC 8785 (JCS).
    """
    return json.dumps(
        fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode("utf-8")


def normalize_group(name: str) -> str:
    text = unicodedata.normalize("NFKC", name).strip().lower()
    if not text or len(text) > 100 or _CONTROL.search(text) or "," in text:
        raise ValueError(f"invalid group name {name!r}")
    return text


# --- records ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class UserRecord:
    id: int
    username: str
    display_name: str | None
    roles: tuple[str, ...]
    groups: tuple[str, ...]
    password_hash: str | None
    must_change_password: bool
    disabled: bool
    created_at: datetime
    created_by: str
    password_changed_at: datetime | None = None
    last_login_at: datetime | None = None

    @property
    def has_password(self) -> bool:
        return self.password_hash is not None


@dataclass(frozen=True)
class NewUser:
    username: str
    roles: tuple[str, ...]
    groups: tuple[str, ...] = ()
    display_name: str | None = None
    password_hash: str | None = None
    must_change_password: bool = False
    created_by: str = "system"


@dataclass(frozen=True)
class TokenRecord:
    id: int
    prefix: str
    user_id: int
    username: str
    name: str
    created_at: datetime
    created_by: str
    expires_at: datetime
    revoked_at: datetime | None
    last_used_at: datetime | None

    def active(self, now: datetime) -> bool:
        return self.revoked_at is None and self.expires_at > now


@dataclass(frozen=True)
class SessionRecord:
    id_hash: str
    user_id: int
    created_at: datetime
    expires_at: datetime
    last_seen_at: datetime
    revoked_at: datetime | None


@dataclass(frozen=True)
class LogHead:
    seq: int
    entry_hash: str
    at: datetime | None
    base_seq: int
    base_hash: str


@dataclass(frozen=True)
class LogFilter:
    actor: str | None = None
    contract_id: int | None = None
    action: str | None = None
    """An exact action, or a prefix ending in ``.`` (``contract.`` for every contract action)."""
    outcome: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    hidden_references: frozenset[int] = frozenset()
    """The reader's view (issue 12): contracts the reader may not see. An entry about one of
    them is matched as the reader is shown it: without its contract (it matches no
    ``contract_id`` filter), and a refusal because of the class (:func:`is_class_refusal`) as
    ``not_found``. Never logged (:meth:`as_dict` leaves it out)."""

    def as_dict(self) -> dict[str, Any]:
        return {
            k: (iso(v) if isinstance(v, datetime) else v)
            for k, v in self.__dict__.items()
            if v is not None and k != "hidden_references"
        }


CLASS_REFUSAL_REASON = "restricted class"
"""``details["reason"]`` of the ``denied`` entry written when a contract was refused because
of its class (the caller was answered 404, as for a missing contract)."""


def is_class_refusal(entry: LogEntry) -> bool:
    return entry.outcome == "denied" and entry.details.get("reason") == CLASS_REFUSAL_REASON


# --- the Protocol ----------------------------------------------------------------------------
ContractChange = Callable[[Any], ContractRecord]


@runtime_checkable
class AccessStore(Protocol):
    # users
    def count_users(self) -> int: ...

    def add_user(self, new: NewUser, *, log: NewLogEntry | None = None) -> UserRecord:
        """Conflict when the name is taken."""

    def get_user(self, username: str) -> UserRecord | None: ...

    def get_user_by_id(self, user_id: int) -> UserRecord | None: ...

    def list_users(self) -> list[UserRecord]: ...

    def first_admin(self) -> UserRecord | None:
        """The oldest enabled user with the admin role."""

    def update_user(
        self,
        username: str,
        changes: Mapping[str, Any],
        *,
        log: NewLogEntry | None = None,
        keep_sessions: bool = False,
    ) -> UserRecord:
        """NotFound for an unknown user. Disabling a user, or a new password hash, also ends
        their sessions, unless ``keep_sessions`` (the same password hashed again)."""

    # API tokens
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
    ) -> TokenRecord: ...

    def find_token(self, token_hash: str) -> tuple[TokenRecord, UserRecord] | None: ...

    def get_token(self, prefix: str) -> TokenRecord | None: ...

    def list_tokens(self, user_id: int | None = None) -> list[TokenRecord]: ...

    def revoke_token(self, prefix: str, *, by: str, log: NewLogEntry | None = None) -> TokenRecord:
        """NotFound for an unknown token; revoking twice keeps the first revocation."""

    def touch_token(self, token_id: int, at: datetime) -> None: ...

    # browser sessions
    def add_session(
        self,
        *,
        id_hash: str,
        user_id: int,
        expires_at: datetime,
        ip: str | None,
        user_agent: str | None,
        log: NewLogEntry | None = None,
    ) -> SessionRecord: ...

    def find_session(self, id_hash: str) -> tuple[SessionRecord, UserRecord] | None: ...

    def touch_session(self, id_hash: str, at: datetime) -> None: ...

    def end_session(self, id_hash: str, *, log: NewLogEntry | None = None) -> None: ...

    # failed log-ins
    def add_login_failure(
        self, username: str, ip: str | None, *, log: NewLogEntry | None = None
    ) -> None: ...

    def count_login_failures(
        self, *, since: datetime, username: str | None = None, ip: str | None = None
    ) -> int: ...

    def clear_login_failures(self, username: str) -> None: ...

    def prune_login_failures(self, before: datetime) -> int: ...

    # restricted classes
    def restrictions(self) -> dict[str, frozenset[str]]: ...

    def set_restriction(
        self,
        classification: str,
        groups: Sequence[str],
        *,
        by: str,
        log: NewLogEntry | None = None,
    ) -> None: ...

    def remove_restriction(
        self, classification: str, *, log: NewLogEntry | None = None
    ) -> bool: ...

    # contracts: what a caller may see, and changes together with their log entry
    def list_visible_contracts(
        self, hidden: frozenset[str], *, offset: int = 0, limit: int = 50
    ) -> list[ContractRecord]:
        """Contracts in id order, leaving out those whose classification is in ``hidden``."""

    def count_visible_contracts(self, hidden: frozenset[str]) -> int: ...

    def update_contract(
        self, contract_id: int, changes: Mapping[str, Any], *, log: NewLogEntry
    ) -> tuple[ContractRecord, ContractRecord]:
        """Apply ``changes`` (title, customer, classification) and log it in one transaction;
        returns the record before and after. NotFound for an unknown contract."""

    def transaction(self) -> AbstractContextManager[Any]:
        """A write transaction on the records database; ``append(entry, tx=...)`` joins it."""

    # the access log
    def append(self, entry: NewLogEntry, *, tx: Any = None) -> LogEntry:
        """Append one entry to the chain (in ``tx`` when given, else in its own transaction)."""

    def head(self) -> LogHead: ...

    def entries(
        self,
        flt: LogFilter | None = None,
        *,
        after: int | None = None,
        before: int | None = None,
        limit: int = 100,
        descending: bool = False,
    ) -> list[LogEntry]: ...

    def count_entries(self, flt: LogFilter | None = None) -> int: ...

    def iter_entries(
        self, flt: LogFilter | None = None, *, batch_size: int = 1000
    ) -> Iterator[LogEntry]:
        """Every matching entry in chain order, without loading them all at once."""

    def get_entry(self, seq: int) -> LogEntry | None: ...

    def prune(self, *, before_seq: int) -> int:
        """Delete the entries up to and including ``before_seq`` and move the chain's base
        anchor there (retention). Returns the number deleted."""
