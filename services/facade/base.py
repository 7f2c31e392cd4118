"""The caller-bound core of every front end: :class:`Acting` (who acts, and what they may see)
and :func:`action` (what an area method needs and how it is logged).

Every API route, web page and CLI command acts through a :class:`services.facade.Facade` bound
to one caller. Each area method is declared with :func:`action`, so the rules live here, once:

* **the permission**: checked before the method runs; a refusal is logged (``denied``);
* **visibility**: a method with a contract parameter (``contract="contract_id"``) answers 404
  for a contract the caller may not see (a restricted class they are not cleared for), exactly
  as for a missing one, and the attempt is logged;
* **the access log**, declared per action (not per module): ``logged="change"`` writes one
  entry in the change's own unit of work (``ok``: an action whose entry cannot be written does
  not happen), or ``failed`` with the reason, in a transaction of its own, when the change was
  not saved; ``logged="read"`` writes one entry once
  the read succeeded; ``logged="self"`` means the method writes its own entries because they
  carry what only it knows (search hits, download hashes), through the same :class:`Acting`;
  ``logged="no"`` is for what reveals no archive data (who am I, the scheme's code list).

Reads apply the caller's hidden classes through :attr:`Acting.hidden`: lists, counts, totals,
facets, related contracts, customers, duplicates, calendars and reminders all take it.
"""

from __future__ import annotations

import contextlib
import functools
import inspect
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from functools import cached_property
from typing import TYPE_CHECKING, Any, Literal, ParamSpec, TypeVar

from core import clock
from core.access_errors import AuditLogUnavailable, Forbidden
from core.changes import CURRENT_CHANGE
from core.errors import ArchiveError, NotFound
from core.roles import Caller, GrantPass, Perm, Role, permissions
from storage.records.listing_base import ContractFilter
from storage.records.unit import unit_of_work

if TYPE_CHECKING:
    from services.access.service import AccessControl
    from services.archive import Archive
    from storage.records.base import ContractRecord

LogMode = Literal["change", "read", "self", "no"]
GRANT_PERMS = frozenset({Perm.CONTRACTS_VIEW, Perm.CONTRACTS_READ, Perm.CONTRACTS_DOWNLOAD})
"""What a borrowing grant may be used for (a change under a grant is refused as hidden)."""
P = ParamSpec("P")
R = TypeVar("R")


@dataclass(frozen=True)
class ActionSpec:
    name: str
    """The access log's action name, e.g. ``contract.terms.update``."""
    perm: Perm
    logged: LogMode
    contract: str | None
    """The name of the parameter that holds the contract id the action is about, if any."""
    unit: bool = True
    """Whether a change is one unit of work (one transaction). False for maintenance that runs
    long, over many contracts, and keeps its own progress or sends mail (reindex, migrate,
    the fixity audit, sealing what waits, recover, imports, reminder runs, checkpoints): its
    steps commit one by one, and it is logged ``ok`` or ``failed`` once it ended."""


class Acting:
    """One caller acting on one archive. Made per request (API, web) or per command (CLI)."""

    def __init__(self, access: AccessControl, caller: Caller) -> None:
        self.access = access
        self.signed_in = caller
        """The caller as authenticated, before their live borrowing grants are bound."""
        self._details: dict[str, Any] = {}

    def now(self) -> datetime:
        """The archive's clock (``ARCHIVE_FROZEN_NOW`` stops it, for tests)."""
        return clock.now(self.archive.settings)

    @cached_property
    def caller(self) -> Caller:
        """The caller with their live borrowing grants (借阅) bound: the one place grants are
        looked up. A grant lifts the hiding of its class for exactly its contract (view, or
        view and download) until it expires or is returned; every check below the facade
        (:meth:`services.access.service.AccessControl.may_see`, its NotFound for a hidden
        contract, the log entry naming the grant) asks :meth:`core.roles.Caller.grant_for`."""
        caller = self.signed_in
        if caller.user_id == 0 or not self.hidden:  # the operator reads no records
            return caller
        live = self.archive.records.live_grants(caller.username, self.now())
        passes = frozenset(
            GrantPass(
                grant_id=g.id,
                contract_id=g.contract_id,
                download=g.download,
                purpose=g.purpose,
                expires_at=g.expires_at.isoformat() if g.expires_at else "",
            )
            for g in live
            if self.may_grant(g.decided_by, g.contract_id)
        )
        return replace(caller, grants=passes) if passes else caller

    def may_grant(self, username: str | None, contract_id: int) -> bool:
        """Whether ``username`` may (still) lend the contract: it exists, its class is
        restricted and hidden from this caller, and the user is enabled, has
        ``contracts:edit`` and is cleared for the class. A grant whose approver lost that
        right meanwhile is no longer in force."""
        try:
            classification = self.archive.get(contract_id).classification or ""
        except NotFound:
            return False
        groups = self.access.store.restrictions().get(classification, frozenset())
        if username is None or not groups or classification not in self.hidden:
            return False
        user = self.access.store.get_user(username)
        if user is None or user.disabled or not groups & set(user.groups):
            return False
        roles = frozenset(Role(r) for r in user.roles if r in Role.__members__.values())
        return Perm.CONTRACTS_EDIT in permissions(roles)

    @property
    def archive(self) -> Archive:
        return self.access.archive

    @property
    def actor(self) -> str:
        """The name a change's history records: the acting user (ARCHIVE_USER on the CLI)."""
        return self.caller.username

    # -- what the caller may do and see --------------------------------------------------------
    def require(
        self, perm: Perm, *, action: str | None = None, contract_id: int | None = None
    ) -> None:
        self.access.require(self.caller, perm, action=action, contract_id=contract_id)

    def can(self, perm: Perm) -> bool:
        return self.caller.can(perm)

    @cached_property
    def hidden(self) -> tuple[str, ...]:
        """The restricted classifications this caller is not cleared for, sorted."""
        return tuple(sorted(self.access.hidden_classes(self.signed_in)))

    @cached_property
    def hidden_ids(self) -> frozenset[int]:
        """The contracts of :attr:`hidden` classes (borrowed ones included: a grant lifts the
        hiding of one contract, not of the class's counts). Counts and summaries given to this
        caller (health, seal status, `verify --all`, reindex, recover) leave them out."""
        if not self.hidden:
            return frozenset()
        _, rows = self.archive.records.query_contracts(
            ContractFilter(classifications=self.hidden), limit=2**31 - 1
        )
        return frozenset(r.id for r in rows)

    def may_see_class(self, classification: str | None) -> bool:
        """Whether the whole class is visible (lists, counts, totals, search). A borrowed
        contract of a hidden class is not listed; it is reached by its id
        (:meth:`may_see`, :meth:`visible`)."""
        return (classification or "") not in self.hidden

    def may_see(self, record: ContractRecord) -> bool:
        return self.may_see_class(record.classification) or (
            self.caller.grant_for(record.id) is not None
        )

    def may_see_id(self, contract_id: int) -> bool:
        """Quietly (nothing logged): whether a contract exists and the caller may see it. For
        links to other contracts (a master, an amendment, a duplicate)."""
        try:
            record = self.archive.get(contract_id)
        except NotFound:
            return False
        return self.may_see(record)

    def visible_ids(self, ids: Iterable[int]) -> list[int]:
        return [i for i in ids if self.may_see_id(i)]

    def visible(self, contract_id: int, action: str) -> ContractRecord:
        """The contract's record, or NotFound (logged) if it is missing or hidden."""
        return self.access.check_visible(self.caller, contract_id, action)

    # -- the access log --------------------------------------------------------------------------
    def note(self, **details: Any) -> None:
        """Details for the running action's log entry (ids returned, counts, a file's hash)."""
        self._details.update(details)

    def log(
        self,
        action: str,
        *,
        outcome: str = "ok",
        contract_id: int | None = None,
        purpose: str | None = None,
        details: Mapping[str, Any] | None = None,
    ) -> None:
        self.access.record(
            self.caller,
            action,
            outcome=outcome,
            contract_id=contract_id,
            purpose=purpose,
            details=details,
        )

    def run(
        self,
        spec: ActionSpec,
        contract_id: int | None,
        details: dict[str, Any],
        call: Callable[[], R],
    ) -> R:
        self.require(spec.perm, action=spec.name, contract_id=contract_id)
        if contract_id is not None:
            if spec.logged != "change" and spec.perm in GRANT_PERMS:
                self.visible(contract_id, spec.name)
            else:
                # A borrowing grant lends a contract to read, never to change.
                self.access.check_visible(self.signed_in, contract_id, spec.name)
        self._details = {}
        purpose = details.pop("purpose", None)
        token = CURRENT_CHANGE.set(
            {
                "by": self.actor,
                "action": spec.name,
                "reason": str(details.get("reason") or purpose or "")[:500] or None,
            }
        )
        try:
            return self._run(spec, contract_id, details, purpose, call)
        finally:
            CURRENT_CHANGE.reset(token)

    def _run(
        self,
        spec: ActionSpec,
        contract_id: int | None,
        details: dict[str, Any],
        purpose: Any,
        call: Callable[[], R],
    ) -> R:
        if spec.logged == "change" or spec.perm is Perm.CONTRACTS_EDIT:
            return self._change(spec, contract_id, details, purpose, call)
        result = call()
        if spec.logged == "read":
            self.log(
                spec.name,
                contract_id=contract_id,
                purpose=purpose,
                details={**details, **self._details},
            )
        return result

    def _change(
        self,
        spec: ActionSpec,
        contract_id: int | None,
        details: dict[str, Any],
        purpose: Any,
        call: Callable[[], R],
    ) -> R:
        """A change is one unit of work (:mod:`storage.records.unit`): the records it changes,
        its next manifest version (the sealed manifest written to the object store before the
        commit, its row and evidence-ledger leaf) and its access-log entry commit in one
        database transaction, or none of them does. If anything fails (the change itself,
        issuing the version, writing the log entry), the transaction rolls back, objects
        written for it are deleted, and the attempt is logged ``failed`` with the reason in a
        transaction of its own."""
        try:
            with unit_of_work() if spec.unit else contextlib.nullcontext():
                before = self._latest_version(contract_id)
                result = call()
                self._next_manifest(spec, contract_id, details.get("reason") or purpose, before)
                if spec.logged == "change":
                    self.log(
                        spec.name,
                        contract_id=contract_id,
                        purpose=purpose,
                        details={**details, **self._details},
                    )
        except ArchiveError as exc:
            refused = spec.logged == "self" and isinstance(exc, Forbidden | NotFound)
            if not isinstance(exc, AuditLogUnavailable) and not refused:
                # (The log could not take the entry of the change: it takes no other either.
                # A refusal inside an action that logs itself was logged as such.)
                with contextlib.suppress(ArchiveError):
                    self.log(
                        spec.name,
                        outcome="failed",
                        contract_id=contract_id,
                        purpose=purpose,
                        details={**details, "error": exc.message[:500], "code": exc.code},
                    )
            raise
        return result

    def _latest_version(self, contract_id: int | None) -> int | None:
        if contract_id is None:
            return None
        row = self.archive.seal.seals.latest_manifest(contract_id)
        return row.version if row is not None else None

    def _next_manifest(
        self,
        spec: ActionSpec,
        contract_id: int | None,
        reason: Any | None,
        before: int | None = None,
    ) -> None:
        """After a change about one contract, in its unit of work: issue its next manifest
        version (sealed, chained to the one before, naming who, through which action, and
        what changed) when the change touched what the manifest covers; nothing when it did
        not. Here, once, for every front end. A version that cannot be issued fails the change
        (:class:`VersionNotIssued`)."""
        latest = self.archive.seal.seals.latest_manifest(contract_id) if contract_id else None
        if contract_id is None or latest is None:
            return  # not about one contract, or one not sealed yet (`seal --pending` issues it)
        try:
            record = self.archive.get(contract_id)
        except NotFound:
            return  # the change removed it (an undone import)
        issued = self.archive.next_manifest(
            record,
            change={
                "by": self.actor,
                "action": spec.name,
                "reason": str(reason)[:500] if reason else None,
            },
        )
        if issued is not None:
            self.note(manifest_version=issued.version, seal_state=issued.state)
        elif before is not None and latest.version > before:
            # The service issued it in the same unit (a terms change re-seals as it refreshes).
            self.note(manifest_version=latest.version, seal_state=latest.state)


_SECRET_WORDS = ("password", "passphrase", "secret", "token", "key", "source", "stream", "data")


def _loggable(arguments: Mapping[str, Any]) -> dict[str, Any]:
    """An action's arguments as its log entry keeps them: never a secret or a body of bytes."""
    out: dict[str, Any] = {}
    for name, value in arguments.items():
        if name == "self" or any(word in name.lower() for word in _SECRET_WORDS):
            continue
        if value is None:
            continue
        if hasattr(value, "model_dump"):
            value = value.model_dump(mode="json", exclude_unset=True)
        elif isinstance(value, list | tuple | set | frozenset):
            value = [str(v)[:500] for v in list(value)[:50]]
        elif isinstance(value, Mapping):
            value = {str(k)[:100]: str(v)[:500] for k, v in list(value.items())[:50]}
        elif not isinstance(value, bool | int | float):
            value = str(value)[:500]
        out[name] = value
    return out


class Area:
    """One area of the facade (contracts, customers, terms, ...), bound to one caller."""

    def __init__(self, acting: Acting) -> None:
        self.acting = acting

    @property
    def archive(self) -> Archive:
        return self.acting.archive


def action(
    name: str,
    perm: Perm,
    *,
    logged: LogMode,
    contract: str | None = None,
    unit: bool = True,
) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Declare an area method as an action (see the module's text); ``unit=False`` for a
    long-running maintenance change (:attr:`ActionSpec.unit`)."""
    spec = ActionSpec(name, perm, logged, contract, unit)

    def decorate(fn: Callable[P, R]) -> Callable[P, R]:
        signature = inspect.signature(fn)
        if contract is not None and contract not in signature.parameters:
            raise TypeError(f"{fn.__qualname__} has no parameter {contract!r}")

        @functools.wraps(fn)
        def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
            area = args[0]
            assert isinstance(area, Area), "an action is a method of an Area"
            bound = signature.bind(*args, **kwargs)
            bound.apply_defaults()
            contract_id = bound.arguments.get(contract) if contract else None
            details = _loggable(bound.arguments)
            if contract:
                details.pop(contract, None)
            return area.acting.run(spec, contract_id, details, lambda: fn(*args, **kwargs))

        wrapper.action = spec  # type: ignore[attr-defined]
        return wrapper

    return decorate


def actions_of(cls: type) -> dict[str, ActionSpec]:
    """The declared actions of an area class, by method name (for tests and docs)."""
    found: dict[str, ActionSpec] = {}
    for attr, value in inspect.getmembers(cls, inspect.isfunction):
        spec = getattr(value, "action", None)
        if isinstance(spec, ActionSpec):
            found[attr] = spec
    return found
