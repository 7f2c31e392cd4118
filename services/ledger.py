"""The evidence ledger's schedule in a long-running server: a checkpoint after each batch and at
least every ARCHIVE_LEDGER_CHECKPOINT_HOURS.

Every ARCHIVE_LEDGER_BATCH_SECONDS the thread asks the ledger whether a checkpoint is due (the
tree grew since the last one: the uploads and package changes of that interval are one batch;
or the last one is older than ARCHIVE_LEDGER_CHECKPOINT_HOURS) and issues it. A failure is
logged and tried again at the next tick; nothing else waits for it.
"""

from __future__ import annotations

import logging
import threading

from core.errors import ArchiveError
from signing.ledger_service import LedgerService

log = logging.getLogger(__name__)


class LedgerSchedule:
    def __init__(self, ledger: LedgerService, *, interval: float) -> None:
        self.ledger = ledger
        self.interval = interval
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def tick(self) -> bool:
        """Issue a checkpoint if one is due; whether one was issued."""
        try:
            if not self.ledger.checkpoint_due():
                return False
            row = self.ledger.checkpoint(force=True)
        except ArchiveError as exc:
            log.warning("ledger checkpoint failed (retried in %.0f s): %s", self.interval, exc)
            return False
        if row is not None:
            log.info("ledger checkpoint %s: %s leaves", row.id, row.tree_size)
        return row is not None

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.tick()

    def start(self) -> None:
        if self._thread is None:
            self._stop.clear()
            self._thread = threading.Thread(target=self._run, name="ledger", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
            self._thread = None
