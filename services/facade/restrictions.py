"""Restricted classes (受限分类) and the groups cleared for them."""

from __future__ import annotations

from services.facade.base import Area


class RestrictionsArea(Area):
    """Restricted classes (受限分类) and the groups cleared for them."""
