"""Administration: reindex, migrate, doctor, settings."""

from __future__ import annotations

from services.facade.base import Area


class AdminArea(Area):
    """Administration: reindex, migrate, doctor, settings."""
