"""The watched folder (``contract-archive watch DIR`` and the server's ``ARCHIVE_WATCH_DIR``):
the watcher of :mod:`services.watch`, bound to the caller, and the folder rule that
``ingest FOLDER`` shares with it."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from core.roles import Perm
from services.facade.base import Area, action
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
    "folder_problem",
    "folder_rule",
]


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
