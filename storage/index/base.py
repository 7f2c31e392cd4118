"""The search index Protocol.

An index holds one document per contract: its analysed text and title for matching, a few
keyword and date fields for filters and facets, and the normalised page texts so that the
application can highlight hits the same way on every backend. Queries arrive as the AST of
``storage.index.query``; each backend compiles it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal, Protocol, runtime_checkable

from storage.index.query import Node

SortOrder = Literal["relevance", "newest", "oldest"]
FACET_FIELDS = (
    "customer",
    "year",
    "status",
    "classification",
    "governing_law",
    "signed",
    "expires",
    "clause",
)

# Bump when the fields or their analysis change: an index of another version refuses to open
# until `contract-archive reindex` has rebuilt it.
INDEX_VERSION = 3
"""2: governing law, signing year and expiry year (from the confirmed terms), for facets.
3: the clause types found in the contract (open or confirmed clause suggestions), ``clause:``."""


@dataclass(frozen=True)
class IndexDocument:
    id: int
    sha256: str
    title: str
    customer: str | None
    filename: str
    created_at: datetime
    pages: Sequence[str]
    """Normalised text of each page (``storage.index.analysis.normalize``)."""
    status: str = "archived"
    classification: str | None = None
    governing_law: str | None = None
    signed_year: int | None = None
    expiry_year: int | None = None
    clauses: tuple[str, ...] = ()
    """Slugs of the clause types found in the contract (``core.clauses``), not rejected."""


@dataclass(frozen=True)
class IndexHit:
    id: int
    score: float
    title: str
    customer: str | None
    pages: tuple[str, ...]


@dataclass(frozen=True)
class FacetValue:
    value: str
    count: int


@dataclass(frozen=True)
class IndexResult:
    total: int
    hits: list[IndexHit]
    facets: Mapping[str, list[FacetValue]] = field(default_factory=dict)
    """Per facet field, its most frequent values among all hits; an index may still be
    computing them when it returns the hits (reading them waits)."""


@runtime_checkable
class SearchIndex(Protocol):
    name: str

    def check(self) -> None:
        """Raise ConfigurationError naming the setting when the index is unusable or stale."""

    def add(self, docs: Sequence[IndexDocument]) -> None:
        """Add or replace documents (by id) and make them searchable before returning."""

    def delete(self, ids: Sequence[int]) -> None: ...

    def search(
        self,
        query: Node,
        *,
        limit: int = 10,
        offset: int = 0,
        sort: SortOrder = "relevance",
        facets: bool = False,
    ) -> IndexResult: ...

    def ids(self) -> set[int]:
        """Every contract id in the index (for doctor and tests)."""

    def count(self) -> int: ...

    def rebuild(self) -> RebuildSession:
        """Start building a fresh index beside the live one; commit() swaps it in."""

    def close(self) -> None: ...


class RebuildSession(Protocol):
    def add(self, docs: Sequence[IndexDocument]) -> None: ...

    def commit(self) -> None:
        """Make the new index the live one (atomically for readers)."""

    def abort(self) -> None: ...
