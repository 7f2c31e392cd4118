"""Metadata imports (CSV) onto existing contracts."""

from __future__ import annotations

import logging
from pathlib import Path

from core.errors import ArchiveError
from core.roles import Perm
from services.contracts.importer import ImportReport, import_metadata
from services.facade.base import Area, action

log = logging.getLogger(__name__)


class ImportsArea(Area):
    """Metadata imports (CSV) onto existing contracts."""

    @action("import.metadata", Perm.CONTRACTS_INGEST, logged="change", unit=False)
    def metadata(self, csv_file: Path, dry_run: bool = False) -> ImportReport:
        """A legacy (paper) archive: one CSV row per file; all rows or none. The history
        records the acting user."""
        report = import_metadata(
            self.archive.contracts,
            csv_file,
            dry_run=dry_run,
            actor=self.acting.actor,
            may_see=self.acting.may_see_id,
        )
        self.acting.note(
            rows=report.rows,
            ok=report.ok,
            imported=report.imported,
            errors=len(report.errors),
        )
        if report.ok and not dry_run and report.imported:
            # The batch's manifest versions under a signed, timestamped ledger checkpoint; the
            # import stands without it (the server's schedule issues one later).
            try:
                self.archive.seal.ledger.checkpoint(force=False)
            except ArchiveError as exc:
                log.warning("no ledger checkpoint after the import: %s", exc.message)
        return report
