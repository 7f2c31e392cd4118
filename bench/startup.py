"""Start-up: `contract-archive --help` and a `search` on a small archive, as a user runs them.

    uv run python -m bench.startup [--runs 7] [--files 10]

Each command runs as the installed program (the console script beside this Python) in a fresh
process; wall time is measured around the process, the maximum RSS comes from the kernel's
rusage of the child (wait4). The median of ``--runs`` runs is reported, after one warm-up run
(which compiles nothing when the install compiled bytecode, and fills the page cache).

CPU time (user + system, from the same rusage) is printed beside the wall time: on a shared
machine under load it is the steadier figure.

The archive is made first in a temporary directory with `contract-archive ingest` of the first
``--files`` digital English and Chinese corpus PDFs. Goals (issue 12): `--help` <= 0.3 s and a
`search` <= 0.8 s on the development machine.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.common import CORPUS, bench_env, machine

PROGRAM = Path(sys.executable).parent / "contract-archive"
GOALS = {"--help": 0.3, "search": 0.8}


def run_once(args: list[str], env: dict[str, str]) -> tuple[float, float, int]:
    """(wall seconds, CPU seconds (user + system), max RSS in bytes) of one run of the program.

    CPU time is reported beside wall time because the development machine is shared: under
    load the wall time says more about the neighbours than about the program."""
    start = time.perf_counter()
    proc = subprocess.Popen(
        [str(PROGRAM), *args], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    assert proc.stderr is not None
    err = proc.stderr.read()
    _pid, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    proc.stderr.close()
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(args)} failed ({proc.returncode}): {err.decode()[-2000:]}")
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss * 1024


def measure(name: str, args: list[str], env: dict[str, str], runs: int) -> dict[str, float]:
    run_once(args, env)  # warm-up
    walls, cpus, rss = [], [], []
    for _ in range(runs):
        wall, cpu, peak = run_once(args, env)
        walls.append(wall)
        cpus.append(cpu)
        rss.append(peak)
    result = {
        "median_s": statistics.median(walls),
        "median_cpu_s": statistics.median(cpus),
        "min_s": min(walls),
        "max_s": max(walls),
        "median_rss_mib": statistics.median(rss) / 2**20,
    }
    goal = GOALS.get(name)
    verdict = ""
    if goal is not None:
        verdict = f"  goal <= {goal} s: {'met' if result['median_s'] <= goal else 'MISSED'}"
    print(
        f"{name:8} median {result['median_s']:.3f} s (min {result['min_s']:.3f}, "
        f"max {result['max_s']:.3f}) over {runs} runs, CPU {result['median_cpu_s']:.3f} s, "
        f"max RSS {result['median_rss_mib']:.0f} MiB"
        f"{verdict}"
    )
    return result


def corpus_pdfs(count: int) -> list[Path]:
    english = sorted((CORPUS / "en-cuad").rglob("*.pdf"))
    chinese = sorted((CORPUS / "zh").rglob("*.pdf"))
    picked = english[: count - count // 3] + chinese[: count // 3]
    if not picked:
        raise SystemExit(f"no corpus PDFs under {CORPUS}")
    return picked


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--files", type=int, default=10)
    opts = parser.parse_args()
    if not PROGRAM.exists():
        raise SystemExit(f"{PROGRAM} is missing: run `uv sync`")
    print(f"machine: {machine()}; load average {os.getloadavg()[0]:.2f}")
    with tempfile.TemporaryDirectory(prefix="bench-startup-") as tmp:
        env = bench_env(Path(tmp) / "var")
        files = corpus_pdfs(opts.files)
        start = time.perf_counter()
        ingest = subprocess.run(
            [str(PROGRAM), "ingest", *map(str, files)], env=env, capture_output=True, text=True
        )
        if ingest.returncode != 0:
            raise SystemExit(f"ingest failed ({ingest.returncode}):\n{ingest.stderr[-2000:]}")
        print(f"archive: {len(files)} corpus PDFs ingested in {time.perf_counter() - start:.1f} s")
        measure("--help", ["--help"], env, opts.runs)
        measure("search", ["search", "agreement"], env, opts.runs)
        found = subprocess.run(
            [str(PROGRAM), "search", "agreement"], env=env, capture_output=True, text=True
        )
        matched = [line for line in found.stdout.splitlines() if "match" in line]
        print(f"(the search: {matched[0].strip() if matched else found.stdout[:200]})")


if __name__ == "__main__":
    main()
