"""The fixity audit: ``contract-archive verify --all``.

Walks every contract in id order and verifies it completely (digests of every file, the seal,
the timestamp, the record). Contracts are verified in a few threads at once (``hashlib`` releases
the GIL on large buffers; each file is read once, in 1 MB chunks feeding both digests). Progress
is saved after every batch in ``fixity_runs``; an interrupted audit resumes after the last saved
contract when it is run again. Contracts that are not PASSED are kept as findings of the run.

**The seals are checked in worker processes** when the seal service has them
(``SealService.isolate``: the archive's killable parser processes, :mod:`ingest.isolation`).
The seal and timestamp check (pyHanko, 10-15 ms of pure Python a contract) holds the GIL, so in
threads it had one core however many there were; in the workers it runs on every core while this
process's threads hash and compare the records. A worker that dies or hangs (it is killed after
``SEAL_CHECK_TIMEOUT`` seconds) is replaced, and that contract's seal, certificate and timestamp
checks are INDETERMINATE with the reason: the audit goes on, and its findings name the contract.
An archive of fewer than ``SEALS_IN_WORKERS_FROM`` contracts is checked in the threads alone.

**The slower SM3 cycle** (``ARCHIVE_FIXITY_SM3_EVERY`` = N): SM3 costs five times SHA-256 in
OpenSSL, so an audit compares every file's size and SHA-256 but the SM3 of only one contract in
N: those whose id is congruent to the number of audits finished so far, modulo N. Over N
consecutive audits every contract's SM3 is compared once. SM3 is always computed at ingest (it
is in the sealed manifest), by ``verify ID`` and by a ``full`` audit (``verify --all --full``).
N = 1 compares both digests of every file in every audit.
"""

from __future__ import annotations

import functools
import os
import socket
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from core.errors import ArchiveError, ConfigurationError, WorkerStopped
from signing.report import (
    SEAL_CERTIFICATE,
    SEAL_SIGNATURE,
    TIMESTAMP,
    Status,
    VerificationReport,
    indeterminate,
)
from signing.verify import SealChecker, verify_contract
from storage.records.base import ContractRecord
from storage.records.seals import Finding, RunRow

if TYPE_CHECKING:
    from signing.sealcheck import SealChecks
    from signing.service import Isolator, SealService

BATCH_CONTRACTS = 64
BATCH_BYTES = 512 * 1024 * 1024
STALE_AFTER = timedelta(minutes=10)
SEAL_CHECK_TIMEOUT = 60.0
"""Seconds a worker may spend on one seal check (10-15 ms normally) before it is killed."""
SEALS_IN_WORKERS_FROM = 200
"""An archive of fewer contracts has its seals checked in the audit's threads: starting the
worker processes (0.7-1.4 CPU s and a second or more, measured) would cost more than they
save."""


@dataclass(frozen=True)
class Sm3Cycle:
    """Which contracts an audit compares the SM3 of (see the module's docstring)."""

    every: int = 1
    """``ARCHIVE_FIXITY_SM3_EVERY``: SM3 of one contract in ``every`` per audit (1: all)."""
    turn: int = 0
    """The number of audits finished before this one: this audit's slice of the cycle."""
    full: bool = False
    """``verify --all --full``: SM3 of every contract in this run, whatever the cycle."""

    def checks(self, contract_id: int) -> bool:
        if self.full or self.every <= 1:
            return True
        return contract_id % self.every == self.turn % self.every

    def describe(self) -> str:
        if self.full:
            return "SHA-256 and SM3 of every file (a full audit)"
        if self.every <= 1:
            return "SHA-256 and SM3 of every file"
        return (
            f"SHA-256 of every file; SM3 of the contracts whose id is {self.turn % self.every} "
            f"modulo {self.every} (ARCHIVE_FIXITY_SM3_EVERY={self.every}: each contract's SM3 "
            f"once in {self.every} audits; `verify --all --full` compares it for all)"
        )


@dataclass(frozen=True)
class AuditSummary:
    run: RunRow
    findings: tuple[Finding, ...]
    resumed_from: int
    """The contract id the run resumed after (0 for a fresh run)."""
    cycle: Sm3Cycle = Sm3Cycle()
    checked_now: int = 0
    """Contracts checked by this call (less than ``run.checked`` when it resumed a run)."""
    sm3_now: int = 0
    """Of those, the contracts whose SM3 was compared too."""

    @property
    def ok(self) -> bool:
        return self.run.failed == 0

    def digests(self) -> str:
        """Which digests this call compared, in words (for the audit's report)."""
        return (
            f"{self.cycle.describe()}; this run compared SM3 for {self.sm3_now} of the "
            f"{self.checked_now} contracts it checked"
        )


def run_audit(
    service: SealService,
    *,
    restart: bool = False,
    workers: int = 2,
    on_report: Callable[[VerificationReport], None] | None = None,
    on_start: Callable[[RunRow, int], None] | None = None,
    batch_contracts: int = BATCH_CONTRACTS,
    max_mb_per_s: float = 0,
    sleep: Callable[[float], None] = time.sleep,
    sm3_every: int = 1,
    full: bool = False,
    seals_in_workers: bool | None = None,
) -> AuditSummary:
    """Verify every contract; resume the unfinished audit unless ``restart``; read at most
    ``max_mb_per_s`` MB per second on average (0: no limit); compare the SM3 of one contract
    in ``sm3_every`` (all when ``full``), the size and SHA-256 of every file. The seals are
    checked in the seal service's worker processes when it has them and ``seals_in_workers``
    (None: when the archive holds at least ``SEALS_IN_WORKERS_FROM`` contracts)."""
    if sm3_every < 1:
        raise ConfigurationError(
            f"the SM3 cycle must be at least 1 audit, not {sm3_every}",
            hint="set ARCHIVE_FIXITY_SM3_EVERY to 1 (SM3 in every audit) or more",
        )
    pace = _Pace(max_mb_per_s, sleep)
    batch_bytes = pace.batch_bytes(BATCH_BYTES)
    owner = f"{socket.gethostname()}:{os.getpid()}"
    run = service.seals.start_run(owner, restart=restart, stale_after=STALE_AFTER)
    cycle = Sm3Cycle(every=sm3_every, turn=service.seals.finished_runs(), full=full)
    checked_now = sm3_now = 0
    resumed_from = run.last_contract_id
    if on_start is not None:
        on_start(run, resumed_from)
    last = run.last_contract_id
    if seals_in_workers is None:
        seals_in_workers = service.records.count_contracts() >= SEALS_IN_WORKERS_FROM
    seal_checker: SealChecker | None = (
        _SealsInWorkers(service.isolate)
        if seals_in_workers and service.isolate is not None
        else None
    )
    # With the seals checked in worker processes, a thread spends part of each contract waiting
    # for its worker: twice the threads keep both the workers and the hashing busy.
    threads = max(1, workers) * (1 if seal_checker is None else 2)
    with ThreadPoolExecutor(max_workers=threads, thread_name_prefix="fixity") as pool:
        while True:
            records = service.seals.contracts_after(last, batch_contracts * 4)
            if not records:
                break
            # Cut the page into batches of bounded size, so progress is saved often.
            start = 0
            while start < len(records):
                batch: list[ContractRecord] = []
                size = 0
                while start < len(records) and len(batch) < batch_contracts:
                    batch.append(records[start])
                    size += records[start].size
                    start += 1
                    if size >= batch_bytes:
                        break
                reports = list(
                    pool.map(
                        lambda r: verify_contract(
                            service, r, sm3=cycle.checks(r.id), seal_checker=seal_checker
                        ),
                        batch,
                    )
                )
                checked_now += len(reports)
                sm3_now += sum("sm3" in r.digests for r in reports)
                counts = {s: 0 for s in Status}
                findings = []
                for report in reports:
                    counts[report.overall] += 1
                    if report.overall is not Status.PASSED:
                        findings.append(
                            Finding(report.contract_id, report.overall.value, report.summary())
                        )
                    if on_report is not None:
                        on_report(report)
                last = batch[-1].id
                pace.after(sum(r.bytes_hashed for r in reports))
                service.seals.save_progress(
                    run.id,
                    last_contract_id=last,
                    checked=len(reports),
                    passed=counts[Status.PASSED],
                    failed=counts[Status.FAILED],
                    indeterminate=counts[Status.INDETERMINATE],
                    bytes_hashed=sum(r.bytes_hashed for r in reports),
                    findings=findings,
                )
    finished = service.seals.finish_run(run.id)
    return AuditSummary(
        run=finished,
        findings=tuple(service.seals.findings(run.id)),
        resumed_from=resumed_from,
        cycle=cycle,
        checked_now=checked_now,
        sm3_now=sm3_now,
    )


class _SealsInWorkers:
    """A :data:`~signing.verify.SealChecker` that checks each seal in a worker process."""

    def __init__(self, isolate: Isolator) -> None:
        self.isolate = isolate

    def __call__(
        self, manifest: bytes, p7s: bytes, anchors: Sequence[x509.Certificate], now: datetime
    ) -> SealChecks:
        try:
            return self.isolate(
                check_seal_in_worker,
                manifest,
                p7s,
                _der(tuple(anchors)),
                now,
                what="the seal",
                timeout=SEAL_CHECK_TIMEOUT,
            )
        except ArchiveError as exc:
            if not isinstance(exc, WorkerStopped):
                why = "the worker process could not check the seal"
            elif exc.timed_out:
                why = f"checking the seal took longer than {SEAL_CHECK_TIMEOUT:g} s and was stopped"
            else:
                why = "the worker process checking the seal died or did not start"
            return _not_checked(
                f"{why}, so the seal was not checked in this audit (`contract-archive verify ID` "
                "checks it again)",
                exc.message,
            )


def check_seal_in_worker(
    manifest: bytes, p7s: bytes, anchors_der: tuple[bytes, ...], now: datetime
) -> SealChecks:
    """:func:`signing.sealcheck.check_seal` in a worker process: the trust anchors travel as DER
    (parsed once per worker and set of anchors)."""
    from signing.sealcheck import check_seal

    return check_seal(manifest, p7s, _parsed(anchors_der), now=now)


@functools.lru_cache(maxsize=8)
def _der(anchors: tuple[x509.Certificate, ...]) -> tuple[bytes, ...]:
    return tuple(c.public_bytes(Encoding.DER) for c in anchors)


@functools.lru_cache(maxsize=8)
def _parsed(anchors_der: tuple[bytes, ...]) -> tuple[x509.Certificate, ...]:
    return tuple(x509.load_der_x509_certificate(d) for d in anchors_der)


def _not_checked(why: str, error: str) -> SealChecks:
    from signing.sealcheck import SealChecks

    return SealChecks(
        signature=indeterminate(SEAL_SIGNATURE, why, error=error),
        certificate=indeterminate(SEAL_CERTIFICATE, why, error=error),
        timestamp=indeterminate(TIMESTAMP, why, error=error),
    )


class _Pace:
    """Keeps the bytes read under a rate: waits after a batch until they fit it."""

    def __init__(self, mb_per_s: float, sleep: Callable[[float], None]) -> None:
        self.rate = mb_per_s * 1_000_000
        self.sleep = sleep
        self.started = time.monotonic()
        self.read = 0

    def batch_bytes(self, default: int) -> int:
        """About one second of reading at the limit (never less than 1 MB)."""
        return default if not self.rate else max(1_000_000, min(default, int(self.rate)))

    def after(self, read: int) -> None:
        if not self.rate:
            return
        self.read += read
        ahead = self.read / self.rate - (time.monotonic() - self.started)
        if ahead > 0:
            self.sleep(ahead)
