"""Background jobs as administrators see them (API, CLI, web): the OCR queue's failed pages and
finalisations, and the background jobs (reminders, fixity audits, reindexing)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

JobKind = Literal["ocr_page", "ocr_finish", "reminders", "fixity", "reindex"]
JobState = Literal["queued", "running", "done", "failed"]
JOB_STATES = ("failed", "all")
QUEUEABLE_KINDS = ("reminders", "fixity", "reindex")


class JobPublic(BaseModel):
    """One job: an OCR job (by contract) or a background job (by id)."""

    kind: JobKind = Field(
        description="`ocr_page`: OCR of one page; `ocr_finish`: finishing a contract's OCR "
        "(its text version and searchable copy); `reminders`: the reminder job; `fixity`: a "
        "fixity audit of every contract; `reindex`: rebuilding the search index."
    )
    id: int | None = Field(None, description="The background job's id (None for OCR jobs).")
    state: JobState = "failed"
    contract_id: int | None = Field(None, description="The contract, for OCR jobs.")
    title: str | None = None
    page: int | None = Field(None, description="The page, for `ocr_page`.")
    attempts: int
    max_attempts: int | None = None
    reason: str | None = Field(
        None, description="Why the job failed (or, while it waits, why the last attempt did)."
    )
    result: str | None = Field(None, description="What a finished background job did.")
    queued_by: str | None = None
    queued_at: datetime | None = None
    started_at: datetime | None = None
    failed_at: datetime | None = None
    finished_at: datetime | None = None
    next_attempt_at: datetime | None = Field(
        None, description="A queued job that failed is not taken again before this (backoff)."
    )
    lease_until: datetime | None = Field(
        None, description="A running job's lease, renewed by its worker while it works."
    )
    traceback: str | None = Field(
        None,
        description="For operators: where an unexpected failure came from (not shown on the "
        "web page).",
    )
    retry: str | None = Field(None, description="How to try again, for a failed job.")


class JobList(BaseModel):
    state: Literal["failed", "all"] = "failed"
    total: int
    items: list[JobPublic]


class JobRequest(BaseModel):
    """A background job to queue."""

    kind: str = Field(max_length=40, description="`reindex`, `fixity` or `reminders`.")
