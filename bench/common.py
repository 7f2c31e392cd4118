"""Helpers shared by the benchmarks: where the corpus is, what machine this is."""

from __future__ import annotations

import os
import platform
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CORPUS = (ROOT.parent / "shared" / "corpus").resolve()


def machine() -> str:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = ""
    try:
        kb = int(Path("/proc/meminfo").read_text().split()[1])
        mem = f", {kb / 1024 / 1024:.0f} GiB RAM"
    except (OSError, ValueError, IndexError):
        pass
    return f"{os.cpu_count()} cores, {cpu}{mem}, Python {platform.python_version()}"


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return 0.0
    k = (len(ordered) - 1) * p / 100
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def bench_env(data_dir: Path) -> dict[str, str]:
    """The environment for a child archive process: no ARCHIVE_* of ours, this data dir."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ARCHIVE_")}
    env.update({"ARCHIVE_DATA_DIR": str(data_dir), "ARCHIVE_LOG_LEVEL": "error"})
    return env


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


PAGE_SIZE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096


def tree_rss(pid: int) -> int:
    """RSS in bytes of a process and all its descendants.

    One read of ``/proc/<pid>/stat`` per process: its ``rss`` field (resident pages) is the
    counter ``VmRSS`` of ``/proc/<pid>/status`` shows in kB. The sampler of :class:`Server`
    calls this 20 times a second over every process of the machine; reading ``status`` too
    cost 13 ms of CPU a call (a quarter of a core) on a machine running 150 processes."""
    children: dict[int, list[int]] = {}
    rss: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        child = int(entry.name)
        children.setdefault(int(stat[1]), []).append(child)
        rss[child] = int(stat[21]) * PAGE_SIZE  # field 24 of stat: resident pages
    total, todo = 0, [pid]
    while todo:
        p = todo.pop()
        total += rss.get(p, 0)
        todo.extend(children.get(p, []))
    return total


def tree_pss(pid: int) -> int:
    """PSS in bytes of a process and all its descendants: each page a process shares with
    others (the interpreter, libraries, what a forkserver loaded before it forked its workers)
    counted as its share, so the sum is the memory the tree takes, where the sum of RSS counts
    a shared page once per process. Reads ``/proc/<pid>/smaps_rollup`` (the kernel walks each
    process's pages: a few ms a process), so it is taken at points, not sampled."""
    total = 0
    for p in [pid, *descendants(pid)]:
        try:
            with open(f"/proc/{p}/smaps_rollup") as fh:
                for line in fh:
                    if line.startswith("Pss:"):
                        total += int(line.split()[1]) * 1024
                        break
        except OSError:
            continue
    return total


_TOKEN_SCRIPT = """
from services.access.service import AccessControl
from services.archive import Archive
from core.settings import get_settings
from storage.records.access_base import NewUser

with Archive(get_settings()).open() as archive:
    access = AccessControl.for_archive(archive)
    user = access.store.get_user("bench-admin") or access.store.add_user(
        NewUser(username="bench-admin", roles=("admin",), created_by="bench")
    )
    print(access.create_token(access.caller_for(user, via="cli"), name="bench")[1])
"""


def admin_headers(data_dir: Path) -> dict[str, str]:
    """``Authorization`` for an admin of the archive in ``data_dir`` (every API route needs
    credentials since access control): a user ``bench-admin`` and a fresh API token."""
    done = subprocess.run(
        [sys.executable, "-c", _TOKEN_SCRIPT],
        env=bench_env(data_dir),
        capture_output=True,
        text=True,
        timeout=300,
    )
    if done.returncode != 0:
        raise AssertionError(f"could not make a bench token: {done.stderr[-2000:]}")
    token = done.stdout.strip().splitlines()[-1]
    return {"Authorization": f"Bearer {token}"}


def running(pid: int) -> bool:
    """The process lives and is not a zombie (one that ended and waits to be reaped)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat[stat.rindex(")") + 2 :].split()[0] not in ("Z", "X")


def descendants(root: int) -> list[int]:
    """Every process below ``root`` now (from /proc; empty where there is none)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(entry.name))
    found: list[int] = []
    todo = [root]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


class Server:
    """`contract-archive serve` in a subprocess, stopped on exit; samples its tree's RSS."""

    def __init__(self, data_dir: Path, workers: int = 1, extra_env: dict[str, str] | None = None):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = bench_env(data_dir)
        env.update(extra_env or {})
        self.log = data_dir.parent / f"server-{self.port}.log"
        data_dir.parent.mkdir(parents=True, exist_ok=True)
        self._log_fh = open(self.log, "wb")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(
            [
                str(Path(sys.executable).parent / "contract-archive"),
                "serve",
                "--port",
                str(self.port),
                "--workers",
                str(workers),
            ],
            env=env,
            stdout=self._log_fh,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.data_dir = data_dir
        self.headers: dict[str, str] = {}
        """An admin's credentials, set once the server answers."""
        self.max_rss = 0
        self._stop = threading.Event()
        self._sampler = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        while not self._stop.is_set():
            self.max_rss = max(self.max_rss, tree_rss(self.proc.pid))
            self._stop.wait(0.05)

    def __enter__(self) -> Server:
        import httpx2 as httpx

        deadline = time.monotonic() + 120
        while True:
            if self.proc.poll() is not None:
                self.stop()
                raise AssertionError(f"the server exited: {self.log.read_text()[-3000:]}")
            try:
                if httpx.get(f"{self.url}/api/v1/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                self.stop()
                raise AssertionError("the server did not start in 120 s")
            time.sleep(0.2)
        try:
            self.headers = admin_headers(self.data_dir)
        except BaseException:
            self.stop()
            raise
        self._sampler.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        tree = descendants(self.proc.pid)
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        # What the server leaves ending on its own gets a moment first: multiprocessing's
        # resource tracker outlives the server on purpose and removes the named semaphores its
        # pools registered once the last of them is gone (killed at once, it left 5-10
        # /dev/shm/sem.mp-* files behind each run). Then processes of the server in groups of
        # their own (OCR workers and what they started) that outlived it, a known gap of issue
        # 14 (orphans of a killed server): the bench does not leave them running.
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and any(running(pid) for pid in tree):
            time.sleep(0.1)
        for pid in tree:
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        self._log_fh.close()

    def __exit__(self, *exc: object) -> None:
        self.stop()
