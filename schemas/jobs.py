"""Background jobs as administrators see them: the failed-jobs list (API, CLI, web)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

JobKind = Literal["ocr_page", "ocr_finish"]
JOB_STATES = ("failed",)


class JobPublic(BaseModel):
    """One background job that failed for good (its attempts used up)."""

    kind: JobKind = Field(
        description="`ocr_page`: OCR of one page; `ocr_finish`: finishing a contract's OCR "
        "(its text version and searchable copy)."
    )
    state: Literal["failed"] = "failed"
    contract_id: int
    title: str
    page: int | None = Field(None, description="The page, for `ocr_page`.")
    attempts: int
    reason: str = Field(description="Why the last attempt failed.")
    failed_at: datetime | None = None
    traceback: str | None = Field(
        None,
        description="For operators: where an unexpected failure came from (not shown on the "
        "web page).",
    )
    retry: str = Field(description="How to try again: the command line of the OCR retry.")


class JobList(BaseModel):
    state: Literal["failed"] = "failed"
    total: int
    items: list[JobPublic]
