"""Metadata imports (CSV) onto existing contracts."""

from __future__ import annotations

from pathlib import Path

from core.roles import Perm
from services.contracts.importer import ImportReport, import_metadata
from services.facade.base import Area, action


class ImportsArea(Area):
    """Metadata imports (CSV) onto existing contracts."""

    @action("import.metadata", Perm.CONTRACTS_INGEST, logged="change")
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
        return report
