"""Restricted classes (受限分类) and the groups cleared for them.

Setting and lifting a restriction is logged by :class:`~services.access.service.AccessControl`
with the change (``restriction.set``, ``restriction.remove``): ``logged="self"``. The list
reveals no archive data and was never logged: ``logged="no"``.
"""

from __future__ import annotations

import builtins
from collections.abc import Sequence

from core.roles import Perm
from schemas.access import Restriction
from services.facade.base import Area, action


class RestrictionsArea(Area):
    """Restricted classes (受限分类) and the groups cleared for them."""

    @action("restriction.list", Perm.SETTINGS_MANAGE, logged="no")
    def list(self) -> builtins.list[Restriction]:
        found = self.acting.access.list_restrictions(self.acting.caller)
        return [Restriction(classification=k, groups=sorted(v)) for k, v in sorted(found.items())]

    @action("restriction.set", Perm.SETTINGS_MANAGE, logged="self")
    def set(self, classification: str, groups: Sequence[str]) -> Restriction:
        """Make a classification visible only to members of these groups."""
        code, names = self.acting.access.set_restriction(self.acting.caller, classification, groups)
        return Restriction(classification=code, groups=list(names))

    @action("restriction.remove", Perm.SETTINGS_MANAGE, logged="self")
    def remove(self, classification: str) -> None:
        """Lift a restriction (NotFound when the classification is not restricted)."""
        self.acting.access.remove_restriction(self.acting.caller, classification)
