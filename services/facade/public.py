"""What comes before a caller exists: log-in, checking a token or a session, the first
administrator, the access log's public key. Every step that can be abused is logged by
:class:`~services.access.service.AccessControl` (failed log-ins, bad tokens)."""

from __future__ import annotations

from core.roles import Caller, Client
from services.access.notes import VerifierKey
from services.access.service import (
    AccessControl,
    LoginResult,
    NewCredentials,
    print_first_credentials,
)

__all__ = ["LoginResult", "NewCredentials", "PublicArea", "print_first_credentials"]


class PublicArea:
    def __init__(self, access: AccessControl) -> None:
        self.access = access

    def login(self, username: str, password: str, client: Client) -> LoginResult:
        return self.access.login(username, password, client)

    def authenticate_token(self, token: str, client: Client) -> Caller:
        return self.access.authenticate_token(token, client)

    def authenticate_session(self, session_token: str, client: Client) -> Caller:
        return self.access.authenticate_session(session_token, client)

    def ensure_first_admin(self) -> NewCredentials | None:
        return self.access.ensure_first_admin()

    def public_key(self) -> VerifierKey:
        return self.access.public_key()
