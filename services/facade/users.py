"""User administration: create, list, update, disable, reset passwords."""

from __future__ import annotations

from services.facade.base import Area


class UsersArea(Area):
    """User administration: create, list, update, disable, reset passwords."""
