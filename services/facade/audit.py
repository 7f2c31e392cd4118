"""The access log: read, export, extract, verify, checkpoint, prune."""

from __future__ import annotations

from services.facade.base import Area


class AuditArea(Area):
    """The access log: read, export, extract, verify, checkpoint, prune."""
