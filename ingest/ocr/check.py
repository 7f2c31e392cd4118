"""Start-up check: is tesseract installed, with every language pack OCR will ask for?

A missing binary or pack is a :class:`OcrUnavailable` error that names the Debian package to
install, raised before the server or a worker takes any work, never a page failure later.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from dataclasses import dataclass

from ingest.ocr.errors import OcrUnavailable

TESSERACT = "tesseract"
_VERSION = re.compile(r"tesseract\s+v?(\d+(?:\.\d+)*)", re.I)
_LANGUAGE = re.compile(r"^[A-Za-z0-9_]+$")


@dataclass(frozen=True)
class TesseractInfo:
    version: str
    languages: frozenset[str]


def apt_package(language: str) -> str:
    """Debian's package for a tesseract language: chi_sim → tesseract-ocr-chi-sim."""
    return "tesseract-ocr-" + language.lower().replace("_", "-")


def split_languages(languages: str) -> list[str]:
    parts = [p for p in languages.split("+") if p]
    if not parts or any(not _LANGUAGE.match(p) for p in parts):
        raise OcrUnavailable(
            f"invalid OCR languages {languages!r}",
            hint="set ARCHIVE_OCR_LANGUAGES to tesseract codes joined by '+', e.g. chi_sim+eng",
        )
    return parts


def check_tesseract(languages: str, *, orientation: bool = True) -> TesseractInfo:
    """The installed tesseract, or OcrUnavailable naming what to install."""
    wanted = split_languages(languages) + (["osd"] if orientation else [])
    binary = shutil.which(TESSERACT)
    if binary is None:
        raise OcrUnavailable(
            "OCR needs the tesseract program, which is not installed",
            hint="apt-get install tesseract-ocr "
            + " ".join(apt_package(lang) for lang in wanted)
            + " (or run scripts/bootstrap.sh)",
        )
    env = dict(os.environ, OMP_THREAD_LIMIT="1")
    try:
        version_run = subprocess.run(
            [binary, "--version"], capture_output=True, timeout=30, check=False, env=env
        )
        langs_run = subprocess.run(
            [binary, "--list-langs"], capture_output=True, timeout=30, check=False, env=env
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise OcrUnavailable(
            f"the tesseract program at {binary} cannot be run: {exc}",
            hint="reinstall it: apt-get install --reinstall tesseract-ocr",
        ) from exc
    found = _VERSION.search(version_run.stdout.decode("utf-8", "replace"))
    if version_run.returncode != 0 or not found:
        raise OcrUnavailable(
            f"{binary} --version failed (exit status {version_run.returncode})",
            hint="reinstall it: apt-get install --reinstall tesseract-ocr",
        )
    version = found.group(1)
    if int(version.split(".")[0]) < 4:
        raise OcrUnavailable(
            f"tesseract {version} is too old: OCR needs tesseract 4 or newer (LSTM models)",
            hint="install tesseract-ocr from Debian 11 or newer",
        )
    listed = langs_run.stdout.decode("utf-8", "replace").splitlines()
    # The first line names the tessdata directory; each following line is a language.
    installed = frozenset(line.strip() for line in listed[1:] if _LANGUAGE.match(line.strip()))
    missing = [lang for lang in wanted if lang not in installed]
    if missing:
        where = listed[0].strip() if listed else "tessdata"
        raise OcrUnavailable(
            "tesseract language pack"
            + ("s " if len(missing) > 1 else " ")
            + ", ".join(missing)
            + f" missing ({where.rstrip(':')})",
            hint="apt-get install " + " ".join(apt_package(lang) for lang in missing),
            details={"missing": missing, "installed": sorted(installed)},
        )
    return TesseractInfo(version=version, languages=installed)
