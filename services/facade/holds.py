"""Legal holds and locks on contracts."""

from __future__ import annotations

from services.facade.base import Area


class HoldsArea(Area):
    """Legal holds and locks on contracts."""
