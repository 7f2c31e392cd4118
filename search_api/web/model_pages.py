"""The pages of the contract model: the home page's dashboard, customers, and the contract
page's form that accepts or rejects a suggested term. Every page acts through the caller's
facade (``services.facade``): what it shows leaves out what the caller may not see, and what it
does is logged as the facade's action."""

from __future__ import annotations

import math
from typing import Annotated, Literal

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import RedirectResponse, Response

from search_api.deps import ActsEditing, ActsViewing
from search_api.web.render import render

router = APIRouter(include_in_schema=False, tags=["web"])

CUSTOMERS_PAGE = 50


@router.get("/")
def home(f: ActsViewing, request: Request) -> Response:
    """Counts, the newest contracts, and the dashboard: expiring contracts and overdue
    receivables, all of contracts the caller may see."""
    d = f.dashboard.home()
    return render(
        request,
        "home.html",
        {
            "total": d.total,
            "recent": d.recent,
            "facets": d.facets,
            "stats": {"pages": d.pages, "awaiting_ocr": d.awaiting_ocr},
            "expiring": d.expiring,
            "expiring_days": d.expiring_days,
            "overdue": d.overdue,
            "alerts": d.alerts,
        },
    )


@router.get("/customers")
def customers_page(
    f: ActsViewing,
    request: Request,
    q: Annotated[str, Query(max_length=200)] = "",
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
) -> Response:
    result = f.customers.list_page(
        q=q or None, offset=(page - 1) * CUSTOMERS_PAGE, limit=CUSTOMERS_PAGE
    )
    pages = math.ceil(result.total / CUSTOMERS_PAGE) if result.total else 0
    return render(
        request,
        "customers.html",
        {"result": result, "q": q, "page": page, "pages": pages},
    )


@router.get("/customers/{ref}")
def customer_page(f: ActsViewing, request: Request, ref: str) -> Response:
    """A customer by id, name or alias: every contract with status, expiry and receivables."""
    return render(request, "customer.html", {"v": f.customers.view(ref)})


@router.post("/contracts/{contract_id}/suggestions/{suggestion_id}")
def suggestion_form(
    f: ActsEditing,
    contract_id: int,
    suggestion_id: int,
    decision: Annotated[Literal["accept", "reject"], Form()],
) -> Response:
    """An archivist confirms or rejects a suggested value; it is recorded with who and when,
    and logged."""
    if decision == "accept":
        f.terms.accept(contract_id, suggestion_id)
    else:
        f.terms.reject(contract_id, suggestion_id)
    return RedirectResponse(f"/contracts/{contract_id}#terms-h", status_code=303)
