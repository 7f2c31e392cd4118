"""The home page's dashboard: counts, expiring contracts, overdue amounts; and the contract
model's filtered list (by customer, status, classification, expiry, payments).

Everything here takes the caller's hidden classes: a contract of a restricted class the caller
is not cleared for is in no list, count, total or facet.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime

from core.errors import NotFound
from core.roles import Perm
from core.rules import expiring_window
from schemas.contract_model import ContractLinePage
from schemas.search import FacetBucket, SearchHit
from services.contracts.service import ContractService
from services.facade.base import Area, action
from storage.records.contract_base import ContractFilter

RECENT = 8
LISTED = 10


@dataclass(frozen=True)
class AlertLine:
    """A contract flagged because a stored file of it was found damaged (an integrity alert)."""

    contract_id: int
    title: str
    file: str
    detected_at: datetime


@dataclass(frozen=True)
class Dashboard:
    total: int
    """Contracts the caller may see."""
    recent: list[SearchHit]
    pages: int
    awaiting_ocr: int
    expiring: ContractLinePage
    """Live contracts expiring within ``expiring_days`` (``core.rules.expiring_window``)."""
    overdue: ContractLinePage
    """Contracts with payment items past due and unpaid."""
    facets: dict[str, list[FacetBucket]] = field(default_factory=dict)
    expiring_days: int = 90
    alerts: list[AlertLine] = field(default_factory=list)
    """Integrity alerts of contracts the caller may see, newest first (at most ``LISTED``)."""


class DashboardArea(Area):
    """The home page's dashboard: counts, expiring contracts, overdue amounts."""

    @property
    def model(self) -> ContractService:
        return self.archive.contracts

    @action("dashboard.view", Perm.CONTRACTS_VIEW, logged="read")
    def home(self) -> Dashboard:
        hidden = self.acting.hidden
        access = self.acting.access
        total = access.store.count_visible_contracts(frozenset(hidden))
        newest = (
            self.archive.search(
                "",
                limit=RECENT,
                sort="newest",
                facets=True,
                restrict=access.restriction(self.acting.caller),
            )
            if total
            else None
        )
        pages, awaiting = self.archive.records.page_totals(hidden)
        window = expiring_window(self.archive.settings.reminder_tiers)
        expiring = self._lines(self.model.contract_filter(expiring_within=f"{window}d"), LISTED)
        overdue = self._lines(self.model.contract_filter(overdue_payments=True), LISTED)
        recent = newest.hits if newest else []
        alerts = self._alerts()
        self.acting.note(
            returned=[h.id for h in recent],
            expiring=[c.id for c in expiring.items],
            overdue=[c.id for c in overdue.items],
            alerts=[a.contract_id for a in alerts],
        )
        return Dashboard(
            total=total,
            recent=recent,
            pages=pages,
            awaiting_ocr=awaiting,
            expiring=expiring,
            overdue=overdue,
            facets=newest.facets if newest else {},
            expiring_days=window,
            alerts=alerts,
        )

    def _alerts(self) -> list[AlertLine]:
        """The integrity alerts the home page lists: contracts of hidden classes left out."""
        hidden = self.acting.hidden_ids
        lines = []
        for alert in self.archive.records.alerts():
            if alert.contract_id in hidden:
                continue
            try:
                title = self.archive.get(alert.contract_id).title
            except NotFound:  # a contract no longer in the records has nothing to serve
                continue
            lines.append(
                AlertLine(
                    contract_id=alert.contract_id,
                    title=title,
                    file=alert.file,
                    detected_at=alert.detected_at,
                )
            )
            if len(lines) == LISTED:
                break
        return lines

    def _lines(self, flt: ContractFilter, limit: int, offset: int = 0) -> ContractLinePage:
        visible = replace(flt, hidden_classifications=self.acting.hidden)
        return self.model.list_contracts(visible, offset=offset, limit=limit)

    @action("contract.list", Perm.CONTRACTS_VIEW, logged="read")
    def contracts(
        self,
        customer: str | None = None,
        status: str | None = None,
        classification: str | None = None,
        expiring_within: str | None = None,
        overdue_payments: bool = False,
        expired_unrenewed: bool = False,
        offset: int = 0,
        limit: int = 50,
    ) -> ContractLinePage:
        """Contracts by customer, status, classification, expiry and payments, each with its
        confirmed terms; the total counts only what the caller may see."""
        flt = self.model.contract_filter(
            customer=customer,
            status=status,
            classification=classification,
            expiring_within=expiring_within,
            overdue_payments=overdue_payments,
            expired_unrenewed=expired_unrenewed,
        )
        page = self._lines(flt, limit, offset)
        self.acting.note(total=page.total, returned=[c.id for c in page.items])
        return page
