"""The vocabulary (``vocabulary_base``) on SQLAlchemy: one row per word with its count, an
upsert per document."""

from __future__ import annotations

from collections.abc import Collection, Mapping

from sqlalchemy import func, select

from storage.records.models import SearchWord
from storage.records.sql_common import SqlPart

_BATCH = 500


class SqlVocabulary(SqlPart):
    def add_words(self, counts: Mapping[str, int]) -> None:
        words = sorted(w for w in counts if 3 <= len(w) <= 40)
        if not words:
            return
        with self._session(write=True) as s:
            for start in range(0, len(words), _BATCH):
                rows = [{"word": w, "docs": counts[w]} for w in words[start : start + _BATCH]]
                stmt = self._insert(SearchWord).values(rows)
                stmt = stmt.on_conflict_do_update(
                    index_elements=["word"],
                    set_={"docs": SearchWord.docs + stmt.excluded.docs},
                )
                s.execute(stmt)

    def known_words(self, words: Collection[str]) -> set[str]:
        if not words:
            return set()
        with self._session(write=False) as s:
            return set(s.scalars(select(SearchWord.word).where(SearchWord.word.in_(list(words)))))

    def words_like(self, word: str, *, spread: int = 2, limit: int = 5000) -> list[tuple[str, int]]:
        if not word:
            return []
        n = len(word)
        with self._session(write=False) as s:
            rows = s.execute(
                select(SearchWord.word, SearchWord.docs)
                .where(
                    func.substr(SearchWord.word, 1, 1) == word[0],
                    func.length(SearchWord.word).between(n - spread, n + spread),
                )
                .order_by(SearchWord.docs.desc())
                .limit(limit)
            )
            return [(w, d) for w, d in rows]
