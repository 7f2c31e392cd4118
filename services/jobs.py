"""Background jobs other than OCR (issue 14): reminders, fixity audits and reindexing, as durable
jobs in ``background_jobs`` (:mod:`storage.records.jobs_models`).

A :class:`JobWorker` runs in the server (``ARCHIVE_JOBS_BACKGROUND``) and in
``contract-archive worker``. Every ``ARCHIVE_JOB_POLL_SECONDS`` it queues the reminder job and
the fixity audit when their interval (``ARCHIVE_REMINDER_INTERVAL_HOURS``,
``ARCHIVE_FIXITY_INTERVAL_HOURS``) has a run due (one per interval slot, never twice: the slot
is unique), then takes queued jobs one by one in each of its threads. While a job runs, its
lease (``ARCHIVE_JOB_LEASE_SECONDS``) is renewed every third of it (the heartbeat); a worker
that dies leaves the lease to run out, and any worker takes the job again. A job that fails is
queued again after ``ARCHIVE_JOB_RETRY_BACKOFF_SECONDS`` (doubling) until its
``ARCHIVE_JOB_MAX_ATTEMPTS`` are used up; then it is ``failed`` with the reason and the
traceback, shown to administrators (API, CLI, web, ``doctor``) and retried by hand. A failing
job never holds a thread: the others are taken meanwhile. A job that runs longer than
``ARCHIVE_JOB_TIMEOUT_SECONDS`` stops at its next checkpoint (between contracts) and fails so.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import traceback
import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING

from services.contracts.reminders import run_reminders
from services.mail import mail_configured, send_mail
from signing.audit import run_audit
from storage.records.jobs_base import BackgroundJobRecord
from storage.records.leases import retry_in

if TYPE_CHECKING:
    from services.archive import Archive
    from storage.records.base import RecordStore

log = logging.getLogger(__name__)

KINDS = ("reminders", "fixity", "reindex")
"""What a background job does; all three may be queued by hand, the first two are scheduled."""
SCHEDULER = "schedule"
"""``queued_by`` of a job the worker queued at its interval."""


class JobFailed(Exception):
    """An expected failure of a job: the reason is enough (no traceback is kept)."""


Checkpoint = Callable[[], None]
"""Called by a job between units of its work; raises :class:`JobFailed` once the job has run
longer than ``ARCHIVE_JOB_TIMEOUT_SECONDS``."""


def deadline(seconds: float) -> Checkpoint:
    started = time.monotonic()

    def check() -> None:
        ran = time.monotonic() - started
        if seconds > 0 and ran > seconds:
            raise JobFailed(
                f"stopped after {ran:.0f} s: longer than ARCHIVE_JOB_TIMEOUT_SECONDS "
                f"({seconds:g} s); a fixity audit resumes where it stopped at the next attempt"
            )

    return check


def _run_reminders(archive: Archive, check: Checkpoint) -> str:
    """One pass over the contracts (short: no checkpoint inside)."""
    result = run_reminders(archive.contracts)
    if result.email_error:
        raise JobFailed(result.email_error)
    return (
        f"{len(result.reminders)} new reminders, {len(result.transitions)} state changes, "
        f"{len(result.renewed)} renewals, {result.emailed} e-mailed"
    )


def _run_fixity(archive: Archive, check: Checkpoint) -> str:
    settings = archive.settings
    summary = run_audit(
        archive.seal,
        workers=2,
        max_mb_per_s=settings.fixity_max_mb_per_s,
        sm3_every=settings.fixity_sm3_every,
        on_report=lambda _report: check(),
    )
    run = summary.run
    line = (
        f"fixity audit run {run.id}: {run.checked} checked, {run.passed} passed, "
        f"{run.failed} failed, {run.indeterminate} indeterminate; {summary.digests()}"
    )
    if run.failed and mail_configured(settings):
        body = (
            line
            + "\n\n"
            + "\n".join(
                f"contract {f.contract_id}: {f.overall}: {f.summary}" for f in summary.findings
            )
            + "\n\nSee `contract-archive verify ID` and `contract-archive doctor`.\n"
        )
        failed = send_mail(
            settings, f"Contract archive: fixity audit found {run.failed} failures", body
        )
        if failed is not None:
            raise JobFailed(f"{line}; mailing the failures failed: {failed}")
        line += "; the failures were e-mailed"
    return line


def _run_reindex(archive: Archive, check: Checkpoint) -> str:
    return f"indexed {archive.reindex(progress=lambda _n: check())} contracts"


HANDLERS: dict[str, Callable[[Archive, Checkpoint], str]] = {
    "reminders": _run_reminders,
    "fixity": _run_fixity,
    "reindex": _run_reindex,
}


class JobWorker:
    """Works the background-job queue in ``threads`` threads until stopped."""

    def __init__(
        self,
        archive: Archive,
        *,
        threads: int = 1,
        schedule: bool = True,
        on_event: Callable[[BackgroundJobRecord], None] | None = None,
    ) -> None:
        self.archive = archive
        self.settings = archive.settings
        self.threads = max(1, threads)
        self.schedule = schedule
        self.on_event = on_event
        self.owner = f"{socket.gethostname()}:{os.getpid()}:jobs-{uuid.uuid4().hex[:8]}"
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._threads: list[threading.Thread] = []

    @property
    def records(self) -> RecordStore:
        return self.archive.records

    # -- scheduling ------------------------------------------------------------------------------
    def schedule_due(self, now: float | None = None) -> list[BackgroundJobRecord]:
        """Queue the reminder job and the fixity audit if their interval has a run due and
        none of their kind is open; the jobs queued."""
        if not self.schedule:
            return []
        made: list[BackgroundJobRecord] = []
        moment = time.time() if now is None else now
        intervals = (
            ("reminders", self.settings.reminder_interval_hours),
            ("fixity", self.settings.fixity_interval_hours),
        )
        open_kinds: set[str] | None = None
        for kind, hours in intervals:
            if hours <= 0:
                continue
            if open_kinds is None:
                open_kinds = self.records.open_job_kinds()
            if kind in open_kinds:
                continue
            seconds = hours * 3600
            job = self.records.queue_job(
                kind,
                queued_by=SCHEDULER,
                max_attempts=self.settings.job_max_attempts,
                slot=f"{kind}:{seconds:g}:{int(moment // seconds)}",
            )
            if job is not None:
                log.info("scheduled background job %s (%s)", job.id, kind)
                made.append(job)
        return made

    # -- running -------------------------------------------------------------------------------
    def run_one(self) -> BackgroundJobRecord | None:
        """Take one job and run it to its end (done, queued again, or failed); the job as it
        ended, or None when none may run now."""
        lease = self.settings.job_lease_seconds
        job = self.records.claim_job(self.owner, lease, kinds=set(HANDLERS))
        if job is None:
            return None
        beat = threading.Event()

        def heartbeat() -> None:
            while not beat.wait(lease / 3):
                try:
                    if not self.records.heartbeat_job(job.id, self.owner, lease):
                        log.warning("background job %s: the lease was lost", job.id)
                        return
                except Exception as exc:  # noqa: BLE001 - the next beat tries again
                    log.warning("background job %s: heartbeat failed: %s", job.id, exc)

        beating = threading.Thread(target=heartbeat, name=f"job-{job.id}-lease", daemon=True)
        beating.start()
        error: str | None = None
        trace: str | None = None
        result = ""
        try:
            result = HANDLERS[job.kind](self.archive, deadline(self.settings.job_timeout_seconds))
        except JobFailed as exc:
            error = str(exc) or "the job failed"
        except Exception as exc:  # noqa: BLE001 - a job's failure is its state, never the worker's
            message = getattr(exc, "message", None) or str(exc) or type(exc).__name__
            error = f"{type(exc).__name__}: {message}"
            trace = traceback.format_exc()
        finally:
            beat.set()
            beating.join(timeout=5)
        if error is None:
            self.records.finish_job(job.id, self.owner, result)
            log.info("background job %s (%s) done: %s", job.id, job.kind, result)
        else:
            wait = retry_in(job.attempts, job.max_attempts, self.settings.job_retry_backoff_seconds)
            self.records.fail_job(job.id, self.owner, error, retry_in=wait, traceback=trace)
            log.warning(
                "background job %s (%s) attempt %s/%s failed%s: %s",
                job.id,
                job.kind,
                job.attempts,
                job.max_attempts,
                "" if wait is None else f" (again in {wait:g} s)",
                error,
            )
        ended = self.records.get_job(job.id)
        if self.on_event is not None:
            self.on_event(ended)
        return ended

    def tick(self) -> int:
        """Schedule what is due, then run jobs until none may run now; how many ran."""
        ran = 0
        try:
            self.schedule_due()
            while not self._stop.is_set() and self.run_one() is not None:
                ran += 1
        except Exception as exc:  # noqa: BLE001 - the database may be away for a moment
            log.warning("background jobs: %s (trying again in a moment)", exc)
        return ran

    def idle(self) -> bool:
        """No job queued or running."""
        return not self.records.list_jobs(("queued", "running"), limit=1)

    def _loop(self) -> None:
        while not self._stop.is_set():
            self.tick()
            self._wake.wait(self.settings.job_poll_seconds)
            self._wake.clear()

    def wake(self) -> None:
        """Look for jobs now (a job was queued)."""
        self._wake.set()

    def start(self) -> None:
        if self._threads:
            return
        self._stop.clear()
        for n in range(self.threads):
            thread = threading.Thread(target=self._loop, name=f"jobs-{n}", daemon=True)
            thread.start()
            self._threads.append(thread)

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        for thread in self._threads:
            thread.join(timeout=30)
        self._threads = []

    def __enter__(self) -> JobWorker:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
