"""Preloaded by the worker pools' forkserver, and imported nowhere else: when the process that
started the forkserver is gone, the forkserver ends, and with it everything it started.

The forkserver leaves on its own when its parent closes the pipe it watches; when that does
not happen (the parent killed while another process still holds the pipe), it would live on
as an orphan with its preloaded modules, so a parent-pipe watchdog checks ``getppid`` every
second. ``PR_SET_PDEATHSIG`` cannot be used here: it fires when the *thread* that started the
forkserver ends, and pools are started from short-lived threads.

The workers the forkserver forks die with it (``ingest.isolation.die_with_parent``), and the
programs they run (LibreOffice, tesseract) die with their worker the same way. That chain
misses a process started by one of those programs (the death signal is not inherited across
``fork``) and a worker forked at the moment the forkserver ends; a LibreOffice was seen alive
30 s after SIGKILL of `contract-archive ingest` (1 run in 5 under load). So the forkserver is
also a child subreaper (``PR_SET_CHILD_SUBREAPER``): whatever is orphaned below it is
reparented to it, not to init, and before it ends it kills every process left below it.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import signal
import threading
import time
import warnings
from pathlib import Path

from ingest.isolation import libc

_PARENT = os.getppid()
_PR_SET_CHILD_SUBREAPER = 36


def _become_subreaper() -> bool:
    lib = libc()
    if lib is None or not hasattr(lib, "prctl"):
        return False
    return bool(lib.prctl(_PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0)


def children(pid: int) -> list[int]:
    """The live processes whose parent is ``pid`` (from /proc)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid and fields[0] not in ("Z", "X"):
            found.append(int(entry.name))
    return found


def kill_everything_below(limit: float = 10.0) -> None:
    """SIGKILL every process below this one, reaping as they die so that what they started is
    reparented here and killed in the next round, until none is left in two looks 0.1 s apart
    (a process forked by a dying one is reparented here a moment later); at most ``limit``
    seconds. With one look and 3 s, a LibreOffice still outlived `contract-archive ingest`'s
    SIGKILL under load (1 suite run in 2 at load average 7-10)."""
    me = os.getpid()
    deadline = time.monotonic() + limit
    empty = 0
    killed = False
    while time.monotonic() < deadline:
        left = children(me)
        if not left:
            empty += 1
            if not killed or empty >= 2:  # nothing was below: nothing can be reparented here
                break
            time.sleep(0.1)
            continue
        empty, killed = 0, True
        for pid in left:
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
        time.sleep(0.02)
        with contextlib.suppress(ChildProcessError, OSError):
            while os.waitpid(-1, os.WNOHANG)[0]:
                pass


def _watch() -> None:
    while True:
        time.sleep(1.0)
        if os.getppid() != _PARENT:
            kill_everything_below()
            os._exit(0)


if _become_subreaper():
    # orphans reparented here are reaped by the forkserver's own SIGCHLD loop, which warns
    # about each pid it did not fork
    warnings.filterwarnings("ignore", message="forkserver: waitpid returned unexpected pid")
    # the forkserver ends with SystemExit when its parent closes the pipe; the processes it
    # forks leave through os._exit and never run this
    atexit.register(kill_everything_below)
threading.Thread(target=_watch, name="forkserver-parent-watchdog", daemon=True).start()
