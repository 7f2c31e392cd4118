"""How the command line writes a moment: in the archive's time zone (``ARCHIVE_TIMEZONE``),
with the offset named, e.g. ``2026-03-05 22:05 UTC+8``. JSON output keeps ISO 8601 in UTC.

Not a command module: a helper the command modules share."""

from __future__ import annotations

from datetime import datetime

from core import clock
from core.settings import get_settings


def when(moment: datetime, *, seconds: bool = False) -> str:
    local = clock.local(moment, clock.zone(get_settings()))
    shape = "%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M"
    return f"{local.strftime(shape)} {clock.offset_label(local)}"
