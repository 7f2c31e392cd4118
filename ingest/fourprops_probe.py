"""What the 四性检测 (four-properties check, DA/T 70) at filing needs to look at in a file:

- :func:`probe_pdf`: does the PDF open (pypdf and pdfium), does its first page render, does it
  carry JavaScript or launch actions; run in the killable worker (the file is untrusted);
- :func:`scan_viruses`: ClamAV's ``clamscan`` over a folder, killed after its timeout, with the
  outcome as data (found, clean, or why the scan says nothing: no program, no signatures, a
  timeout, an error). A scan that had no signatures is never called clean;
- :func:`scan_viruses_clamd`: the same through a running clamd (``INSTREAM``), which keeps its
  signatures loaded instead of loading them for every scan as ``clamscan`` does.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import struct
import subprocess
import time
import warnings
from pathlib import Path
from typing import Any

from ingest.pdf import active_content

RENDER_SCALE = 0.5
"""Page 1 is rendered at 36 dpi: enough to show that it renders."""


def probe_pdf(path: Path) -> dict[str, Any]:
    """Open ``path`` with pypdf and pdfium, render its first page, look for active content.

    Never raises for a bad file: every problem is a value of the result."""
    out: dict[str, Any] = {
        "pypdf_opens": False,
        "pypdf_error": None,
        "pages": None,
        "active_content": [],
        "renders": False,
        "render_error": None,
        "rendered": None,
    }
    import pypdf

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            reader = pypdf.PdfReader(str(path), strict=False)
            if reader.is_encrypted:
                reader.decrypt("")
            out["pages"] = len(reader.pages)
            out["active_content"] = active_content(reader)
        out["pypdf_opens"] = True
    except Exception as exc:  # noqa: BLE001 - a broken file is a finding, not a crash
        out["pypdf_error"] = f"{type(exc).__name__}: {exc}"[:300]

    import pypdfium2 as pdfium

    try:
        pdf = pdfium.PdfDocument(str(path))
        try:
            if len(pdf) < 1:
                out["render_error"] = "the PDF has no pages"
            else:
                page = pdf[0]
                bitmap = page.render(scale=RENDER_SCALE)
                image = bitmap.to_pil()
                width, height = image.size
                out["rendered"] = {"page": 1, "width": width, "height": height}
                out["renders"] = width > 0 and height > 0
                if not out["renders"]:
                    out["render_error"] = "page 1 rendered as an empty image"
                page.close()
            if out["pages"] is None:
                out["pages"] = len(pdf)
        finally:
            pdf.close()
    except Exception as exc:  # noqa: BLE001 - pdfium's errors are findings
        out["render_error"] = f"pdfium cannot open or render it: {exc}"[:300]
    return out


_FOUND = re.compile(r"^(?P<file>.+?): (?P<name>\S+) FOUND$")
_KNOWN = re.compile(r"^Known viruses:\s*(\d+)", re.M)
_ENGINE = re.compile(r"^Engine version:\s*(\S+)", re.M)
_NO_DB = ("No supported database files found", "cli_loaddbdir", "Can't open file or directory")
_LIMITS = "Heuristics.Limits.Exceeded"


def scan_viruses(
    program: str, database: Path | None, folder: Path, timeout: float
) -> dict[str, Any]:
    """``clamscan`` over ``folder``: ``outcome`` is ``clean``, ``found`` (with ``found``:
    ``[{"file", "signature"}]``), or ``unknown`` with the ``reason`` the scan says nothing."""
    result: dict[str, Any] = {
        "outcome": "unknown",
        "reason": None,
        "program": program,
        "database": str(database) if database else None,
        "engine": None,
        "signatures": None,
        "found": [],
        "exceeded": [],
    }
    exe = (
        shutil.which(program)
        if "/" not in program
        else (program if os.access(program, os.X_OK) else None)
    )
    if exe is None:
        result["reason"] = (
            f"the virus scanner {program!r} is not installed (apt install clamav), "
            "so nothing was scanned (ARCHIVE_CLAMAV_PROGRAM)"
        )
        return result
    if database is not None and not database.exists():
        result["reason"] = (
            f"the signature database {database} does not exist, so nothing was scanned "
            "(ARCHIVE_CLAMAV_DATABASE)"
        )
        return result
    args = [exe, "--recursive", "--stdout", "--alert-exceeds-max=yes", "--alert-broken=no"]
    if database is not None:
        args += ["--database", str(database)]
    args.append(str(folder))
    try:
        proc = subprocess.Popen(
            args,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            errors="replace",
            start_new_session=True,
        )
    except OSError as exc:
        result["reason"] = f"{program} cannot be run: {exc.strerror or exc}"
        return result
    try:
        stdout, stderr = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.communicate()
        result["reason"] = (
            f"the virus scan took longer than {timeout:g} s and was stopped "
            "(ARCHIVE_CLAMAV_TIMEOUT_SECONDS), so it says nothing"
        )
        return result
    if m := _ENGINE.search(stdout):
        result["engine"] = m.group(1)
    if m := _KNOWN.search(stdout):
        result["signatures"] = int(m.group(1))
    for line in stdout.splitlines():
        if m := _FOUND.match(line.strip()):
            name = m.group("name")
            entry = {"file": Path(m.group("file")).name, "signature": name}
            (result["exceeded"] if name.startswith(_LIMITS) else result["found"]).append(entry)
    if proc.returncode == 2 or (
        proc.returncode != 0 and not result["found"] and not result["exceeded"]
    ):
        problem = (stderr.strip() or stdout.strip()).splitlines()
        text = problem[-1] if problem else f"exit status {proc.returncode}"
        if any(marker in (stderr + stdout) for marker in _NO_DB):
            result["reason"] = (
                "ClamAV has no signature database, so the scan cannot say the package is "
                "clean (run freshclam where the machine reaches the internet, or set "
                f"ARCHIVE_CLAMAV_DATABASE): {text}"
            )
        else:
            result["reason"] = f"clamscan failed: {text}"
        return result
    if result["found"]:
        result["outcome"] = "found"
        return result
    if result["signatures"] == 0:
        result["reason"] = (
            "ClamAV loaded no signatures, so the scan cannot say the package is clean "
            "(run freshclam, or set ARCHIVE_CLAMAV_DATABASE)"
        )
        return result
    if result["exceeded"]:
        names = ", ".join(e["file"] for e in result["exceeded"])
        result["reason"] = f"ClamAV's scan limits were exceeded for {names}: not fully scanned"
        return result
    result["outcome"] = "clean"
    return result


# --- clamd: the daemon keeps the signatures loaded ---------------------------------------------
CLAMD_CHUNK = 1 << 20
"""Bytes per INSTREAM chunk (clamd's StreamMaxLength bounds the whole stream, not a chunk)."""


def _clamd_connect(address: str, timeout: float) -> socket.socket:
    """A connection to clamd at a Unix socket path or ``host:port`` (``tcp://`` optional)."""
    if address.startswith("tcp://"):
        address = address[len("tcp://") :]
    if "/" in address:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(timeout)
        try:
            sock.connect(address)
        except OSError:
            sock.close()
            raise
        return sock
    host, sep, port = address.rpartition(":")
    if not sep or not port.isdigit():
        raise OSError(f"{address!r} is neither a socket path nor host:port")
    return socket.create_connection((host or "127.0.0.1", int(port)), timeout=timeout)


def _clamd_reply(sock: socket.socket) -> str:
    data = b""
    while not data.endswith(b"\0"):
        chunk = sock.recv(4096)
        if not chunk:
            break
        data += chunk
    return data.rstrip(b"\0").decode("utf-8", "replace").strip()


def _clamd_command(address: str, command: bytes, timeout: float) -> str:
    with _clamd_connect(address, timeout) as sock:
        sock.sendall(b"z" + command + b"\0")
        return _clamd_reply(sock)


def _clamd_stream(address: str, path: Path, timeout: float) -> str:
    """One file through ``INSTREAM``: clamd's answer (``stream: OK``, ``stream: NAME FOUND``,
    ``INSTREAM size limit exceeded. ERROR``). Its files need not be readable by clamd's user."""
    with _clamd_connect(address, timeout) as sock:
        sock.sendall(b"zINSTREAM\0")
        try:
            with path.open("rb") as fh:
                while chunk := fh.read(CLAMD_CHUNK):
                    sock.sendall(struct.pack(">I", len(chunk)) + chunk)
            sock.sendall(struct.pack(">I", 0))
        except (BrokenPipeError, ConnectionResetError):
            pass  # clamd closes the stream once it is over its limit; its answer says so
        return _clamd_reply(sock)


def scan_viruses_clamd(address: str, folder: Path, timeout: float) -> dict[str, Any]:
    """Every file under ``folder`` streamed to a running clamd (``ARCHIVE_CLAMAV_SOCKET``),
    with the same result as :func:`scan_viruses`. clamd loads its signatures once when it
    starts (and refuses to start without any), so a filing does not pay for loading them."""
    result: dict[str, Any] = {
        "outcome": "unknown",
        "reason": None,
        "program": f"clamd ({address})",
        "database": None,
        "engine": None,
        "signatures": None,
        "found": [],
        "exceeded": [],
    }
    deadline = time.monotonic() + timeout
    try:
        version = _clamd_command(address, b"VERSION", min(timeout, 30.0))
        result["engine"] = version.removeprefix("ClamAV ").split("/")[0] or None
        for path in sorted(p for p in folder.rglob("*") if p.is_file()):
            left = deadline - time.monotonic()
            if left <= 0:
                result["reason"] = (
                    f"the virus scan took longer than {timeout:g} s and was stopped "
                    "(ARCHIVE_CLAMAV_TIMEOUT_SECONDS), so it says nothing"
                )
                return result
            answer = _clamd_stream(address, path, left)
            if answer.endswith(" FOUND"):
                name = answer.removeprefix("stream:").strip().removesuffix(" FOUND").strip()
                result["found"].append({"file": path.name, "signature": name})
            elif "size limit exceeded" in answer:
                result["exceeded"].append({"file": path.name, "signature": answer})
            elif not answer.endswith("OK"):
                result["reason"] = f"clamd did not scan {path.name}: {answer or 'no answer'}"
                return result
    except TimeoutError:
        result["reason"] = (
            f"the virus scan took longer than {timeout:g} s and was stopped "
            "(ARCHIVE_CLAMAV_TIMEOUT_SECONDS), so it says nothing"
        )
        return result
    except OSError as exc:
        result["reason"] = (
            f"clamd at {address} cannot be reached ({exc.strerror or exc}), so nothing was "
            "scanned: start clamd (Debian package clamav-daemon) or unset ARCHIVE_CLAMAV_SOCKET"
        )
        return result
    if result["found"]:
        result["outcome"] = "found"
        return result
    if result["exceeded"]:
        names = ", ".join(e["file"] for e in result["exceeded"])
        result["reason"] = (
            f"clamd's stream limit (StreamMaxLength in clamd.conf) was exceeded for {names}: "
            "not fully scanned"
        )
        return result
    result["outcome"] = "clean"
    return result
