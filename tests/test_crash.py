"""Crash consistency: an ingest batch of corpus files SIGKILLed at random points.

The logic is in ``bench/crash_consistency.py`` (its docstring says what is checked after each
kill). The suite runs ARCHIVE_TEST_CRASH_ROUNDS rounds (default 1) of a batch of
ARCHIVE_TEST_CRASH_FILES files (default 20, the smallest digital PDFs of the corpus: a kill lands
in start-up, the first file or the batch alike; one round of 50 cost 112 s of CPU), to stay
quick on a 2-core CI machine; ``uv run python -m bench.crash_consistency`` runs the 20 rounds of
50 files the README reports.
"""

from __future__ import annotations

import os
import random
from pathlib import Path

import pytest

from bench import crash_consistency as crash

ROUNDS = int(os.environ.get("ARCHIVE_TEST_CRASH_ROUNDS", "1"))
FILES = int(os.environ.get("ARCHIVE_TEST_CRASH_FILES", "20"))


@pytest.mark.slow
@pytest.mark.timeout(1800)
def test_sigkill_during_a_batch_leaves_files_archived_or_absent(tmp_path: Path) -> None:
    results = crash.run(ROUNDS, seed=random.randrange(1 << 30), workdir=tmp_path, files=FILES)
    assert len(results) == ROUNDS
    for res in results:
        # Every file was accounted for after the kill (run() raises on any violation).
        assert res.state["archived"] + res.state["absent"] == FILES
