"""The caller's API tokens and password."""

from __future__ import annotations

from services.facade.base import Area


class TokensArea(Area):
    """The caller's API tokens and password."""
