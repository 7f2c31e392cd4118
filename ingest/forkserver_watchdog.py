"""Preloaded by the worker pools' forkserver, and imported nowhere else: the forkserver exits
when the process that started it is gone (a parent-pipe watchdog by ``getppid``).

The forkserver leaves on its own when its parent closes the pipe it watches; when that does
not happen (the parent killed while another process still holds the pipe), it would live on
as an orphan with its preloaded modules. ``PR_SET_PDEATHSIG`` cannot be used here: it fires
when the *thread* that started the forkserver ends, and pools are started from short-lived
threads. The workers the forkserver forks die with it (``ingest.isolation.die_with_parent``).
"""

from __future__ import annotations

import os
import threading
import time

_PARENT = os.getppid()


def _watch() -> None:
    while True:
        time.sleep(1.0)
        if os.getppid() != _PARENT:
            os._exit(0)


threading.Thread(target=_watch, name="forkserver-parent-watchdog", daemon=True).start()
