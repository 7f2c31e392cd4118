"""The contract table (issue 15): the archive's main list, sorted and filtered on each column in
SQL, paged, exported whole, acted on in bulk, and saved as views per user.

Lists and counts leave out the caller's hidden classes exactly as ``contract.list`` does. A bulk
action goes through the single-contract actions (``contract.terms.update``, ``contract.file``,
``contract.hold.place``) one contract at a time: each is its own unit of work with its manifest
version, history and access-log entry, and a refusal (no permission, a hidden contract, a rule)
is reported for its row without stopping the others.
"""

from __future__ import annotations

import builtins
import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, fields, replace
from datetime import date
from decimal import Decimal, InvalidOperation
from urllib.parse import urlencode

from core.errors import ArchiveError, InvalidRequest, NotFound
from core.roles import Perm
from core.rules import CURRENCIES, STATES, valid_classification
from schemas.contract_model import ContractLine
from schemas.table import BulkOutcome, BulkRow, SavedViewPublic, TablePage
from services.facade.base import Area, action
from services.facade.customers import CustomersArea
from services.facade.lifecycle import LifecycleArea
from services.facade.terms import TermsArea
from storage.records.listing_base import (
    SORT_KEYS,
    VERIFICATION_STATES,
    ColumnFilter,
    ContractFilter,
    ContractSort,
)

__all__ = [
    "BULK_ACTIONS",
    "EXPORT_LIMIT",
    "PAGE_SIZES",
    "SORT_KEYS",
    "VERIFICATION_STATES",
    "TableArea",
    "TableQuery",
]

PAGE_SIZES: tuple[int, ...] = (25, 50, 100, 200, 500)
BATCH = 500
EXPORT_LIMIT = 100_000
"""The most rows an export writes."""
BULK_ACTIONS: tuple[str, ...] = ("classify", "customer", "file", "hold")
BULK_MAX = 500
NONE = "-"
"""The classification filter's value for contracts without a classification."""
YES_NO = {"yes": True, "1": True, "true": True, "no": False, "0": False, "false": False}


def _date(name: str, text: str | None) -> date | None:
    if not text:
        return None
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise InvalidRequest(
            f"{name}: not a date: {text[:40]!r}", hint="give a day as YYYY-MM-DD"
        ) from None


def _amount(name: str, text: str | None) -> Decimal | None:
    if not text:
        return None
    try:
        value = Decimal(text.strip().replace(",", ""))
    except InvalidOperation:
        raise InvalidRequest(
            f"{name}: not an amount: {text[:40]!r}", hint="give a number such as 100000.00"
        ) from None
    if not value.is_finite() or abs(value) >= Decimal(10) ** 15:
        raise InvalidRequest(f"{name}: not an amount: {text[:40]!r}", hint="a smaller number")
    return value


def _yes_no(name: str, text: str | None) -> bool | None:
    if not text:
        return None
    value = YES_NO.get(text.strip().lower())
    if value is None:
        raise InvalidRequest(f"{name}: give yes or no, not {text[:40]!r}")
    return value


def _currency(text: str | None, amount_min: str | None, amount_max: str | None) -> str | None:
    """The amount filter's currency, checked; an amount bound without one is refused (500 CNY
    and 500 USD are not the same sum, so no bound is compared across currencies)."""
    code = (text or "").strip().upper() or None
    if code is not None and code not in CURRENCIES:
        raise InvalidRequest(
            f"currency: unknown {code[:40]!r}", hint="one of " + ", ".join(CURRENCIES)
        )
    if code is None and (amount_min or amount_max):
        name = "amount_min" if amount_min else "amount_max"
        raise InvalidRequest(
            f"{name}: an amount is compared in one currency: choose the currency",
            hint="add currency=, one of " + ", ".join(CURRENCIES),
        )
    return code


def _codes(text: str | None) -> list[str]:
    return [c.strip() for c in (text or "").split(",") if c.strip()]


@dataclass(frozen=True)
class TableQuery:
    """The contract table's filters, sort and page, as its query string carries them (every
    field a text, checked when the filter is built: a bad value is InvalidRequest)."""

    title: str | None = None
    customer: str | None = None
    """Text the customer's name contains."""
    classification: str | None = None
    """Codes, comma-separated; ``-`` for contracts without one."""
    status: str | None = None
    archival_code: str | None = None
    filed: str | None = None
    signed_from: str | None = None
    signed_to: str | None = None
    expires_from: str | None = None
    expires_to: str | None = None
    amount_min: str | None = None
    amount_max: str | None = None
    currency: str | None = None
    """The amount's currency (one of :data:`core.rules.CURRENCIES`): alone, the contracts whose
    amount is in it; with ``amount_min``/``amount_max``, which then need it, the bounds are in
    it. Amounts in other currencies (or without one) are never compared with them."""
    outstanding: str | None = None
    verification: str | None = None
    sort: str = "id"
    """A column of :data:`SORT_KEYS`, ``-`` before it for descending order."""
    page: int = 1
    size: int = 50

    FILTERS = (
        "title",
        "customer",
        "classification",
        "status",
        "archival_code",
        "filed",
        "signed_from",
        "signed_to",
        "expires_from",
        "expires_to",
        "amount_min",
        "amount_max",
        "currency",
        "outstanding",
        "verification",
    )

    @classmethod
    def from_params(cls, params: Mapping[str, str]) -> TableQuery:
        """From a query string's parameters; unknown ones are ignored, text is cut to 500."""
        values: dict[str, str | None] = {}
        for name in cls.FILTERS:
            text = str(params.get(name) or "").strip()[:500]
            values[name] = text or None
        sort = str(params.get("sort") or "id").strip()[:40] or "id"
        try:
            page = max(1, min(int(str(params.get("page") or 1)), 10_000_000))
            size = int(str(params.get("size") or 50))
        except ValueError:
            raise InvalidRequest("page and size are whole numbers") from None
        if size not in PAGE_SIZES:
            raise InvalidRequest(
                f"size: {size} is not a page size", hint="one of " + ", ".join(map(str, PAGE_SIZES))
            )
        return cls(**values, sort=sort, page=page, size=size)

    def params(self, *, page: bool = True) -> dict[str, str]:
        """The non-empty parameters (without the page and size when ``page`` is False)."""
        out = {name: str(getattr(self, name)) for name in self.FILTERS if getattr(self, name)}
        if self.sort and self.sort != "id":
            out["sort"] = self.sort
        if page:
            if self.page != 1:
                out["page"] = str(self.page)
            if self.size != 50:
                out["size"] = str(self.size)
        return out

    def query_string(self, **changes: object) -> str:
        """The query string of this view with some fields changed (a page, a sort)."""
        changed = replace(self, **changes) if changes else self  # type: ignore[arg-type]
        return urlencode(changed.params())

    def saved(self) -> str:
        """What a saved view keeps: filters, sort and page size, not the page."""
        return urlencode(replace(self, page=1).params())

    @property
    def order(self) -> ContractSort:
        key = self.sort.lstrip("-")
        if key not in SORT_KEYS:
            raise InvalidRequest(
                f"sort: unknown column {key[:40]!r}", hint="one of " + ", ".join(SORT_KEYS)
            )
        return ContractSort(key=key, descending=self.sort.startswith("-"))

    def columns(self) -> tuple[ColumnFilter, tuple[str, ...], tuple[str, ...]]:
        """The column filters, the statuses and the classification codes, checked."""
        statuses = tuple(_codes(self.status))
        unknown = [s for s in statuses if s not in STATES]
        if unknown:
            raise InvalidRequest(
                f"status: unknown {', '.join(unknown)[:200]}", hint="one of " + ", ".join(STATES)
            )
        raw = _codes(self.classification)
        codes = tuple(valid_classification(c) for c in raw if c != NONE)
        checks = tuple(_codes(self.verification))
        wrong = [v for v in checks if v not in VERIFICATION_STATES]
        if wrong:
            raise InvalidRequest(
                f"verification: unknown {', '.join(wrong)[:200]}",
                hint="one of " + ", ".join(VERIFICATION_STATES),
            )
        cols = ColumnFilter(
            title=self.title,
            customer=self.customer,
            archival_code=self.archival_code,
            filed=_yes_no("filed", self.filed),
            unclassified=NONE in raw,
            signed_from=_date("signed_from", self.signed_from),
            signed_to=_date("signed_to", self.signed_to),
            expires_from=_date("expires_from", self.expires_from),
            expires_to=_date("expires_to", self.expires_to),
            amount_min=_amount("amount_min", self.amount_min),
            amount_max=_amount("amount_max", self.amount_max),
            currency=_currency(self.currency, self.amount_min, self.amount_max),
            outstanding=_yes_no("outstanding", self.outstanding),
            verification=checks,
        )
        return cols, statuses, codes

    def apply(self, flt: ContractFilter) -> ContractFilter:
        """``flt`` narrowed by these column filters and ordered by this sort."""
        cols, statuses, codes = self.columns()
        return replace(
            flt,
            columns=cols,
            sort=self.order,
            statuses=flt.statuses + statuses,
            classifications=flt.classifications + codes,
        )

    def is_filtered(self) -> bool:
        return any(getattr(self, name) for name in self.FILTERS)


assert {f.name for f in fields(TableQuery)} >= set(TableQuery.FILTERS)


class TableArea(Area):
    """The contract table: pages, export, bulk actions, saved views."""

    def _filter(self, query: TableQuery) -> ContractFilter:
        return query.apply(ContractFilter(hidden_classifications=self.acting.hidden))

    @action("contract.table", Perm.CONTRACTS_VIEW, logged="read")
    def page(self, query: TableQuery) -> TablePage:
        """One page of the table; contracts of hidden classes are neither listed nor counted."""
        flt = self._filter(query)
        total, rows = self.archive.records.query_contracts(
            flt, offset=(query.page - 1) * query.size, limit=query.size
        )
        items = [ContractLine.from_summary(r) for r in rows]
        self.acting.note(total=total, returned=[i.id for i in items])
        return TablePage(
            total=total,
            page=query.page,
            size=query.size,
            pages=max(1, math.ceil(total / query.size)),
            sort=query.sort,
            items=items,
        )

    @action("contract.table.export", Perm.CONTRACTS_VIEW, logged="read")
    def export(self, query: TableQuery, format: str) -> builtins.list[ContractLine]:
        """Every row of the view (not only the page), in its order, up to
        :data:`EXPORT_LIMIT`; logged with the format and the number of rows."""
        if format not in ("csv", "xlsx"):
            raise InvalidRequest(f"unknown export format {format[:20]!r}", hint="csv or xlsx")
        rows = list(self._rows(self._filter(query)))
        self.acting.note(rows=len(rows))
        return rows

    def _rows(self, flt: ContractFilter) -> Iterator[ContractLine]:
        offset = 0
        while offset < EXPORT_LIMIT:
            _, rows = self.archive.records.query_contracts(flt, offset=offset, limit=BATCH)
            yield from (ContractLine.from_summary(r) for r in rows)
            if len(rows) < BATCH:
                return
            offset += BATCH

    # -- bulk actions ----------------------------------------------------------------------------
    @action("contract.table.bulk", Perm.CONTRACTS_VIEW, logged="no")
    def bulk(
        self,
        what: str,
        ids: builtins.list[int],
        *,
        value: str | None = None,
        reason: str | None = None,
    ) -> BulkOutcome:
        """Apply one action to each selected contract through its single-contract action
        (``classify``: confirm a classification code; ``customer``: set the customer, who must
        exist; ``file``: assign the 档号; ``hold``: place a legal hold, with its reason). Each
        contract is its own change (manifest version, history, access-log entry); a failure
        (no permission, a hidden or missing contract, a rule) is reported for its row. Not
        logged itself: each contract's action is."""
        if what not in BULK_ACTIONS:
            raise InvalidRequest(
                f"unknown bulk action {what[:40]!r}", hint="one of " + ", ".join(BULK_ACTIONS)
            )
        chosen = list(dict.fromkeys(int(i) for i in ids))
        if not chosen:
            raise InvalidRequest("no contract selected", hint="select one or more rows")
        if len(chosen) > BULK_MAX:
            raise InvalidRequest(f"at most {BULK_MAX} contracts at a time")
        text = (value or "").strip()
        why = (reason or "").strip()[:2000] or None
        terms, lifecycle = TermsArea(self.acting), LifecycleArea(self.acting)
        if what == "classify":
            if not text:
                raise InvalidRequest("classify: choose a classification code")
            code = valid_classification(text)
            if code not in {c.code for c in self.archive.contracts.store.current_scheme().codes}:
                raise InvalidRequest(f"classify: {code} is not a code of the scheme")
        elif what == "customer":
            if not text:
                raise InvalidRequest("customer: give the customer's name")
            if self.acting.can(Perm.CONTRACTS_EDIT):
                try:
                    text = CustomersArea(self.acting).visible(text, "contract.table.bulk").name
                except NotFound:
                    raise InvalidRequest(
                        f"customer: no customer {text[:200]!r}",
                        hint="create the customer first (客户)",
                    ) from None
        elif what == "hold" and not why:
            raise InvalidRequest("hold: give the reason for the hold")
        rows = []
        for contract_id in chosen:
            try:
                if what == "classify":
                    terms.update(contract_id, {"classification": code}, reason=why)
                elif what == "customer":
                    terms.update(contract_id, {"customer": text}, reason=why)
                elif what == "file":
                    lifecycle.file(contract_id)
                else:
                    lifecycle.place_hold(contract_id, str(why))
            except ArchiveError as exc:
                rows.append(BulkRow(id=contract_id, ok=False, code=exc.code, message=exc.message))
            else:
                rows.append(BulkRow(id=contract_id, ok=True))
        done = sum(r.ok for r in rows)
        return BulkOutcome(action=what, done=done, failed=len(rows) - done, rows=rows)

    # -- saved views -----------------------------------------------------------------------------
    @action("contract.table.views", Perm.CONTRACTS_VIEW, logged="no")
    def views(self) -> builtins.list[SavedViewPublic]:
        """The caller's own saved views, by name."""
        return [
            SavedViewPublic(id=v.id, name=v.name, query=v.query, created_at=v.created_at)
            for v in self.archive.records.list_views(self.acting.caller.username)
        ]

    @action("contract.table.view.save", Perm.CONTRACTS_VIEW, logged="change")
    def save_view(self, name: str, query: TableQuery) -> SavedViewPublic:
        """Save the view's filters, sort and page size under a name (the caller's own; the same
        name again replaces it)."""
        label = " ".join(name.split())
        if not 1 <= len(label) <= 200:
            raise InvalidRequest("a view needs a name of 1 to 200 characters")
        query.apply(ContractFilter())  # checked before it is kept
        v = self.archive.records.save_view(self.acting.caller.username, label, query.saved())
        return SavedViewPublic(id=v.id, name=v.name, query=v.query, created_at=v.created_at)

    @action("contract.table.view.delete", Perm.CONTRACTS_VIEW, logged="change")
    def delete_view(self, view_id: int) -> None:
        """Delete one of the caller's saved views (another user's is missing)."""
        if not self.archive.records.delete_view(self.acting.caller.username, view_id):
            raise NotFound(f"saved view {view_id} does not exist")
