"""A search index that also keeps its vocabulary: :class:`VocabularyIndex` wraps any
:class:`~storage.index.base.SearchIndex` (tantivy or OpenSearch alike) and counts the Latin
words of every document it adds in a :class:`~storage.records.vocabulary_base.VocabularyStore`
(the records database), for "did you mean" (``services.search``)."""

from __future__ import annotations

import logging
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from typing import Any

from core.errors import ArchiveError
from storage.index.base import IndexDocument, IndexResult, RebuildSession, SearchIndex, SortOrder
from storage.index.query import Node
from storage.records.vocabulary_base import VocabularyStore

log = logging.getLogger(__name__)

WORD = re.compile(r"[a-z]{3,40}")
"""A vocabulary word: an index term of 3 to 40 Latin letters only (no digits, apostrophes or
hyphens; no CJK bigrams)."""
_WORDS = re.compile(r"(?<![^\W_])[a-z]{3,40}(?![^\W_])")


def words_of(doc: IndexDocument) -> set[str]:
    """The distinct vocabulary words of a document (title and pages; lower-cased as the
    analyzer does, found with a plain pattern: faster than analysing the text again)."""
    found: set[str] = set()
    for text in (doc.title, *doc.pages):
        found.update(_WORDS.findall(text.lower()))
    return found


class VocabularyIndex:
    """``inner`` with its documents' words counted in ``words`` as they are added. Counting
    is a help: when it fails, the document is indexed all the same and a warning logged."""

    def __init__(self, inner: SearchIndex, words: VocabularyStore) -> None:
        self.inner = inner
        self.words = words
        self.name = inner.name

    def count_words(self, docs: Iterable[IndexDocument]) -> None:
        counts: Counter[str] = Counter()
        for doc in docs:
            counts.update(words_of(doc))
        try:
            self.words.add_words(counts)
        except ArchiveError as exc:
            log.warning("the vocabulary missed %d words: %s", len(counts), exc.message)

    def check(self) -> None:
        self.inner.check()

    def add(self, docs: Sequence[IndexDocument]) -> None:
        self.inner.add(docs)
        self.count_words(docs)

    def delete(self, ids: Sequence[int]) -> None:
        self.inner.delete(ids)

    def search(
        self,
        query: Node,
        *,
        limit: int = 10,
        offset: int = 0,
        sort: SortOrder = "relevance",
        facets: bool = False,
    ) -> IndexResult:
        return self.inner.search(query, limit=limit, offset=offset, sort=sort, facets=facets)

    def ids(self) -> set[int]:
        return self.inner.ids()

    def count(self) -> int:
        return self.inner.count()

    def rebuild(self) -> RebuildSession:
        return _CountingRebuild(self.inner.rebuild(), self)

    def close(self) -> None:
        self.inner.close()

    def __getattr__(self, name: str) -> Any:
        # What one backend has beyond the Protocol (tantivy's leftovers, ...).
        return getattr(self.inner, name)


class _CountingRebuild:
    def __init__(self, inner: RebuildSession, owner: VocabularyIndex) -> None:
        self.inner = inner
        self.owner = owner

    def add(self, docs: Sequence[IndexDocument]) -> None:
        self.inner.add(docs)
        self.owner.count_words(docs)

    def commit(self) -> None:
        self.inner.commit()

    def abort(self) -> None:
        self.inner.abort()
