"""The facade: one object per caller through which every front end acts.

``Facade(acting).customers.view(7)`` checks the permission, applies the caller's hidden classes
and writes the access-log entry (see :mod:`services.facade.base`). Areas are imported when first
used, so a command that touches one area does not load the others' dependencies.
"""

from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING

from core.roles import Caller
from services.facade.base import Acting

if TYPE_CHECKING:
    from services.facade.admin import AdminArea
    from services.facade.approvals import ApprovalsArea
    from services.facade.audit import AuditArea
    from services.facade.batches import BatchesArea
    from services.facade.borrowing import BorrowingArea
    from services.facade.contracts import ContractsArea
    from services.facade.customers import CustomersArea
    from services.facade.dashboard import DashboardArea
    from services.facade.holds import HoldsArea
    from services.facade.imports import ImportsArea
    from services.facade.jobs import JobsArea
    from services.facade.ledger import LedgerArea
    from services.facade.lifecycle import LifecycleArea
    from services.facade.ocr import OcrArea
    from services.facade.pages import PagesArea
    from services.facade.payments import PaymentsArea
    from services.facade.reminders import RemindersArea
    from services.facade.restrictions import RestrictionsArea
    from services.facade.scheme import SchemeArea
    from services.facade.seals import SealsArea
    from services.facade.table import TableArea
    from services.facade.terms import TermsArea
    from services.facade.tokens import TokensArea
    from services.facade.users import UsersArea
    from services.facade.watch import WatchArea

AREAS = (
    "contracts",
    "pages",
    "ocr",
    "seals",
    "ledger",
    "holds",
    "admin",
    "customers",
    "terms",
    "lifecycle",
    "payments",
    "scheme",
    "reminders",
    "imports",
    "dashboard",
    "users",
    "tokens",
    "restrictions",
    "audit",
    "approvals",
    "borrowing",
    "jobs",
    "table",
    "batches",
    "watch",
)
"""The facade's areas; each is ``services/facade/<area>.py``."""


class Facade:
    """Everything one caller may do, by area."""

    def __init__(self, acting: Acting) -> None:
        self.acting = acting

    @property
    def caller(self) -> Caller:
        return self.acting.caller

    @property
    def hidden(self) -> tuple[str, ...]:
        return self.acting.hidden

    @cached_property
    def contracts(self) -> ContractsArea:
        from services.facade.contracts import ContractsArea

        return ContractsArea(self.acting)

    @cached_property
    def pages(self) -> PagesArea:
        from services.facade.pages import PagesArea

        return PagesArea(self.acting)

    @cached_property
    def ocr(self) -> OcrArea:
        from services.facade.ocr import OcrArea

        return OcrArea(self.acting)

    @cached_property
    def seals(self) -> SealsArea:
        from services.facade.seals import SealsArea

        return SealsArea(self.acting)

    @cached_property
    def ledger(self) -> LedgerArea:
        from services.facade.ledger import LedgerArea

        return LedgerArea(self.acting)

    @cached_property
    def holds(self) -> HoldsArea:
        from services.facade.holds import HoldsArea

        return HoldsArea(self.acting)

    @cached_property
    def admin(self) -> AdminArea:
        from services.facade.admin import AdminArea

        return AdminArea(self.acting)

    @cached_property
    def customers(self) -> CustomersArea:
        from services.facade.customers import CustomersArea

        return CustomersArea(self.acting)

    @cached_property
    def terms(self) -> TermsArea:
        from services.facade.terms import TermsArea

        return TermsArea(self.acting)

    @cached_property
    def lifecycle(self) -> LifecycleArea:
        from services.facade.lifecycle import LifecycleArea

        return LifecycleArea(self.acting)

    @cached_property
    def payments(self) -> PaymentsArea:
        from services.facade.payments import PaymentsArea

        return PaymentsArea(self.acting)

    @cached_property
    def scheme(self) -> SchemeArea:
        from services.facade.scheme import SchemeArea

        return SchemeArea(self.acting)

    @cached_property
    def reminders(self) -> RemindersArea:
        from services.facade.reminders import RemindersArea

        return RemindersArea(self.acting)

    @cached_property
    def imports(self) -> ImportsArea:
        from services.facade.imports import ImportsArea

        return ImportsArea(self.acting)

    @cached_property
    def dashboard(self) -> DashboardArea:
        from services.facade.dashboard import DashboardArea

        return DashboardArea(self.acting)

    @cached_property
    def users(self) -> UsersArea:
        from services.facade.users import UsersArea

        return UsersArea(self.acting)

    @cached_property
    def tokens(self) -> TokensArea:
        from services.facade.tokens import TokensArea

        return TokensArea(self.acting)

    @cached_property
    def restrictions(self) -> RestrictionsArea:
        from services.facade.restrictions import RestrictionsArea

        return RestrictionsArea(self.acting)

    @cached_property
    def audit(self) -> AuditArea:
        from services.facade.audit import AuditArea

        return AuditArea(self.acting)

    @cached_property
    def approvals(self) -> ApprovalsArea:
        from services.facade.approvals import ApprovalsArea

        return ApprovalsArea(self.acting)

    @cached_property
    def borrowing(self) -> BorrowingArea:
        from services.facade.borrowing import BorrowingArea

        return BorrowingArea(self.acting)

    @cached_property
    def jobs(self) -> JobsArea:
        from services.facade.jobs import JobsArea

        return JobsArea(self.acting)

    @cached_property
    def table(self) -> TableArea:
        from services.facade.table import TableArea

        return TableArea(self.acting)

    @cached_property
    def batches(self) -> BatchesArea:
        from services.facade.batches import BatchesArea

        return BatchesArea(self.acting)

    @cached_property
    def watch(self) -> WatchArea:
        from services.facade.watch import WatchArea

        return WatchArea(self.acting)
