"""Load: many concurrent clients against `contract-archive serve --workers 2`.

    uv run python -m bench.load [--seconds 60] [--clients 16]

A fresh data directory is filled with the corpus's digital contracts (CUAD and the Chinese model
contracts) through the CLI, then the server starts with 2 worker processes. Each client loops
for the given time: 80 % searches (Chinese words and phrases, English phrases, exclusions, OR
groups, field filters, facets, paging), 20 % uploads of a fresh 3-page PDF (unique bytes, so
each upload is archived in full: parse, store, record, index). Every response must be 200 or
201; anything else (or a connection error) is counted as an error. Prints throughput and
p50/p95/p99 latencies per kind, the largest RSS of the server tree and the load average. Five
seconds of warm-up traffic from 4 clients come first and are not counted. After the load, the
same mix of searches runs alone (one client, 60 requests): "search alone", the baseline of the
same run, so that the ratio means something on a shared machine; and of it, the time the search
service reported (``took_ms``: parse, index, facets, snippets), the rest being the request's
handling around it.

Then "bad input under load" (issue 19): the clients go on with the same mix while a burst of 100
uploads (``--burst``; 90 fresh 3-page PDFs and 10 hostile files from ``bench.hostile``, in a
seeded order, 8 at a time) is sent beside them. Every burst file must get its outcome: the text
PDFs 201, a hostile file 201/202 (archived; 202 when OCR was queued) or 200 (a duplicate) or a
4xx with a reason (422: rejected); anything else, and any failed request of the clients, is an
error. The searches during the burst are reported on their own row. ``--burst 0``: no burst.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx2 as httpx

from bench import hostile
from bench.bad_input import text_pages_pdf
from bench.common import (
    CORPUS,
    Server,
    bench_env,
    descendants,
    machine,
    percentile,
    tree_pss,
)

QUERIES = [
    "违约责任",
    "不可抗力",
    "合同",
    "甲方 乙方",
    '"买卖合同"',
    "违约 -草稿",
    "租赁 OR 买卖",
    '"limitation of liability"',
    "indemnify OR indemnification",
    "termination notice",
    '"governing law"',
    "confidential -draft",
    "(warranty OR warranties) damages",
    "agreement",
    "title:agreement",
    "year:2026",
    "archived:[2020-01-01 TO 2030-12-31] license",
    "exclusivity",
    "parties agree",
    "payment",
]


@dataclass
class Stats:
    latencies: dict[str, list[float]] = field(default_factory=lambda: {"search": [], "upload": []})
    errors: list[str] = field(default_factory=list)
    steady_cpu: float = 0.0
    """CPU seconds of the server's tree during the measured load (not warm-up, burst)."""
    steady_rss: int = 0
    """The largest RSS of the server's tree up to the end of the measured load."""
    steady_pss: int = 0
    """The PSS of the server's tree at the end of the measured load (``tree_pss``)."""


def preload(data_dir: Path, limit: int | None = None) -> int:
    files = sorted(
        p
        for folder in ("zh", "en-cuad")
        for p in (CORPUS / folder).rglob("*")
        if p.is_file() and p.suffix.lower() == ".pdf"
    )[:limit]
    r = subprocess.run(
        [
            str(Path(sys.executable).parent / "contract-archive"),
            "ingest",
            "--json",
            *map(str, files),
        ],
        capture_output=True,
        text=True,
        env=bench_env(data_dir),
        timeout=1800,
        check=False,
    )
    if r.returncode not in (0, 1):
        raise RuntimeError(f"preload failed: {r.stderr[-2000:]}")
    return sum(1 for line in r.stdout.splitlines() if '"archived"' in line)


async def client(
    http: httpx.AsyncClient,
    stats: Stats,
    rng: random.Random,
    until: float | asyncio.Event,
    prefix: str,
) -> None:
    """Requests in a loop until the time ``until`` (monotonic) or until the event is set."""

    def go_on() -> bool:
        if isinstance(until, asyncio.Event):
            return not until.is_set()
        return time.monotonic() < until

    n = 0
    while go_on():
        n += 1
        started = time.perf_counter()
        try:
            if rng.random() < 0.8:
                kind = "search"
                params = {"q": rng.choice(QUERIES), "limit": 10, "offset": rng.choice([0, 0, 10])}
                if rng.random() < 0.2:
                    params["facets"] = "true"
                r = await http.get("/api/v1/search", params=params)
                ok = r.status_code == 200
            else:
                kind = "upload"
                pdf = text_pages_pdf(3, f"load test {prefix}-{n} {rng.random()}")
                r = await http.post(
                    "/api/v1/contracts",
                    files={"file": (f"load-{prefix}-{n}.pdf", pdf, "application/pdf")},
                    data={"customer": f"Load Customer {n % 7}"},
                )
                ok = r.status_code == 201
            if not ok:
                stats.errors.append(f"{kind} {r.status_code}: {r.text[:200]}")
        except httpx.HTTPError as exc:
            stats.errors.append(f"{kind}: {type(exc).__name__}: {exc}")
            continue
        stats.latencies[kind].append(time.perf_counter() - started)


@dataclass
class Burst:
    """The burst of uploads sent beside the clients: each file's outcome."""

    seconds: float = 0.0
    outcomes: list[tuple[str, str, int, str]] = field(default_factory=list)
    """(kind of file, name, HTTP status or 0 for a connection error, reason)"""
    errors: list[str] = field(default_factory=list)
    searches: list[float] = field(default_factory=list)

    def hostile_summary(self) -> str:
        seen: dict[str, int] = {}
        for kind, _name, status, reason in self.outcomes:
            if kind == "hostile":
                label = {201: "archived", 202: "archived, OCR queued", 200: "duplicate"}.get(
                    status, f"{status} {reason[:60]}" if status else "no answer"
                )
                seen[label] = seen.get(label, 0) + 1
        return ", ".join(f"{v} {k}" for k, v in sorted(seen.items()))


async def burst_uploads(
    url: str, headers: dict[str, str], count: int, seed: int, concurrency: int = 8
) -> Burst:
    """``count`` uploads, a tenth of them hostile (``bench.hostile``), ``concurrency`` at once."""
    result = Burst()
    rng = random.Random(seed)
    bad = hostile.generate(seed, count // 10)
    files = [("hostile", f"burst-{h.name}", h.data) for h in bad]
    files += [
        ("text", f"burst-{seed}-{i}.pdf", text_pages_pdf(3, f"burst {seed}-{i} {rng.random()}"))
        for i in range(count - len(files))
    ]
    rng.shuffle(files)
    queue: asyncio.Queue[tuple[str, str, bytes]] = asyncio.Queue()
    for item in files:
        queue.put_nowait(item)
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)

    async def sender(http: httpx.AsyncClient) -> None:
        while not queue.empty():
            kind, name, data = queue.get_nowait()
            try:
                r = await http.post(
                    "/api/v1/contracts",
                    files={"file": (name, data, "application/pdf")},
                    data={"customer": "Burst Customer"},
                )
            except httpx.HTTPError as exc:
                result.outcomes.append((kind, name, 0, f"{type(exc).__name__}: {exc}"))
                result.errors.append(f"burst {kind} {name}: {type(exc).__name__}: {exc}")
                continue
            reason = ""
            if r.status_code >= 400:
                try:
                    reason = str(r.json()["error"]["message"])
                except (ValueError, KeyError, TypeError):
                    reason = ""
            result.outcomes.append((kind, name, r.status_code, reason))
            fine = (
                r.status_code == 201
                if kind == "text"
                else r.status_code in (200, 201, 202) or (400 <= r.status_code < 500 and reason)
            )
            if not fine:
                result.errors.append(f"burst {kind} {name} {r.status_code}: {r.text[:200]}")

    started = time.monotonic()
    async with httpx.AsyncClient(base_url=url, timeout=600, limits=limits, headers=headers) as http:
        await asyncio.gather(*(sender(http) for _ in range(concurrency)))
    result.seconds = time.monotonic() - started
    return result


async def drive(
    url: str,
    seconds: float,
    clients: int,
    seed: int,
    headers: dict[str, str] | None = None,
    burst: int = 100,
    probe: Callable[[], tuple[float, int, int]] = lambda: (0.0, 0, 0),
    warmup: float = 5,
) -> tuple[Stats, float, Burst | None]:
    """``probe`` says the server tree's CPU seconds so far, its largest RSS and its PSS now;
    ``warmup``:
    seconds of unmeasured traffic first."""
    stats = Stats()
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(
        base_url=url, timeout=120, limits=limits, headers=headers or {}
    ) as http:
        # Warm-up, not measured: both server workers get uploads and searches.
        warm = Stats()
        await asyncio.gather(
            *(
                client(http, warm, random.Random(-i), time.monotonic() + warmup, f"warm-{seed}-{i}")
                for i in range(4)
            )
        )
        started = time.monotonic()
        cpu_started = probe()[0]
        until = started + seconds
        await asyncio.gather(
            *(
                client(http, stats, random.Random(seed + i), until, f"{seed}-{i}")
                for i in range(clients)
            )
        )
        elapsed = time.monotonic() - started
        cpu_ended, stats.steady_rss, stats.steady_pss = probe()
        stats.steady_cpu = cpu_ended - cpu_started
        # The same searches alone (one client, after the load): the baseline of the same run.
        alone = Stats()
        await client_searches(http, alone, random.Random(seed), 60)
        stats.latencies["search alone"] = alone.latencies["search"]
        stats.latencies["  of which services.search"] = alone.latencies["search service"]
        stats.errors += alone.errors
        # Bad input under load: the clients go on while the burst is sent beside them.
        sent: Burst | None = None
        if burst > 0:
            done = asyncio.Event()
            during = Stats()

            async def send() -> Burst:
                try:
                    return await burst_uploads(url, headers or {}, burst, seed)
                finally:
                    done.set()

            results = await asyncio.gather(
                send(),
                *(
                    client(http, during, random.Random(seed * 31 + i), done, f"b{seed}-{i}")
                    for i in range(clients)
                ),
            )
            sent = results[0]
            sent.searches = during.latencies["search"]
            sent.errors += during.errors
            stats.latencies["search during the burst"] = during.latencies["search"]
            stats.latencies["upload during the burst (clients)"] = during.latencies["upload"]
    return stats, elapsed, sent


async def client_searches(
    http: httpx.AsyncClient, stats: Stats, rng: random.Random, count: int
) -> None:
    for _ in range(count):
        params = {"q": rng.choice(QUERIES), "limit": 10, "offset": rng.choice([0, 0, 10])}
        if rng.random() < 0.2:
            params["facets"] = "true"
        started = time.perf_counter()
        r = await http.get("/api/v1/search", params=params)
        if r.status_code != 200:
            stats.errors.append(f"search alone {r.status_code}: {r.text[:200]}")
            continue
        stats.latencies["search"].append(time.perf_counter() - started)
        stats.latencies.setdefault("search service", []).append(r.json()["took_ms"] / 1000)


@dataclass
class Result:
    preloaded: int
    seconds: float
    clients: int
    stats: Stats
    max_rss: int
    load: tuple[float, float] = (0.0, 0.0)
    """The 1-minute load average before and after the run."""
    burst: Burst | None = None

    def rate(self, kind: str) -> str:
        seconds = self.burst.seconds if self.burst and "burst" in kind else self.seconds
        return f"{len(self.stats.latencies[kind]) / seconds:.1f}" if seconds else "-"

    @property
    def requests(self) -> int:
        loaded = (v for k, v in self.stats.latencies.items() if k in ("search", "upload"))
        return sum(len(v) for v in loaded) + len(self.stats.errors)

    def summary(self) -> str:
        lines = [
            f"{self.clients} clients, {self.seconds:.0f} s, {self.preloaded} contracts preloaded, "
            f"{self.requests} requests ({self.requests / self.seconds:.1f}/s), "
            f"{len(self.stats.errors)} errors, server tree RSS max "
            f"{self.stats.steady_rss / 1024**2:.0f} MB during the load "
            f"({self.max_rss / 1024**2:.0f} MB with the burst; PSS "
            f"{self.stats.steady_pss / 1024**2:.0f} MB at the end of the load: the pages the "
            f"processes share counted once), server tree CPU "
            f"{self.stats.steady_cpu:.0f} s during the load "
            f"({self.stats.steady_cpu / self.requests * 1000:.0f} ms per request), "
            f"load average {self.load[0]:.1f} before, {self.load[1]:.1f} after "
            f"({os.cpu_count()} cores)",
            "",
            "| | requests | per second | p50 | p95 | p99 |",
            "|---|---|---|---|---|---|",
        ]
        for kind, values in self.stats.latencies.items():
            ms = [v * 1000 for v in values]
            lines.append(
                f"| {kind} | {len(ms)} | {self.rate(kind)} | "
                f"{percentile(ms, 50):.0f} ms | {percentile(ms, 95):.0f} ms | "
                f"{percentile(ms, 99):.0f} ms |"
            )
        if self.burst is not None:
            b = self.burst
            texts = [o for o in b.outcomes if o[0] == "text"]
            lines += [
                "",
                f"burst: {len(b.outcomes)} uploads in {b.seconds:.0f} s beside the clients; "
                f"text PDFs: {sum(1 for o in texts if o[2] == 201)} of {len(texts)} archived; "
                f"hostile: {b.hostile_summary()}; {len(b.errors)} errors (burst and clients)",
            ]
        return "\n".join(lines)


def tree_cpu(pid: int) -> float:
    """CPU seconds (user + system) of a process, its reaped children and its live descendants
    (a descendant that ended is counted once its parent reaped it)."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0
    for p in (pid, *descendants(pid)):
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        # utime stime cutime cstime (fields 14-17 of stat; after the name, 12-15 here)
        total += sum(int(x) for x in fields[11:15])
    return total / tick


def run(
    workdir: Path,
    seconds: float,
    clients: int,
    seed: int = 7,
    workers: int = 2,
    preload_limit: int | None = None,
    burst: int = 100,
    preloaded_copy: Path | None = None,
    warmup: float = 5,
) -> Result:
    """``preloaded_copy``: a data directory preloaded by an earlier run (kept there once made),
    copied instead of ingesting the corpus again: back-to-back runs of two versions start from
    the same archive, minutes sooner on a busy machine. ``warmup``: seconds of unmeasured
    warm-up traffic (the test suite's short run takes less)."""
    data = workdir / "var"
    if preloaded_copy is not None:
        if not (preloaded_copy / "var").is_dir():
            count = preload(preloaded_copy / "var", preload_limit)
            (preloaded_copy / "count").write_text(str(count))
        shutil.copytree(preloaded_copy / "var", data)
        preloaded = int((preloaded_copy / "count").read_text())
    else:
        preloaded = preload(data, preload_limit)
    before = os.getloadavg()[0]
    with Server(data, workers=workers) as server:
        pid = server.proc.pid
        stats, elapsed, sent = asyncio.run(
            drive(
                server.url,
                seconds,
                clients,
                seed,
                server.headers,
                burst,
                probe=lambda: (tree_cpu(pid), server.max_rss, tree_pss(pid)),
                warmup=warmup,
            )
        )
        max_rss = server.max_rss
    return Result(
        preloaded,
        elapsed,
        clients,
        stats,
        max_rss,
        (before, os.getloadavg()[0]),
        burst=sent,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--burst", type=int, default=100, help="uploads of the burst (a tenth hostile); 0: none"
    )
    parser.add_argument(
        "--preloaded",
        type=Path,
        default=None,
        help="a folder for the preloaded archive, made on first use and copied by later runs",
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="load-") as tmp:
        result = run(
            Path(tmp),
            args.seconds,
            args.clients,
            args.seed,
            burst=args.burst,
            preloaded_copy=args.preloaded,
        )
    print(f"machine: {machine()}")
    print(result.summary())
    errors = result.stats.errors + (result.burst.errors if result.burst else [])
    for error in errors[:20]:
        print("error:", error)


if __name__ == "__main__":
    main()
