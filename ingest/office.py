"""Office documents (DOCX, DOC, XLSX, ODT, ODS): check them, and make the PDF rendition with
LibreOffice in headless mode.

Runs inside a worker process (``ingest.isolation``). LibreOffice is started directly
(``soffice.bin``, not the ``soffice`` launcher script, so that the process this worker starts
is LibreOffice itself) with:

* a private profile directory (``-env:UserInstallation``) made for this one conversion and
  removed after, so two conversions never share (or lock) a profile;
* ``PR_SET_PDEATHSIG``: the kernel kills it when the worker dies (the pool kills the worker on
  its timeout), so no orphan ``soffice.bin`` is left behind;
* its own session (process group), killed whole when the conversion passes its timeout
  (``ARCHIVE_OFFICE_TIMEOUT_SECONDS``).

A fresh profile makes LibreOffice exit with status 81 ("restart me") after it has set the
profile up, as its launcher would restart it: it is run again, at most twice more.

The zip-based formats are checked before LibreOffice sees them: every member's CRC, the main
part present and well-formed XML, and the unpacked size bounded (a zip bomb is refused). The
original stays the original; the PDF is a derived file.
"""

from __future__ import annotations

import contextlib
import functools
import os
import shutil
import signal
import subprocess
import tempfile
import time
import zipfile
from pathlib import Path

from ingest import xmlsafe
from ingest.errors import RejectFile
from ingest.images import Rendition
from ingest.isolation import child_dies_with_parent
from storage.maintenance import owner_tag

TOOL = "LibreOffice"
PROGRAM_DIRS = (Path("/usr/lib/libreoffice/program"), Path("/opt/libreoffice/program"))
INSTALL_HINT = (
    "apt install libreoffice-core-nogui libreoffice-writer-nogui libreoffice-calc-nogui "
    "(scripts/bootstrap.sh installs them)"
)
MAX_MEMBERS = 20_000
RESTART = 81
"""LibreOffice's exit status asking its launcher to start it again (after a profile set-up)."""

MAIN_PART = {
    "docx": "word/document.xml",
    "xlsx": "xl/workbook.xml",
    "odt": "content.xml",
    "ods": "content.xml",
}
"""The part a zip-based Office file cannot be without: it is checked to be well-formed XML."""


def find_soffice(configured: str = "") -> Path | None:
    """LibreOffice's program (``soffice.bin``), or None when it is not installed. A configured
    path (``ARCHIVE_LIBREOFFICE_PROGRAM``) is the only place looked at."""
    if configured:
        candidates = [Path(configured)]
    else:
        candidates = [folder / "soffice.bin" for folder in PROGRAM_DIRS]
        found = shutil.which("soffice")
        if found:
            candidates.append(Path(found).resolve())
    for candidate in candidates:
        if candidate.name == "soffice":  # the launcher script: start the program beside it
            candidate = candidate.with_name("soffice.bin")
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return candidate
    return None


def missing(key: str, label: str) -> RejectFile:
    return RejectFile(
        f"the file is {label} and needs LibreOffice ({INSTALL_HINT}), which is not installed",
        hint="install LibreOffice, or save the document as PDF and archive the PDF",
        details={"format": key, "needs": "libreoffice"},
    )


def _damaged(label: str, detail: str) -> RejectFile:
    return RejectFile(
        f"damaged Office document: the file is {label} that cannot be read ({detail})",
        hint="open it in its program, save it again (or export it to PDF) and archive that",
    )


def check_package(path: Path, key: str, label: str) -> None:
    """For a zip-based format: members intact, not a zip bomb, the main part well-formed."""
    main = MAIN_PART.get(key)
    if main is None:
        return
    try:
        with zipfile.ZipFile(path) as zf:
            xmlsafe.check_zip(
                zf,
                label=label,
                max_members=MAX_MEMBERS,
                damaged=lambda detail: _damaged(label, detail),
                hint="open it in its program and export it to PDF",
            )
            names = {i.filename for i in zf.infolist()}
            if main not in names:
                raise _damaged(label, f"it has no {main}")
            with zf.open(main) as fh:
                xmlsafe.parse(fh)
    except RejectFile:
        raise
    except xmlsafe.UnsafeXml as exc:
        raise _damaged(label, f"{main}: {exc}") from exc
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, ValueError) as exc:
        raise _damaged(label, f"not a readable ZIP package: {exc}") from exc
    except NotImplementedError as exc:
        raise _damaged(label, f"unsupported compression: {exc}") from exc


@functools.cache
def version(program: Path) -> str:
    """LibreOffice's version as it says it (``7.4.7.2 40(Build:2)``)."""
    try:
        done = subprocess.run(
            [str(program), "--version"],
            stdin=subprocess.DEVNULL,
            capture_output=True,
            timeout=30,
            preexec_fn=child_dies_with_parent(),
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return "unknown"
    said = " ".join(done.stdout.decode("utf-8", "replace").split())
    return said.removeprefix("LibreOffice ").strip()[:100] or "unknown"


def _run(command: list[str], timeout: float) -> tuple[int, str]:
    proc = subprocess.Popen(
        command,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
        preexec_fn=child_dies_with_parent(),  # run from the worker's main thread
        env={**os.environ, "SAL_USE_VCLPLUGIN": "svp", "HOME": command_home(command)},
    )
    try:
        out, _ = proc.communicate(timeout=max(timeout, 0.1))
    except BaseException:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.kill()
        proc.communicate()
        raise
    return proc.returncode, out.decode("utf-8", "replace")


def command_home(command: list[str]) -> str:
    """The profile directory doubles as HOME: LibreOffice writes nothing elsewhere."""
    for arg in command:
        if arg.startswith("-env:UserInstallation=file://"):
            return arg.removeprefix("-env:UserInstallation=file://")
    return tempfile.gettempdir()


def render_office(
    path: Path, out: Path, key: str, label: str, timeout: float, program_path: str = ""
) -> Rendition:
    """Check the Office file at ``path`` and write its PDF rendition to ``out``."""
    program = find_soffice(program_path)
    if program is None:
        raise missing(key, label)
    check_package(path, key, label)
    convert_to_pdf(program, path, key, out, label, timeout)
    return Rendition(
        pages=0,
        made_by={
            "tool": TOOL,
            "version": version(program),
            "method": "soffice --headless --convert-to pdf (writer_pdf_Export / calc_pdf_Export)",
            "from": "original",
        },
    )


def convert_to_pdf(
    program: Path, path: Path, suffix: str, out: Path, label: str, timeout: float
) -> None:
    """Convert the file at ``path`` (given LibreOffice as ``source.<suffix>``) to the PDF
    ``out`` with LibreOffice, in a private profile removed after, stopped at ``timeout``."""
    work = Path(tempfile.mkdtemp(prefix=owner_tag() + "soffice-", dir=out.parent))
    try:
        profile = work / "profile"
        source = work / f"source.{suffix}"  # LibreOffice picks its import filter by content
        try:
            os.link(path, source)
        except OSError:
            shutil.copyfile(path, source)
        command = [
            str(program),
            "--headless",
            "--invisible",
            "--norestore",
            "--nolockcheck",
            "--nodefault",
            "--nologo",
            f"-env:UserInstallation=file://{profile}",
            "--convert-to",
            "pdf",
            "--outdir",
            str(work / "out"),
            str(source),
        ]
        deadline = time.monotonic() + timeout
        said = ""
        status = 0
        for _attempt in range(3):
            left = deadline - time.monotonic()
            try:
                status, said = _run(command, left)
            except subprocess.TimeoutExpired:
                raise RejectFile(
                    f"LibreOffice took longer than {timeout:g} s to convert the file ({label}) "
                    "and was stopped",
                    hint="the file may be damaged or hostile; raise "
                    "ARCHIVE_OFFICE_TIMEOUT_SECONDS if it is a genuine, very large document",
                ) from None
            if status != RESTART:
                break
        made = work / "out" / "source.pdf"
        if not made.is_file() or made.stat().st_size == 0:
            detail = " ".join(said.split())[-300:] or f"exit status {status}"
            raise _damaged(label, f"LibreOffice made no PDF: {detail}")
        shutil.move(str(made), out)
    finally:
        shutil.rmtree(work, ignore_errors=True)
