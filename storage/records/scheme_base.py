"""The scheme area of the record store: the versioned classification scheme and the classifier.

A scheme is never changed in place: every change is a new version, based on the current one.
The classifier trained on the confirmed classes is stored beside it.

The Protocol :class:`SchemeStore` and the plain records it returns (frozen dataclasses, never ORM
objects). Its SQL implementation, :class:`~storage.records.scheme_sql.SqlScheme`, is a part of
``SqlRecordStore``; :class:`~storage.records.base.RecordStore` includes the Protocol.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol, runtime_checkable


@dataclass(frozen=True)
class SchemeCode:
    code: str
    name_zh: str
    name_en: str
    retention: str
    keywords: tuple[str, ...] = ()


@dataclass(frozen=True)
class SchemeRecord:
    version: int
    created_at: datetime
    created_by: str
    note: str | None
    codes: tuple[SchemeCode, ...]

    def get(self, code: str) -> SchemeCode | None:
        return next((c for c in self.codes if c.code == code), None)


@dataclass(frozen=True)
class ClassifierRecord:
    id: int
    created_at: datetime
    created_by: str
    scheme_version: int
    examples: int
    labels: tuple[str, ...]
    model: dict[str, Any]
    accuracy: float | None


@runtime_checkable
class SchemeStore(Protocol):
    """Versions of the classification scheme, the trained classifier and its training data."""

    def current_scheme(self) -> SchemeRecord: ...

    def get_scheme(self, version: int) -> SchemeRecord: ...

    def scheme_versions(self) -> list[SchemeRecord]: ...

    def new_scheme_version(
        self, codes: Sequence[SchemeCode], *, actor: str, note: str | None, based_on: int
    ) -> SchemeRecord:
        """Save a new version; Conflict when ``based_on`` is no longer the current one."""

    def save_classifier(
        self,
        *,
        actor: str,
        scheme_version: int,
        examples: int,
        labels: Sequence[str],
        model: Mapping[str, Any],
        accuracy: float | None,
    ) -> ClassifierRecord: ...

    def latest_classifier(self) -> ClassifierRecord | None: ...

    def confirmed_classifications(self) -> list[tuple[int, str]]:
        """(contract id, confirmed classification) of every contract that has one."""
