"""What the API shows of a batch scan split by separator sheets."""

from __future__ import annotations

from pydantic import BaseModel, Field

from schemas.contracts import IngestOutcome


class BatchSegmentOut(BaseModel):
    """One contract of the batch: its pages and what its separator sheet says."""

    pages: str = Field(description="The page range in the batch, e.g. `3-5`.")
    first_page: int
    last_page: int
    page_count: int
    customer: str | None = None
    classification: str | None = None
    separator_page: int | None = Field(
        None, description="The sheet before it (null: the pages before the first sheet)."
    )
    result: IngestOutcome | None = Field(
        None, description="Once committed: the contract archived (or why not)."
    )


class BatchSkippedOut(BaseModel):
    """A separator sheet with no page after it before the next sheet or the end."""

    separator_page: int
    reason: str
    next_page: int | None = None


class BatchOutcomeOut(BaseModel):
    """The planned split of a batch scan and, once committed, what became of it."""

    file: str
    preview: bool
    page_count: int
    separator_pages: list[int]
    segments: list[BatchSegmentOut]
    skipped: list[BatchSkippedOut]
    note: str | None = Field(
        None, description="No separator sheet found (archived as one contract), and the like."
    )
    batch: IngestOutcome | None = Field(
        None, description="Once committed: the batch file, kept as evidence, linked to each."
    )
