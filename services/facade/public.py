"""What comes before a caller exists: log-in, checking a token or a session, the first
administrator, the access log's public key. Every step that can be abused is logged by
:class:`~services.access.service.AccessControl` (failed log-ins, bad tokens).

Also the HTTP front end's gate (``search_api.auth``): the checks it makes on a request's caller
before a route runs (the permission, a contract the caller may not see), and the generic entry
of a route that does not act through the facade.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from core.roles import Caller, Client, Perm
from schemas.access import LogKey
from services.access.core import LoginResult, NewCredentials, print_first_credentials
from services.access.notes import VerifierKey
from services.access.service import AccessControl

__all__ = ["LoginResult", "NewCredentials", "PublicArea", "print_first_credentials"]


class PublicArea:
    def __init__(self, access: AccessControl) -> None:
        self.access = access

    def login(self, username: str, password: str, client: Client) -> LoginResult:
        """A new browser session (logged ``auth.login``; failures are logged and rate
        limited)."""
        return self.access.login(username, password, client)

    def authenticate_token(self, token: str, client: Client) -> Caller:
        return self.access.authenticate_token(token, client)

    def authenticate_session(self, session_token: str, client: Client) -> Caller:
        return self.access.authenticate_session(session_token, client)

    def ensure_first_admin(self) -> NewCredentials | None:
        return self.access.ensure_first_admin()

    def public_key(self) -> VerifierKey:
        return self.access.public_key()

    def log_key(self) -> LogKey:
        """The public key that signs checkpoints and extracts, in every form it is published."""
        key = self.access.public_key()
        return LogKey(
            name=key.name,
            key_id=key.id_hex,
            verifier_key=key.to_text(),
            public_key_pem=key.to_pem().decode(),
        )

    # -- the HTTP gate -------------------------------------------------------------------------
    def require(
        self,
        caller: Caller,
        perm: Perm,
        *,
        action: str | None = None,
        contract_id: int | None = None,
        details: Mapping[str, Any] | None = None,
    ) -> None:
        """Forbidden (logged as ``denied``, under ``action`` if given) unless ``caller`` has
        ``perm``."""
        self.access.require(caller, perm, action=action, contract_id=contract_id, details=details)

    def check_visible(self, caller: Caller, contract_id: int, action: str) -> None:
        """NotFound (logged) for a contract that is missing or hidden from ``caller``."""
        self.access.check_visible(caller, contract_id, action)

    def record(
        self,
        caller: Caller,
        action: str,
        *,
        outcome: str = "ok",
        contract_id: int | None = None,
        details: Mapping[str, Any] | None = None,
    ) -> None:
        """An entry for a request or a command that does not log itself (``search_api.auth``,
        ``contract_archive.cli.acting``)."""
        self.access.record(
            caller, action, outcome=outcome, contract_id=contract_id, details=details
        )
