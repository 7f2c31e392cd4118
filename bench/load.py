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
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx2 as httpx

from bench.bad_input import text_pages_pdf
from bench.common import CORPUS, Server, bench_env, machine, percentile

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
    http: httpx.AsyncClient, stats: Stats, rng: random.Random, until: float, prefix: str
) -> None:
    n = 0
    while time.monotonic() < until:
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


async def drive(
    url: str, seconds: float, clients: int, seed: int, headers: dict[str, str] | None = None
) -> tuple[Stats, float]:
    stats = Stats()
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(
        base_url=url, timeout=120, limits=limits, headers=headers or {}
    ) as http:
        # Warm-up, not measured: both server workers get uploads and searches.
        warm = Stats()
        await asyncio.gather(
            *(
                client(http, warm, random.Random(-i), time.monotonic() + 5, f"warm-{seed}-{i}")
                for i in range(4)
            )
        )
        started = time.monotonic()
        until = started + seconds
        await asyncio.gather(
            *(
                client(http, stats, random.Random(seed + i), until, f"{seed}-{i}")
                for i in range(clients)
            )
        )
        elapsed = time.monotonic() - started
        # The same searches alone (one client, after the load): the baseline of the same run.
        alone = Stats()
        await client_searches(http, alone, random.Random(seed), 60)
        stats.latencies["search alone"] = alone.latencies["search"]
        stats.latencies["  of which services.search"] = alone.latencies["search service"]
        stats.errors += alone.errors
    return stats, elapsed


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

    @property
    def requests(self) -> int:
        loaded = (v for k, v in self.stats.latencies.items() if k in ("search", "upload"))
        return sum(len(v) for v in loaded) + len(self.stats.errors)

    def summary(self) -> str:
        lines = [
            f"{self.clients} clients, {self.seconds:.0f} s, {self.preloaded} contracts preloaded, "
            f"{self.requests} requests ({self.requests / self.seconds:.1f}/s), "
            f"{len(self.stats.errors)} errors, server RSS max {self.max_rss / 1024**2:.0f} MB, "
            f"load average {self.load[0]:.1f} before, {self.load[1]:.1f} after "
            f"({os.cpu_count()} cores)",
            "",
            "| | requests | per second | p50 | p95 | p99 |",
            "|---|---|---|---|---|---|",
        ]
        for kind, values in self.stats.latencies.items():
            ms = [v * 1000 for v in values]
            lines.append(
                f"| {kind} | {len(ms)} | {len(ms) / self.seconds:.1f} | "
                f"{percentile(ms, 50):.0f} ms | {percentile(ms, 95):.0f} ms | "
                f"{percentile(ms, 99):.0f} ms |"
            )
        return "\n".join(lines)


def run(
    workdir: Path,
    seconds: float,
    clients: int,
    seed: int = 7,
    workers: int = 2,
    preload_limit: int | None = None,
) -> Result:
    data = workdir / "var"
    preloaded = preload(data, preload_limit)
    before = os.getloadavg()[0]
    with Server(data, workers=workers) as server:
        stats, elapsed = asyncio.run(drive(server.url, seconds, clients, seed, server.headers))
        max_rss = server.max_rss
    return Result(preloaded, elapsed, clients, stats, max_rss, (before, os.getloadavg()[0]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="load-") as tmp:
        result = run(Path(tmp), args.seconds, args.clients, args.seed)
    print(f"machine: {machine()}")
    print(result.summary())
    for error in result.stats.errors[:20]:
        print("error:", error)


if __name__ == "__main__":
    main()
