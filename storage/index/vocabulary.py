"""The archive's search index: :class:`ArchiveIndex` wraps any
:class:`~storage.index.base.SearchIndex` (tantivy or OpenSearch alike) and, for every document
it adds,

* completes it with the contract's confirmed terms the facets need (governing law, signing and
  expiry years), read from the records database, so that every caller that indexes a contract
  (ingest, OCR, an edit, reindex, doctor) indexes them without knowing of them;
* counts its Latin words in a :class:`~storage.records.vocabulary_base.VocabularyStore` (the
  records database), for "did you mean" (``services.search``)."""

from __future__ import annotations

import logging
import re
from collections import Counter
from collections.abc import Collection, Iterable, Sequence
from dataclasses import replace
from typing import Any, Protocol

from core.clauses import CLAUSE_FIELD
from core.errors import ArchiveError, NotFound
from storage.index.base import IndexDocument, IndexResult, RebuildSession, SearchIndex, SortOrder
from storage.index.query import Node
from storage.records.terms_base import SuggestionRecord, TermsRecord
from storage.records.vocabulary_base import VocabularyStore

log = logging.getLogger(__name__)

WORD = re.compile(r"[a-z]{3,40}")
"""A vocabulary word: an index term of 3 to 40 Latin letters only (no digits, apostrophes or
hyphens; no CJK bigrams)."""
_WORDS = re.compile(r"(?<![^\W_])[a-z]{3,40}(?![^\W_])")


class IndexRecords(VocabularyStore, Protocol):
    """What the index needs of the records database: the vocabulary and a contract's terms."""

    def get_terms(self, contract_id: int) -> TermsRecord: ...

    def list_suggestions(
        self, contract_id: int, *, states: Collection[str] = ("open",)
    ) -> list[SuggestionRecord]: ...


def words_of(doc: IndexDocument) -> set[str]:
    """The distinct vocabulary words of a document (title and pages; lower-cased as the
    analyzer does, found with a plain pattern: faster than analysing the text again)."""
    found: set[str] = set()
    for text in (doc.title, *doc.pages):
        found.update(_WORDS.findall(text.lower()))
    return found


class ArchiveIndex:
    """``inner`` with its documents completed with their terms and their words counted in
    ``words`` as they are added. Counting is a help: when it fails, the document is indexed
    all the same and a warning logged."""

    def __init__(self, inner: SearchIndex, words: IndexRecords) -> None:
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

    def with_terms(self, doc: IndexDocument) -> IndexDocument:
        """``doc`` with the governing law and the signing and expiry years confirmed for its
        contract (as it is when the contract has no record yet: an ingest in progress)."""
        try:
            terms = self.words.get_terms(doc.id)
        except NotFound:
            return doc
        return replace(
            doc,
            governing_law=terms.governing_law or None,
            signed_year=terms.sign_date.year if terms.sign_date else None,
            expiry_year=terms.expiry_date.year if terms.expiry_date else None,
            clauses=self.clauses_of(doc.id),
        )

    def clauses_of(self, contract_id: int) -> tuple[str, ...]:
        """The clause types found in the contract and not rejected, for ``clause:``."""
        found = self.words.list_suggestions(contract_id, states=("open", "accepted"))
        slugs = {
            str(s.value.get("type"))
            for s in found
            if s.field == CLAUSE_FIELD and isinstance(s.value, dict) and s.value.get("type")
        }
        return tuple(sorted(slugs))

    def add(self, docs: Sequence[IndexDocument]) -> None:
        docs = [self.with_terms(d) for d in docs]
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
    def __init__(self, inner: RebuildSession, owner: ArchiveIndex) -> None:
        self.inner = inner
        self.owner = owner

    def add(self, docs: Sequence[IndexDocument]) -> None:
        docs = [self.owner.with_terms(d) for d in docs]
        self.inner.add(docs)
        self.owner.count_words(docs)

    def commit(self) -> None:
        self.inner.commit()

    def abort(self) -> None:
        self.inner.abort()
