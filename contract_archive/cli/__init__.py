"""The ``contract-archive`` command line.

Exit status: 0 success; 1 when a file was rejected or an operation failed; 2 for a usage or
configuration error. Errors are printed as one line with a hint, never as a traceback.

Commands live in the modules of this package, one module per area; each registers its commands
on :data:`app` when imported at the bottom of this file.
"""

from __future__ import annotations

import functools
import inspect
import logging
import os
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Concatenate, ParamSpec, TypeVar

import typer
from rich.console import Console

from core.errors import ArchiveError, ConfigurationError
from core.settings import get_settings

if TYPE_CHECKING:
    from services.facade import Facade

app = typer.Typer(
    name="contract-archive",
    help="Archive, seal and search contracts in Chinese and English.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)

out = Console(soft_wrap=True, highlight=False)
err = Console(stderr=True, highlight=False)

T = TypeVar("T")
P = ParamSpec("P")
EXIT_FAILED = 1
EXIT_USAGE = 2


def fail(error: ArchiveError) -> None:
    err.print(f"[bold red]error:[/] {esc(error.message)}")
    if error.hint:
        err.print(f"[dim]hint:[/] {esc(error.hint)}")


def esc(text: str) -> str:
    return text.replace("[", r"\[")


def run(fn: Callable[[], T]) -> T:
    """Run a command body, turning archive errors into a message and an exit status."""
    try:
        return fn()
    except ConfigurationError as exc:
        fail(exc)
        raise typer.Exit(EXIT_USAGE) from None
    except ArchiveError as exc:
        fail(exc)
        raise typer.Exit(EXIT_FAILED) from None
    except (typer.Exit, KeyboardInterrupt):
        raise
    except Exception as exc:
        logging.getLogger("contract_archive").debug("unexpected error", exc_info=exc)
        err.print(
            f"[bold red]internal error:[/] {esc(type(exc).__name__)}: {esc(str(exc))}\n"
            "[dim]hint: nothing half-done was kept; rerun with ARCHIVE_LOG_LEVEL=debug for "
            "details and report it[/]"
        )
        raise typer.Exit(EXIT_FAILED) from None


def acts(fn: Callable[Concatenate[Facade, P], T]) -> Callable[P, T]:
    """A command that acts through the facade, as ARCHIVE_USER (default: the first admin).

    The command function takes the :class:`~services.facade.Facade` as its first parameter
    (``f``), which the command line does not show; this opens the archive, binds the facade,
    runs the body and turns archive errors into a message and an exit status (:func:`run`).
    What the command may do, what it sees and what is logged are the facade's actions: a
    command needs no declaration of its own."""

    @functools.wraps(fn)
    def command(*args: P.args, **kwargs: P.kwargs) -> T:
        def body() -> T:
            from services.facade import Runtime
            from services.facade.public import print_first_credentials

            with Runtime.open(get_settings()) as runtime:
                return fn(runtime.cli_facade(announce=print_first_credentials), *args, **kwargs)

        return run(body)

    signature = inspect.signature(fn, eval_str=True)  # typer reads Annotated options from it
    command.__signature__ = signature.replace(  # type: ignore[attr-defined]
        parameters=list(signature.parameters.values())[1:]
    )
    command.acts_through_facade = True  # type: ignore[attr-defined]
    return command


def main() -> None:
    logging.basicConfig(
        level=os.environ.get("ARCHIVE_LOG_LEVEL", "warning").upper(),
        format="%(levelname)s %(name)s: %(message)s",
    )
    try:
        app()
    except KeyboardInterrupt:
        err.print("interrupted")
        sys.exit(130)


# Register the commands (imported for their side effect on `app`).
from contract_archive.cli import (  # noqa: E402, F401
    admin,
    audit,
    doctor,
    ingest,
    jobs,
    ledger,
    model,
    ocr,
    scale,
    search,
    users,
    workflows,
)
from contract_archive.cli import seal as _seal  # noqa: E402, F401

if __name__ == "__main__":
    main()
