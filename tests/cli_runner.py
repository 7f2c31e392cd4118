"""The command line in-process: the real Typer app, invoked through click's ``CliRunner``.

A run of the installed ``contract-archive`` costs about 2 s of CPU before the command does
anything (the interpreter and the archive's imports); the same command in-process costs only
what the command does. Tests whose subject is what a command does (its effect, its output, its
exit status) run it here; each command family keeps at least one test that runs the installed
program as ARCHIVE_USER (tests/test_cli.py's ``run``), as a user runs it.

:func:`invoke` answers like ``subprocess.run(..., capture_output=True, text=True)``: a
``CompletedProcess`` with ``returncode``, ``stdout`` and ``stderr``, so a test switches between
the two with one word. The environment of one run (``ARCHIVE_DATA_DIR`` and ``env``) is set for
that run and put back afterwards; the settings are read again before and after it.
"""

from __future__ import annotations

import functools
import os
import subprocess
from pathlib import Path

import click
import typer
from click.testing import CliRunner

from contract_archive.cli import app
from core.settings import reset_settings


@functools.cache
def cli_root() -> click.Command:
    """The real Typer app as one click command, built once (typer's own ``CliRunner`` builds
    it anew for every call, a third of a second each)."""
    return typer.main.get_command(app)


def invoke(
    data_dir: Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """One command, in-process, on ``data_dir``; an unexpected exception (which the installed
    program would print as a traceback) is appended to ``stderr`` with the word Traceback."""
    wanted = {"ARCHIVE_DATA_DIR": str(data_dir), **(env or {})}
    saved = {k: os.environ.get(k) for k in wanted}
    os.environ.update(wanted)
    reset_settings()
    try:
        result = CliRunner().invoke(cli_root(), list(args), catch_exceptions=True)
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        reset_settings()
    stderr = result.stderr
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        stderr += f"\nTraceback (in-process): {type(result.exception).__name__}: "
        stderr += str(result.exception)
    return subprocess.CompletedProcess(
        ["contract-archive", *args], result.exit_code, result.stdout, stderr
    )
