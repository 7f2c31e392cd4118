"""Contracts: list, show, ingest, search, text, download, edit, duplicates."""

from __future__ import annotations

from services.facade.base import Area


class ContractsArea(Area):
    """Contracts: list, show, ingest, search, text, download, edit, duplicates."""
