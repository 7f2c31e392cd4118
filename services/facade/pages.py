"""A contract's pages: page images and page text (read with a purpose, logged)."""

from __future__ import annotations

from services.facade.base import Area


class PagesArea(Area):
    """A contract's pages: page images and page text (read with a purpose, logged)."""
