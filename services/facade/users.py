"""User administration: create, list, update, disable, reset passwords.

Each change is checked and logged by :class:`~services.access.service.AccessControl` in the same
transaction as the change (``user.create``, ``user.update``, ``user.disable``,
``user.password_reset``), so the actions are declared ``logged="self"``. Listing and reading
users reveals no archive data and was never logged: ``logged="no"`` (a refusal is still logged).
"""

from __future__ import annotations

import builtins
from collections.abc import Sequence

from core.roles import Perm
from schemas.access import PasswordReset, UserCreated, UserPublic
from services.facade.base import Area, action


class UsersArea(Area):
    """User administration: create, list, update, disable, reset passwords."""

    @action("user.list", Perm.USERS_MANAGE, logged="no")
    def list(self) -> builtins.list[UserPublic]:
        users = self.acting.access.list_users(self.acting.caller)
        return [UserPublic.from_record(u) for u in users]

    @action("user.view", Perm.USERS_MANAGE, logged="no")
    def get(self, username: str) -> UserPublic:
        return UserPublic.from_record(self.acting.access.get_user(self.acting.caller, username))

    @action("user.create", Perm.USERS_MANAGE, logged="self")
    def create(
        self,
        username: str,
        *,
        roles: Sequence[str],
        groups: Sequence[str] = (),
        display_name: str | None = None,
        with_password: bool = True,
    ) -> UserCreated:
        """A new user; with a one-time password (shown once, changed at the first log-in)
        unless token-only."""
        user, password = self.acting.access.create_user(
            self.acting.caller,
            username,
            roles=roles,
            groups=groups,
            display_name=display_name,
            with_password=with_password,
        )
        return UserCreated(user=UserPublic.from_record(user), one_time_password=password)

    @action("user.update", Perm.USERS_MANAGE, logged="self")
    def update(
        self,
        username: str,
        *,
        roles: Sequence[str] | None = None,
        groups: Sequence[str] | None = None,
        disabled: bool | None = None,
        display_name: str | None = None,
    ) -> UserPublic:
        """Change roles, groups or the display name, disable or enable (logged as
        ``user.disable`` when it disables)."""
        user = self.acting.access.update_user(
            self.acting.caller,
            username,
            roles=roles,
            groups=groups,
            disabled=disabled,
            display_name=display_name,
        )
        return UserPublic.from_record(user)

    @action("user.password_reset", Perm.USERS_MANAGE, logged="self")
    def reset_password(self, username: str) -> PasswordReset:
        """A new one-time password for a user (shown once; their sessions end)."""
        password = self.acting.access.reset_password(self.acting.caller, username)
        return PasswordReset(username=username, one_time_password=password)
