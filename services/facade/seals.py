"""Seals and verification: verify, seal, evidence packages, recover."""

from __future__ import annotations

from services.facade.base import Area


class SealsArea(Area):
    """Seals and verification: verify, seal, evidence packages, recover."""
