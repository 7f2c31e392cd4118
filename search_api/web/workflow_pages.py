"""The pages of the two workflows: the approvers' queue (approve or reject with a comment,
submit a draft), and borrowing (借阅): ask to borrow, grant or refuse, the borrower's list with
early return. Every page acts through the caller's facade, as the API does."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import RedirectResponse, Response

from core.roles import Perm
from search_api.deps import ActsEditing, ActsViewing
from search_api.web.render import render

router = APIRouter(include_in_schema=False, tags=["web"])


@router.get("/approvals")
def approvals_page(
    f: ActsViewing,
    request: Request,
    mine: Annotated[bool, Query()] = True,
    state: Annotated[str, Query(max_length=20)] = "open",
) -> Response:
    """The approver's queue: each contract waiting for the caller's decision (``mine``), or
    every round of approval they may see, with terms, chain, decisions and changes."""
    result = f.approvals.queue(mine=mine, state=state or None)
    return render(request, "approvals.html", {"result": result, "mine": mine, "state": state})


@router.post("/approvals/{contract_id}/approve")
def approve_form(
    f: ActsViewing,
    contract_id: int,
    comment: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    f.approvals.approve(contract_id, comment=comment or None)
    return RedirectResponse("/approvals", status_code=303)


@router.post("/approvals/{contract_id}/reject")
def reject_form(
    f: ActsViewing,
    contract_id: int,
    comment: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    f.approvals.reject(contract_id, comment=comment)
    return RedirectResponse("/approvals", status_code=303)


@router.post("/approvals/submit")
def submit_form(f: ActsEditing, contract_id: Annotated[int, Form()]) -> Response:
    f.approvals.submit(contract_id)
    return RedirectResponse("/approvals?mine=false", status_code=303)


@router.get("/borrowings")
def borrowings_page(
    f: ActsViewing, request: Request, open: Annotated[bool, Query()] = False
) -> Response:
    """The borrower's own requests and grants (with early return), the requests and grants
    of contracts the caller is cleared for (an approver's queue; an auditor's view with
    overdue returns), and the request form."""
    mine = f.borrowing.list_requests(mine=True, open_only=open)
    others = [
        b
        for b in f.borrowing.list_requests(mine=False, open_only=open).items
        if b.borrower != f.caller.username
    ]
    return render(
        request,
        "borrowings.html",
        {
            "mine": mine.items,
            "others": others,
            "open": open,
            "may_decide": f.acting.can(Perm.CONTRACTS_EDIT),
        },
    )


@router.post("/borrowings")
def request_form(
    f: ActsViewing,
    contract_id: Annotated[int, Form()],
    purpose: Annotated[str, Form(max_length=2000)],
    days: Annotated[int, Form()],
    download: Annotated[bool, Form()] = False,
) -> Response:
    f.borrowing.request(contract_id, purpose=purpose, days=days, download=download)
    return RedirectResponse("/borrowings", status_code=303)


@router.post("/borrowings/{request_id}/grant")
def grant_form(
    f: ActsEditing, request_id: int, comment: Annotated[str, Form(max_length=2000)] = ""
) -> Response:
    f.borrowing.grant(request_id, comment=comment or None)
    return RedirectResponse("/borrowings", status_code=303)


@router.post("/borrowings/{request_id}/refuse")
def refuse_form(
    f: ActsEditing, request_id: int, comment: Annotated[str, Form(max_length=2000)] = ""
) -> Response:
    f.borrowing.refuse(request_id, comment=comment)
    return RedirectResponse("/borrowings", status_code=303)


@router.post("/borrowings/{request_id}/return")
def return_form(f: ActsViewing, request_id: int) -> Response:
    f.borrowing.give_back(request_id)
    return RedirectResponse("/borrowings", status_code=303)
