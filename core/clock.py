"""The archive's clock: real time, or a frozen instant (``ARCHIVE_FROZEN_NOW``) for tests and
demonstrations, and the archive's time zone (``ARCHIVE_TIMEZONE``). Code that decides by the time
(a borrowing's expiry, an approval step's age) asks :func:`now`, and code that decides by the day
(expiry, overdue payments, reminders, the archival year) asks :func:`today`: never
``datetime.now`` or ``date.today`` directly, which know neither setting."""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime, tzinfo
from functools import lru_cache
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

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


@lru_cache(maxsize=64)
def known_zone(name: str) -> tzinfo | None:
    """The time zone of an IANA name, or None when this machine does not know it."""
    if name.upper() == "UTC":
        return UTC
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        return None


def zone(settings: Settings | None = None) -> tzinfo:
    """The archive's time zone (UTC when there are no settings)."""
    if settings is None:
        return UTC
    return known_zone(settings.timezone) or UTC


def today(settings: Settings | None = None) -> date:
    """Which day it is in the archive's time zone, by the archive's clock."""
    return now(settings).astimezone(zone(settings)).date()


def offset_label(moment: datetime) -> str:
    """A moment's offset as people read it: ``UTC``, ``UTC+8``, ``UTC-3:30``."""
    offset = moment.utcoffset()
    if not offset:
        return "UTC"
    minutes = int(offset.total_seconds() // 60)
    sign = "+" if minutes >= 0 else "-"
    hours, rest = divmod(abs(minutes), 60)
    return f"UTC{sign}{hours}" + (f":{rest:02d}" if rest else "")


def local(moment: datetime, where: tzinfo) -> datetime:
    """A stored moment in a zone; a naive one is taken as UTC (how the stores keep times)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(where)
