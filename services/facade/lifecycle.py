"""Lifecycle: status transitions, filing (档号, 保管期限), disposal."""

from __future__ import annotations

from services.facade.base import Area


class LifecycleArea(Area):
    """Lifecycle: status transitions, filing (档号, 保管期限), disposal."""
