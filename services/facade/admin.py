"""Administration: reindex, migrate, doctor."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from core.roles import Caller, Perm
from services.archive import Archive
from services.doctor import DEFAULT_GRACE_SECONDS, Doctor, Finding, Report
from services.facade.base import Area, action
from services.migrate import (
    MigrationError,
    MigrationReport,
    carry_development_keys,
    load_target_settings,
)
from services.migrate import migrate as run_migration

__all__ = [
    "DEFAULT_GRACE_SECONDS",
    "AdminArea",
    "Finding",
    "Health",
    "MigrationError",
    "Report",
    "health",
    "load_target_settings",
]

if TYPE_CHECKING:
    from services.facade.runtime import Runtime
    from services.migrate import Progress


class AdminArea(Area):
    """Administration: reindex, migrate, doctor."""

    @action("index.rebuild", Perm.SETTINGS_MANAGE, logged="change", unit=False)
    def reindex(self, progress: Callable[[int], None] | None = None) -> int:
        """Rebuild the search index from the records and the stored text; the count."""
        count = self.archive.reindex(progress)
        self.acting.note(indexed=count)
        return max(count - len(self.acting.hidden_ids), 0)

    @action("index.count", Perm.SETTINGS_MANAGE, logged="no")
    def contract_count(self) -> int:
        """How many contracts the archive holds (for a progress bar; the administrator's),
        without those of classes the caller is not cleared for."""
        return self.archive.records.count_contracts() - len(self.acting.hidden_ids)

    @action("archive.health", Perm.SETTINGS_MANAGE, logged="no")
    def counts(self) -> tuple[int, int]:
        """Contracts recorded and indexed (the health check, for administrators), without
        those of classes the caller is not cleared for."""
        hidden = self.acting.hidden_ids
        indexed = self.archive.index.count()
        if hidden:
            indexed = len(self.archive.index.ids() - hidden)
        return self.archive.records.count_contracts() - len(hidden), indexed

    @action("archive.migrate", Perm.SETTINGS_MANAGE, logged="change", unit=False)
    def migrate(
        self,
        to: Path,
        *,
        announce: Callable[[str], None] | None = None,
        progress: Progress | None = None,
    ) -> MigrationReport:
        """Copy objects and records to the target engines, rebuild its index and verify by
        counts and digests. Nothing is deleted from this archive. ``to``: a file of ARCHIVE_
        settings describing the target (only its name is logged: it holds credentials)."""
        target = load_target_settings(to)
        say = announce or (lambda _line: None)
        source = self.archive
        if carry_development_keys(source.settings, target):
            say("copied the development seal keys to the target")
        with Archive(target).open(check_index=False) as dest:
            say(
                f"migrating {source.objects.name}/{source.records.name}/{source.index.name} → "
                f"{dest.objects.name}/{dest.records.name}/{dest.index.name}"
            )
            report = run_migration(source, dest, progress)
        self.acting.note(ok=report.ok, indexed=report.indexed)
        return report

    @action("archive.doctor", Perm.SETTINGS_MANAGE, logged="no")
    def doctor(
        self, *, repair: bool = False, verify: bool = False, grace: float = DEFAULT_GRACE_SECONDS
    ) -> Report:
        """Check the stores and their agreement; with ``repair``, fix crash leftovers.

        Not logged, and acting as the operator who holds the data directory
        (:meth:`services.facade.Runtime.operator`), not as a user of the archive: the doctor
        must run when the records (and with them the users and the access log) are missing,
        unmigrated or broken, which is what it diagnoses and repairs. Its findings name stores,
        keys and leftovers, not what the contracts say."""
        return Doctor(self.archive, grace_seconds=grace, verify=verify).run(repair=repair)


@dataclass(frozen=True)
class Health:
    """Whether the archive is up, and on which engines; counts for administrators only."""

    object_store: str
    records: str
    index: str
    contracts: int | None = None
    indexed: int | None = None


def health(runtime: Runtime, caller: Caller | None) -> Health:
    """The health answer for anyone (the engines' names) and, for a caller who may manage the
    archive, its counts (:meth:`AdminArea.counts`)."""
    archive = runtime.archive
    counts: tuple[int, int] | tuple[None, None] = (None, None)
    if caller is not None and caller.can(Perm.SETTINGS_MANAGE):
        counts = runtime.facade(caller).admin.counts()
    return Health(
        object_store=archive.objects.name,
        records=archive.records.name,
        index=archive.index.name,
        contracts=counts[0],
        indexed=counts[1],
    )
