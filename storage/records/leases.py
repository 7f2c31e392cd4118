"""The one set of rules for all background work (issue 14): OCR pages (``ocr_jobs``), OCR
finalisation (``ocr_batches``) and the background jobs (``background_jobs``: reminders, fixity
audits, reindexing) are each a table of leased work, and this module is what they share.

- **Taking**: a row may be taken when it is waiting and past its backoff (``retry_at``), or
  running with its lease run out (its worker died). One conditional ``UPDATE … WHERE id = ? AND
  takeable`` takes it; the row count says whether this worker won (:func:`claim`). Its attempt
  count goes up by one.
- **Interrupted too often**: a row whose lease ran out with its attempts used up is not taken
  again but marked failed with that reason (:func:`claim` asks the table's ``exhausted``).
- **A failed attempt** goes back to waiting with a backoff (:func:`backoff_seconds`, doubling),
  or, after the last attempt, to the terminal failed state with the reason and the traceback
  (:func:`retry_in`, :meth:`LeaseTable.failure`).
- **Giving back** (a stopping worker): waiting again, the attempt not counted
  (:meth:`LeaseTable.release`).

A table names its columns and states in a :class:`LeaseTable`; the SQL of each kind of work
(:mod:`storage.records.ocr_sql`, :mod:`storage.records.jobs_sql`) adds only what is its own (a
page's status on its contract, a batch that waits for its pages).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, TypeVar

from sqlalchemy import and_, case, or_, select, update
from sqlalchemy.orm import Session

from storage.records.models import utcnow

CANDIDATES = 8
"""Rows looked at per round of :func:`claim` (the oldest first)."""

T = TypeVar("T")


def backoff_seconds(base: float, attempts: int) -> float:
    """Wait before the next attempt after ``attempts`` failed ones: base, 2·base, 4·base…"""
    return float(base * 2 ** max(0, min(attempts - 1, 16)))


def retry_in(attempts: int, max_attempts: int, base: float) -> float | None:
    """After a failed attempt (the ``attempts``-th): the wait before the next one, or None when
    the attempts are used up and the work is failed for good."""
    return backoff_seconds(base, attempts) if attempts < max_attempts else None


def changed(s: Session, statement: Any) -> int:
    """Rows changed by an UPDATE: the verdict of a conditional update."""
    return int(getattr(s.execute(statement), "rowcount", 0) or 0)


@dataclass(frozen=True)
class LeaseTable:
    """A table of leased work: its model, its key and state columns, the names of its waiting,
    running and failed states, and the column that keeps the reason of a failed attempt."""

    model: Any
    key: str = "id"
    state: str = "state"
    waiting: str = "queued"
    running: str = "running"
    failed: str = "failed"
    reason: str = "error"

    def column(self, name: str) -> Any:
        return getattr(self.model, name)

    def takeable(self, now: datetime) -> Any:
        """Waiting and past its backoff, or running with its lease run out."""
        state, retry_at = self.column(self.state), self.column("retry_at")
        return or_(
            and_(state == self.waiting, or_(retry_at.is_(None), retry_at <= now)),
            and_(state == self.running, self.column("lease_until") < now),
        )

    def owned(self, key: Any, owner: str) -> Any:
        """The row is running and this owner's."""
        return and_(
            self.column(self.key) == key,
            self.column("owner") == owner,
            self.column(self.state) == self.running,
        )

    def take(self, owner: str, lease_seconds: float, now: datetime) -> dict[str, Any]:
        """The values of a row taken (its attempts counted by the caller, see :func:`claim`)."""
        return {
            self.state: self.running,
            "owner": owner,
            "lease_until": now + timedelta(seconds=lease_seconds),
            "retry_at": None,
        }

    def failure(
        self, error: str, *, retry_in: float | None, traceback: str | None, now: datetime
    ) -> dict[str, Any]:
        """The values of a row whose attempt failed: waiting again after ``retry_in`` seconds,
        or (None) failed for good, the reason and the traceback kept either way."""
        values: dict[str, Any] = {
            "owner": None,
            "lease_until": None,
            self.reason: error,
            "traceback": traceback,
        }
        if retry_in is None:
            values.update({self.state: self.failed, "finished_at": now, "retry_at": None})
        else:
            values.update(
                {self.state: self.waiting, "retry_at": now + timedelta(seconds=max(0.0, retry_in))}
            )
        return values

    def interrupted(self, reason: str, now: datetime) -> dict[str, Any]:
        """The values of a row whose lease ran out with its attempts used up: failed."""
        return {
            self.state: self.failed,
            "owner": None,
            "lease_until": None,
            "finished_at": now,
            self.reason: reason,
        }

    def release(self) -> dict[str, Any]:
        """The values of a row given back by its worker: waiting, the attempt not counted."""
        attempts = self.column("attempts")
        return {
            self.state: self.waiting,
            "owner": None,
            "lease_until": None,
            "attempts": case((attempts > 0, attempts - 1), else_=0),
        }

    def update_owned(self, key: Any, owner: str, values: dict[str, Any]) -> Any:
        """``UPDATE`` of the row if it is running and this owner's."""
        return (
            update(self.model)
            .where(self.owned(key, owner))
            .values(**values)
            .execution_options(synchronize_session=False)
        )

    def update_if(self, key: Any, condition: Any, values: dict[str, Any]) -> Any:
        """``UPDATE`` of the row if ``condition`` still holds (the conditional update)."""
        return (
            update(self.model)
            .where(self.column(self.key) == key, condition)
            .values(**values)
            .execution_options(synchronize_session=False)
        )


def claim(
    session: Callable[..., contextlib.AbstractContextManager[Session]],
    table: LeaseTable,
    owner: str,
    lease_seconds: float,
    *,
    taken: Callable[[Session, Any], T | None],
    exhausted: Callable[[Any], str | None],
    on_failed: Callable[[Session, Any, str], None] | None = None,
    where: Callable[[Any], Any] = lambda query: query,
    extra: Callable[[datetime], dict[str, Any]] | None = None,
) -> T | None:
    """Take the oldest row of ``table`` that may run now, for ``owner`` with a lease of
    ``lease_seconds``; its attempts count one more and its ``started_at`` is now. ``where``
    narrows the candidates (a query in, a query out); ``extra(now)`` gives further values to
    set on the row taken. ``taken(session, row)`` makes the answer from the row as it was read
    before the update (None: skip it, another is tried). A running row whose lease ran out is
    first shown to ``exhausted(row)``: a reason means its attempts are used up, and it is
    marked failed with it (``on_failed(session, row, reason)`` then marks what depends on it)
    instead of being taken. None when nothing may run.
    """
    key = table.column(table.key)
    while True:
        now = utcnow()
        takeable = table.takeable(now)
        with session(write=False) as s:
            query = where(select(key).where(takeable))
            candidates = list(s.scalars(query.order_by(key).limit(CANDIDATES)))
        if not candidates:
            return None
        for candidate in candidates:
            with session(write=True) as s:
                row = s.get(table.model, candidate)
                if row is None:
                    continue
                if getattr(row, table.state) == table.running:
                    reason = exhausted(row)
                    if reason is not None:
                        won = changed(
                            s, table.update_if(candidate, takeable, table.interrupted(reason, now))
                        )
                        if won == 1 and on_failed is not None:
                            on_failed(s, row, reason)
                        continue
                values = {
                    **table.take(owner, lease_seconds, now),
                    "attempts": table.column("attempts") + 1,
                    "started_at": now,
                    **(extra(now) if extra is not None else {}),
                }
                if changed(s, table.update_if(candidate, takeable, values)) != 1:
                    continue  # another worker was faster
                answer = taken(s, row)
                if answer is not None:
                    return answer
