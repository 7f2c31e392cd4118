"""The seal store: manifest versions and their seal state, and the fixity audit's progress.

The seals area of the record store. Its Protocol and rows are in ``seals_base``, its SQL half in
``seals_sql``; :class:`~storage.records.base.RecordStore` includes :class:`SealStore`, so the
record store itself is the seal store. The names are re-exported here, where callers import
them from.
"""

from __future__ import annotations

from storage.records.seals_base import Finding, ManifestRow, RunRow, SealStore

__all__ = ["Finding", "ManifestRow", "RunRow", "SealStore"]
