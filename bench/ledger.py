"""Benchmark: the evidence ledger at N leaves (default 20,000 manifest versions).

Appends N leaves one by one through the ledger service (one transaction each, as issuing
does; the leaves stand for no real manifest, so ``verify`` warns about each), then times: a
signed and timestamped checkpoint (development TSA), an inclusion proof, a consistency proof,
and ``ledger verify`` (the whole tree against every checkpoint). Wall clock and process CPU time
are both reported (the machine is shared).

uv run python -m bench.ledger [--leaves 20000]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.common import machine
from core.settings import Settings
from services.archive import Archive
from signing.ledger import inclusion_path


def timed(what: str, fn: Callable[[], Any]) -> Any:
    wall, cpu = time.perf_counter(), time.process_time()
    result = fn()
    print(
        f"{what:<34} {time.perf_counter() - wall:8.2f} s wall  "
        f"{time.process_time() - cpu:8.2f} s CPU"
    )
    return result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--leaves", type=int, default=20_000)
    args = parser.parse_args()
    print(machine())
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(data_dir=Path(tmp) / "var", _env_file=None)  # type: ignore[call-arg]
        with Archive(settings, parser_workers=1).open() as archive:
            ledger = archive.seal.ledger

            def append() -> None:
                for i in range(args.leaves):
                    ledger.append(i + 1, 1, f"{i:064x}")

            timed(f"append {args.leaves} leaves", append)
            timed("checkpoint (sign + timestamp)", ledger.checkpoint)
            ledger.append(args.leaves + 1, 1, f"{args.leaves:064x}")
            timed("checkpoint of one leaf more", ledger.checkpoint)
            timed(
                "inclusion proof (leaf in the middle)",
                lambda: inclusion_path(args.leaves // 2, ledger.leaf_hashes()),
            )
            timed("consistency proof", lambda: ledger.consistency(args.leaves // 3, args.leaves))
            report = timed("ledger verify (2 checkpoints)", ledger.verify)
            print(report.summary())


if __name__ == "__main__":
    main()
