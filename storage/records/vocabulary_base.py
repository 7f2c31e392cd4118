"""The index's vocabulary of Latin words, kept by the archive beside the records.

Every word (``storage.index.analysis`` terms of Latin letters, 3 to 40 of them) of every
document put into the search index is counted here, whatever the index backend: "did you mean"
(``services.search``) finds the known words near a misspelled one without asking the backend.
Counts only grow (a replaced or deleted document is not subtracted): a suggestion is checked
against the index before it is offered, so a word no document has any more is never proposed.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Protocol


class VocabularyStore(Protocol):
    def add_words(self, counts: Mapping[str, int]) -> None:
        """Add to each word's count (how many documents of a batch have it), in one
        transaction."""

    def known_words(self, words: Collection[str]) -> set[str]:
        """Which of ``words`` are in the vocabulary."""

    def words_like(self, word: str, *, spread: int = 2, limit: int = 5000) -> list[tuple[str, int]]:
        """Words that could be ``word`` misspelled: the same first letter, a length within
        ``spread``; with their counts, most frequent first."""
