"""Schemas of the two workflows: approval before signing, and borrowing (借阅)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from schemas.base import FromRecord


class ApprovalRulesPublic(BaseModel):
    version: int
    created_at: datetime | None
    created_by: str | None
    note: str | None
    rules: list[dict[str, Any]]


class ApprovalRulesUpdate(BaseModel):
    rules: list[dict[str, Any]] = Field(
        description='The whole rule set: [{"name", "when": {...}, "steps": [...]}]'
    )
    note: str | None = Field(None, max_length=2000)
    based_on: int | None = Field(
        None, description="The version this change starts from (default: the current one)."
    )


class DecisionPublic(FromRecord):
    step_no: int
    actor: str
    decision: str
    comment: str | None
    at: datetime


class StepPublic(BaseModel):
    number: int
    mode: str
    users: list[str]
    roles: list[str]
    groups: list[str]
    approvers: list[str]
    """Who may decide this step, as resolved when the round started."""
    approved_by: list[str]
    state: str
    """``done``, ``waiting`` or ``pending``."""


class ApprovalPublic(BaseModel):
    """One round of approval of one contract."""

    id: int
    contract_id: int
    title: str
    status: str
    round_no: int
    state: str
    rules_version: int
    rule_names: list[str]
    submitted_by: str
    submitted_at: datetime
    current_step: int | None
    """1-based; None once the round is finished."""
    waiting_since: datetime | None
    finished_at: datetime | None
    reason: str | None
    steps: list[StepPublic]
    decisions: list[DecisionPublic]
    may_decide: bool = False
    """Whether the caller is one of the current step's approvers who has not decided yet."""
    changes_since_last_round: list[dict[str, Any]] = []
    """The contract's recorded changes since the previous round was rejected."""
    terms: dict[str, Any] = {}
    """The contract's confirmed terms (what the approver approves)."""


class ApprovalList(BaseModel):
    items: list[ApprovalPublic]


class ApprovalDecide(BaseModel):
    comment: str | None = Field(None, max_length=2000)


class RiskFlagsUpdate(BaseModel):
    flags: list[str] = Field(max_length=50)


class BorrowCreate(BaseModel):
    contract_id: int
    purpose: str = Field(min_length=1, max_length=2000)
    days: int
    download: bool = False


class BorrowDecide(BaseModel):
    comment: str | None = Field(None, max_length=2000)


class BorrowPublic(FromRecord):
    id: int
    contract_id: int
    borrower: str
    purpose: str
    days: int
    download: bool
    state: str
    requested_at: datetime
    decided_by: str | None
    decided_at: datetime | None
    comment: str | None
    starts_at: datetime | None
    expires_at: datetime | None
    returned_at: datetime | None
    live: bool = False
    overdue: bool = False
    title: str | None = None
    """The contract's title, for those who may see it (an approver, a borrower while the
    grant is live); None otherwise."""


class BorrowList(BaseModel):
    items: list[BorrowPublic]


class ApprovalReminder(BaseModel):
    round_id: int
    contract_id: int
    step: int
    approvers: list[str]
    waiting_since: datetime
    emailed: bool


class ApprovalReminderRun(BaseModel):
    reminders: list[ApprovalReminder]
    emailed: int
    email_error: str | None = None
