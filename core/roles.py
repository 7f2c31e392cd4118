"""Roles, permissions and the caller.

Four roles, as the archive's users divide the work:

* **archivist**: ingest, classify, edit metadata (and see the records they file);
* **legal**: search, read, download;
* **auditor**: verify, read and export the access log, see every record's metadata and search
  it (titles, customers, fields: not the text, see ``services.search``); contract content
  only if also legal;
* **admin**: users, settings, the classification scheme, and everything the others may do.

Every API route declares exactly one :class:`Perm` (``search_api.auth.Require``); the role ×
route matrix test is generated from the route table, so a route without one fails it. The CLI
goes through the same checks (:class:`services.access.service.AccessControl`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class Role(StrEnum):
    ARCHIVIST = "archivist"
    LEGAL = "legal"
    AUDITOR = "auditor"
    ADMIN = "admin"


class Perm(StrEnum):
    PUBLIC = "public"
    """No credentials needed (log in, health, the log's public key)."""
    SELF = "self"
    """Any signed-in user, about themselves: who am I, my password, my tokens, log out."""
    CONTRACTS_VIEW = "contracts:view"
    """List contracts and see their records (metadata, not content)."""
    CONTRACTS_READ = "contracts:read"
    """Read a contract's content: its extracted text."""
    CONTRACTS_DOWNLOAD = "contracts:download"
    SEARCH = "search"
    """Search: the text and snippets for callers who may read content (contracts:read); the
    records' metadata (title, customer, fields), without snippets, for the others."""
    CONTRACTS_INGEST = "contracts:ingest"
    CONTRACTS_EDIT = "contracts:edit"
    CONTRACTS_CLASSIFY = "contracts:classify"
    CONTRACTS_VERIFY = "contracts:verify"
    AUDIT_READ = "audit:read"
    AUDIT_EXPORT = "audit:export"
    AUDIT_VERIFY = "audit:verify"
    USERS_MANAGE = "users:manage"
    SETTINGS_MANAGE = "settings:manage"
    """Archive settings, restricted classes, the classification scheme, reindexing."""


_ARCHIVIST = frozenset(
    {Perm.CONTRACTS_VIEW, Perm.CONTRACTS_INGEST, Perm.CONTRACTS_EDIT, Perm.CONTRACTS_CLASSIFY}
)
_LEGAL = frozenset({Perm.CONTRACTS_VIEW, Perm.CONTRACTS_READ, Perm.CONTRACTS_DOWNLOAD, Perm.SEARCH})
_AUDITOR = frozenset(
    {
        Perm.CONTRACTS_VIEW,
        Perm.SEARCH,
        Perm.CONTRACTS_VERIFY,
        Perm.AUDIT_READ,
        Perm.AUDIT_EXPORT,
        Perm.AUDIT_VERIFY,
    }
)

ROLE_PERMISSIONS: dict[Role, frozenset[Perm]] = {
    Role.ARCHIVIST: _ARCHIVIST,
    Role.LEGAL: _LEGAL,
    Role.AUDITOR: _AUDITOR,
    Role.ADMIN: frozenset(Perm),
}
EVERYONE = frozenset({Perm.PUBLIC})
SIGNED_IN = frozenset({Perm.PUBLIC, Perm.SELF})


def permissions(roles: frozenset[Role] | set[Role]) -> frozenset[Perm]:
    granted: set[Perm] = set(SIGNED_IN)
    for role in roles:
        granted |= ROLE_PERMISSIONS[role]
    return frozenset(granted)


def parse_roles(values: list[str] | tuple[str, ...]) -> frozenset[Role]:
    """Roles from names; a ValueError names the unknown one."""
    out = set()
    for value in values:
        try:
            out.add(Role(value.strip().lower()))
        except ValueError:
            known = ", ".join(r.value for r in Role)
            raise ValueError(f"unknown role {value!r} (known: {known})") from None
    return frozenset(out)


@dataclass(frozen=True)
class GrantPass:
    """A live borrowing grant (借阅) the caller holds: exactly this contract, view (metadata,
    text, pages) or view and download, until ``expires_at``. Bound to the caller by the facade
    (``services.facade.base.Acting.caller``), which looks the live grants up once per
    request."""

    grant_id: int
    contract_id: int
    download: bool
    purpose: str
    expires_at: str

    @property
    def log_purpose(self) -> str:
        """The purpose a read under this grant is logged with when none is given."""
        return f"借阅 #{self.grant_id}: {self.purpose}"[:500]


@dataclass(frozen=True)
class Caller:
    """Who is asking, through what, from where. Every access is logged with these fields."""

    user_id: int
    username: str
    roles: frozenset[Role]
    groups: frozenset[str]
    via: str
    """``token``, ``session`` or ``cli``."""
    credential: str | None = None
    """The token's public prefix or the session's short id: which credential was used."""
    ip: str | None = None
    user_agent: str | None = None
    must_change_password: bool = False
    perms: frozenset[Perm] = field(default=frozenset(), compare=False)
    grants: frozenset[GrantPass] = field(default=frozenset(), compare=False)
    """Live borrowing grants (empty unless the facade bound them)."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "perms", permissions(self.roles))

    def can(self, perm: Perm) -> bool:
        return perm in self.perms

    def grant_for(self, contract_id: int, *, download: bool = False) -> GrantPass | None:
        """The live grant that lets this caller see (``download``: and download) the
        contract, if any."""
        for grant in self.grants:
            if grant.contract_id == contract_id and (grant.download or not download):
                return grant
        return None


@dataclass(frozen=True)
class Client:
    """Where an unauthenticated request (a login) comes from."""

    ip: str | None = None
    user_agent: str | None = None
