"""The caller-bound facade every front end acts through (see ``docs/architecture.md``)."""

from services.facade.base import Acting, ActionSpec, Area, action, actions_of
from services.facade.facade import AREAS, Facade
from services.facade.runtime import Runtime

__all__ = ["AREAS", "Acting", "ActionSpec", "Area", "Facade", "Runtime", "action", "actions_of"]
