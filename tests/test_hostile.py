"""Hostile PDFs from a fixed seed (bench/hostile.py): each file ends archived or rejected with a
reason, and the scans among the archived ones go through OCR to a final state: no hang, no
crash, no record without its original. The benchmark runs hundreds through the CLI."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.hostile import KINDS, SEED, generate, write
from services.archive import Archive
from tests.test_ocr_poison import service

pytestmark = pytest.mark.slow
SAMPLE = 15


def test_the_generator_is_replayable_and_covers_the_kinds() -> None:
    first, again = generate(SEED, SAMPLE), generate(SEED, SAMPLE)
    assert [f.data for f in first] == [f.data for f in again]
    assert generate(SEED + 1, SAMPLE) != first
    kinds = {f.kind for f in first}
    assert len(kinds) == SAMPLE and kinds <= set(KINDS)
    assert {
        "length_loop",
        "deep_nesting",
        "huge_length",
        "truncated_stream",
        "broken_xref",
    } <= kinds


def test_each_hostile_file_ends_archived_or_rejected_with_a_reason(
    archive: Archive, tmp_path: Path
) -> None:
    paths = write(generate(SEED, SAMPLE), tmp_path / "hostile")
    outcomes = {}
    scans = []
    for path in paths:
        result = archive.ingest_path(path)
        outcomes[path.name] = (result.status, result.reason)
        assert result.status in ("archived", "rejected"), (path.name, result)
        if result.status == "rejected":
            assert result.reason, path.name
            continue
        assert result.id is not None
        record = archive.get(result.id)
        with archive.objects.open(record.original_key) as fh:
            assert fh.read() == path.read_bytes(), path.name  # the original, byte for byte
        if result.pages_needing_ocr:
            scans.append(result.id)
    statuses = {status for status, _ in outcomes.values()}
    assert statuses == {"archived", "rejected"}, outcomes  # the sample has both
    assert scans, outcomes  # and scans: OCR runs on hostile files too

    recordings = tmp_path / "recorded"
    recordings.mkdir()  # no recording: each page fails once, then the contract is finished
    with service(archive, recordings, max_attempts=1) as ocr:
        waited = ocr.wait_for(scans, poll=0.1, timeout=240)
    assert not waited.timed_out and waited.open_contracts == frozenset(), outcomes
    assert waited.queued == waited.running == 0
    for cid in scans:
        batch = archive.records.ocr_batch(cid)
        assert batch is not None and batch.state in ("done", "incomplete", "failed"), cid
