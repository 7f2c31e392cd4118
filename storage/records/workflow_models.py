"""Tables of the two workflows (issue 18): approval before signing, and borrowing (借阅).

* ``approval_rule_sets``: the versioned approval rules (a change is a new version, as the
  classification scheme);
* ``customer_risk_flags``: the risk flags a rule may select on;
* ``approval_rounds``: one submission of a contract for approval, with the chain of steps the
  rules selected (each with the approvers resolved when it started) and where it stands;
* ``approval_decisions``: every approval and rejection, with who, when and the comment;
* ``borrow_requests``: a request to borrow one restricted contract, its decision, its grant's
  expiry and its return.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from storage.records.models import Base, BigIntId, utcnow


class ApprovalRuleSet(Base):
    __tablename__ = "approval_rule_sets"

    version: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by: Mapped[str] = mapped_column(String(200))
    note: Mapped[str | None] = mapped_column(Text)
    rules: Mapped[dict[str, Any]] = mapped_column(JSON)


class CustomerRiskFlag(Base):
    __tablename__ = "customer_risk_flags"

    customer_id: Mapped[int] = mapped_column(
        BigIntId, ForeignKey("customers.id", ondelete="CASCADE"), primary_key=True
    )
    flag: Mapped[str] = mapped_column(String(50), primary_key=True)
    set_by: Mapped[str] = mapped_column(String(200))
    set_at: Mapped[datetime] = mapped_column(default=utcnow)


class ApprovalRound(Base):
    __tablename__ = "approval_rounds"

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True, autoincrement=True)
    contract_id: Mapped[int] = mapped_column(
        BigIntId, ForeignKey("contracts.id", ondelete="CASCADE"), index=True
    )
    round_no: Mapped[int] = mapped_column(Integer)
    rules_version: Mapped[int] = mapped_column(Integer)
    rule_names: Mapped[list[str]] = mapped_column(JSON, default=list)
    steps: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    """Each step: users, roles, groups, mode and ``approvers`` (resolved at submission)."""
    state: Mapped[str] = mapped_column(String(20), index=True)
    current_step: Mapped[int] = mapped_column(Integer, default=0)
    step_started_at: Mapped[datetime] = mapped_column(default=utcnow)
    submitted_by: Mapped[str] = mapped_column(String(200))
    submitted_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column()
    reason: Mapped[str | None] = mapped_column(Text)
    reminded_at: Mapped[datetime | None] = mapped_column()


class ApprovalDecision(Base):
    __tablename__ = "approval_decisions"

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True, autoincrement=True)
    round_id: Mapped[int] = mapped_column(
        BigIntId, ForeignKey("approval_rounds.id", ondelete="CASCADE"), index=True
    )
    step_no: Mapped[int] = mapped_column(Integer)
    actor: Mapped[str] = mapped_column(String(200))
    decision: Mapped[str] = mapped_column(String(20))
    comment: Mapped[str | None] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(default=utcnow)


class BorrowRequest(Base):
    """No foreign key on ``contract_id``: a request names an id its borrower may not see, and
    the answer must not reveal whether that id exists (a request for an id that names no
    contract stays pending, unseen by any approver, until its borrower withdraws it)."""

    __tablename__ = "borrow_requests"

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True, autoincrement=True)
    contract_id: Mapped[int] = mapped_column(BigIntId, index=True)
    borrower: Mapped[str] = mapped_column(String(200), index=True)
    purpose: Mapped[str] = mapped_column(Text)
    days: Mapped[int] = mapped_column(Integer)
    download: Mapped[bool] = mapped_column(Boolean, default=False)
    state: Mapped[str] = mapped_column(String(20), index=True)
    requested_at: Mapped[datetime] = mapped_column(default=utcnow)
    decided_by: Mapped[str | None] = mapped_column(String(200))
    decided_at: Mapped[datetime | None] = mapped_column()
    comment: Mapped[str | None] = mapped_column(Text)
    starts_at: Mapped[datetime | None] = mapped_column()
    expires_at: Mapped[datetime | None] = mapped_column()
    returned_at: Mapped[datetime | None] = mapped_column()

    __table_args__ = (Index("ix_borrow_requests_borrower_contract", "borrower", "contract_id"),)
