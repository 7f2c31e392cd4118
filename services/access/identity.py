"""Who the caller is: tokens, sessions, the CLI's user, log-in, users and API tokens."""

from __future__ import annotations

import contextlib
import getpass
import os
import socket
import unicodedata
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from core import __version__
from core.access_errors import (
    Forbidden,
    TooManyAttempts,
    Unauthorized,
)
from core.errors import (
    ArchiveError,
    ConfigurationError,
    InvalidRequest,
    NotFound,
)
from core.roles import Caller, Client, Perm, Role
from services.access import credentials as cred
from services.access.core import (
    _ROLE_NAMES,
    FIRST_ADMIN,
    FIRST_PASSWORD_FILE,
    TOUCH_EVERY,
    AccessCore,
    LoginResult,
    NewCredentials,
    _groups,
    _roles,
    read_admin_password,
    valid_username,
)
from services.access.throttle import bounded_verification
from storage.records.access_base import (
    NewUser,
    UserRecord,
)


class IdentityAccess(AccessCore):
    @property
    def _hash_cost(self) -> dict[str, int]:
        """argon2id's cost as configured (``ARCHIVE_PASSWORD_HASH_*``)."""
        return {
            "memory_mib": self.settings.password_hash_memory_mib,
            "time_cost": self.settings.password_hash_time_cost,
        }

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
        return self._configured_caller(self.settings.user, "ARCHIVE_USER", via="cli")

    def watch_caller(self) -> Caller:
        """Who the server's watched folder acts as: ARCHIVE_WATCH_USER, default the first
        admin."""
        return self._configured_caller(self.settings.watch_user, "ARCHIVE_WATCH_USER", via="watch")

    def _configured_caller(self, wanted: str | None, setting: str, *, via: str) -> Caller:
        user = self.store.get_user(wanted) if wanted else self.store.first_admin()
        if user is None:
            raise ConfigurationError(
                f"{setting} names no user: {wanted!r}"
                if wanted
                else f"the archive has no enabled admin for {setting} to default to",
                hint=f"set {setting} to an existing user (`contract-archive users list`)",
            )
        if user.disabled:
            raise ConfigurationError(
                f"{setting} {user.username!r} is disabled",
                hint=f"set {setting} to an enabled user",
            )
        try:
            os_user = getpass.getuser()
        except (KeyError, OSError):
            os_user = str(os.getuid())
        program = "contract-archive-cli" if via == "cli" else f"contract-archive-{via}"
        agent = f"{program}/{__version__} ({os_user}@{socket.gethostname()})"
        return self.caller_for(user, via=via, ip=None, user_agent=agent)

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
                    password_hash=cred.hash_password(password, **self._hash_cost),
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
                    ok = cred.verify_password(
                        user.password_hash if user else None, password, **self._hash_cost
                    )
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
        if cred.needs_rehash(user.password_hash, **self._hash_cost):
            with contextlib.suppress(ArchiveError):
                # the same password at the configured cost: the sessions stay (this one too)
                self.store.update_user(
                    name,
                    {"password_hash": cred.hash_password(password, **self._hash_cost)},
                    keep_sessions=True,
                )
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
            right = cred.verify_password(user.password_hash, current, **self._hash_cost)
        if not right:
            self.record(caller, "auth.password", outcome="failed")
            raise Forbidden("the current password is wrong")
        cred.check_password_policy(new, user.username)
        if new == current:
            raise InvalidRequest("the new password must differ from the current one")
        self.store.update_user(
            user.username,
            {
                "password_hash": cred.hash_password(new, **self._hash_cost),
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
                password_hash=cred.hash_password(password, **self._hash_cost) if password else None,
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
                "password_hash": cred.hash_password(password, **self._hash_cost),
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
