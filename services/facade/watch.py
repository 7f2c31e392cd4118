"""The watched folder (``contract-archive watch DIR`` and the server's ``ARCHIVE_WATCH_DIR``):
the watcher of :mod:`services.watch`, bound to the caller, and the folder rule that
``ingest FOLDER`` shares with it."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from core.roles import Perm
from services.facade.base import Acting, Area, action
from services.watch import (
    ARCHIVED,
    DONE_SUFFIX,
    REASON_SUFFIX,
    REJECTED,
    WORKING,
    FolderWatcher,
    Placement,
    WatchEvent,
    check_folder,
    folder_problem,
    folder_rule,
)

if TYPE_CHECKING:
    from services.access.service import AccessControl

__all__ = [
    "ARCHIVED",
    "DONE_SUFFIX",
    "REASON_SUFFIX",
    "REJECTED",
    "WORKING",
    "FolderWatcher",
    "Placement",
    "WatchArea",
    "WatchEvent",
    "check_folder",
    "configured_watcher",
    "folder_problem",
    "folder_rule",
]


def configured_watcher(
    access: AccessControl,
    *,
    check: bool,
    on_event: Callable[[WatchEvent], None] | None = None,
) -> FolderWatcher | None:
    """The watcher of ARCHIVE_WATCH_DIR (None when unset), acting as ARCHIVE_WATCH_USER, with
    the ARCHIVE_WATCH_* settings: the one the server runs and the one ``contract-archive
    worker`` runs. A watch user that does not exist, is disabled or may not ingest is a
    ConfigurationError. ``check``: refuse, with the reason, a folder it could not work in
    now (before a server or worker starts); without it such a folder is not refused (the
    running watcher logs it and looks again)."""
    from core.access_errors import Forbidden
    from core.errors import ConfigurationError
    from services.facade.facade import Facade

    settings = access.settings
    if settings.watch_dir is None:
        return None
    if check:
        check_folder(settings.watch_dir, "ARCHIVE_WATCH_DIR")
    f = Facade(Acting(access, access.watch_caller()))
    try:
        return f.watch.watcher(
            settings.watch_dir,
            stable_seconds=settings.watch_stable_seconds,
            split_batches=settings.watch_split_batches,
            on_event=on_event,
            check=False,
        )
    except Forbidden as exc:
        raise ConfigurationError(
            f"ARCHIVE_WATCH_USER may not ingest: {exc.message}",
            hint="set ARCHIVE_WATCH_USER to a user with contracts:ingest (an archivist or an "
            "admin)",
        ) from exc


class WatchArea(Area):
    """The watched folder."""

    @action("watch.codes", Perm.CONTRACTS_INGEST, logged="no")
    def codes(self) -> tuple[str, ...]:
        """The codes of the current classification scheme (what a second-level folder may be
        named). The scheme is the archive's configuration, not archive data."""
        return tuple(c.code for c in self.archive.contracts.scheme(None).codes)

    @action("watch.start", Perm.CONTRACTS_INGEST, logged="no")
    def watcher(
        self,
        folder: Path,
        *,
        stable_seconds: float = 5.0,
        split_batches: bool = False,
        on_event: Callable[[WatchEvent], None] | None = None,
        check: bool = True,
    ) -> FolderWatcher:
        """A watcher of ``folder`` acting as the caller: each file is archived through the
        facade's ingest actions (permission checked and logged per file). ``check``: refuse a
        folder the watcher cannot work in now (the server's watcher logs it and looks again)."""
        from services.facade.facade import Facade

        if check:
            check_folder(folder)
        return FolderWatcher(
            Facade(self.acting),
            folder,
            stable_seconds=stable_seconds,
            split_batches=split_batches,
            on_event=on_event,
        )

    @action("watch.configured", Perm.SETTINGS_MANAGE, logged="no")
    def configured(
        self, *, on_event: Callable[[WatchEvent], None] | None = None
    ) -> FolderWatcher | None:
        """The watcher of ARCHIVE_WATCH_DIR as the server runs it (None when unset), for
        ``contract-archive worker``: it acts as ARCHIVE_WATCH_USER, not as the caller, so
        starting it is the archive's configuration (settings:manage). A folder it cannot work
        in, or a watch user who may not ingest, is refused now with the reason."""
        return configured_watcher(self.acting.access, check=True, on_event=on_event)
