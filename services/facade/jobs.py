"""Background jobs for administrators: the jobs list (OCR jobs and background jobs), queueing a
background job, and retries (an OCR job's goes through :meth:`services.facade.ocr.OcrArea.retry`).

Jobs of contracts of a class hidden from the caller are left out, as every list leaves them
out (:attr:`~services.facade.base.Acting.hidden`): neither their titles nor their ids show.
"""

from __future__ import annotations

from collections.abc import Callable

from core.errors import InvalidRequest, NotFound
from core.roles import Perm
from schemas.jobs import JOB_STATES, QUEUEABLE_KINDS, JobList, JobPublic
from services.facade.base import Area, action
from services.jobs import JobWorker
from storage.records.jobs_base import BackgroundJobRecord

MAX_JOBS = 1000


class JobsArea(Area):
    """Background jobs: what failed for good, with the reason (and the traceback for
    operators), what is queued and running, and retries."""

    @action("jobs.list", Perm.SETTINGS_MANAGE, logged="read")
    def list_jobs(self, state: str = "failed") -> JobList:
        """Jobs in ``state``: ``failed`` (failed OCR pages and finalisations, by contract, and
        failed background jobs) or ``all`` (also the OCR pages queued or running and every
        background job, newest first); contracts of hidden classes left out."""
        if state not in JOB_STATES:
            raise InvalidRequest(
                f"unknown job state {state!r}",
                hint=f"use one of: {', '.join(JOB_STATES)}",
            )
        records = self.archive.records
        items: list[JobPublic] = []
        titles: dict[int, str | None] = {}

        def title(contract_id: int) -> str | None:
            """The title, or None when the contract is gone or hidden from the caller."""
            if contract_id not in titles:
                titles[contract_id] = None
                try:
                    record = self.archive.get(contract_id)
                except NotFound:
                    return None
                if self.acting.may_see_class(record.classification):
                    titles[contract_id] = record.title or record.filename
            return titles[contract_id]

        ocr_pages = list(records.failed_ocr_pages())
        if state == "all":
            ocr_pages += records.active_ocr_pages(limit=MAX_JOBS)
        for job in ocr_pages:
            shown = title(job.contract_id)
            if shown is None:
                continue
            items.append(
                JobPublic(
                    kind="ocr_page",
                    contract_id=job.contract_id,
                    title=shown,
                    page=job.page_no,
                    state=job.status,
                    attempts=job.attempts,
                    reason=job.error or ("unknown reason" if job.status == "failed" else None),
                    queued_at=job.queued_at,
                    started_at=job.started_at,
                    failed_at=job.finished_at if job.status == "failed" else None,
                    next_attempt_at=job.retry_at,
                    traceback=job.traceback,
                    retry=(
                        f"contract-archive ocr --retry {job.contract_id}"
                        if job.status == "failed"
                        else None
                    ),
                )
            )
        for batch in records.failed_ocr():
            shown = title(batch.contract_id)
            if shown is None:
                continue
            items.append(
                JobPublic(
                    kind="ocr_finish",
                    contract_id=batch.contract_id,
                    title=shown,
                    attempts=batch.attempts,
                    reason=batch.last_error or "unknown reason",
                    failed_at=batch.finished_at or batch.updated_at,
                    traceback=batch.traceback,
                    retry=f"contract-archive ocr --retry {batch.contract_id}",
                )
            )
        items.sort(key=lambda j: (j.contract_id or 0, j.page or 0))
        states = ("failed",) if state == "failed" else ()
        items += [public(job) for job in records.list_jobs(states, limit=MAX_JOBS)]
        self.acting.note(count=len(items))
        return JobList(state=state, total=len(items), items=items[:MAX_JOBS])

    @action("jobs.view", Perm.SETTINGS_MANAGE, logged="read")
    def get(self, job_id: int) -> JobPublic:
        """One background job."""
        return public(self.archive.records.get_job(job_id))

    @action("jobs.queue", Perm.SETTINGS_MANAGE, logged="change")
    def queue(self, kind: str) -> JobPublic:
        """Queue a background job (``reindex``, ``fixity`` or ``reminders``) for the worker of
        the server or of ``contract-archive worker``."""
        if kind not in QUEUEABLE_KINDS:
            raise InvalidRequest(
                f"unknown job kind {kind!r}", hint=f"use one of: {', '.join(QUEUEABLE_KINDS)}"
            )
        job = self.archive.records.queue_job(
            kind,
            queued_by=self.acting.actor,
            max_attempts=self.archive.settings.job_max_attempts,
        )
        assert job is not None
        self.acting.note(job=job.id, kind=kind)
        return public(job)

    @action("jobs.retry", Perm.SETTINGS_MANAGE, logged="change")
    def retry(self, job_id: int) -> JobPublic:
        """Queue a failed background job again with fresh attempts (409 if it is not failed)."""
        job = self.archive.records.retry_job(job_id)
        self.acting.note(job=job.id, kind=job.kind)
        return public(job)

    @action("jobs.worker", Perm.SETTINGS_MANAGE, logged="no")
    def worker(
        self,
        *,
        threads: int = 1,
        schedule: bool = True,
        on_event: Callable[[JobPublic], None] | None = None,
    ) -> JobWorker:
        """A background-job worker on this archive (not started). Not logged, as the OCR
        worker: the jobs it runs were queued by logged actions or by the schedule."""
        tell = None if on_event is None else (lambda job: on_event(public(job)))
        return JobWorker(self.archive, threads=threads, schedule=schedule, on_event=tell)


def public(job: BackgroundJobRecord) -> JobPublic:
    """A background job as administrators see it."""
    return JobPublic(
        kind=job.kind,
        id=job.id,
        state=job.state,
        attempts=job.attempts,
        max_attempts=job.max_attempts,
        reason=job.error,
        result=job.result,
        queued_by=job.queued_by,
        queued_at=job.queued_at,
        started_at=job.started_at,
        failed_at=job.finished_at if job.state == "failed" else None,
        finished_at=job.finished_at,
        next_attempt_at=job.retry_at if job.state == "queued" else None,
        lease_until=job.lease_until if job.state == "running" else None,
        traceback=job.traceback,
        retry=f"contract-archive jobs retry {job.id}" if job.state == "failed" else None,
    )
