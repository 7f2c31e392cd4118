"""The archive's clock: real time, or a frozen instant (``ARCHIVE_FROZEN_NOW``) for tests and
demonstrations. Code that decides by the time (a borrowing's expiry, an approval step's age)
asks :func:`now` with the archive's settings, never ``datetime.now`` directly."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from core.settings import Settings

log = logging.getLogger(__name__)
_warned = False


def now(settings: Settings | None = None) -> datetime:
    """The current instant, in UTC, aware."""
    frozen = settings.frozen_now if settings is not None else None
    if frozen is None:
        return datetime.now(UTC)
    global _warned
    if not _warned:
        _warned = True
        log.warning("ARCHIVE_FROZEN_NOW is set: the archive's clock stands still at %s", frozen)
    if frozen.tzinfo is None:
        frozen = frozen.replace(tzinfo=UTC)
    return frozen.astimezone(UTC)
