"""The home page's dashboard: counts, expiring contracts, overdue amounts."""

from __future__ import annotations

from services.facade.base import Area


class DashboardArea(Area):
    """The home page's dashboard: counts, expiring contracts, overdue amounts."""
