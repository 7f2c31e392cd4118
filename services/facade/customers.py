"""Customers: list, view, create, update, aliases, merge (hidden classes applied)."""

from __future__ import annotations

from services.facade.base import Area


class CustomersArea(Area):
    """Customers: list, view, create, update, aliases, merge (hidden classes applied)."""
