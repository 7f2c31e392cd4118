"""Log-in attempts counted before the password is checked, and a bound on password checks.

A failed log-in is written to the database only after argon2 has run, so counting failures
alone lets parallel attempts through: 30 concurrent wrong passwords all reached argon2 (issue
20). Here an attempt counts from the moment it starts: under one lock the failures already
stored *plus the attempts in flight* for the user name and for the address are compared with
the limits, and the attempt is added to the in-flight count before the lock is let go. It leaves
the count only after its failure (if it failed) is stored.

Each argon2 check allocates its memory cost (64 MiB), so at most ARCHIVE_LOGIN_MAX_CONCURRENT
run at once in a process; an attempt that cannot start one within a second is refused with 429
and ``Retry-After``.

Both are per server process: with ARCHIVE_WORKERS > 1 each worker admits its own in-flight
attempts (the stored failures are shared); docs/security.md says so.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from core.access_errors import TooManyAttempts

VERIFY_WAIT_SECONDS = 1.0

_semaphores: dict[int, threading.BoundedSemaphore] = {}
_semaphores_lock = threading.Lock()


def verifications(limit: int) -> threading.BoundedSemaphore:
    """The process's bound on concurrent password checks (one per limit value)."""
    with _semaphores_lock:
        if limit not in _semaphores:
            _semaphores[limit] = threading.BoundedSemaphore(limit)
        return _semaphores[limit]


@contextmanager
def bounded_verification(limit: int) -> Iterator[None]:
    """Room for one password check, or TooManyAttempts (429) after a short wait."""
    semaphore = verifications(limit)
    if not semaphore.acquire(timeout=VERIFY_WAIT_SECONDS):
        raise TooManyAttempts(
            "too many log-ins are being checked at once; try again in a moment",
            retry_after=1,
        )
    try:
        yield
    finally:
        semaphore.release()


class AttemptCounter:
    """Log-in attempts in flight, by user name and by address."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pending: Counter[tuple[str, str]] = Counter()

    @contextmanager
    def attempt(
        self,
        username: str,
        ip: str | None,
        *,
        locked: Callable[[int, int], None],
    ) -> Iterator[None]:
        """Admit one attempt unless ``locked(pending_for_user, pending_for_ip)`` says the
        stored failures plus the attempts in flight reach a limit (then TooManyAttempts is for
        the caller to raise: ``locked`` raises it)."""
        keys = [("user", username)] + ([("ip", ip)] if ip is not None else [])
        with self._lock:
            locked(self._pending[keys[0]], self._pending[keys[1]] if ip is not None else 0)
            for key in keys:
                self._pending[key] += 1
        try:
            yield
        finally:
            with self._lock:
                for key in keys:
                    self._pending[key] -= 1
                    if self._pending[key] <= 0:
                        del self._pending[key]
