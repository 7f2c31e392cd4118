"""The data directory is private to the archive's user (issue 20).

Every original, its text and the database hold what restricted classes hide from other archive
users, so no other account on the host may read them: the archive sets the umask ``0o077`` when
it opens, folders are ``0700``, stored objects ``0400`` (read-only: nothing rewrites an
original), every other file (the SQLite database and its journal, the index, keys) ``0600`` at
most. :func:`check_data_dir` refuses to start on a data directory other users can write (they
could swap a file under the archive); :func:`wider_than_private` lists what is wider than that,
for ``contract-archive doctor`` to report and repair.
"""

from __future__ import annotations

import logging
import os
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from core.errors import ConfigurationError

log = logging.getLogger(__name__)

PRIVATE_UMASK = 0o077
DIR_MODE = 0o700
OBJECT_MODE = 0o400
FILE_MODE = 0o600


def set_private_umask() -> None:
    """Files and folders the process makes from now on are its user's only."""
    os.umask(PRIVATE_UMASK)


def check_data_dir(data_dir: Path) -> None:
    """Refuse a data directory (or a folder directly in it) that other users can write; warn
    about one they can read (``contract-archive doctor --repair`` narrows it)."""
    for path in (data_dir, *_subdirs(data_dir)):
        try:
            mode = path.lstat().st_mode
        except FileNotFoundError:
            continue
        if stat.S_ISDIR(mode) and mode & 0o022:
            raise ConfigurationError(
                f"the data directory {path} is writable by other users (mode "
                f"{stat.S_IMODE(mode):04o}): they could replace what the archive stores",
                hint=f"chmod 700 {path} (and run `contract-archive doctor --repair`)",
            )
    mode = data_dir.stat().st_mode
    if mode & 0o077:
        log.warning(
            "the data directory %s is readable by other users (mode %04o); run "
            "`contract-archive doctor --repair`",
            data_dir,
            stat.S_IMODE(mode),
        )


def _subdirs(data_dir: Path) -> list[Path]:
    try:
        return [p for p in data_dir.iterdir() if p.is_dir() and not p.is_symlink()]
    except OSError:
        return []


@dataclass(frozen=True)
class WidePath:
    path: Path
    mode: int
    wanted: int

    @property
    def kind(self) -> str:
        return "folder" if self.wanted == DIR_MODE else "file"


def wanted_mode(path: Path, mode: int, objects_dir: Path) -> int:
    """The mode ``path`` should have: 0700 for a folder, 0400 for a stored object, the owner's
    bits of ``mode`` for any other file."""
    if stat.S_ISDIR(mode):
        return DIR_MODE
    if path.is_relative_to(objects_dir) and not _in_tmp(path, objects_dir):
        return OBJECT_MODE
    return stat.S_IMODE(mode) & FILE_MODE


def _in_tmp(path: Path, objects_dir: Path) -> bool:
    parts = path.relative_to(objects_dir).parts
    return bool(parts) and parts[0].startswith(".")


def wider_than_private(data_dir: Path, objects_dir: Path) -> Iterator[WidePath]:
    """Every folder and file under ``data_dir`` (itself included) whose mode gives anything to
    other users, or an object that its owner may write. Symbolic links are not followed."""
    if not data_dir.is_dir():
        return
    for root, dirs, files in os.walk(data_dir):
        here = Path(root)
        for name in [*dirs, *files] if here != data_dir else ["", *dirs, *files]:
            path = here / name if name else here
            try:
                mode = path.lstat().st_mode
            except FileNotFoundError:
                continue
            if stat.S_ISLNK(mode) or not (stat.S_ISDIR(mode) or stat.S_ISREG(mode)):
                continue
            wanted = wanted_mode(path, mode, objects_dir)
            current = stat.S_IMODE(mode)
            too_wide = current & 0o077 or (wanted == OBJECT_MODE and current & 0o200)
            if too_wide:
                yield WidePath(path, current, wanted)


def narrow(item: WidePath) -> None:
    os.chmod(item.path, item.wanted)  # links were left out by wider_than_private
