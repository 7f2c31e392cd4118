"""What the stores leave behind when a process dies, and how to tell whether its owner lives.

Every temporary file and half-built index generation carries the *owner* that made it: a short
id of the host and the process id (``owner_tag()``; ingest claims carry ``host:pid``). After a
crash (SIGKILL, power loss) ``contract-archive doctor`` uses :func:`owner_alive` to tell the
leftovers of a dead process from the work in progress of a live one: on this host a dead pid is
certain; for another host only the age of the leftover can tell (``--grace``).

A backend that can leave such things behind implements :class:`HasLeftovers`.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import socket
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, runtime_checkable

_TAG = re.compile(r"^([0-9a-f]{8})-(\d+)-")


def host_id() -> str:
    """Eight hex digits naming this host (file names cannot hold every host name)."""
    return hashlib.sha256(socket.gethostname().encode()).hexdigest()[:8]


def owner_tag() -> str:
    """The prefix of a temporary name made by this process: ``<host id>-<pid>-``."""
    return f"{host_id()}-{os.getpid()}-"


def claim_owner() -> str:
    """Who holds an ingest claim: ``<host name>:<pid>``."""
    return f"{socket.gethostname()}:{os.getpid()}"


def pid_alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # it exists, owned by someone else
        return True
    return not _is_zombie(pid)


def _is_zombie(pid: int) -> bool:
    with contextlib.suppress(OSError, IndexError):
        stat = Path(f"/proc/{pid}/stat").read_text()
        return stat.rsplit(")", 1)[1].split()[0] == "Z"
    return False


def tag_owner_alive(name: str) -> bool | None:
    """For a name made with :func:`owner_tag` (or an OCR work directory,
    ``ocr-<host>-<pid>-<token>``): is its process alive? None when unknown (another host, or a
    name without a tag)."""
    if name.startswith("ocr-"):
        head, pid, _token = [*name[4:].rsplit("-", 2), "", ""][:3]
        if head != socket.gethostname() or not pid.isdigit():
            return None
        return pid_alive(int(pid))
    match = _TAG.match(name)
    if match is None or match.group(1) != host_id():
        return None
    return pid_alive(int(match.group(2)))


def claim_owner_alive(owner: str) -> bool | None:
    """For a claim owner ``host:pid``: is it alive? None when it runs on another host."""
    host, _, pid = owner.rpartition(":")
    if host != socket.gethostname() or not pid.isdigit():
        return None
    return pid_alive(int(pid))


@dataclass(frozen=True)
class Leftover:
    kind: str
    """``temporary file``, ``index generation``, ..."""
    name: str
    """Path or key, as shown to the user and handed back to ``remove_leftover``."""
    owner_alive: bool | None
    age_seconds: float

    def stale(self, grace_seconds: float) -> bool:
        """Left by a dead process (or, when that cannot be told, older than the grace)."""
        if self.owner_alive is not None:
            return not self.owner_alive
        return self.age_seconds > grace_seconds


def leftover_file(kind: str, path: Path) -> Leftover | None:
    """A Leftover for a file or directory named with an owner tag (None if it vanished)."""
    try:
        mtime = path.stat().st_mtime
    except FileNotFoundError:
        return None
    return Leftover(
        kind=kind,
        name=str(path),
        owner_alive=tag_owner_alive(path.name),
        age_seconds=max(0.0, time.time() - mtime),
    )


@runtime_checkable
class HasLeftovers(Protocol):
    def leftovers(self) -> list[Leftover]:
        """Temporary state of writes in progress or interrupted, live or not."""

    def remove_leftover(self, leftover: Leftover) -> None:
        """Remove one leftover returned by :meth:`leftovers` (gone already is fine)."""
