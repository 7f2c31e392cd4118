"""The contract page's edit forms (issue 15): title and customer, the terms (dates, amount and
currency, governing law, renewal), payments and what was paid, filing (classification, fonds
code, 保管期限 → 档号), lifecycle transitions, holds, and the link to a master contract.

Each form acts through the same facade actions as the API (``routes/contract_edits.py``,
``routes/model.py``) and the command line (``contract-archive contract ...``): a page parses
what was typed, checks it against the API's own request models (``schemas``), sends only what
changed, and does nothing else. A save goes back to the contract page with a result message
(``?saved=``); a refusal (a bad date, an unknown customer, a transition the rules forbid)
shows the page again with the form as typed and the reason in the page's language, at 400,
404 or 409 as the API would answer; nothing is written when a form is refused.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import BaseModel, ValidationError
from starlette.concurrency import run_in_threadpool

from core.errors import ArchiveError, NotFound
from core.rules import PARTY_ROLES
from schemas.contract_model import (
    FilingRequest,
    HoldCreate,
    HoldRelease,
    PaymentCreate,
    PaymentUpdate,
    TermsUpdate,
)
from search_api.deps import ActsEditing
from search_api.web.contract_pages import show_contract
from services.facade import Facade

router = APIRouter(include_in_schema=False, tags=["web"])

TERM_FIELDS: tuple[tuple[str, str], ...] = (
    ("contract_no", "text"),
    ("sign_date", "date"),
    ("effective_date", "date"),
    ("expiry_date", "date"),
    ("amount", "amount"),
    ("currency", "text"),
    ("governing_law", "text"),
    ("renewal_type", "text"),
    ("renewal_term_months", "int"),
    ("renewal_max_count", "int"),
    ("renewal_count", "int"),
    ("notice_days", "int"),
)
"""The terms form's fields and how each is read (the names are ``TermsUpdate``'s)."""


Text = Annotated[str, Form(max_length=2000)]


class FieldError(Exception):
    """What was typed in one field cannot be read: ``key`` is the catalogue's message."""

    def __init__(self, name: str, key: str) -> None:
        super().__init__(f"{name}: {key}")
        self.name = name
        self.key = key


@dataclass
class EditState:
    """A refused form, shown again: which form, its values as typed, the message (a catalogue
    key, or the archive's own words, localized by the page) and the field it is about."""

    form: str
    values: dict[str, str]
    key: str | None = None
    message: str | None = None
    field: str | None = None


# --- reading what was typed -------------------------------------------------------------------
def _text(raw: str) -> str | None:
    return " ".join(raw.split()) or None


def _date(name: str, raw: str) -> date | None:
    text = raw.strip()
    if not text:
        return None
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
        raise FieldError(name, "edit.error.bad_date")
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise FieldError(name, "edit.error.bad_date") from None


def _amount(name: str, raw: str) -> Decimal | None:
    text = re.sub(r"[\s,，_]", "", raw)
    if not text:
        return None
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise FieldError(name, "edit.error.bad_amount") from None
    if not value.is_finite() or value < 0 or value != value.quantize(Decimal("0.01")):
        raise FieldError(name, "edit.error.bad_amount")
    return value


def _int(name: str, raw: str) -> int | None:
    text = raw.strip()
    if not text:
        return None
    if not text.isdigit():
        raise FieldError(name, "edit.error.bad_number")
    return int(text)


def _checked(model: type[BaseModel], data: dict[str, Any]) -> BaseModel:
    """``data`` checked by the API's request model: a value it refuses is the field's error."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        name = str(first["loc"][0]) if first["loc"] else ""
        raise FieldError(name, "edit.error.invalid") from None


# --- answers ------------------------------------------------------------------------------------
def _saved(contract_id: int, what: str, anchor: str) -> RedirectResponse:
    return RedirectResponse(f"/contracts/{contract_id}?saved={what}#{anchor}", status_code=303)


def _again(
    f: Facade, request: Request, contract_id: int, state: EditState, status: int = 400
) -> Response:
    """The contract page again, with the refused form as typed and why."""
    return show_contract(
        f,
        request,
        contract_id,
        extra={
            "edit": state,
            "saved": None,
            "lang_url": lambda code: f"/contracts/{contract_id}?lang={code}",
        },
        status_code=status,
    )


def _refused(
    f: Facade, request: Request, contract_id: int, form: str, values: dict[str, str], exc: Exception
) -> Response:
    if isinstance(exc, FieldError):
        state = EditState(form, values, key=exc.key, field=exc.name)
        return _again(f, request, contract_id, state)
    assert isinstance(exc, ArchiveError)
    if exc.http_status not in (400, 404, 409):
        raise exc  # a permission refused, a failure: the error page
    state = EditState(form, values, message=exc.message)
    return _again(f, request, contract_id, state, exc.http_status)


# --- title and customer -------------------------------------------------------------------------
@router.post("/contracts/{contract_id}/edit/record")
def record_form(
    f: ActsEditing,
    request: Request,
    contract_id: int,
    title: Annotated[str, Form(max_length=1000)] = "",
    customer: Annotated[str, Form(max_length=500)] = "",
    new_customer: Annotated[bool, Form()] = False,
    reason: Text = "",
) -> Response:
    """Title (``PATCH /api/v1/contracts/{id}``) and customer (``PATCH .../terms``, which links
    the customer record). A name that matches no customer is refused unless "new customer" is
    ticked: a typo does not make a customer."""
    values = {"title": title, "customer": customer, "reason": reason}
    if new_customer:
        values["new_customer"] = "1"
    try:
        record = f.contracts.view(contract_id)
        new_title, new_name = _text(title), _text(customer)
        if new_title is None:
            raise FieldError("title", "edit.error.title_required")
        if new_name is None and record.customer:
            raise FieldError("customer", "edit.error.customer_required")
        title_changed = new_title != record.title
        customer_changed = new_name is not None and new_name != record.customer
        if customer_changed and not new_customer:
            try:
                f.customers.view(str(new_name))
            except NotFound:
                raise FieldError("customer", "edit.error.unknown_customer") from None
        if not (title_changed or customer_changed):
            return _saved(contract_id, "unchanged", "edit-record")
        if title_changed:
            f.contracts.update(contract_id, {"title": new_title})
        if customer_changed:
            f.terms.update(contract_id, {"customer": new_name}, reason=_text(reason))
    except (FieldError, ArchiveError) as exc:
        return _refused(f, request, contract_id, "record", values, exc)
    return _saved(contract_id, "record", "edit-record")


# --- terms --------------------------------------------------------------------------------------
@router.post("/contracts/{contract_id}/edit/terms")
async def terms_form(f: ActsEditing, request: Request, contract_id: int) -> Response:
    """Confirm or correct the terms (``PATCH /api/v1/contracts/{id}/terms``): only the fields
    whose value differs from the confirmed one are sent; an emptied field is cleared."""
    form = await request.form()
    values = {
        name: str(form.get(name) or "")[:2000] for name, _ in (*TERM_FIELDS, ("reason", "text"))
    }
    return await _run(_save_terms, f, request, contract_id, values)


def _save_terms(f: Facade, request: Request, contract_id: int, values: dict[str, str]) -> Response:
    try:
        confirmed = f.terms.view(contract_id).confirmed
        changes: dict[str, Any] = {}
        for name, kind in TERM_FIELDS:
            raw = values[name]
            value: Any
            if kind == "date":
                value = _date(name, raw)
            elif kind == "amount":
                value = _amount(name, raw)
            elif kind == "int":
                value = _int(name, raw)
            else:
                value = _text(raw)
            if value != getattr(confirmed, name):
                changes[name] = value
        if not changes:
            return _saved(contract_id, "unchanged", "edit-terms")
        _checked(TermsUpdate, changes)
        f.terms.update(contract_id, changes, reason=_text(values["reason"]))
    except (FieldError, ArchiveError) as exc:
        return _refused(f, request, contract_id, "terms", values, exc)
    return _saved(contract_id, "terms", "edit-terms")


async def _run(fn: Any, *args: Any) -> Response:
    result: Response = await run_in_threadpool(fn, *args)
    return result


# --- payments -----------------------------------------------------------------------------------
@router.post("/contracts/{contract_id}/edit/payment")
def payment_form(
    f: ActsEditing,
    request: Request,
    contract_id: int,
    due_date: Text = "",
    amount: Text = "",
    currency: Text = "CNY",
    direction: Text = "receivable",
    description: Text = "",
) -> Response:
    """Add a payment plan item (``POST /api/v1/contracts/{id}/payments``)."""
    values = {
        "due_date": due_date,
        "amount": amount,
        "currency": currency,
        "direction": direction,
        "description": description,
    }
    try:
        due = _date("due_date", due_date)
        if due is None:
            raise FieldError("due_date", "edit.error.required")
        value = _amount("amount", amount)
        if value is None or value == 0:
            raise FieldError("amount", "edit.error.bad_amount")
        body = _checked(
            PaymentCreate,
            {
                "due_date": due,
                "amount": value,
                "currency": currency.strip().upper(),
                "direction": direction,
                "description": _text(description),
            },
        )
        f.payments.add(contract_id, **body.model_dump())
    except (FieldError, ArchiveError) as exc:
        return _refused(f, request, contract_id, "payment", values, exc)
    return _saved(contract_id, "payment", "edit-payment")


@router.post("/contracts/{contract_id}/edit/payments/{item_id}")
def paid_form(
    f: ActsEditing,
    request: Request,
    contract_id: int,
    item_id: int,
    paid_amount: Text = "",
    paid_date: Text = "",
) -> Response:
    """Record what was paid on an item, and when (``PATCH .../payments/{item_id}``)."""
    values = {"paid_amount": paid_amount, "paid_date": paid_date, "item": str(item_id)}
    try:
        paid = _amount("paid_amount", paid_amount)
        day = _date("paid_date", paid_date)
        if paid is None:
            raise FieldError("paid_amount", "edit.error.required")
        if day is None:
            raise FieldError("paid_date", "edit.error.required")
        body = _checked(PaymentUpdate, {"paid_amount": paid, "paid_date": day})
        assert isinstance(body, PaymentUpdate)
        f.payments.record(
            contract_id, item_id, paid_amount=body.paid_amount, paid_date=body.paid_date
        )
    except (FieldError, ArchiveError) as exc:
        return _refused(f, request, contract_id, "paid", values, exc)
    return _saved(contract_id, "paid", "edit-payment")


# --- filing -------------------------------------------------------------------------------------
@router.post("/contracts/{contract_id}/edit/file")
def file_form(
    f: ActsEditing,
    request: Request,
    contract_id: int,
    classification: Annotated[str, Form(max_length=10)] = "",
    fonds_code: Annotated[str, Form(max_length=20)] = "",
    retention: Annotated[str, Form(max_length=5)] = "",
    force_reason: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    """File the contract (``POST /api/v1/contracts/{id}/filing``): its classification is
    confirmed first when it is chosen here (that needs ``contracts:classify``); the archive
    then runs the 四性检测 and assigns the 档号 (全宗号-HT·年度-保管期限-分类-件号), once. A
    FAILED item refuses it unless a reason to file it anyway is given (``force_reason``)."""
    values = {
        "classification": classification,
        "fonds_code": fonds_code,
        "retention": retention,
        "force_reason": force_reason,
    }
    try:
        body = _checked(
            FilingRequest,
            {
                "fonds_code": fonds_code.strip() or None,
                "retention": retention or None,
                "force_reason": force_reason.strip() or None,
            },
        )
        assert isinstance(body, FilingRequest)
        code = classification.strip().upper() or None
        view = f.terms.view(contract_id)
        confirmed = view.confirmed.classification
        if code is not None and code != confirmed:
            if code not in {c.code for c in f.scheme.show().codes}:
                raise FieldError("classification", "edit.error.unknown_code")
            suggested = [
                s
                for s in view.suggested.get("classification", [])
                if s.state == "open" and s.value == code
            ]
            if suggested:  # the suggestion confirmed, not left open beside the same value
                f.terms.accept(contract_id, suggested[0].id)
            else:
                f.terms.update(contract_id, {"classification": code}, reason="filing")
        elif code is None and confirmed is None:
            raise FieldError("classification", "edit.error.required")
        f.lifecycle.file(
            contract_id,
            fonds_code=body.fonds_code,
            retention=body.retention,
            force_reason=body.force_reason,
        )
    except (FieldError, ArchiveError) as exc:
        return _refused(f, request, contract_id, "file", values, exc)
    return _saved(contract_id, "file", "edit-file")


# --- lifecycle ----------------------------------------------------------------------------------
@router.post("/contracts/{contract_id}/edit/transition")
def transition_form(
    f: ActsEditing,
    request: Request,
    contract_id: int,
    to: Annotated[str, Form(max_length=30)] = "",
    reason: Text = "",
) -> Response:
    """Move the contract to one of the states its rules allow next
    (``POST /api/v1/contracts/{id}/transitions``), with the reason kept in its history."""
    values = {"to": to, "reason": reason}
    try:
        if not to.strip():
            raise FieldError("to", "edit.error.required")
        f.lifecycle.transition(contract_id, to.strip(), reason=_text(reason))
    except (FieldError, ArchiveError) as exc:
        return _refused(f, request, contract_id, "transition", values, exc)
    return _saved(contract_id, "transition", "edit-transition")


# --- holds --------------------------------------------------------------------------------------
@router.post("/contracts/{contract_id}/edit/hold")
def hold_form(f: ActsEditing, request: Request, contract_id: int, reason: Text = "") -> Response:
    """Place a hold (``POST /api/v1/contracts/{id}/holds``): never disposed of while held."""
    values = {"reason": reason}
    try:
        text = _text(reason)
        if text is None:
            raise FieldError("reason", "edit.error.reason_required")
        _checked(HoldCreate, {"reason": text})
        f.lifecycle.place_hold(contract_id, text)
    except (FieldError, ArchiveError) as exc:
        return _refused(f, request, contract_id, "hold", values, exc)
    return _saved(contract_id, "hold", "edit-hold")


@router.post("/contracts/{contract_id}/edit/holds/{hold_id}/release")
def release_form(
    f: ActsEditing, request: Request, contract_id: int, hold_id: int, reason: Text = ""
) -> Response:
    """Release a hold, with a reason (``POST .../holds/{hold_id}/release``)."""
    values = {"reason": reason, "hold": str(hold_id)}
    try:
        text = _text(reason)
        if text is None:
            raise FieldError("release_reason", "edit.error.reason_required")
        _checked(HoldRelease, {"reason": text})
        f.lifecycle.release_hold(contract_id, hold_id, text)
    except (FieldError, ArchiveError) as exc:
        return _refused(f, request, contract_id, "release", values, exc)
    return _saved(contract_id, "release", "edit-hold")


# --- relations ----------------------------------------------------------------------------------
@router.post("/contracts/{contract_id}/edit/relation")
def relation_form(
    f: ActsEditing,
    request: Request,
    contract_id: int,
    master_id: Text = "",
    relation: Annotated[str, Form(max_length=20)] = "amendment",
    reason: Text = "",
    unlink: Annotated[bool, Form()] = False,
) -> Response:
    """Link the contract to its master contract as an amendment, supplement, annex or
    renewal, or remove the link (``PATCH /api/v1/contracts/{id}/terms``, as
    ``contract-archive contract relate`` does)."""
    values = {"master_id": master_id, "relation": relation, "reason": reason}
    try:
        if unlink:
            changes: dict[str, Any] = {"master_id": None, "relation": None}
        else:
            master = _int("master_id", master_id.strip().lstrip("#"))
            if master is None:
                raise FieldError("master_id", "edit.error.required")
            changes = {"master_id": master, "relation": relation}
        _checked(TermsUpdate, changes)
        f.terms.update(contract_id, changes, reason=_text(reason))
    except (FieldError, ArchiveError) as exc:
        return _refused(f, request, contract_id, "relation", values, exc)
    return _saved(contract_id, "unlink" if unlink else "relation", "edit-relation")


# --- parties ------------------------------------------------------------------------------------
MAX_PARTIES = 20
"""As many parties as ``TermsUpdate.parties`` takes."""

_PARTY_FIELD = re.compile(r"(?:role|name|remove)_\d{1,2}")


@router.post("/contracts/{contract_id}/edit/parties")
async def parties_form(f: ActsEditing, request: Request, contract_id: int) -> Response:
    """Change a party's name or role, remove parties, add one (``PATCH .../terms`` with
    ``parties``, the whole list, as the API and ``contract-archive contract`` send it)."""
    form = await request.form()
    values = {
        key: str(value)[:2000]
        for key, value in form.multi_items()
        if isinstance(value, str)
        and (key in ("new_role", "new_name", "reason") or _PARTY_FIELD.fullmatch(key))
    }
    return await _run(_save_parties, f, request, contract_id, values)


def _save_parties(
    f: Facade, request: Request, contract_id: int, values: dict[str, str]
) -> Response:
    """A party whose name is unchanged keeps its customer link (and "us"); a renamed or new one
    is linked as the API links it: to the customer its name matches, else to none."""
    try:
        current = f.terms.view(contract_id).parties
        parties: list[dict[str, Any]] = []
        for i, party in enumerate(current):
            if values.get(f"remove_{i}"):
                continue
            name = _text(values.get(f"name_{i}", party.name))
            if name is None:
                raise FieldError(f"name_{i}", "edit.error.party_name_required")
            role = values.get(f"role_{i}", party.role).strip()
            if role != party.role and role not in PARTY_ROLES:
                raise FieldError(f"role_{i}", "edit.error.unknown_role")
            kept = name == party.name
            parties.append(
                {
                    "role": role,
                    "name": name,
                    "role_label": party.role_label if role == party.role else None,
                    "customer_id": party.customer_id if kept else None,
                    "is_us": party.is_us if kept else False,
                }
            )
        new_name = _text(values.get("new_name", ""))
        if new_name is not None:
            role = values.get("new_role", "").strip() or "party"
            if role not in PARTY_ROLES:
                raise FieldError("new_role", "edit.error.unknown_role")
            parties.append({"role": role, "name": new_name})
        if len(parties) > MAX_PARTIES:
            raise FieldError("new_name", "edit.error.too_many_parties")
        before = [(p.role, p.name) for p in current]
        if [(p["role"], p["name"]) for p in parties] == before:
            return _saved(contract_id, "unchanged", "edit-parties")
        body = _checked(TermsUpdate, {"parties": parties})
        assert isinstance(body, TermsUpdate)
        f.terms.update(
            contract_id, {"parties": body.parties}, reason=_text(values.get("reason", ""))
        )
    except (FieldError, ArchiveError) as exc:
        return _refused(f, request, contract_id, "parties", values, exc)
    return _saved(contract_id, "parties", "edit-parties")
