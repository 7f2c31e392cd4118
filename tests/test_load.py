"""The load script (``bench/load.py``) in a short run: concurrent searches and uploads against
`contract-archive serve --workers 2`, zero errors, then a burst of uploads (a tenth of them
hostile files) beside the clients, every file with its outcome. The 60-second figures (and the
burst of 100) are in the README; here the burst is 20 (2 hostile files, 8 at a time as in the
bench) and the unmeasured warm-up 1 s: the subject is that nothing fails, not the latencies."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench import load

BURST = 20


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_concurrent_searches_and_uploads_without_errors(tmp_path: Path) -> None:
    result = load.run(
        tmp_path, seconds=8, clients=6, seed=11, preload_limit=6, burst=BURST, warmup=1
    )
    assert result.stats.errors == []
    assert result.preloaded == 6
    assert len(result.stats.latencies["search"]) >= 5
    assert len(result.stats.latencies["upload"]) >= 1
    # Bad input under load: every burst file got its outcome (the bench's rule: text PDFs 201,
    # a hostile file archived, a duplicate or a 4xx with a reason), and the clients beside it
    # (their searches and uploads) had no failed request.
    burst = result.burst
    assert burst is not None
    assert burst.errors == []
    assert len(burst.outcomes) == BURST
    assert {kind for kind, *_ in burst.outcomes} == {"text", "hostile"}
    assert all(status == 201 for kind, _, status, _ in burst.outcomes if kind == "text")
    assert burst.searches
    # The summed RSS of the whole tree: 2 server workers, each with its parser and OCR worker
    # processes and a forkserver, every process counting the shared pages again (1.25 GB seen
    # in a fresh-clone run). The 1 GB bound of issue 9 is for one server: the bad-input sweep.
    assert result.max_rss < 2 * 1024**3
    # PSS counts each shared page once: more than nothing, never more than the RSS sum.
    assert 50 * 1024**2 < result.stats.steady_pss <= result.stats.steady_rss
    assert "| search |" in result.summary()
