"""Reminders and the calendar feed (hidden classes applied)."""

from __future__ import annotations

from services.facade.base import Area


class RemindersArea(Area):
    """Reminders and the calendar feed (hidden classes applied)."""
