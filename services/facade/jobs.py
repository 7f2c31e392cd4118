"""Background jobs for administrators: the failed-jobs list, and a retry that goes through the
OCR retry (:meth:`services.facade.ocr.OcrArea.retry`).

Jobs of contracts of a class hidden from the caller are left out, as every list leaves them
out (:attr:`~services.facade.base.Acting.hidden`): neither their titles nor their ids show.
"""

from __future__ import annotations

from core.errors import InvalidRequest, NotFound
from core.roles import Perm
from schemas.jobs import JOB_STATES, JobList, JobPublic
from services.facade.base import Area, action

MAX_JOBS = 1000


class JobsArea(Area):
    """Background jobs: what failed for good, with the reason (and the traceback for
    operators), and a retry."""

    @action("jobs.list", Perm.SETTINGS_MANAGE, logged="read")
    def list_jobs(self, state: str = "failed") -> JobList:
        """Jobs in ``state`` (only ``failed`` so far): failed OCR pages and failed
        finalisations, by contract; contracts of hidden classes left out."""
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

        for job in records.failed_ocr_pages():
            shown = title(job.contract_id)
            if shown is None:
                continue
            items.append(
                JobPublic(
                    kind="ocr_page",
                    contract_id=job.contract_id,
                    title=shown,
                    page=job.page_no,
                    attempts=job.attempts,
                    reason=job.error or "unknown reason",
                    failed_at=job.finished_at,
                    traceback=job.traceback,
                    retry=f"contract-archive ocr --retry {job.contract_id}",
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
        items.sort(key=lambda j: (j.contract_id, j.page or 0))
        self.acting.note(count=len(items))
        return JobList(total=len(items), items=items[:MAX_JOBS])
