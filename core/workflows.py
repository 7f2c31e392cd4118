"""The rules of the two workflows, as plain data and pure functions: approval before signing
(审批) and borrowing from the archive (借阅).

**Approval rules.** A rule set is a list of rules; each rule has conditions (``when``) and an
ordered chain of steps. A contract submitted for approval gets the steps of every rule whose
conditions all hold, in rule order (an identical step twice is kept once). Conditions:

* ``classification``: one of these codes;
* ``amount_over``: the confirmed amount is greater than this (in ``currency`` if given);
* ``customer_flag``: the customer carries one of these risk flags;
* ``department``: the contract's department is one of these.

A step names users, roles and/or groups, and a ``mode``: ``any`` (one approval among them
finishes the step) or ``all`` (every one of them, as resolved when the chain starts). Rule sets
are versioned like the classification scheme: a change is a new version, a running chain keeps
the version it started with.

**Borrowing.** A request names one contract of a restricted class, a purpose, a number of days
(1 to ARCHIVE_BORROW_MAX_DAYS) and view or view+download. A grant gives exactly that, until it
expires or is returned.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from core.errors import InvalidRequest, Unprocessable
from core.roles import Role

MODES = ("any", "all")
CONDITIONS = ("classification", "amount_over", "currency", "customer_flag", "department")
MAX_RULES = 200
MAX_STEPS = 20
_FLAG = re.compile(r"^[\w.-]{1,50}$")

ROUND_STATES = ("open", "approved", "rejected")
BORROW_STATES = ("requested", "granted", "refused", "returned", "cancelled")


@dataclass(frozen=True)
class Step:
    users: tuple[str, ...] = ()
    roles: tuple[str, ...] = ()
    groups: tuple[str, ...] = ()
    mode: str = "any"

    def to_dict(self) -> dict[str, Any]:
        return {
            "users": list(self.users),
            "roles": list(self.roles),
            "groups": list(self.groups),
            "mode": self.mode,
        }

    def describe(self) -> str:
        who = [*self.users, *(f"role:{r}" for r in self.roles)]
        who += [f"group:{g}" for g in self.groups]
        return f"{self.mode} of {', '.join(who)}"

    def qualifies(self, username: str, roles: Iterable[str], groups: Iterable[str]) -> bool:
        """Whether a user (as they are now) is one of this step's approvers."""
        return (
            username in self.users
            or bool(set(self.roles) & set(roles))
            or bool(set(self.groups) & set(groups))
        )


@dataclass(frozen=True)
class Rule:
    name: str
    steps: tuple[Step, ...]
    classification: tuple[str, ...] = ()
    amount_over: Decimal | None = None
    currency: str | None = None
    customer_flag: tuple[str, ...] = ()
    department: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        when: dict[str, Any] = {}
        if self.classification:
            when["classification"] = list(self.classification)
        if self.amount_over is not None:
            when["amount_over"] = str(self.amount_over)
        if self.currency:
            when["currency"] = self.currency
        if self.customer_flag:
            when["customer_flag"] = list(self.customer_flag)
        if self.department:
            when["department"] = list(self.department)
        return {"name": self.name, "when": when, "steps": [s.to_dict() for s in self.steps]}


@dataclass(frozen=True)
class Facts:
    """What the rules look at, about one contract."""

    classification: str | None = None
    amount: Decimal | None = None
    currency: str | None = None
    customer_flags: frozenset[str] = field(default_factory=frozenset)
    department: str | None = None


def _texts(value: Any, what: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise InvalidRequest(f"{what} must be a list of non-empty texts")
    return tuple(dict.fromkeys(v.strip() for v in value))


def parse_step(raw: Any, where: str) -> Step:
    if not isinstance(raw, Mapping):
        raise InvalidRequest(f"{where}: a step is an object with users, roles, groups and mode")
    unknown = set(raw) - {"users", "roles", "groups", "mode"}
    if unknown:
        raise InvalidRequest(f"{where}: unknown key(s) {', '.join(sorted(unknown))}")
    mode = raw.get("mode", "any")
    if mode not in MODES:
        raise InvalidRequest(f"{where}: mode must be one of {', '.join(MODES)}, not {mode!r}")
    roles = _texts(raw.get("roles"), f"{where}: roles")
    for role in roles:
        if role not in {r.value for r in Role}:
            raise InvalidRequest(
                f"{where}: unknown role {role!r}",
                hint="one of: " + ", ".join(r.value for r in Role),
            )
    step = Step(
        users=_texts(raw.get("users"), f"{where}: users"),
        roles=roles,
        groups=_texts(raw.get("groups"), f"{where}: groups"),
        mode=mode,
    )
    if not (step.users or step.roles or step.groups):
        raise Unprocessable(
            f"{where}: a step selects no one", hint="name at least one user, role or group"
        )
    return step


def parse_rules(raw: Any) -> tuple[Rule, ...]:
    """A rule set from its JSON form (``{"rules": [...]}`` or the list), or InvalidRequest /
    Unprocessable naming the rule and the fault."""
    if isinstance(raw, Mapping):
        raw = raw.get("rules")
    if not isinstance(raw, list):
        raise InvalidRequest('approval rules are {"rules": [ ... ]}')
    if len(raw) > MAX_RULES:
        raise InvalidRequest(f"at most {MAX_RULES} approval rules")
    rules: list[Rule] = []
    names: set[str] = set()
    for i, item in enumerate(raw, 1):
        if not isinstance(item, Mapping):
            raise InvalidRequest(f"rule {i}: a rule is an object with name, when and steps")
        name = str(item.get("name") or f"rule {i}").strip()[:200]
        where = f"rule {name!r}"
        if name in names:
            raise InvalidRequest(f"{where}: two rules have this name")
        names.add(name)
        unknown = set(item) - {"name", "when", "steps"}
        if unknown:
            raise InvalidRequest(f"{where}: unknown key(s) {', '.join(sorted(unknown))}")
        when = item.get("when") or {}
        if not isinstance(when, Mapping):
            raise InvalidRequest(f"{where}: when is an object of conditions")
        unknown = set(when) - set(CONDITIONS)
        if unknown:
            raise InvalidRequest(
                f"{where}: unknown condition(s) {', '.join(sorted(unknown))}",
                hint="conditions: " + ", ".join(CONDITIONS),
            )
        amount = None
        if when.get("amount_over") is not None:
            try:
                amount = Decimal(str(when["amount_over"]))
            except InvalidOperation:
                raise InvalidRequest(f"{where}: amount_over must be a number") from None
            if not amount.is_finite() or amount < 0:
                raise InvalidRequest(f"{where}: amount_over must be a number of at least 0")
        currency = when.get("currency")
        if currency is not None and not (isinstance(currency, str) and len(currency) == 3):
            raise InvalidRequest(f"{where}: currency is a three-letter code, e.g. CNY")
        flags = _texts(when.get("customer_flag"), f"{where}: customer_flag")
        steps_raw = item.get("steps")
        if not isinstance(steps_raw, list) or not steps_raw:
            raise Unprocessable(f"{where}: a rule needs at least one step")
        if len(steps_raw) > MAX_STEPS:
            raise InvalidRequest(f"{where}: at most {MAX_STEPS} steps")
        rules.append(
            Rule(
                name=name,
                steps=tuple(
                    parse_step(s, f"{where}, step {n}") for n, s in enumerate(steps_raw, 1)
                ),
                classification=tuple(
                    c.upper() for c in _texts(when.get("classification"), f"{where}: class")
                ),
                amount_over=amount,
                currency=currency.upper() if currency else None,
                customer_flag=tuple(valid_flag(f) for f in flags),
                department=_texts(when.get("department"), f"{where}: department"),
            )
        )
    return tuple(rules)


def rules_to_json(rules: Sequence[Rule]) -> dict[str, Any]:
    return {"rules": [r.to_dict() for r in rules]}


def applies(rule: Rule, facts: Facts) -> bool:
    """Whether every condition of ``rule`` holds for ``facts`` (a rule without conditions
    applies to every contract)."""
    if rule.classification and (facts.classification or "") not in rule.classification:
        return False
    if rule.amount_over is not None:
        if facts.amount is None or facts.amount <= rule.amount_over:
            return False
        if rule.currency and (facts.currency or "") != rule.currency:
            return False
    elif rule.currency and (facts.currency or "") != rule.currency:
        return False
    if rule.customer_flag and not (set(rule.customer_flag) & facts.customer_flags):
        return False
    return not (rule.department and (facts.department or "") not in rule.department)


def select_chain(rules: Sequence[Rule], facts: Facts) -> tuple[list[str], list[Step]]:
    """The names of the rules that apply and their steps in order (each distinct step once)."""
    names: list[str] = []
    steps: list[Step] = []
    for rule in rules:
        if applies(rule, facts):
            names.append(rule.name)
            for step in rule.steps:
                if step not in steps:
                    steps.append(step)
    return names, steps


def valid_flag(flag: str) -> str:
    text = str(flag).strip().lower()
    if not _FLAG.fullmatch(text):
        raise InvalidRequest(
            f"invalid risk flag {flag!r}", hint="1-50 letters, digits, '.', '_' or '-'"
        )
    return text


def valid_comment(comment: str | None, *, required: bool, what: str = "comment") -> str | None:
    text = (comment or "").strip()
    if required and not text:
        raise InvalidRequest(f"a {what} is required", hint="say why")
    if len(text) > 2000:
        raise InvalidRequest(f"the {what} is longer than 2000 characters")
    return text or None


def valid_days(days: int, max_days: int) -> int:
    """A borrowing's duration, or Unprocessable saying the bounds."""
    if isinstance(days, bool) or not isinstance(days, int):
        raise InvalidRequest("days must be a whole number")
    if days < 1 or days > max_days:
        raise Unprocessable(
            f"a borrowing lasts 1 to {max_days} days, not {days}",
            hint="ask for fewer days (ARCHIVE_BORROW_MAX_DAYS)",
            details={"days": days, "max_days": max_days},
        )
    return days
