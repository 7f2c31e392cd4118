"""The contract and customer model (issue 6): customers, a contract's terms (suggested and
confirmed apart), lifecycle, filing, holds, payments, relations, the classification scheme,
reminders and the iCalendar feed.

The filtered contract list is ``GET /api/v1/contracts`` in ``routes/contracts.py``.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import Response

from schemas.contract_model import (
    AliasCreate,
    ArchivalPublic,
    ClassifierPublic,
    ContractClauses,
    ContractEvents,
    ContractTermsView,
    CustomerCreate,
    CustomerPage,
    CustomerPublic,
    CustomerUpdate,
    CustomerView,
    EventPublic,
    FilingRequest,
    HoldCreate,
    HoldPublic,
    HoldRelease,
    MergeRequest,
    PaymentCreate,
    PaymentPublic,
    PaymentUpdate,
    ReminderFeed,
    ReminderRun,
    SchemeCodeUpdate,
    SchemePublic,
    TermsUpdate,
    TransitionRequest,
)
from schemas.fourprops import FourPropsReport
from search_api.deps import ActsEditing, ActsManagingSettings, ActsViewing
from search_api.errors import ERROR_RESPONSES
from search_api.routes.contracts import Purpose

router = APIRouter(prefix="/api/v1", tags=["contract model"])


# --- customers --------------------------------------------------------------------------------
@router.get(
    "/customers", response_model=CustomerPage, responses=ERROR_RESPONSES, summary="Customers"
)
def list_customers(
    f: ActsViewing,
    q: Annotated[str | None, Query(max_length=200, description="Part of a name")] = None,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> CustomerPage:
    """Customers with their totals: contracts, live, expiring, expired without renewal,
    amounts, outstanding and overdue receivables."""
    return f.customers.list_page(q=q, offset=offset, limit=limit)


@router.post(
    "/customers",
    response_model=CustomerPublic,
    status_code=201,
    responses=ERROR_RESPONSES,
    summary="Create a customer",
)
def create_customer(f: ActsEditing, body: CustomerCreate) -> CustomerPublic:
    return f.customers.create(
        body.name,
        registration_no=body.registration_no,
        aliases=body.aliases,
        contacts=[c.model_dump(exclude_none=True) for c in body.contacts],
        notes=body.notes,
    )


@router.get(
    "/customers/{ref}",
    response_model=CustomerView,
    responses=ERROR_RESPONSES,
    summary="One customer with every contract",
)
def get_customer(f: ActsViewing, ref: str) -> CustomerView:
    """By id, name or alias: every contract with its status, expiry and outstanding
    receivables, plus totals and facets (status, classification, year)."""
    return f.customers.view(ref)


@router.patch(
    "/customers/{customer_id}",
    response_model=CustomerPublic,
    responses=ERROR_RESPONSES,
    summary="Change a customer",
)
def update_customer(f: ActsEditing, customer_id: int, body: CustomerUpdate) -> CustomerPublic:
    changes: dict[str, Any] = body.model_dump(exclude_unset=True)
    if "contacts" in changes and changes["contacts"] is not None:
        changes["contacts"] = [
            {k: v for k, v in c.items() if v is not None} for c in changes["contacts"]
        ]
    return f.customers.update(customer_id, changes)


@router.post(
    "/customers/{customer_id}/aliases",
    response_model=CustomerPublic,
    responses=ERROR_RESPONSES,
    summary="Add a name variant",
)
def add_alias(f: ActsEditing, customer_id: int, body: AliasCreate) -> CustomerPublic:
    return f.customers.add_alias(customer_id, body.alias)


@router.post(
    "/customers/{customer_id}/merge",
    response_model=CustomerPublic,
    responses=ERROR_RESPONSES,
    summary="Merge another customer into this one",
)
def merge_customers(f: ActsEditing, customer_id: int, body: MergeRequest) -> CustomerPublic:
    return f.customers.merge(customer_id, body.source_id)


# --- one contract's model ---------------------------------------------------------------------
@router.get(
    "/contracts/{contract_id}/terms",
    response_model=ContractTermsView,
    responses=ERROR_RESPONSES,
    summary="Terms: confirmed, and suggested with evidence",
)
def get_terms(f: ActsViewing, contract_id: int, purpose: Purpose = None) -> ContractTermsView:
    """Confirmed values and extraction suggestions apart; each suggestion with its page,
    character span, evidence text and confidence (the evidence text needs `contracts:read`,
    and for a restricted class a `purpose`, recorded in the access log, or a live grant).
    Also parties, payments, holds, archival fields, the master contract and related
    contracts, and the allowed transitions."""
    return f.terms.view(contract_id, purpose=purpose)


@router.patch(
    "/contracts/{contract_id}/terms",
    response_model=ContractTermsView,
    responses=ERROR_RESPONSES,
    summary="Confirm or correct terms",
)
def update_terms(f: ActsEditing, contract_id: int, body: TermsUpdate) -> ContractTermsView:
    changes = body.model_dump(exclude_unset=True)
    reason = changes.pop("reason", None)
    if "parties" in changes and changes["parties"] is not None:
        changes["parties"] = body.parties
    return f.terms.update(contract_id, changes, reason=reason)


@router.post(
    "/contracts/{contract_id}/suggestions/{suggestion_id}/accept",
    response_model=ContractTermsView,
    responses=ERROR_RESPONSES,
    summary="Accept a suggestion as the confirmed value",
)
def accept_suggestion(f: ActsEditing, contract_id: int, suggestion_id: int) -> ContractTermsView:
    return f.terms.accept(contract_id, suggestion_id)


@router.post(
    "/contracts/{contract_id}/suggestions/{suggestion_id}/reject",
    response_model=ContractTermsView,
    responses=ERROR_RESPONSES,
    summary="Reject a suggestion",
)
def reject_suggestion(f: ActsEditing, contract_id: int, suggestion_id: int) -> ContractTermsView:
    return f.terms.reject(contract_id, suggestion_id)


@router.post(
    "/contracts/{contract_id}/transitions",
    response_model=EventPublic,
    responses={409: {"description": "not allowed from the current state"}, **ERROR_RESPONSES},
    summary="Move a contract to another lifecycle state",
)
def transition(f: ActsEditing, contract_id: int, body: TransitionRequest) -> EventPublic:
    return f.lifecycle.transition(contract_id, body.to, reason=body.reason, force=body.force)


@router.get(
    "/contracts/{contract_id}/events",
    response_model=ContractEvents,
    responses=ERROR_RESPONSES,
    summary="The history: who, when, why",
)
def events(f: ActsViewing, contract_id: int) -> ContractEvents:
    return ContractEvents(id=contract_id, events=f.terms.history(contract_id))


@router.get(
    "/contracts/{contract_id}/clauses",
    response_model=ContractClauses,
    responses=ERROR_RESPONSES,
    summary="The clauses found in the contract (non-compete, cap on liability, 违约责任, ...)",
)
def clauses(f: ActsViewing, contract_id: int, purpose: Purpose = None) -> ContractClauses:
    """Each clause's sentence needs `contracts:read`, and for a restricted class a `purpose`
    (recorded in the access log) or a live grant; without, the sentence is empty."""
    return ContractClauses(id=contract_id, clauses=f.terms.clauses(contract_id, purpose=purpose))


@router.post(
    "/contracts/{contract_id}/filing",
    response_model=ArchivalPublic,
    responses={
        409: {"description": "filed already, not filable, or the 四性检测 FAILED (not forced)"},
        **ERROR_RESPONSES,
    },
    summary="File the contract: the 四性检测, then its archival code (档号), once",
)
def file_contract(f: ActsEditing, contract_id: int, body: FilingRequest) -> ArchivalPublic:
    return f.lifecycle.file(
        contract_id,
        fonds_code=body.fonds_code,
        retention=body.retention,
        force_reason=body.force_reason,
    )


@router.get(
    "/contracts/{contract_id}/fourprops",
    response_model=FourPropsReport,
    responses=ERROR_RESPONSES,
    summary="The 四性检测 report (authenticity, integrity, usability, security) made at filing",
)
def fourprops(f: ActsViewing, contract_id: int) -> FourPropsReport:
    return f.lifecycle.fourprops(contract_id)


@router.post(
    "/contracts/{contract_id}/holds",
    response_model=HoldPublic,
    status_code=201,
    responses=ERROR_RESPONSES,
    summary="Place a hold (the contract can never be disposed of while held)",
)
def place_hold(f: ActsEditing, contract_id: int, body: HoldCreate) -> HoldPublic:
    return f.lifecycle.place_hold(contract_id, body.reason)


@router.post(
    "/contracts/{contract_id}/holds/{hold_id}/release",
    response_model=HoldPublic,
    responses=ERROR_RESPONSES,
    summary="Release a hold, with a reason",
)
def release_hold(f: ActsEditing, contract_id: int, hold_id: int, body: HoldRelease) -> HoldPublic:
    return f.lifecycle.release_hold(contract_id, hold_id, body.reason)


@router.get(
    "/contracts/{contract_id}/payments",
    response_model=list[PaymentPublic],
    responses=ERROR_RESPONSES,
    summary="The payment plan",
)
def list_payments(f: ActsViewing, contract_id: int) -> list[PaymentPublic]:
    return f.payments.list_items(contract_id)


@router.post(
    "/contracts/{contract_id}/payments",
    response_model=PaymentPublic,
    status_code=201,
    responses=ERROR_RESPONSES,
    summary="Add a payment plan item",
)
def add_payment(f: ActsEditing, contract_id: int, body: PaymentCreate) -> PaymentPublic:
    return f.payments.add(contract_id, **body.model_dump())


@router.patch(
    "/contracts/{contract_id}/payments/{item_id}",
    response_model=PaymentPublic,
    responses=ERROR_RESPONSES,
    summary="Record what was paid and when",
)
def record_payment(
    f: ActsEditing, contract_id: int, item_id: int, body: PaymentUpdate
) -> PaymentPublic:
    return f.payments.record(
        contract_id, item_id, paid_amount=body.paid_amount, paid_date=body.paid_date
    )


# --- classification scheme --------------------------------------------------------------------
@router.get(
    "/classification",
    response_model=SchemePublic,
    responses=ERROR_RESPONSES,
    summary="The classification scheme (current, or a version)",
)
def get_scheme(f: ActsViewing, version: Annotated[int | None, Query(ge=1)] = None) -> SchemePublic:
    return f.scheme.show(version)


@router.get(
    "/classification/versions",
    response_model=list[SchemePublic],
    responses=ERROR_RESPONSES,
    summary="Every version of the scheme",
)
def scheme_versions(f: ActsViewing) -> list[SchemePublic]:
    return f.scheme.versions()


@router.put(
    "/classification/codes/{code}",
    response_model=SchemePublic,
    responses=ERROR_RESPONSES,
    summary="Add or change a code (makes a new scheme version)",
)
def set_code(f: ActsManagingSettings, code: str, body: SchemeCodeUpdate) -> SchemePublic:
    return f.scheme.set_code(
        code,
        name_zh=body.name_zh,
        name_en=body.name_en,
        retention=body.retention,
        keywords=body.keywords,
        note=body.note,
    )


@router.delete(
    "/classification/codes/{code}",
    response_model=SchemePublic,
    responses=ERROR_RESPONSES,
    summary="Retire a code (makes a new scheme version)",
)
def retire_code(f: ActsManagingSettings, code: str) -> SchemePublic:
    return f.scheme.retire_code(code)


@router.post(
    "/classification/classifier",
    response_model=ClassifierPublic,
    responses=ERROR_RESPONSES,
    summary="Train the classifier on the confirmed contracts",
)
def train_classifier(f: ActsManagingSettings) -> ClassifierPublic:
    return f.scheme.train()


# --- reminders --------------------------------------------------------------------------------
@router.get(
    "/reminders",
    response_model=ReminderFeed,
    responses=ERROR_RESPONSES,
    summary="The reminder feed (newest first)",
)
def reminders(
    f: ActsViewing,
    days: Annotated[int, Query(ge=1, le=3650, description="Made in the last N days")] = 30,
    kind: Annotated[
        str | None,
        Query(pattern="^(expiry|notice|expired_unrenewed|payment_overdue|approval_waiting)$"),
    ] = None,
    contract_id: Annotated[int | None, Query(ge=1)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> ReminderFeed:
    return f.reminders.feed(days=days, kind=kind, contract_id=contract_id, limit=limit)


@router.post(
    "/reminders/run",
    response_model=ReminderRun,
    responses=ERROR_RESPONSES,
    summary="Run the reminder job now (what `contract-archive reminders run` does)",
)
def run_reminder_job(f: ActsManagingSettings) -> ReminderRun:
    return f.reminders.run()


@router.get(
    "/calendar.ics",
    response_class=Response,
    responses={200: {"content": {"text/calendar": {}}}, **ERROR_RESPONSES},
    summary="iCalendar feed: expiries, notice deadlines, payments due",
)
def calendar_feed(f: ActsViewing) -> Response:
    return Response(
        f.reminders.calendar(),
        media_type="text/calendar; charset=utf-8",
        headers={"Content-Disposition": 'inline; filename="contracts.ics"'},
    )
