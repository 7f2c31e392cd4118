"""Users, tokens, sessions, restricted classes and the access log, as the API shows them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from schemas.base import FromRecord
from storage.records.access_base import LogEntry, TokenRecord, UserRecord, iso


class LoginRequest(BaseModel):
    username: str = Field(min_length=1, max_length=100)
    password: str = Field(min_length=1, max_length=1024)


class UserPublic(FromRecord):
    username: str
    display_name: str | None
    roles: list[str]
    groups: list[str]
    disabled: bool
    must_change_password: bool
    has_password: bool
    created_at: datetime
    created_by: str
    last_login_at: datetime | None

    @classmethod
    def from_record(cls, user: UserRecord) -> UserPublic:
        return cls.of(user)


class Me(BaseModel):
    username: str
    roles: list[str]
    groups: list[str]
    permissions: list[str]
    via: str = Field(description="`token`, `session` or `cli`.")
    must_change_password: bool
    csrf_token: str | None = Field(
        None, description="For a browser session: send it as X-CSRF-Token on changes."
    )


class LoginResponse(BaseModel):
    user: Me
    csrf_token: str = Field(description="Send as X-CSRF-Token with every POST/PUT/PATCH/DELETE.")
    expires_at: datetime = Field(description="The session's latest end (it also ends when idle).")


class PasswordChange(BaseModel):
    current_password: str = Field(min_length=1, max_length=1024)
    new_password: str = Field(min_length=1, max_length=1024)


class UserCreate(BaseModel):
    username: str = Field(min_length=1, max_length=100)
    roles: list[str] = Field(min_length=1, description="archivist, legal, auditor, admin.")
    groups: list[str] = Field(default_factory=list, description="For restricted classes.")
    display_name: str | None = Field(None, max_length=200)
    password: bool = Field(
        True, description="Give a one-time password (false: the user works with tokens only)."
    )


class UserCreated(BaseModel):
    user: UserPublic
    one_time_password: str | None = Field(
        None, description="Shown once; it must be changed at the first log-in."
    )


class UserUpdate(BaseModel):
    roles: list[str] | None = None
    groups: list[str] | None = None
    disabled: bool | None = None
    display_name: str | None = Field(None, max_length=200)


class PasswordReset(BaseModel):
    username: str
    one_time_password: str


class TokenCreate(BaseModel):
    name: str = Field(min_length=1, max_length=200, description="What the token is for.")
    expires_in_days: int | None = Field(None, ge=1, description="Default: ARCHIVE_TOKEN_DAYS.")
    username: str | None = Field(None, description="For another user (administrators only).")


class TokenPublic(FromRecord):
    id: str = Field(description="The token's public prefix, e.g. cat_1a2b3c4d.")
    username: str
    name: str
    created_at: datetime
    created_by: str
    expires_at: datetime
    revoked_at: datetime | None
    last_used_at: datetime | None
    active: bool

    @classmethod
    def from_record(cls, token: TokenRecord, now: datetime) -> TokenPublic:
        return cls.of(token, id=token.prefix, active=token.active(now))


class TokenCreated(BaseModel):
    token: str = Field(description="The token itself: shown this once, only its digest is kept.")
    info: TokenPublic


class Restriction(BaseModel):
    classification: str
    groups: list[str]


class RestrictionSet(BaseModel):
    groups: list[str] = Field(min_length=1)


class ContractUpdate(BaseModel):
    title: str | None = Field(None, max_length=1000)
    customer: str | None = Field(None, max_length=500)
    classification: str | None = Field(None, max_length=50)
    purpose: str | None = Field(None, max_length=2000, description="Why; logged.")


class LogEntryPublic(FromRecord):
    seq: int
    at: str
    actor: str
    via: str
    ip: str | None
    user_agent: str | None
    action: str
    contract_id: int | None
    outcome: str
    purpose: str | None
    details: dict[str, Any]
    prev: str
    hash: str

    @classmethod
    def from_entry(cls, entry: LogEntry) -> LogEntryPublic:
        return cls.of(entry, at=iso(entry.at), prev=entry.prev_hash, hash=entry.entry_hash)


class LogPage(BaseModel):
    total: int = Field(description="Entries matching the filters.")
    limit: int
    order: str
    items: list[LogEntryPublic]
    next_cursor: int | None = Field(
        None, description="Pass as `cursor` for the next page; null on the last page."
    )


class ChainProblem(BaseModel):
    seq: int
    message: str


class ChainReportPublic(BaseModel):
    status: str = Field(description="PASSED or FAILED.")
    entries_checked: int
    head_seq: int
    head_hash: str
    base_seq: int
    checkpoints_checked: int
    first_broken: int | None
    reason: str | None
    problems: list[ChainProblem]
    summary: str


class CheckpointPublic(BaseModel):
    key: str
    count: int | None
    head: str | None
    time: str | None
    signed: bool
    problem: str | None


class LogKey(BaseModel):
    name: str
    key_id: str
    verifier_key: str = Field(description="c2sp.org/signed-note verifier key: name+id+key.")
    public_key_pem: str


def checkpoint_time(value: datetime | None) -> str | None:
    return iso(value) if value else None
