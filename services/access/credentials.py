"""Passwords (argon2id) and API tokens (random, shown once, stored as a SHA-256).

API tokens carry 256 random bits, so a fast hash is enough at rest (a slow one would only slow
every request down); passwords are chosen by people and get argon2id with argon2-cffi's
defaults (RFC 9106's second recommended profile: 64 MiB, 3 passes, 4 lanes).

Tokens look like ``cat_<8 hex>_<43 base64url>``: the prefix lets secret scanners and the log
redaction filter recognise them, the 8 hex digits are the token's public id shown in listings.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import re
import secrets
import string
from typing import TYPE_CHECKING

from core.errors import InvalidRequest

if TYPE_CHECKING:
    from argon2 import PasswordHasher

TOKEN_PREFIX = "cat_"  # noqa: S105 - a prefix, not a secret
TOKEN_RE = re.compile(r"cat_[0-9a-f]{8}_[A-Za-z0-9_-]{43}")
SESSION_BYTES = 32
MIN_PASSWORD_CHARS = 12
MAX_PASSWORD_CHARS = 1024


DEFAULT_HASH_MEMORY_MIB = 64
DEFAULT_HASH_TIME_COST = 3
"""argon2id's cost as argon2-cffi chooses it (RFC 9106's second recommendation: 64 MiB, 3
passes, 4 lanes); ``ARCHIVE_PASSWORD_HASH_MEMORY_MIB`` and ``ARCHIVE_PASSWORD_HASH_TIME_COST``
change it (never below OWASP's minimum of 19 MiB and 2 passes: the settings refuse less)."""


@functools.cache
def _argon2(memory_mib: int, time_cost: int) -> tuple[PasswordHasher, str]:
    """The password hasher for one cost and a real hash to verify against when the user does
    not exist, so that a login for an unknown name takes as long as one with a wrong password
    (no user enumeration by timing). Made on first use: argon2 and a 64 MiB hash are not
    start-up costs of every command."""
    from argon2 import PasswordHasher

    hasher = PasswordHasher(time_cost=time_cost, memory_cost=memory_mib * 1024)
    return hasher, hasher.hash(secrets.token_urlsafe(16))


def new_token() -> tuple[str, str, str]:
    """A fresh API token: (the token, its public prefix, its SHA-256 for storage)."""
    public = secrets.token_hex(4)
    token = f"{TOKEN_PREFIX}{public}_{secrets.token_urlsafe(32)}"
    return token, f"{TOKEN_PREFIX}{public}", token_digest(token)


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def looks_like_token(value: str) -> bool:
    return TOKEN_RE.fullmatch(value) is not None


def new_session_token() -> tuple[str, str]:
    """A browser session's cookie value and the digest stored for it."""
    token = secrets.token_urlsafe(SESSION_BYTES)
    return token, token_digest(token)


def csrf_token(session_token: str) -> str:
    """The CSRF token bound to a session, derived from it (nothing more to store)."""
    return hmac.new(session_token.encode(), b"contract-archive csrf v1", hashlib.sha256).hexdigest()


def same_secret(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())


def new_password(length: int = 20) -> str:
    """A random one-time password: letters and digits without look-alikes (0/O, 1/l/I)."""
    alphabet = "".join(c for c in string.ascii_letters + string.digits if c not in "0O1lI")
    return "".join(secrets.choice(alphabet) for _ in range(length))


def check_password_policy(password: str, username: str) -> None:
    if len(password) < MIN_PASSWORD_CHARS:
        raise InvalidRequest(
            f"the password is too short: at least {MIN_PASSWORD_CHARS} characters",
            hint="a passphrase of several words is easy to remember and hard to guess",
        )
    if len(password) > MAX_PASSWORD_CHARS:
        raise InvalidRequest(f"the password is longer than {MAX_PASSWORD_CHARS} characters")
    if password.strip().lower() == username.strip().lower():
        raise InvalidRequest("the password must not be the user name")


def hash_password(
    password: str,
    *,
    memory_mib: int = DEFAULT_HASH_MEMORY_MIB,
    time_cost: int = DEFAULT_HASH_TIME_COST,
) -> str:
    hasher, _dummy = _argon2(memory_mib, time_cost)
    return hasher.hash(password)


def verify_password(
    stored: str | None,
    password: str,
    *,
    memory_mib: int = DEFAULT_HASH_MEMORY_MIB,
    time_cost: int = DEFAULT_HASH_TIME_COST,
) -> bool:
    """True when ``password`` matches ``stored`` (checked with the cost written in ``stored``);
    always spends the time of one verification (an unknown user: a dummy hash of the
    configured cost)."""
    from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

    hasher, dummy = _argon2(memory_mib, time_cost)
    try:
        return hasher.verify(stored or dummy, password) and stored is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(
    stored: str,
    *,
    memory_mib: int = DEFAULT_HASH_MEMORY_MIB,
    time_cost: int = DEFAULT_HASH_TIME_COST,
) -> bool:
    """True when ``stored`` was made with another cost than the configured one (it is made
    again at the next successful log-in)."""
    from argon2.exceptions import InvalidHashError

    hasher, _dummy = _argon2(memory_mib, time_cost)
    try:
        return hasher.check_needs_rehash(stored)
    except InvalidHashError:
        return False
