"""Metadata imports (CSV) onto existing contracts."""

from __future__ import annotations

from services.facade.base import Area


class ImportsArea(Area):
    """Metadata imports (CSV) onto existing contracts."""
