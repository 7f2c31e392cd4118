"""One unit of work: everything a facade action writes to the records database, one transaction.

``with unit_of_work():`` (opened by :meth:`services.facade.base.Acting.run` around a change)
makes every session the record store (and the access store, which shares its database) opens
in this context join one write transaction: the record change, the manifest version's row, its
evidence-ledger leaf and the access-log entry commit together or not at all. Inside the unit a
store's write session is a SAVEPOINT of that transaction (so code that catches an
``IntegrityError`` and retries keeps working), a read session is the transaction itself (so it
sees what the unit wrote; on SQLite a second connection would not, and would wait behind the
unit's ``BEGIN IMMEDIATE`` to write).

What is not in the database (objects, the search index) cannot join the transaction. Code that
writes such a thing inside a unit registers how to take it back (:meth:`Unit.on_rollback`) or
what to do once the unit committed (:meth:`Unit.after_commit`); outside a unit,
:func:`on_rollback` does nothing and :func:`after_commit` runs the callback at once.

A unit opened inside a unit joins the outer one. The unit is carried by a context variable:
a thread started inside a unit does not inherit it (nothing in a change does that).
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from typing import Any, Protocol

log = logging.getLogger(__name__)


class _Transaction(Protocol):
    def commit(self) -> None: ...
    def rollback(self) -> None: ...
    def close(self) -> None: ...


class Unit:
    """The transaction(s) of one unit of work and what to do when it ends."""

    def __init__(self) -> None:
        self._sessions: dict[int, tuple[object, _Transaction]] = {}
        self._before: list[Callable[[], object]] = []
        self._rollback: list[Callable[[], None]] = []
        self._after: list[Callable[[], None]] = []
        self._end: list[Callable[[], None]] = []
        self.finished = False

    def session(self, owner: object, open_session: Callable[[], _Transaction]) -> Any:
        """The one session of ``owner`` (a store's engine) in this unit, opened (and its
        transaction begun) on first use."""
        found = self._sessions.get(id(owner))
        if found is None:
            if self.finished:
                raise RuntimeError("the unit of work has ended")
            found = (owner, open_session())
            self._sessions[id(owner)] = found
        return found[1]

    def before_commit(self, callback: Callable[[], object]) -> None:
        """Run ``callback`` at the end of the unit, still inside its transaction (an access-log
        entry: the log's head row is then locked only for the last moments of the unit)."""
        self._before.append(callback)

    def _run_before(self) -> None:
        while self._before:
            self._before.pop(0)()

    def on_rollback(self, callback: Callable[[], None]) -> None:
        """Run ``callback`` if the unit rolls back (take back an object written for it)."""
        self._rollback.append(callback)

    def after_commit(self, callback: Callable[[], None]) -> None:
        """Run ``callback`` once the unit committed."""
        self._after.append(callback)

    def after_end(self, callback: Callable[[], None]) -> None:
        """Run ``callback`` once the unit ended, committed or rolled back, outside its
        transaction (a refusal's access-log entry: it stands whatever becomes of the change)."""
        self._end.append(callback)

    def _run_end(self) -> None:
        for callback in self._end:
            try:
                callback()
            except Exception:  # the unit's outcome stands
                log.exception("a step after the unit of work ended failed")

    def _commit(self) -> None:
        self.finished = True
        try:
            for _, session in self._sessions.values():
                session.commit()
        except BaseException:
            self._rollback_all()
            raise
        self._close()
        for callback in self._after:
            try:
                callback()
            except Exception:
                log.exception("a step after the unit of work committed failed")
        self._run_end()

    def _rollback_all(self) -> None:
        self.finished = True
        for _, session in self._sessions.values():
            with contextlib.suppress(Exception):
                session.rollback()
        self._close()
        for callback in reversed(self._rollback):
            try:
                callback()
            except Exception:
                log.exception("taking back a step of a unit of work that rolled back failed")
        self._run_end()

    def _close(self) -> None:
        for _, session in self._sessions.values():
            with contextlib.suppress(Exception):
                session.close()
        self._sessions.clear()


_CURRENT: ContextVar[Unit | None] = ContextVar("unit_of_work", default=None)


def current() -> Unit | None:
    """The unit of work this code runs in, if any."""
    unit = _CURRENT.get()
    return unit if unit is not None and not unit.finished else None


@contextlib.contextmanager
def unit_of_work() -> Iterator[Unit]:
    """One transaction for everything written in the block (see the module's text); a unit
    opened inside another joins it."""
    outer = current()
    if outer is not None:
        yield outer
        return
    unit = Unit()
    token = _CURRENT.set(unit)
    try:
        yield unit
        unit._run_before()
    except BaseException:
        _CURRENT.reset(token)
        unit._rollback_all()
        raise
    _CURRENT.reset(token)
    unit._commit()


def before_commit(callback: Callable[[], object]) -> None:
    """Inside a unit: run ``callback`` at its end, in its transaction. Outside: run it now."""
    unit = current()
    if unit is not None:
        unit.before_commit(callback)
    else:
        callback()


def after_end(callback: Callable[[], None]) -> bool:
    """Inside a unit: run ``callback`` once it ended (committed or not) and say True. Outside:
    False, and nothing is run (the caller does it now)."""
    unit = current()
    if unit is None:
        return False
    unit.after_end(callback)
    return True


def on_rollback(callback: Callable[[], None]) -> None:
    """Inside a unit: run ``callback`` if it rolls back. Outside: nothing to take back later."""
    unit = current()
    if unit is not None:
        unit.on_rollback(callback)


def after_commit(callback: Callable[[], None]) -> None:
    """Inside a unit: run ``callback`` once it committed. Outside: run it now."""
    unit = current()
    if unit is not None:
        unit.after_commit(callback)
    else:
        callback()
