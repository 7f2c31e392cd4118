"""The contract service's shared state and helpers: the archive it works on, the record
store, and what every change is followed by (the record's effective values, the index entry,
the next manifest version)."""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from core import clock
from core.errors import InvalidRequest
from core.retention import disposal_due, legal_minimum, retention_floor
from ingest.linking import refresh_effective
from schemas.contract_model import (
    MoneyPublic,
)
from storage.records.contract_base import (
    ContractStore,
    TermsRecord,
)

if TYPE_CHECKING:
    from services.archive import Archive

log = logging.getLogger(__name__)


MAX_LIST = 500
LOO_LIMIT = 400
"""Leave-one-out accuracy is computed for training sets up to this size."""


def parse_window(text: str) -> int:
    """``90d``, ``12w``, ``3m``, ``1y`` or a plain number of days → days."""
    text = text.strip().lower()
    units = {"d": 1, "w": 7, "m": 30, "y": 365}
    try:
        value = int(text[:-1]) * units[text[-1]] if text[-1:] in units else int(text)
    except ValueError:
        raise InvalidRequest(
            f"{text!r} is not a time window", hint="use days like 90d, or 12w, 3m, 1y"
        ) from None
    if not 0 <= value <= 36500:
        raise InvalidRequest(f"the window {text!r} is out of range (0 to 100 years)")
    return value


def _money_sum(items: Sequence[tuple[str | None, Decimal | None]]) -> list[MoneyPublic]:
    sums: dict[str, Decimal] = defaultdict(Decimal)
    for currency, amount in items:
        if currency and amount:
            sums[currency] += amount
    return [MoneyPublic(currency=c, amount=a) for c, a in sorted(sums.items())]


class ContractServiceBase:
    def __init__(self, archive: Archive) -> None:
        self.archive = archive
        self.settings = archive.settings
        self.store: ContractStore = archive.records

    # -- helpers -------------------------------------------------------------------------------
    def _reindex(self, contract_id: int) -> None:
        self.archive.index_changed(self.archive.get(contract_id))

    def refresh(self, contract_id: int) -> None:
        """Write what search uses into the record (confirmed first), re-index it, and issue
        the next manifest version when what the manifest covers changed."""
        refresh_effective(self.store, contract_id)
        self._reindex(contract_id)
        self._reseal(contract_id)

    def _reseal(self, contract_id: int) -> None:
        """The next manifest version after a change of the contract's record or model (who and
        through which action: the facade's current action; nothing when nothing changed)."""
        if self.archive.seal.seals.latest_manifest(contract_id) is None:
            return  # being archived (its first version is the ingest's) or never sealed
        self.archive.next_manifest(self.archive.get(contract_id))

    def _today(self, today: date | None) -> date:
        return today or clock.today(self.settings)

    # -- disposal: what confirming and filing both keep up to date -------------------------------
    def _disposal(self, terms: TermsRecord) -> Any:
        return disposal_due(
            retention=terms.retention,
            archival_year=terms.archival_year,
            ended_on=terms.ended_on,
            legal_minimum_years=legal_minimum(
                override=terms.legal_minimum_years,
                default_years=self.settings.legal_minimum_years,
                classification=terms.classification,
                currency=terms.currency,
            ),
        )

    def _update_disposal(self, contract_id: int, actor: str) -> TermsRecord:
        terms = self.store.get_terms(contract_id)
        due = self._disposal(terms)
        if due != terms.disposal_due and terms.archival_code is not None:
            terms = self.store.update_terms(
                contract_id,
                {"disposal_due": due},
                actor=actor,
                kind="disposal_due",
                reason="recomputed from retention and the contract's end",
            )
        if terms.archival_code is not None:
            self._protect(terms)
        return terms

    def _protect(self, terms: TermsRecord) -> None:
        """Carry the disposal date into the object store's retention (S3 Object Lock)."""
        from services.holds import protect_until

        due = terms.disposal_due or retention_floor(
            retention=terms.retention, archival_year=terms.archival_year
        )
        protect_until(self.archive, terms.contract_id, due, permanent=terms.retention == "Y")
