"""Payments (receivables) of a contract."""

from __future__ import annotations

from services.facade.base import Area


class PaymentsArea(Area):
    """Payments (receivables) of a contract."""
