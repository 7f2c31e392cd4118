"""Start-up: the CLI does not import what only some commands need.

`contract-archive --help` took 3.1 s and 171 MiB when every command imported SQLAlchemy's ORM,
pyHanko, alembic and argon2. These tests assert on which modules are loaded, never on time:
a module that is not loaded costs nothing on any machine.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from core.settings import Settings

ROOT = Path(__file__).resolve().parent.parent

# Packages loaded only by the commands that use them.
HEAVY = ("pyhanko", "alembic", "argon2", "tantivy", "pypdfium2", "sqlalchemy.orm")

# Prints, as JSON, the heavy modules loaded when the interpreter ends (whatever the code run
# before did: sys.exit from typer included).
REPORT = f"""
import atexit, json, sys
HEAVY = {HEAVY!r}
def _report():
    loaded = sorted(m for m in sys.modules if any(m == h or m.startswith(h + ".") for h in HEAVY))
    sys.__stdout__.write("\\nLOADED=" + json.dumps(loaded) + "\\n")
    sys.__stdout__.flush()
atexit.register(_report)
"""


def _loaded(code: str) -> tuple[list[str], str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ARCHIVE_")}
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    proc = subprocess.run(
        [sys.executable, "-c", REPORT + code],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    lines = [line for line in proc.stdout.splitlines() if line.startswith("LOADED=")]
    assert lines, f"no report (exit {proc.returncode}):\n{proc.stdout}\n{proc.stderr}"
    return json.loads(lines[-1].removeprefix("LOADED=")), proc.stdout


def test_report_sees_a_heavy_module_when_one_is_imported() -> None:
    """The probe itself works: importing argon2 is seen."""
    loaded, _ = _loaded("import argon2")
    assert "argon2" in loaded


def test_importing_the_cli_loads_no_heavy_module() -> None:
    loaded, _ = _loaded("import contract_archive.cli")
    assert loaded == []


def test_help_loads_no_heavy_module() -> None:
    """`contract-archive --help` as the installed program runs it: its console script calls
    ``contract_archive.cli:main`` with the arguments in sys.argv."""
    code = (
        "sys.argv = ['contract-archive', '--help']\nfrom contract_archive.cli import main\nmain()\n"
    )
    loaded, out = _loaded(code)
    assert "Usage: contract-archive" in out
    assert loaded == []


def test_a_subcommand_help_loads_no_heavy_module() -> None:
    code = (
        "sys.argv = ['contract-archive', 'search', '--help']\n"
        "from contract_archive.cli import main\n"
        "main()\n"
    )
    loaded, out = _loaded(code)
    assert "Usage: contract-archive search" in out
    assert loaded == []


def test_the_installed_program_loads_no_heavy_module() -> None:
    """The console script on PATH, run with `--help` under ``-X importtime``: every module it
    imports is named on stderr, and none is heavy."""
    script = Path(sys.executable).parent / "contract-archive"
    assert script.exists(), f"{script} is missing: run `uv sync`"
    env = {k: v for k, v in os.environ.items() if not k.startswith("ARCHIVE_")}
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", str(script), "--help"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "Usage: contract-archive" in proc.stdout
    imported = [
        line.rsplit("|", 1)[1].strip()
        for line in proc.stderr.splitlines()
        if line.startswith("import time:") and "|" in line
    ]
    assert "contract_archive.cli" in imported
    assert "typer" in imported
    heavy = sorted(m for m in imported if any(m == h or m.startswith(h + ".") for h in HEAVY))
    assert heavy == []


# What a search on an archive at the migration head does not need: migrations (alembic, with
# mako and pygments), the sealer, the extraction rules (hundreds of compiled patterns), the
# PostgreSQL dialect on a SQLite archive, the e-mail and office readers. Together they were
# about a third of a `search`'s CPU at start-up (3.2 -> 2.3 s median of 5 on a loaded machine).
NOT_FOR_A_SEARCH = (
    "alembic",
    "pyhanko",
    "ingest.extraction",
    "ingest.linking",
    "sqlalchemy.dialects.postgresql",
    "ingest.email_msg",
    "ingest.office",
)


def test_a_search_on_an_existing_archive_loads_only_what_it_needs(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ARCHIVE_")}
    env |= {"ARCHIVE_DATA_DIR": str(tmp_path / "var"), "ARCHIVE_USER": "admin"}
    probe = REPORT.replace(repr(HEAVY), repr(NOT_FOR_A_SEARCH))
    search = "sys.argv = ['contract-archive', 'search', 'agreement']\nfrom contract_archive.cli import main\nmain()\n"

    def run() -> tuple[list[str], str]:
        proc = subprocess.run(
            [sys.executable, "-c", probe + search],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        lines = [line for line in proc.stdout.splitlines() if line.startswith("LOADED=")]
        assert lines, f"no report (exit {proc.returncode}):\n{proc.stdout}\n{proc.stderr}"
        return json.loads(lines[-1].removeprefix("LOADED=")), proc.stdout + proc.stderr

    first, _ = run()  # a new archive: migrated, so alembic is loaded (the probe sees it)
    assert "alembic" in first
    loaded, out = run()
    assert out.startswith("0 matching contracts"), out[-500:]  # the search ran and answered
    assert loaded == [], loaded


def test_the_edit_loop_list_names_existing_tests() -> None:
    """Every test that conftest marks slow for `make test-fast` still exists (a renamed test
    would silently come back into the edit loop)."""
    from tests.conftest import EDIT_LOOP_SLOW

    for file, names in EDIT_LOOP_SLOW.items():
        source = (ROOT / "tests" / file).read_text()
        for name in names:
            assert f"def {name}(" in source, f"{file} has no test {name}"


def test_the_balancing_table_names_existing_files() -> None:
    """Every file in conftest's FILE_SECONDS (the longest-first order of `make test`) and
    EDIT_LOOP_SLOW_FILES (left out of `make test-fast`) exists."""
    from tests.conftest import EDIT_LOOP_SLOW_FILES, FILE_SECONDS

    names = [*FILE_SECONDS, *EDIT_LOOP_SLOW_FILES]
    missing = sorted(name for name in names if not (ROOT / "tests" / name).is_file())
    assert missing == []
    assert all(seconds > 0 for seconds in FILE_SECONDS.values())


def _imports_of_every_process(args: list[str], data_dir: Path) -> tuple[list[str], str]:
    """``contract-archive ARGS`` as installed, with ``PYTHONPROFILEIMPORTTIME``: the program and
    every process it starts (they inherit the variable and the stderr) name each module they
    import. Returns the names in order and stdout."""
    script = Path(sys.executable).parent / "contract-archive"
    env = {k: v for k, v in os.environ.items() if not k.startswith("ARCHIVE_")}
    env |= {
        "ARCHIVE_DATA_DIR": str(data_dir),
        "PYTHONPROFILEIMPORTTIME": "1",
    }
    proc = subprocess.run(
        [str(script), *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    imported = [
        line.rsplit("|", 1)[1].strip()
        for line in proc.stderr.splitlines()
        if line.startswith("import time:") and "|" in line
    ]
    return imported, proc.stdout


def test_processes_the_program_starts_do_not_import_its_command_line(settings: Settings) -> None:
    """An ingest reads the file in a parser process from the forkserver; multiprocessing ran the
    `contract-archive` script again in each such process (as ``__mp_main__``), importing the
    whole command line there: 0.07 s of CPU a process. Now only the program imports it."""
    from tests.conftest import CORPUS

    pdf = next((CORPUS / "en-cuad").rglob("*.pdf"))
    imported, out = _imports_of_every_process(["ingest", "--json", str(pdf)], settings.data_dir)
    assert '"archived"' in out, out[-1000:]
    # A process was started and read the file (the parser runs pypdf, which the program
    # itself does not import), so a command line imported there would be seen.
    assert "multiprocessing.forkserver" in imported
    assert "pypdf" in imported
    assert imported.count("contract_archive.cli") == 1
    assert imported.count("typer") == 1
