"""Every FastAPI dependency alias of the API, in one place."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from contract_archive.archive import Archive
from contract_archive.settings import Settings


def get_archive_dep(request: Request) -> Archive:
    archive: Archive = request.app.state.archive
    return archive


def get_settings_dep(request: Request) -> Settings:
    archive: Archive = request.app.state.archive
    return archive.settings


def get_actor_dep(request: Request) -> str:
    """Who makes a change, as the history records it: the authenticated user when an
    authentication layer set ``request.state.user``, else ``api:anonymous``."""
    user = getattr(request.state, "user", None)
    return str(user) if user else "api:anonymous"


ArchiveDep = Annotated[Archive, Depends(get_archive_dep)]
ActorDep = Annotated[str, Depends(get_actor_dep)]
SettingsDep = Annotated[Settings, Depends(get_settings_dep)]
