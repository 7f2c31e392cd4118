"""The contract and customer model (issue 6): customers, a contract's terms (suggested and
confirmed apart), lifecycle, filing, holds, payments, relations, the classification scheme,
reminders and the iCalendar feed.

The filtered contract list is ``GET /api/v1/contracts`` in ``routes/contracts.py``.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import Response

from schemas.contract_model import (
    AliasCreate,
    ArchivalPublic,
    ClassifierPublic,
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
    ReminderPublic,
    ReminderRun,
    SchemeCodeUpdate,
    SchemePublic,
    TermsUpdate,
    TransitionRequest,
)
from search_api.deps import (
    AccessDep,
    ActorDep,
    ArchiveDep,
    CanEditContracts,
    CanManageSettings,
    CanViewContracts,
)
from search_api.errors import ERROR_RESPONSES
from services.contracts.reminders import calendar, run_reminders

router = APIRouter(prefix="/api/v1", tags=["contract model"])


# --- customers --------------------------------------------------------------------------------
@router.get(
    "/customers", response_model=CustomerPage, responses=ERROR_RESPONSES, summary="Customers"
)
def list_customers(
    caller: CanViewContracts,
    access: AccessDep,
    archive: ArchiveDep,
    q: Annotated[str | None, Query(max_length=200, description="Part of a name")] = None,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> CustomerPage:
    """Customers with their totals: contracts, live, expiring, expired without renewal,
    amounts, outstanding and overdue receivables."""
    return archive.contracts.list_customers(
        q=q, offset=offset, limit=limit, hidden=tuple(access.hidden_classes(caller))
    )


@router.post(
    "/customers",
    response_model=CustomerPublic,
    status_code=201,
    responses=ERROR_RESPONSES,
    summary="Create a customer",
)
def create_customer(
    caller: CanEditContracts, archive: ArchiveDep, actor: ActorDep, body: CustomerCreate
) -> CustomerPublic:
    return CustomerPublic.from_record(
        archive.contracts.create_customer(
            body.name,
            actor=actor,
            registration_no=body.registration_no,
            aliases=body.aliases,
            contacts=[c.model_dump(exclude_none=True) for c in body.contacts],
            notes=body.notes,
        )
    )


@router.get(
    "/customers/{ref}",
    response_model=CustomerView,
    responses=ERROR_RESPONSES,
    summary="One customer with every contract",
)
def get_customer(
    caller: CanViewContracts, access: AccessDep, archive: ArchiveDep, ref: str
) -> CustomerView:
    """By id, name or alias: every contract with its status, expiry and outstanding
    receivables, plus totals and facets (status, classification, year)."""
    return archive.contracts.customer_view(ref, hidden=tuple(access.hidden_classes(caller)))


@router.patch(
    "/customers/{customer_id}",
    response_model=CustomerPublic,
    responses=ERROR_RESPONSES,
    summary="Change a customer",
)
def update_customer(
    caller: CanEditContracts,
    archive: ArchiveDep,
    actor: ActorDep,
    customer_id: int,
    body: CustomerUpdate,
) -> CustomerPublic:
    changes: dict[str, Any] = body.model_dump(exclude_unset=True)
    if "contacts" in changes and changes["contacts"] is not None:
        changes["contacts"] = [
            {k: v for k, v in c.items() if v is not None} for c in changes["contacts"]
        ]
    return CustomerPublic.from_record(
        archive.contracts.update_customer(customer_id, changes, actor=actor)
    )


@router.post(
    "/customers/{customer_id}/aliases",
    response_model=CustomerPublic,
    responses=ERROR_RESPONSES,
    summary="Add a name variant",
)
def add_alias(
    caller: CanEditContracts,
    archive: ArchiveDep,
    actor: ActorDep,
    customer_id: int,
    body: AliasCreate,
) -> CustomerPublic:
    return CustomerPublic.from_record(
        archive.contracts.add_alias(customer_id, body.alias, actor=actor)
    )


@router.post(
    "/customers/{customer_id}/merge",
    response_model=CustomerPublic,
    responses=ERROR_RESPONSES,
    summary="Merge another customer into this one",
)
def merge_customers(
    caller: CanEditContracts,
    archive: ArchiveDep,
    actor: ActorDep,
    customer_id: int,
    body: MergeRequest,
) -> CustomerPublic:
    return CustomerPublic.from_record(
        archive.contracts.merge_customers(customer_id, body.source_id, actor=actor)
    )


# --- one contract's model ---------------------------------------------------------------------
@router.get(
    "/contracts/{contract_id}/terms",
    response_model=ContractTermsView,
    responses=ERROR_RESPONSES,
    summary="Terms: confirmed, and suggested with evidence",
)
def get_terms(caller: CanViewContracts, archive: ArchiveDep, contract_id: int) -> ContractTermsView:
    """Confirmed values and extraction suggestions apart; each suggestion with its page,
    character span, evidence text and confidence. Also parties, payments, holds, archival
    fields, the master contract and related contracts, and the allowed transitions."""
    return archive.contracts.view(contract_id)


@router.patch(
    "/contracts/{contract_id}/terms",
    response_model=ContractTermsView,
    responses=ERROR_RESPONSES,
    summary="Confirm or correct terms",
)
def update_terms(
    caller: CanEditContracts,
    archive: ArchiveDep,
    actor: ActorDep,
    contract_id: int,
    body: TermsUpdate,
) -> ContractTermsView:
    changes = body.model_dump(exclude_unset=True)
    reason = changes.pop("reason", None)
    if "parties" in changes and changes["parties"] is not None:
        changes["parties"] = body.parties
    archive.contracts.confirm(contract_id, changes, actor=actor, reason=reason)
    return archive.contracts.view(contract_id)


@router.post(
    "/contracts/{contract_id}/suggestions/{suggestion_id}/accept",
    response_model=ContractTermsView,
    responses=ERROR_RESPONSES,
    summary="Accept a suggestion as the confirmed value",
)
def accept_suggestion(
    caller: CanEditContracts,
    archive: ArchiveDep,
    actor: ActorDep,
    contract_id: int,
    suggestion_id: int,
) -> ContractTermsView:
    archive.contracts.accept_suggestion(contract_id, suggestion_id, actor=actor)
    return archive.contracts.view(contract_id)


@router.post(
    "/contracts/{contract_id}/suggestions/{suggestion_id}/reject",
    response_model=ContractTermsView,
    responses=ERROR_RESPONSES,
    summary="Reject a suggestion",
)
def reject_suggestion(
    caller: CanEditContracts,
    archive: ArchiveDep,
    actor: ActorDep,
    contract_id: int,
    suggestion_id: int,
) -> ContractTermsView:
    archive.contracts.reject_suggestion(contract_id, suggestion_id, actor=actor)
    return archive.contracts.view(contract_id)


@router.post(
    "/contracts/{contract_id}/transitions",
    response_model=EventPublic,
    responses={409: {"description": "not allowed from the current state"}, **ERROR_RESPONSES},
    summary="Move a contract to another lifecycle state",
)
def transition(
    caller: CanEditContracts,
    archive: ArchiveDep,
    actor: ActorDep,
    contract_id: int,
    body: TransitionRequest,
) -> EventPublic:
    return archive.contracts.transition(
        contract_id, body.to, actor=actor, reason=body.reason, force=body.force
    )


@router.get(
    "/contracts/{contract_id}/events",
    response_model=ContractEvents,
    responses=ERROR_RESPONSES,
    summary="The history: who, when, why",
)
def events(caller: CanViewContracts, archive: ArchiveDep, contract_id: int) -> ContractEvents:
    archive.get(contract_id)
    return ContractEvents(id=contract_id, events=archive.contracts.events(contract_id))


@router.post(
    "/contracts/{contract_id}/filing",
    response_model=ArchivalPublic,
    responses={409: {"description": "filed already, or not filable"}, **ERROR_RESPONSES},
    summary="File the contract: assign its archival code (档号) once",
)
def file_contract(
    caller: CanEditContracts,
    archive: ArchiveDep,
    actor: ActorDep,
    contract_id: int,
    body: FilingRequest,
) -> ArchivalPublic:
    terms = archive.contracts.file(
        contract_id, actor=actor, fonds_code=body.fonds_code, retention=body.retention
    )
    held = any(h.active for h in archive.contracts.store.list_holds(contract_id))
    return ArchivalPublic.from_record(terms, held=held)


@router.post(
    "/contracts/{contract_id}/holds",
    response_model=HoldPublic,
    status_code=201,
    responses=ERROR_RESPONSES,
    summary="Place a hold (the contract can never be disposed of while held)",
)
def place_hold(
    caller: CanEditContracts,
    archive: ArchiveDep,
    actor: ActorDep,
    contract_id: int,
    body: HoldCreate,
) -> HoldPublic:
    return archive.contracts.place_hold(contract_id, body.reason, actor=actor)


@router.post(
    "/contracts/{contract_id}/holds/{hold_id}/release",
    response_model=HoldPublic,
    responses=ERROR_RESPONSES,
    summary="Release a hold, with a reason",
)
def release_hold(
    caller: CanEditContracts,
    archive: ArchiveDep,
    actor: ActorDep,
    contract_id: int,
    hold_id: int,
    body: HoldRelease,
) -> HoldPublic:
    return archive.contracts.release_hold(contract_id, hold_id, body.reason, actor=actor)


@router.get(
    "/contracts/{contract_id}/payments",
    response_model=list[PaymentPublic],
    responses=ERROR_RESPONSES,
    summary="The payment plan",
)
def list_payments(
    caller: CanViewContracts, archive: ArchiveDep, contract_id: int
) -> list[PaymentPublic]:
    return archive.contracts.view(contract_id).payments


@router.post(
    "/contracts/{contract_id}/payments",
    response_model=PaymentPublic,
    status_code=201,
    responses=ERROR_RESPONSES,
    summary="Add a payment plan item",
)
def add_payment(
    caller: CanEditContracts,
    archive: ArchiveDep,
    actor: ActorDep,
    contract_id: int,
    body: PaymentCreate,
) -> PaymentPublic:
    return archive.contracts.add_payment(contract_id, actor=actor, **body.model_dump())


@router.patch(
    "/contracts/{contract_id}/payments/{item_id}",
    response_model=PaymentPublic,
    responses=ERROR_RESPONSES,
    summary="Record what was paid and when",
)
def record_payment(
    caller: CanEditContracts,
    archive: ArchiveDep,
    actor: ActorDep,
    contract_id: int,
    item_id: int,
    body: PaymentUpdate,
) -> PaymentPublic:
    return archive.contracts.record_payment(
        contract_id, item_id, paid_amount=body.paid_amount, paid_date=body.paid_date, actor=actor
    )


# --- classification scheme --------------------------------------------------------------------
@router.get(
    "/classification",
    response_model=SchemePublic,
    responses=ERROR_RESPONSES,
    summary="The classification scheme (current, or a version)",
)
def get_scheme(
    caller: CanViewContracts,
    archive: ArchiveDep,
    version: Annotated[int | None, Query(ge=1)] = None,
) -> SchemePublic:
    return archive.contracts.scheme(version)


@router.get(
    "/classification/versions",
    response_model=list[SchemePublic],
    responses=ERROR_RESPONSES,
    summary="Every version of the scheme",
)
def scheme_versions(caller: CanViewContracts, archive: ArchiveDep) -> list[SchemePublic]:
    return archive.contracts.scheme_versions()


@router.put(
    "/classification/codes/{code}",
    response_model=SchemePublic,
    responses=ERROR_RESPONSES,
    summary="Add or change a code (makes a new scheme version)",
)
def set_code(
    caller: CanManageSettings,
    archive: ArchiveDep,
    actor: ActorDep,
    code: str,
    body: SchemeCodeUpdate,
) -> SchemePublic:
    return archive.contracts.set_code(
        code,
        name_zh=body.name_zh,
        name_en=body.name_en,
        retention=body.retention,
        keywords=body.keywords,
        actor=actor,
        note=body.note,
    )


@router.delete(
    "/classification/codes/{code}",
    response_model=SchemePublic,
    responses=ERROR_RESPONSES,
    summary="Retire a code (makes a new scheme version)",
)
def retire_code(
    caller: CanManageSettings, archive: ArchiveDep, actor: ActorDep, code: str
) -> SchemePublic:
    return archive.contracts.retire_code(code, actor=actor)


@router.post(
    "/classification/classifier",
    response_model=ClassifierPublic,
    responses=ERROR_RESPONSES,
    summary="Train the classifier on the confirmed contracts",
)
def train_classifier(
    caller: CanManageSettings, archive: ArchiveDep, actor: ActorDep
) -> ClassifierPublic:
    return archive.contracts.train_classifier(actor=actor)


# --- reminders --------------------------------------------------------------------------------
@router.get(
    "/reminders",
    response_model=ReminderFeed,
    responses=ERROR_RESPONSES,
    summary="The reminder feed (newest first)",
)
def reminders(
    caller: CanViewContracts,
    access: AccessDep,
    archive: ArchiveDep,
    days: Annotated[int, Query(ge=1, le=3650, description="Made in the last N days")] = 30,
    kind: Annotated[
        str | None,
        Query(pattern="^(expiry|notice|expired_unrenewed|payment_overdue)$"),
    ] = None,
    contract_id: Annotated[int | None, Query(ge=1)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> ReminderFeed:
    since = datetime.now(UTC) - timedelta(days=days)
    items = archive.contracts.store.list_reminders(
        since=since, kinds=(kind,) if kind else (), contract_id=contract_id, limit=limit
    )
    hidden = access.hidden_classes(caller)
    if hidden:  # reminders of contracts of a restricted class the caller may not see
        items = [r for r in items if archive.get(r.contract_id).classification not in hidden]
    return ReminderFeed(items=[ReminderPublic.from_record(r) for r in items])


@router.post(
    "/reminders/run",
    response_model=ReminderRun,
    responses=ERROR_RESPONSES,
    summary="Run the reminder job now (what `contract-archive reminders run` does)",
)
def run_reminder_job(caller: CanManageSettings, archive: ArchiveDep) -> ReminderRun:
    return run_reminders(archive.contracts)


@router.get(
    "/calendar.ics",
    response_class=Response,
    responses={200: {"content": {"text/calendar": {}}}, **ERROR_RESPONSES},
    summary="iCalendar feed: expiries, notice deadlines, payments due",
)
def calendar_feed(caller: CanViewContracts, access: AccessDep, archive: ArchiveDep) -> Response:
    return Response(
        calendar(archive.contracts, hidden=access.hidden_classes(caller)),
        media_type="text/calendar; charset=utf-8",
        headers={"Content-Disposition": 'inline; filename="contracts.ics"'},
    )
