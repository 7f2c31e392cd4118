"""The classification scheme and the classifier."""

from __future__ import annotations

from services.facade.base import Area


class SchemeArea(Area):
    """The classification scheme and the classifier."""
