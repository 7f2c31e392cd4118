"""The contract table (issue 15): the archive's main list at ``/contracts``.

Columns title, customer, classification, status, 档号, signing date, expiry, amount,
outstanding and verification, each sortable and filterable (in SQL, through
``f.table.page``); pages of 25 to 500 with the total; bulk actions on the selected rows
(classify, set the customer, file, place a hold), each contract through its own facade action;
saved views per user; the whole view exported as CSV (UTF-8 with a BOM, for Excel) or XLSX.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Sequence
from datetime import date
from typing import Annotated, Any
from urllib.parse import parse_qsl, quote, urlencode

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from core.errors import ArchiveError, InvalidRequest
from core.rules import CURRENCIES, STATES
from schemas.contract_model import ContractLine
from schemas.table import BulkOutcome, TablePage
from search_api.deps import ActsViewing
from search_api.web.i18n import Lang, request_lang, translate
from search_api.web.render import CURRENCY_ZH, money_text, render, status_label
from services.facade import Facade
from services.facade.table import (
    BULK_ACTIONS,
    PAGE_SIZES,
    VERIFICATION_STATES,
    TableQuery,
)

router = APIRouter(include_in_schema=False, tags=["web"])

COLUMNS: tuple[tuple[str, str], ...] = (
    ("title", "common.title"),
    ("customer", "common.customer"),
    ("classification", "table.classification"),
    ("status", "common.status"),
    ("archival_code", "table.archival_code"),
    ("sign_date", "table.sign_date"),
    ("expiry_date", "customer.expiry"),
    ("amount", "customer.amount"),
    ("outstanding", "customer.outstanding"),
    ("verification", "table.verification"),
)
"""The table's columns: the sort key and the header's text."""


FIELD_LABELS: dict[str, tuple[str, str | None]] = {
    "filed": ("table.filed", None),
    "signed_from": ("table.sign_date", "table.from"),
    "signed_to": ("table.sign_date", "table.to"),
    "expires_from": ("customer.expiry", "table.from"),
    "expires_to": ("customer.expiry", "table.to"),
    "amount_min": ("customer.amount", "table.min"),
    "amount_max": ("customer.amount", "table.max"),
    "currency": ("table.currency", None),
}
"""A filter's query parameter → the words of its field on the page (the header and the side),
so that a refused filter is named as the user sees it, not by its parameter (the API's
message keeps the parameter: that is what an API caller wrote)."""


def field_message(lang: Lang, message: str) -> str:
    """``signed_from: not a date: 'x'`` → ``签署日期 起: not a date: 'x'`` (the rest is
    translated with the page's other messages)."""
    name, sep, rest = message.partition(": ")
    if not sep or name not in FIELD_LABELS:
        return message
    column, side = FIELD_LABELS[name]
    label = translate(lang, column) + (f" {translate(lang, side)}" if side else "")
    return f"{label}: {rest}"


def _query(request: Request, params: dict[str, str] | None = None) -> TableQuery:
    return TableQuery.from_params(params if params is not None else dict(request.query_params))


def _table(
    f: Facade,
    request: Request,
    query: TableQuery,
    *,
    outcome: BulkOutcome | None = None,
    error: str | None = None,
    status_code: int = 200,
) -> Response:
    page: TablePage | None = None
    if error is None:
        try:
            page = f.table.page(query)
        except InvalidRequest as exc:
            error, status_code = exc.message, 400
    lang = request_lang(request)[0]
    if error is not None:
        error = field_message(lang, error)
    codes = [c.code for c in f.scheme.show().codes]
    return render(
        request,
        "contracts.html",
        {
            "page": page,
            "query": query,
            "qs": query.query_string,
            "columns": COLUMNS,
            "sizes": PAGE_SIZES,
            "states": STATES,
            "checks": VERIFICATION_STATES,
            "currencies": [
                (code, CURRENCY_ZH.get(code, code) if lang == "zh" else code) for code in CURRENCIES
            ],
            "codes": codes,
            "bulk_actions": BULK_ACTIONS,
            "views": f.table.views(),
            "outcome": outcome,
            "error": error,
            "saved": request.query_params.get("saved"),
        },
        status_code=status_code,
    )


@router.get("/contracts")
def contracts_table(f: ActsViewing, request: Request) -> Response:
    """The table under the query string's filters, sort and page."""
    try:
        query = _query(request)
    except InvalidRequest as exc:
        return _table(f, request, TableQuery(), error=exc.message, status_code=400)
    return _table(f, request, query)


# --- export -------------------------------------------------------------------------------------
def _cells(lang: Lang) -> list[tuple[str, Callable[[ContractLine], Any]]]:
    def t(key: str) -> str:
        return translate(lang, key)

    def outstanding(line: ContractLine) -> str:
        return money_text(line.outstanding, lang)  # per currency, as the page shows it

    return [
        ("ID", lambda r: r.id),
        (t("common.title"), lambda r: r.title),
        (t("common.customer"), lambda r: r.customer or ""),
        (t("table.classification"), lambda r: r.classification or ""),
        (t("common.status"), lambda r: status_label(lang, r.status)),
        (t("table.archival_code"), lambda r: r.archival_code or ""),
        (t("table.sign_date"), lambda r: r.sign_date),
        (t("customer.expiry"), lambda r: r.expiry_date),
        (t("customer.amount"), lambda r: r.amount),
        (t("table.currency"), lambda r: r.currency or ""),
        (t("customer.outstanding"), outstanding),
        (
            t("table.verification"),
            lambda r: translate(lang, f"table.check.{r.verification}") if r.verification else "",
        ),
    ]


def _csv(rows: Sequence[ContractLine], lang: Lang) -> bytes:
    cells = _cells(lang)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([name for name, _ in cells])
    for row in rows:
        values = [get(row) for _, get in cells]
        writer.writerow(
            ["" if v is None else v.isoformat() if isinstance(v, date) else v for v in values]
        )
    return out.getvalue().encode("utf-8-sig")  # the BOM: Excel then reads the Chinese


def _xlsx(rows: Sequence[ContractLine], lang: Lang) -> bytes:
    # imported here: openpyxl costs every server start and worker 0.18 s of CPU, and only
    # this export uses it
    from openpyxl import Workbook

    cells = _cells(lang)
    book = Workbook(write_only=True)
    sheet = book.create_sheet(translate(lang, "table.title")[:31])
    sheet.append([name for name, _ in cells])
    for row in rows:
        sheet.append([get(row) for _, get in cells])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


FORMATS = {
    "csv": ("text/csv; charset=utf-8", _csv),
    "xlsx": ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", _xlsx),
}


def _export(f: Facade, request: Request, fmt: str) -> Response:
    query = _query(request)
    rows = f.table.export(query, fmt)
    lang, _ = request_lang(request)
    media, write = FORMATS[fmt]
    name = f"{translate(lang, 'table.file_name')}-{date.today().isoformat()}.{fmt}"
    return Response(
        write(rows, lang),
        media_type=media,
        headers={
            "Content-Disposition": f'attachment; filename="contracts.{fmt}"; '
            f"filename*=UTF-8''{quote(name, safe='')}",
            "Cache-Control": "no-store",
        },
    )


@router.get("/contracts.csv")
def contracts_csv(f: ActsViewing, request: Request) -> Response:
    """Every row of the view (not only the page) as CSV, UTF-8 with a BOM."""
    return _export(f, request, "csv")


@router.get("/contracts.xlsx")
def contracts_xlsx(f: ActsViewing, request: Request) -> Response:
    """Every row of the view (not only the page) as an Excel workbook."""
    return _export(f, request, "xlsx")


# --- bulk actions -------------------------------------------------------------------------------
def _back(text: str) -> TableQuery:
    """The view a form came from (its query string), or the plain table when it is bad."""
    try:
        return TableQuery.from_params(dict(parse_qsl(text[:4000])))
    except InvalidRequest:
        return TableQuery()


@router.post("/contracts/bulk")
def bulk_form(
    f: ActsViewing,
    request: Request,
    action: Annotated[str, Form(max_length=40)] = "",
    ids: Annotated[list[str] | None, Form()] = None,
    value: Annotated[str, Form(max_length=500)] = "",
    reason: Annotated[str, Form(max_length=2000)] = "",
    back: Annotated[str, Form(max_length=4000)] = "",
) -> Response:
    """One action on the selected rows; the table comes back with what happened to each."""
    query = _back(back)
    try:
        chosen = [int(i) for i in (ids or [])[:1000]]
    except ValueError:
        bad = "a selected row is not a contract id"
        return _table(f, request, query, error=bad, status_code=400)
    try:
        outcome = f.table.bulk(action, chosen, value=value or None, reason=reason or None)
    except ArchiveError as exc:
        return _table(f, request, query, error=exc.message, status_code=exc.http_status)
    return _table(f, request, query, outcome=outcome)


# --- saved views --------------------------------------------------------------------------------
@router.post("/contracts/views")
def save_view_form(
    f: ActsViewing,
    request: Request,
    name: Annotated[str, Form(max_length=500)] = "",
    back: Annotated[str, Form(max_length=4000)] = "",
) -> Response:
    """Save the current filters, sort and page size under a name (the user's own)."""
    query = _back(back)
    try:
        view = f.table.save_view(name, query)
    except ArchiveError as exc:
        return _table(f, request, query, error=exc.message, status_code=exc.http_status)
    params = dict(parse_qsl(view.query))
    params["saved"] = "1"
    return RedirectResponse(f"/contracts?{urlencode(params)}", status_code=303)


@router.post("/contracts/views/delete")
def delete_view_form(
    f: ActsViewing,
    view_id: Annotated[str, Form(max_length=40)] = "",
) -> Response:
    """Delete one of the user's saved views (a view id that is not a number is missing)."""
    f.table.delete_view(int(view_id) if view_id.strip().isdigit() else 0)
    return RedirectResponse("/contracts", status_code=303)


__all__ = ["router"]
