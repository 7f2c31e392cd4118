"""The caller's API tokens, password and browser session.

Creating and revoking a token, changing one's password and logging out are logged by
:class:`~services.access.service.AccessControl` with the change (``token.create``,
``token.revoke``, ``auth.password``, ``auth.logout``): ``logged="self"``. Who am I and the list
of one's tokens reveal no archive data: ``logged="no"``.

The password change and the log-out are declared with :attr:`Perm.PUBLIC` (any caller the facade
is bound to): they are what a session whose one-time password must still be changed may do.
"""

from __future__ import annotations

import builtins
from datetime import UTC, datetime

from core.roles import Perm
from schemas.access import Me, TokenCreated, TokenPublic
from services.facade.base import Area, action
from services.facade.helpers import csrf_token


class TokensArea(Area):
    """The caller's API tokens and password."""

    @action("auth.me", Perm.PUBLIC, logged="no")
    def me(self, session_token: str | None = None) -> Me:
        """Who the caller is; for a browser session (its token given) with the CSRF token its
        changes must carry."""
        caller = self.acting.caller
        session = caller.via == "session" and session_token
        return Me(
            username=caller.username,
            roles=sorted(r.value for r in caller.roles),
            groups=sorted(caller.groups),
            permissions=sorted(p.value for p in caller.perms),
            via=caller.via,
            must_change_password=caller.must_change_password,
            csrf_token=csrf_token(session_token) if session and session_token else None,
        )

    @action("auth.password", Perm.PUBLIC, logged="self")
    def change_password(self, current_password: str, new_password: str) -> None:
        """At least 12 characters, not the user name. Ends every browser session of the user."""
        self.acting.access.change_password(self.acting.caller, current_password, new_password)

    @action("auth.logout", Perm.PUBLIC, logged="self")
    def logout(self, session_token: str | None) -> None:
        """End the caller's browser session on the server (nothing to end for a token)."""
        if self.acting.caller.via == "session":
            self.acting.access.logout(self.acting.caller, session_token)

    @action("token.list", Perm.SELF, logged="no")
    def list(self, username: str | None = None, every: bool = False) -> builtins.list[TokenPublic]:
        """One's own tokens; another user's or every user's for administrators."""
        now = datetime.now(UTC)
        tokens = self.acting.access.list_tokens(self.acting.caller, username=username, every=every)
        return [TokenPublic.from_record(t, now) for t in tokens]

    @action("token.create", Perm.SELF, logged="self")
    def create(
        self, name: str, *, days: int | None = None, username: str | None = None
    ) -> TokenCreated:
        """A new API token, returned this once (only its digest is kept)."""
        record, token = self.acting.access.create_token(
            self.acting.caller, name=name, days=days, username=username
        )
        return TokenCreated(token=token, info=TokenPublic.from_record(record, datetime.now(UTC)))

    @action("token.revoke", Perm.SELF, logged="self")
    def revoke(self, token_id: str) -> TokenPublic:
        """Revoke a token (one's own; anyone's for administrators): it stops working at once."""
        record = self.acting.access.revoke_token(self.acting.caller, token_id)
        return TokenPublic.from_record(record, datetime.now(UTC))
