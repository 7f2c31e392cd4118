"""Approval before signing and borrowing (借阅): the approvers' queue, submitting, approving,
rejecting; requesting, granting, refusing and returning a borrowing; the approval rules."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from schemas.workflows import (
    ApprovalDecide,
    ApprovalList,
    ApprovalPublic,
    ApprovalReminderRun,
    ApprovalRulesPublic,
    ApprovalRulesUpdate,
    BorrowCreate,
    BorrowDecide,
    BorrowList,
    BorrowPublic,
    RiskFlagsUpdate,
)
from search_api.deps import ActsEditing, ActsManagingSettings, ActsViewing
from search_api.errors import ERROR_RESPONSES

router = APIRouter(tags=["workflows"])


# -- approval ------------------------------------------------------------------------------------
@router.get(
    "/api/v1/approvals",
    response_model=ApprovalList,
    responses=ERROR_RESPONSES,
    summary="Rounds of approval (mine=true: those waiting for my decision)",
)
def list_approvals(
    f: ActsViewing,
    mine: bool = False,
    state: Annotated[str | None, Query(description="open, approved or rejected")] = "open",
) -> ApprovalList:
    """Each with the contract, its confirmed terms, the chain and its decisions, and what
    changed since the last round. Contracts the caller may not see are left out."""
    return f.approvals.queue(mine=mine, state=state or None)


@router.get(
    "/api/v1/approvals/rules",
    response_model=ApprovalRulesPublic,
    responses=ERROR_RESPONSES,
    summary="The current approval rules",
)
def approval_rules(f: ActsViewing) -> ApprovalRulesPublic:
    return f.approvals.rules()


@router.put(
    "/api/v1/approvals/rules",
    response_model=ApprovalRulesPublic,
    responses=ERROR_RESPONSES,
    summary="Replace the approval rules (a new version)",
)
def set_approval_rules(body: ApprovalRulesUpdate, f: ActsManagingSettings) -> ApprovalRulesPublic:
    return f.approvals.set_rules({"rules": body.rules}, note=body.note, based_on=body.based_on)


@router.post(
    "/api/v1/approvals/remind",
    response_model=ApprovalReminderRun,
    responses=ERROR_RESPONSES,
    summary="Remind the approvers of steps waiting too long",
)
def remind_approvals(f: ActsManagingSettings) -> ApprovalReminderRun:
    return f.approvals.remind()


@router.put(
    "/api/v1/customers/{customer_id}/risk-flags",
    response_model=list[str],
    responses=ERROR_RESPONSES,
    summary="Set a customer's risk flags (what approval rules select on)",
)
def set_risk_flags(customer_id: int, body: RiskFlagsUpdate, f: ActsManagingSettings) -> list[str]:
    return f.approvals.set_risk_flags(str(customer_id), body.flags)


@router.get(
    "/api/v1/contracts/{contract_id}/approval",
    response_model=ApprovalList,
    responses=ERROR_RESPONSES,
    summary="Every round of approval of a contract",
)
def contract_approvals(contract_id: int, f: ActsViewing) -> ApprovalList:
    return f.approvals.view(contract_id)


@router.post(
    "/api/v1/contracts/{contract_id}/approval",
    response_model=ApprovalPublic,
    status_code=201,
    responses=ERROR_RESPONSES,
    summary="Submit a draft for approval (starts the chain the rules select)",
)
def submit_for_approval(contract_id: int, f: ActsEditing) -> ApprovalPublic:
    return f.approvals.submit(contract_id)


@router.post(
    "/api/v1/contracts/{contract_id}/approval/approve",
    response_model=ApprovalPublic,
    responses=ERROR_RESPONSES,
    summary="Approve the current step (the last approval moves the contract to signing)",
)
def approve(contract_id: int, body: ApprovalDecide, f: ActsViewing) -> ApprovalPublic:
    return f.approvals.approve(contract_id, comment=body.comment)


@router.post(
    "/api/v1/contracts/{contract_id}/approval/reject",
    response_model=ApprovalPublic,
    responses=ERROR_RESPONSES,
    summary="Reject (with a comment): the contract returns to draft",
)
def reject(contract_id: int, body: ApprovalDecide, f: ActsViewing) -> ApprovalPublic:
    return f.approvals.reject(contract_id, comment=body.comment or "")


# -- borrowing -----------------------------------------------------------------------------------
@router.get(
    "/api/v1/borrowings",
    response_model=BorrowList,
    responses=ERROR_RESPONSES,
    summary="Borrowing requests and grants (mine=true: my own; open=true: pending or live)",
)
def list_borrowings(f: ActsViewing, mine: bool = False, open: bool = False) -> BorrowList:
    return f.borrowing.list_requests(mine=mine, open_only=open)


@router.post(
    "/api/v1/borrowings",
    response_model=BorrowPublic,
    status_code=201,
    responses=ERROR_RESPONSES,
    summary="Ask to borrow a contract of a restricted class (借阅)",
)
def request_borrowing(body: BorrowCreate, f: ActsViewing) -> BorrowPublic:
    return f.borrowing.request(
        body.contract_id, purpose=body.purpose, days=body.days, download=body.download
    )


@router.post(
    "/api/v1/borrowings/{request_id}/grant",
    response_model=BorrowPublic,
    responses=ERROR_RESPONSES,
    summary="Grant a borrowing request",
)
def grant_borrowing(request_id: int, body: BorrowDecide, f: ActsEditing) -> BorrowPublic:
    return f.borrowing.grant(request_id, comment=body.comment)


@router.post(
    "/api/v1/borrowings/{request_id}/refuse",
    response_model=BorrowPublic,
    responses=ERROR_RESPONSES,
    summary="Refuse a borrowing request (with a comment)",
)
def refuse_borrowing(request_id: int, body: BorrowDecide, f: ActsEditing) -> BorrowPublic:
    return f.borrowing.refuse(request_id, comment=body.comment or "")


@router.post(
    "/api/v1/borrowings/{request_id}/return",
    response_model=BorrowPublic,
    responses=ERROR_RESPONSES,
    summary="Return a borrowing early (or withdraw a pending request)",
)
def return_borrowing(request_id: int, f: ActsViewing) -> BorrowPublic:
    return f.borrowing.give_back(request_id)
