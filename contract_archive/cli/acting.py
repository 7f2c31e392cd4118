"""Who the command line acts as (ARCHIVE_USER, default the first admin), and what each command
may do.

Not a command module: the helpers the command modules share.

A command decorated with ``@acts`` (``contract_archive.cli``) acts through the caller-bound
facade: what it may do, see and what is logged are the facade's actions, so it needs no entry
here (its callback carries ``acts_through_facade``). Every other command declares its access in
:data:`COMMANDS`, as every API route declares a permission. :func:`guard_command` runs when such
a command opens the archive: a command without a declaration refuses to
run (fail closed), and ``tests/test_access_cli.py`` walks the command tree so that a command that
is neither ``@acts`` nor declared fails the test. A command whose work goes through
:class:`AccessControl` (which checks and logs each access itself) is declared ``by_service``; any
other command is checked here and logged as ``cli.<command>`` under the acting user, with its
arguments (never a secret), before it runs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from core.errors import ConfigurationError
from core.roles import Caller, Perm
from services.facade import Runtime
from services.facade.public import print_first_credentials

if TYPE_CHECKING:
    from services.access.service import AccessControl
    from services.archive import Archive


@dataclass(frozen=True)
class CommandAccess:
    perm: Perm | None
    """The permission the acting user needs; None: the command reads or changes no archive
    data under a user (the server, whose requests are checked one by one)."""
    by_service: bool = False
    """The command's work goes through AccessControl, which checks and logs it itself."""


def _service(perm: Perm) -> CommandAccess:
    return CommandAccess(perm, by_service=True)


COMMANDS: dict[str, CommandAccess] = {
    "reindex": _service(Perm.SETTINGS_MANAGE),  # AdminArea.reindex (opens the index unchecked)
    "serve": CommandAccess(None),
    # doctor must run when the records (and so the access tables) are broken: it acts as the
    # operator who holds the data directory (Runtime.operator), through AdminArea.doctor, an
    # action declared logged="no" (see its text for why)
    "doctor": CommandAccess(None),
    # checks a signed extract offline: opens no archive, acts as no one
    "audit verify-extract": CommandAccess(None),
}
_SECRET_WORDS = ("password", "passphrase", "secret", "token", "key")


def acting(archive: Archive) -> tuple[AccessControl, Caller]:
    """The access control of ``archive`` and the command line's caller. On the first start
    this makes the first admin and prints its one-time credentials (to the terminal only)."""
    runtime = Runtime(archive)
    return runtime.access, runtime.cli_facade(announce=print_first_credentials).caller


def first_start(archive: Archive) -> None:
    created = Runtime(archive).public.ensure_first_admin()
    if created is not None:
        print_first_credentials(created)


def current_context() -> Any:
    """The running command's click context. Typer 0.2x vendors its own copy of click
    (``typer._click``), whose context stack the ``click`` package cannot see."""
    try:
        from typer._click import globals as click_globals
    except ImportError:  # a typer that uses the click package
        import click.globals as click_globals  # type: ignore[no-redef]
    return click_globals.get_current_context(silent=True)


def command_name(ctx: Any) -> str:
    """``users create`` for ``contract-archive users create``."""
    parts = []
    while ctx.parent is not None:
        parts.append(ctx.info_name or "")
        ctx = ctx.parent
    return " ".join(reversed(parts))


def _loggable(params: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, value in params.items():
        if any(word in name.lower() for word in _SECRET_WORDS):
            continue
        if isinstance(value, list | tuple):
            value = [str(v)[:500] for v in value[:50]]
        elif value is not None and not isinstance(value, bool | int | float):
            value = str(value)[:500]
        out[name] = value
    return out


def guard_command(archive: Archive) -> None:
    """Check and log the running command (see the module's text). Outside a command (a test
    that calls a command body directly) there is nothing to guard."""
    ctx = current_context()
    if ctx is None or ctx.parent is None:
        return
    name = command_name(ctx)
    spec = COMMANDS.get(name)
    if spec is None:
        raise ConfigurationError(
            f"the command `{name}` declares no access permission, so it does not run",
            hint="a developer must declare it in contract_archive/cli/acting.py COMMANDS",
        )
    if spec.perm is None or spec.by_service:
        return
    runtime = Runtime(archive)
    caller = runtime.cli_facade(announce=print_first_credentials).caller
    action = "cli." + name.replace(" ", ".")
    params = _loggable(dict(ctx.params))
    runtime.public.require(caller, spec.perm, action=action, details={"params": params})
    runtime.public.record(caller, action, outcome="started", details={"params": params})
