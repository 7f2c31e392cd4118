"""A contract's terms: view, confirm, suggestions, relations (master/amendments), history."""

from __future__ import annotations

from services.facade.base import Area


class TermsArea(Area):
    """A contract's terms: view, confirm, suggestions, relations (master/amendments), history."""
