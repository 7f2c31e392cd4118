"""The fixity audit checks the seals in the archive's worker processes (issue 19): the same
findings as checking them in the audit's own process, and a worker that dies or hangs costs the
contract it was checking an INDETERMINATE seal with the reason, never the audit."""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path
from typing import Any

import pytest

import signing.audit
from services.archive import Archive
from services.facade import Runtime
from signing.audit import check_seal_in_worker, run_audit
from signing.report import SEAL_CERTIFICATE, SEAL_SIGNATURE, TIMESTAMP, Status
from storage.objects.base import package_key
from tests.access_helpers import ensure_user
from tests.conftest import make_settings
from tests.seal_helpers import archive_small_english, flip_byte, small_english
from tests.test_seal_tamper import _signing_time_offset

EN = small_english()
SEAL = (SEAL_SIGNATURE, SEAL_CERTIFICATE, TIMESTAMP)


@pytest.fixture(scope="module")
def archived(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[int]]:
    data = tmp_path_factory.mktemp("fixity-workers") / "var"
    return data, archive_small_english(data)


@pytest.fixture
def damaged(archived: tuple[Path, list[int]], tmp_path: Path) -> tuple[Path, list[int]]:
    """A copy whose second contract's original and third contract's seal (a digit of its signed
    signing time) have a byte changed."""
    data, ids = archived
    copy = tmp_path / "var"
    shutil.copytree(data, copy, symlinks=True)
    with Archive(make_settings(copy), parser_workers=1).open() as archive:
        original = archive.get(ids[1])
        flip_byte(archive.settings.objects_dir / package_key(original.sha256, "original"), 1000)
        sealed = archive.get(ids[2])
        seal = archive.settings.objects_dir / package_key(sealed.sha256, "manifest.v1.p7s")
        flip_byte(seal, _signing_time_offset(seal.read_bytes()))
    return copy, ids


class Counting:
    """The archive's own isolator, counting the seal checks sent to it; ``swap`` replaces the
    function of chosen calls (by their number, from 1) to make the worker misbehave."""

    def __init__(self, archive: Archive, swap: dict[int, tuple[Any, ...]] | None = None) -> None:
        real = archive.seal.isolate
        assert real is not None
        self.real = real
        self.swap = swap or {}
        self.calls: list[str] = []

    def __call__(self, fn: Any, /, *args: Any, what: str, timeout: float) -> Any:
        self.calls.append(fn.__name__)
        swapped = self.swap.get(len(self.calls))
        if swapped is not None:
            fn, *args = swapped
        return self.real(fn, *args, what=what, timeout=timeout)


def outcome(reports: list) -> dict[int, list[tuple[str, str, str]]]:
    return {
        r.contract_id: [(c.id, c.status.value, c.reason) for c in r.checks]
        for r in sorted(reports, key=lambda r: r.contract_id)
    }


def test_the_audit_checks_the_seals_in_workers_with_the_same_findings(damaged) -> None:
    data, ids = damaged
    with Archive(make_settings(data), parser_workers=2).open() as archive:
        here: list = []
        counting = Counting(archive)
        archive.seal.isolate = counting
        before = run_audit(archive.seal, on_report=here.append, full=True, seals_in_workers=False)
        assert not counting.calls  # every seal checked in this process, as before
        workers: list = []
        after = run_audit(
            archive.seal, restart=True, on_report=workers.append, full=True, seals_in_workers=True
        )
    assert counting.calls == [check_seal_in_worker.__name__] * len(ids)  # every seal, elsewhere
    assert outcome(workers) == outcome(here)
    assert [(f.contract_id, f.overall) for f in after.findings] == [
        (f.contract_id, f.overall) for f in before.findings
    ]
    by_id = {r.contract_id: r for r in workers}
    assert by_id[ids[0]].overall is Status.PASSED
    assert by_id[ids[1]].overall is Status.FAILED  # the original
    assert by_id[ids[2]].check(SEAL_SIGNATURE).status is Status.FAILED  # the seal
    assert by_id[ids[2]].check(TIMESTAMP).status is Status.PASSED  # it covers the signature
    assert (after.run.checked, after.run.passed, after.run.failed) == (len(ids), len(ids) - 2, 2)


def test_a_worker_that_dies_leaves_its_seal_indeterminate_and_the_audit_goes_on(damaged) -> None:
    data, ids = damaged
    with Archive(make_settings(data), parser_workers=1).open() as archive:
        # the first seal check's worker exits without an answer (as when it is killed)
        archive.seal.isolate = counting = Counting(archive, {1: (os._exit, 3)})
        reports: list = []
        summary = run_audit(
            archive.seal, batch_contracts=1, on_report=reports.append, seals_in_workers=True
        )
        assert len(counting.calls) == len(ids)
        first = reports[0]
        assert first.contract_id == ids[0]
        for check in SEAL:
            c = first.check(check)
            assert c.status is Status.INDETERMINATE
            assert "the worker process checking the seal died" in c.reason
            assert "contract-archive verify ID" in c.reason
        assert first.overall is Status.INDETERMINATE
        # the next contracts were checked by a fresh worker
        assert reports[3].overall is Status.PASSED and reports[3].contract_id == ids[3]
        assert (summary.run.checked, summary.run.indeterminate, summary.run.failed) == (
            len(ids),
            1,
            2,
        )
        assert [f.contract_id for f in summary.findings] == ids[:3]
        # the next audit checks that seal again
        archive.seal.isolate = counting.real
        again = run_audit(archive.seal, seals_in_workers=True)
    assert [f.contract_id for f in again.findings] == ids[1:3]


def test_a_hung_seal_check_is_stopped_and_said(damaged, monkeypatch: pytest.MonkeyPatch) -> None:
    data, ids = damaged
    monkeypatch.setattr(signing.audit, "SEAL_CHECK_TIMEOUT", 0.5)
    with Archive(make_settings(data), parser_workers=1).open() as archive:
        archive.seal.isolate = Counting(archive, {1: (time.sleep, 60)})
        reports: list = []
        started = time.monotonic()
        run_audit(archive.seal, batch_contracts=1, on_report=reports.append, seals_in_workers=True)
        took = time.monotonic() - started
    assert took < 30  # the sleeping worker was killed, not waited for
    first = reports[0]
    assert first.contract_id == ids[0]
    reason = first.check(SEAL_SIGNATURE).reason
    assert "checking the seal took longer than 0.5 s and was stopped" in reason
    assert first.overall is Status.INDETERMINATE


def test_the_facade_audit_uses_the_workers_from_a_size_of_archive(
    archived, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`verify --all` and the background job call the audit through the facade and the archive,
    whose seal service hands the seals to its worker processes once the archive is large enough
    for them to pay for their start; a small archive's seals are checked in the threads."""
    data, ids = archived
    with Archive(make_settings(data), parser_workers=2).open() as archive:
        archive.seal.isolate = counting = Counting(archive)
        facade = Runtime(archive).facade(ensure_user(archive, "auditor", ("admin",)))
        small = facade.seals.audit(restart=True)
        assert small.ok and small.run.checked == len(ids) and not counting.calls
        monkeypatch.setattr(signing.audit, "SEALS_IN_WORKERS_FROM", len(ids))
        summary = facade.seals.audit(restart=True)
    assert summary.run.checked == len(ids) and summary.ok and not summary.findings
    assert len(counting.calls) == len(ids)
