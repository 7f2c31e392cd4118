"""AccessControl: the one place that decides who may do what, and records that they did.

The API (``search_api.auth``) and the command line both call these methods with a
:class:`~core.roles.Caller`. Each method checks the caller's permission, hides
contracts of restricted classes the caller is not cleared for, and appends an access log entry:

* for a change, in the same database transaction as the change;
* for a read (search, view, text, download, log export), before anything is returned;

so that an action whose entry cannot be written does not happen.
"""

from __future__ import annotations

import threading
import weakref

from services.access.contracts import ContractAccess
from services.access.identity import IdentityAccess
from services.access.logbook import LogAccess
from services.archive import Archive


class AccessControl(IdentityAccess, ContractAccess, LogAccess):
    """Access control: :mod:`services.access.core` (the log, permissions, hidden classes) with
    its parts :mod:`~services.access.identity`, :mod:`~services.access.contracts` and
    :mod:`~services.access.logbook`."""

    # -- registry --------------------------------------------------------------------------
    @classmethod
    def for_archive(cls, archive: Archive) -> AccessControl:
        """The access control of an archive (one per Archive object, made on first use)."""
        with _instances_lock:
            found = _instances.get(archive)
            if found is None:
                found = _instances[archive] = cls(archive)
            return found


_instances: weakref.WeakKeyDictionary[Archive, AccessControl] = weakref.WeakKeyDictionary()
_instances_lock = threading.Lock()
