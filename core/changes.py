"""Who is changing the archive right now: set by the facade around every action, read below it.

The facade (:meth:`services.facade.base.Acting.run`) sets :data:`CURRENT_CHANGE`; the sealing
service reads it when a change issues the next manifest version, so a version issued by the
service layer still names the person, the action and the reason.
"""

from __future__ import annotations

from contextvars import ContextVar
from typing import Any

CURRENT_CHANGE: ContextVar[dict[str, Any] | None] = ContextVar("manifest_change", default=None)
"""``by``, ``action`` and ``reason`` of the change in progress, or None outside an action."""
