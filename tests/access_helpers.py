"""Helpers for tests that call the API: users with roles, their tokens, clients acting as them.

Every API route needs credentials since issue 7; a test that used ``TestClient(create_app(a))``
uses ``client_as(a)`` (an admin) or ``client_as(a, "legal")`` instead.
"""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from core.roles import Caller
from search_api.app import create_app
from services.access.credentials import hash_password
from services.access.service import AccessControl
from services.archive import Archive
from storage.records.access_base import NewUser


def ensure_user(
    archive: Archive, username: str, roles: tuple[str, ...], groups: tuple[str, ...] = ()
) -> Caller:
    access = AccessControl.for_archive(archive)
    user = access.store.get_user(username)
    if user is None:
        user = access.store.add_user(
            NewUser(username=username, roles=roles, groups=groups, created_by="tests")
        )
    return access.caller_for(user, via="cli")


def add_web_user(
    archive: Archive, username: str, password: str, roles: tuple[str, ...] = ("admin",)
) -> None:
    """A user who signs in on the web with ``password``."""
    AccessControl.for_archive(archive).store.add_user(
        NewUser(
            username=username,
            roles=roles,
            groups=(),
            password_hash=hash_password(password),
            created_by="tests",
        )
    )


def token_for(
    archive: Archive, *roles: str, username: str | None = None, groups: tuple[str, ...] = ()
) -> str:
    roles = roles or ("admin",)
    name = username or "-".join((*roles, *groups)) or "nobody"
    caller = ensure_user(archive, name, tuple(roles), groups)
    _, token = AccessControl.for_archive(archive).create_token(caller, name="tests")
    return token


def auth_headers(
    archive: Archive, *roles: str, username: str | None = None, groups: tuple[str, ...] = ()
) -> dict[str, str]:
    """``Authorization`` for a user with these roles (default: admin), for a TestClient or
    httpx: ``TestClient(create_app(archive), headers=auth_headers(archive))``."""
    token = token_for(archive, *roles, username=username, groups=groups)
    return {"Authorization": f"Bearer {token}"}


def client_as(
    archive: Archive,
    *roles: str,
    username: str | None = None,
    groups: tuple[str, ...] = (),
    **app_options: Any,
) -> TestClient:
    """A TestClient with a Bearer token of a user with these roles (default: admin), on
    ``create_app(archive, **app_options)``. Use it as a context manager like any TestClient."""
    return TestClient(
        create_app(archive, **app_options),
        raise_server_exceptions=False,
        headers=auth_headers(archive, *roles, username=username, groups=groups),
    )
