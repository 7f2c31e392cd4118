"""A contract's life: lifecycle transitions, filing (档号, 保管期限, 四性检测), legal holds,
disposal, payments."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from core import clock
from core.errors import Conflict, InvalidRequest
from core.rules import (
    ENDED_STATES,
    FILABLE_STATES,
    RETENTIONS,
    STATES,
    TRANSITIONS,
    allowed_from,
)
from schemas.contract_model import (
    EventPublic,
    HoldPublic,
    PaymentPublic,
)
from services.fourprops import EVENT_KIND as FOURPROPS_EVENT
from services.fourprops import FilingPlan, FourProps, failed_items, overall
from signing.report import Status
from storage.objects.base import FOURPROPS_NAME
from storage.records.contract_base import (
    TermsRecord,
)

if TYPE_CHECKING:
    pass

from services.contracts.base import ContractServiceBase

log = logging.getLogger(__name__)


class LifecycleMixin(ContractServiceBase):
    # -- lifecycle ---------------------------------------------------------------------------------
    def transition(
        self,
        contract_id: int,
        to: str,
        *,
        actor: str,
        reason: str | None = None,
        force: bool = False,
        today: date | None = None,
        kind: str | None = None,
        terms: Mapping[str, Any] | None = None,
    ) -> EventPublic:
        if to not in STATES:
            raise InvalidRequest(f"unknown status {to!r}", hint="one of: " + ", ".join(STATES))
        if force and not (reason and reason.strip()):
            raise InvalidRequest("a correction outside the lifecycle rules needs a reason")
        if to == "in_approval":
            raise Conflict(
                "a contract goes into approval only by being submitted, which starts the chain "
                "of approvers the approval rules select",
                hint=f"contract-archive approvals submit {contract_id} "
                f"(POST /api/v1/contracts/{contract_id}/approval)",
            )
        # Out of approval only by the approvers' decisions: never by a transition, not even a
        # correction (the allowed states below leave in_approval out).
        sources = (set(STATES) if force else set(allowed_from(to))) - {"in_approval"}
        if self.archive.get(contract_id).status == "in_approval":
            raise Conflict(
                f"contract {contract_id} is in approval: only its approvers' decisions move it "
                "on (the last approval to signing, a rejection back to draft)",
                hint="contract-archive approvals approve|reject ID",
                details={"status": "in_approval", "requested": to},
            )
        day = self._today(today)
        extra: dict[str, Any] = dict(terms or {})
        current = self.store.get_terms(contract_id)
        if to in ENDED_STATES and current.ended_on is None and "ended_on" not in extra:
            extra["ended_on"] = (
                current.expiry_date if to == "expired" and current.expiry_date else day
            )
        if to == "archived" and current.archival_code is None:
            record = self.archive.get(contract_id)
            if record.status not in allowed_from("archived") and not force:
                raise Conflict(
                    f"contract {contract_id} is {record.status}; it cannot become archived",
                    hint="from "
                    + record.status
                    + " it may become: "
                    + (", ".join(sorted(TRANSITIONS.get(record.status, ()))) or "nothing"),
                )
            # A correction (forced, with its reason) also files past a FAILED 四性 item, with
            # that reason kept in the history as ``contract file --force-reason`` would.
            self.file(contract_id, actor=actor, force_reason=reason if force else None)
        event = self.store.transition(
            contract_id,
            to,
            allowed_from=sources,
            actor=actor,
            reason=reason,
            kind=kind or ("correction" if force else "transition"),
            terms=extra,
        )
        self._update_disposal(contract_id, actor)
        self.refresh(contract_id)
        return EventPublic.from_record(event)

    # -- filing ------------------------------------------------------------------------------------
    def file(
        self,
        contract_id: int,
        *,
        actor: str,
        fonds_code: str | None = None,
        retention: str | None = None,
        item_no: int | None = None,
        year: int | None = None,
        today: date | None = None,
        force_reason: str | None = None,
    ) -> TermsRecord:
        """Give the contract its archival code (档号), once, after the 四性检测 of its package
        (:mod:`services.fourprops`): a FAILED item refuses the filing unless ``force_reason``
        says why it is filed all the same."""
        if force_reason is not None and not force_reason.strip():
            raise InvalidRequest("a filing forced past the 四性检测 needs a reason")
        record = self.archive.get(contract_id)
        terms = self.store.get_terms(contract_id)
        if terms.archival_code is not None:
            raise Conflict(
                f"contract {contract_id} is filed already as {terms.archival_code}",
                hint="an archival code is assigned once and never changed",
            )
        if record.status not in FILABLE_STATES:
            raise Conflict(
                f"contract {contract_id} is {record.status}; only a signed contract is filed"
            )
        if terms.classification is None:
            raise Conflict(
                f"contract {contract_id} has no confirmed classification",
                hint="confirm its classification first (the code is part of the archival code)",
            )
        fonds = fonds_code or terms.fonds_code or self.settings.fonds_code
        if not fonds:
            raise Conflict(
                "no fonds code (全宗号) to file under",
                hint="set ARCHIVE_FONDS_CODE, or give the fonds code when filing",
            )
        code = self.store.current_scheme().get(terms.classification)
        chosen_retention = retention or terms.retention or (code.retention if code else "D30")
        if chosen_retention not in RETENTIONS:
            raise InvalidRequest(f"retention must be one of {', '.join(RETENTIONS)}")
        formed = terms.sign_date or terms.effective_date
        archival_year = year or (formed.year if formed else self._today(today).year)
        planned = TermsRecord(
            contract_id=contract_id,
            retention=chosen_retention,
            archival_year=archival_year,
            ended_on=terms.ended_on,
            legal_minimum_years=terms.legal_minimum_years,
            classification=terms.classification,
            currency=terms.currency,
        )
        check = FourProps(self.archive)
        report = check.check(
            record,
            terms,
            FilingPlan(
                fonds_code=fonds,
                archival_year=archival_year,
                retention=chosen_retention,
                classification=terms.classification,
            ),
            actor=actor,
        )
        result = overall(report)
        if result is Status.FAILED and force_reason is None:
            raise check.refuse(record, report)
        filed = self.store.file_contract(
            contract_id,
            fonds_code=fonds,
            year=archival_year,
            retention=chosen_retention,
            classification=terms.classification,
            disposal_due=self._disposal(planned),
            actor=actor,
            item_no=item_no,
        )
        report["filing"]["archival_code"] = filed.archival_code
        forced = force_reason is not None and result is Status.FAILED
        if force_reason is not None:
            report["forced"] = {
                "reason": force_reason.strip(),
                "by": actor,
                "failed": failed_items(report),
            }
        digest = check.store(record, report)
        self.store.add_event(
            contract_id,
            FOURPROPS_EVENT,
            actor=actor,
            to_value=result.value,
            reason=force_reason.strip() if force_reason is not None else None,
            data={
                "report": FOURPROPS_NAME,
                "sha256": digest,
                "forced": forced,
                "properties": {p["id"]: p["status"] for p in report["properties"]},
            },
        )
        self._protect(filed)
        self._reseal(contract_id)
        return filed

    def fourprops(self, contract_id: int) -> dict[str, Any]:
        """The 四性检测 report stored in the package when the contract was filed."""
        return FourProps(self.archive).load(self.archive.get(contract_id))

    # -- holds -------------------------------------------------------------------------------------
    def place_hold(self, contract_id: int, reason: str, *, actor: str) -> HoldPublic:
        if not reason.strip():
            raise InvalidRequest("a hold needs a reason")
        from services.holds import sync_record_hold

        hold = self.store.place_hold(contract_id, reason.strip(), actor=actor)
        sync_record_hold(self.archive, contract_id, True)
        self._reseal(contract_id)
        return HoldPublic.from_record(hold)

    def release_hold(
        self, contract_id: int, hold_id: int, reason: str, *, actor: str
    ) -> HoldPublic:
        if not reason.strip():
            raise InvalidRequest("releasing a hold needs a reason")
        from services.holds import sync_record_hold

        hold = self.store.release_hold(contract_id, hold_id, actor=actor, reason=reason.strip())
        if not any(h.active for h in self.store.list_holds(contract_id)):
            sync_record_hold(self.archive, contract_id, False)
        self._reseal(contract_id)
        return HoldPublic.from_record(hold)

    def disposal_due(self, *, today: date | None = None) -> list[dict[str, Any]]:
        """Filed contracts whose disposal is due, and whether a hold stops it."""
        day = self._today(today)
        out = []
        for contract_id in self.store.disposal_due_ids(day):
            holds = [h for h in self.store.list_holds(contract_id) if h.active]
            terms = self.store.get_terms(contract_id)
            out.append(
                {
                    "id": contract_id,
                    "archival_code": terms.archival_code,
                    "retention": terms.retention,
                    "disposal_due": terms.disposal_due,
                    "held": bool(holds),
                    "holds": [h.reason for h in holds],
                }
            )
        return out

    def assert_disposable(self, contract_id: int, *, today: date | None = None) -> None:
        """Raise Conflict unless the contract may be disposed of now (never while held)."""
        holds = [h for h in self.store.list_holds(contract_id) if h.active]
        if holds:
            raise Conflict(
                f"contract {contract_id} is held ({holds[0].reason}); it cannot be disposed of",
                hint="a hold must be released, with a reason, first",
            )
        terms = self.store.get_terms(contract_id)
        day = self._today(today)
        if terms.disposal_due is None or terms.disposal_due > day:
            raise Conflict(
                f"contract {contract_id} is not due for disposal"
                + (f" before {terms.disposal_due}" if terms.disposal_due else "")
            )

    # -- payments ----------------------------------------------------------------------------------
    def add_payment(self, contract_id: int, *, actor: str, **values: Any) -> PaymentPublic:
        self.archive.get(contract_id)
        if values.get("paid_amount", Decimal("0")) > values["amount"]:
            raise InvalidRequest("the paid amount is more than the amount due")
        payment = self.store.add_payment(contract_id, actor=actor, **values)
        return PaymentPublic.from_record(payment, clock.today(self.settings))

    def record_payment(
        self, contract_id: int, item_id: int, *, paid_amount: Decimal, paid_date: date, actor: str
    ) -> PaymentPublic:
        payment = self.store.record_payment(
            contract_id, item_id, paid_amount=paid_amount, paid_date=paid_date, actor=actor
        )
        return PaymentPublic.from_record(payment, clock.today(self.settings))
