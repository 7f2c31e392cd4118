"""The ``contract-archive`` command line.

Exit status: 0 success; 1 when a file was rejected or an operation failed; 2 for a usage or
configuration error. Errors are printed as one line with a hint, never as a traceback.

Commands live in the modules of this package, one module per area; each registers its commands
on :data:`app` when imported. They are imported when used, not at start (:data:`COMMANDS`,
:class:`LazyGroup`): `contract-archive --help` lists them from the table without importing
SQLAlchemy's ORM, pyHanko, alembic, argon2, tantivy or pypdfium2, and a command imports only its
own module (and what that needs).
"""

from __future__ import annotations

import functools
import importlib.machinery
import inspect
import logging
import os
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Concatenate, ParamSpec, TypeVar

import typer
from rich.console import Console
from typer import _click as click  # the click Typer runs on (vendored)
from typer.core import TyperCommand, TyperGroup

from core.errors import ArchiveError, ConfigurationError

if TYPE_CHECKING:
    from services.facade import Facade


class _LoadingCommands(dict[str, click.Command]):
    """A group's commands that, when all of them are asked for (a walk of the tree, a typo's
    suggestions), first loads every command module."""

    def __init__(self, commands: dict[str, click.Command], group: LazyGroup) -> None:
        super().__init__(commands)
        self._group = group

    def _all(self) -> None:
        self._group.load_all()

    def __iter__(self):  # type: ignore[no-untyped-def]
        self._all()
        return super().__iter__()

    def __len__(self) -> int:
        self._all()
        return super().__len__()

    def __contains__(self, key: object) -> bool:
        self._all()
        return super().__contains__(key)

    def __getitem__(self, key: str) -> click.Command:
        self._all()
        return super().__getitem__(key)

    def get(self, key: str, default: Any = None) -> Any:
        self._all()
        return super().get(key, default)

    def keys(self):  # type: ignore[no-untyped-def]
        self._all()
        return super().keys()

    def values(self):  # type: ignore[no-untyped-def]
        self._all()
        return super().values()

    def items(self):  # type: ignore[no-untyped-def]
        self._all()
        return super().items()


class LazyGroup(TyperGroup):
    """The root group: lists :data:`COMMANDS` in their order, and imports a command's module
    only when the command is run (or its own help is asked for). The help of the root lists
    each command by the help the table keeps, without importing it."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._commands = _LoadingCommands(dict(self.commands), self)
        self.commands = self._commands
        self._listing = False
        self._loaded_all = False

    def _known(self, name: str) -> click.Command | None:
        return dict.get(self._commands, name)

    def _take(self, module: str) -> None:
        """Import ``module`` and add what it registered on :data:`app` to this group."""
        load(module)
        built = typer.main.get_group(app)
        assert isinstance(built, LazyGroup)
        for name, command in dict.items(built._commands):
            dict.setdefault(self._commands, name, command)

    def load_all(self) -> None:
        if self._loaded_all:
            return
        self._loaded_all = True
        for module in dict.fromkeys(m for m, _ in COMMANDS.values()):
            self._take(module)

    def list_commands(self, ctx: click.Context) -> list[str]:
        extra = [n for n in dict.keys(self._commands) if n not in COMMANDS]
        return [*COMMANDS, *extra]

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        command = self._known(cmd_name)
        if command is not None or cmd_name not in COMMANDS:
            return command
        module, help_text = COMMANDS[cmd_name]
        if self._listing:  # the root's help: the table's line, nothing imported
            return TyperCommand(cmd_name, help=help_text)
        self._take(module)
        return self._known(cmd_name)

    def format_help(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        self._listing = True
        try:
            super().format_help(ctx, formatter)
        finally:
            self._listing = False


app = typer.Typer(
    cls=LazyGroup,
    name="contract-archive",
    help="Archive, seal and search contracts in Chinese and English.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


@app.callback()
def _root() -> None:
    # The root as a group even before any command module is loaded (Typer needs one).
    pass


out = Console(soft_wrap=True, highlight=False)
err = Console(stderr=True, highlight=False, soft_wrap=True)

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
            # Imported when a command runs, not at start (`--help` needs none of them).
            from core.settings import get_settings
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


def _children_skip_the_script() -> None:
    """Processes this program starts import nothing of its entry script.

    ``multiprocessing`` runs the parent's ``__main__`` again (as ``__mp_main__``) in every
    process it starts with ``spawn`` or from the forkserver when ``__main__`` was run from a
    file, as the installed ``contract-archive`` script is: each parser, OCR and upload process
    then imported the command line (typer, rich, the command table: about 0.07 s of CPU and 50
    modules a process, measured in issue 12). A ``__main__`` whose spec names a package's
    ``__main__`` module is left alone (``multiprocessing.spawn._fixup_main_from_name``), as
    under ``python -m``: the script defines nothing a child needs."""
    module = sys.modules.get("__main__")
    if module is not None and getattr(module, "__spec__", None) is None:
        module.__spec__ = importlib.machinery.ModuleSpec("contract_archive.__main__", None)


def main() -> None:
    _children_skip_the_script()
    logging.basicConfig(
        level=os.environ.get("ARCHIVE_LOG_LEVEL", "warning").upper(),
        format="%(levelname)s %(name)s: %(message)s",
    )
    try:
        app()
    except KeyboardInterrupt:
        err.print("interrupted")
        sys.exit(130)


# The commands, loaded when used (issue 12: `--help` imports none of the archive's engines).
# name: (the module of this package that registers it on `app`, the help `--help` lists: the
# first paragraph of the command's own help; tests/test_cli_lazy.py checks that they agree).
# A new command module: add one line per top-level command or group it registers.
COMMANDS: dict[str, tuple[str, str]] = {
    "reindex": ("admin", "Rebuild the search index from the records and the stored text."),
    "serve": ("admin", "Run the web server (API at /api/v1, documentation at /docs)."),
    "doctor": (
        "doctor",
        (
            "Check the object store, the records and the index, and that they agree; find "
            "what an\n"
            "interrupted ingest left. Exit status 0 when nothing is wrong (after --repair: "
            "nothing is\n"
            "left), 1 when a problem remains, 2 on a configuration error."
        ),
    ),
    "ocr": (
        "ocr",
        ("Show the OCR status of contracts, page by page; `--retry` redoes their failed pages."),
    ),
    "jobs": ("jobs", "Jobs: list them (failed or all), retry a failed background job, queue one."),
    "worker": (
        "ocr",
        (
            "Work the OCR queue and the background jobs until stopped (beside a server run with\n"
            "ARCHIVE_OCR_BACKGROUND=false and ARCHIVE_JOBS_BACKGROUND=false, or on another\n"
            "machine sharing its database and object store)."
        ),
    ),
    "ingest": (
        "ingest",
        (
            "Archive PDF files, images (PNG, JPEG, TIFF), Office documents (DOCX, DOC, XLSX,\n"
            "ODT, ODS), e-mail (.eml, each attachment too) and OFD. Every file is identified by\n"
            "its bytes; one the archive does not take is listed as rejected with the reason. A\n"
            "batch goes on past bad files. A PDF in a folder named `batches` is a batch scan,\n"
            "split at its separator sheets (see --split-batches). Exit status: 0 ok; 1 a file\n"
            "was rejected or a page failed OCR; 2 usage; 3 the wait for OCR ran out (pages still\n"
            "open)."
        ),
    ),
    "watch": (
        "watch",
        "Archive the files dropped into FOLDER once complete, moving each to archived/ or\n"
        "rejected/ (with NAME.reason.txt beside it); a subfolder names the customer, the one\n"
        "below it the classification.",
    ),
    "separator": ("batches", "Write a printable separator sheet (PDF) for batch scans."),
    "import": ("model", "Import a legacy (paper) archive: one CSV row per file; all rows or none."),
    "migrate": (
        "scale",
        (
            "Copy objects and records to the target engines, rebuild its index, verify by "
            "counts and\n"
            "digests."
        ),
    ),
    "search": ("search", "Search the archive; hits come with highlighted snippets."),
    "show": ("search", "Show a contract's record."),
    "text": ("search", "Print the extracted text; pages are separated by a form feed."),
    "verify": (
        "seal",
        (
            "Verify a contract's evidence package: digests, seal, timestamp, record, "
            "embedded\n"
            "signatures. Exit 1 when a check FAILED."
        ),
    ),
    "manifests": (
        "seal",
        (
            "A contract's manifest history: each version with its time, who issued it through\n"
            "which action, and which of the contract's fields changed."
        ),
    ),
    "seal": ("seal", "Show the seal state of the archive; with --pending, seal what is waiting."),
    "export": (
        "seal",
        (
            "Export a contract's evidence (original, text, manifest, seal, certificates, "
            "timestamp)\n"
            "for verification with OpenSSL, without the archive."
        ),
    ),
    "recover": (
        "seal",
        (
            "Rebuild lost contract records from the evidence packages' manifests (and then "
            "the\n"
            "search index); records still present are left alone."
        ),
    ),
    "restore": (
        "seal",
        (
            "Restore a damaged stored original from a good copy: accepted only when its "
            "SHA-256\n"
            "and size are the record's; clears the contract's integrity alert."
        ),
    ),
    "audit": ("audit", "The access log: verify, checkpoint, export, extract, prune."),
    "ledger": (
        "ledger",
        ("The evidence ledger: every manifest version in a Merkle tree under signed checkpoints."),
    ),
    "customer": ("model", "Customers and all their contracts."),
    "contract": ("model", "Contract terms, lifecycle, filing (档号), holds and relations."),
    "payment": ("model", "Payment plans and what was paid."),
    "classification": ("model", "The classification scheme (versioned)."),
    "reminders": ("model", "Expiry, notice and payment reminders."),
    "legal-hold": (
        "scale",
        ("Legal holds: nothing of a held contract's package can be deleted until released."),
    ),
    "users": ("users", "Users: create, list, disable, enable, update, reset a password."),
    "tokens": ("users", "API tokens: create (shown once), list, revoke."),
    "restrictions": ("users", "Restricted classes: classifications only some groups see."),
    "approvals": (
        "workflows",
        ("Approval before signing: the approvers' queue, approve, reject, submit, the rules."),
    ),
    "borrow": ("workflows", "Borrowing (借阅): request, grant, refuse, return, list."),
}


def load(module: str) -> None:
    """Import one command module of this package (it registers its commands on :data:`app`)."""
    importlib.import_module(f"{__name__}.{module}")


def load_all() -> None:
    """Import every command module (what a walk of the whole tree needs)."""
    for module in dict.fromkeys(m for m, _ in COMMANDS.values()):
        load(module)


if __name__ == "__main__":
    main()
