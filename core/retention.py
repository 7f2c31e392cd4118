"""Retention and disposal.

Disposal is due at the *later* of two dates:

* the retention period (保管期限): counted in whole years from 1 January of the year after the
  archival year (the year the contract was formed), as archive practice counts it; ``Y``
  (permanent) is never due;
* the legal minimum after the contract ended: the civil code's limitation period (3 years,
  ``ARCHIVE_LEGAL_MINIMUM_YEARS``), 4 years for international sales (a sale or purchase in a
  foreign currency), or the number a person set for the contract.

While a contract has not ended (no end date known), disposal is not due: the date is unknown.
A contract under a hold is never disposed of, whatever the dates say.
"""

from __future__ import annotations

from datetime import date

from core.rules import RETENTIONS

INTERNATIONAL_SALE_YEARS = 4


def add_years(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


def legal_minimum(
    *,
    override: int | None,
    default_years: int,
    classification: str | None,
    currency: str | None,
) -> int:
    if override is not None:
        return override
    if classification in ("XS", "CG") and currency not in (None, "CNY"):
        return max(default_years, INTERNATIONAL_SALE_YEARS)
    return default_years


def retention_floor(*, retention: str | None, archival_year: int | None) -> date | None:
    """The earliest disposal could ever be due: the retention period alone (None: permanent or
    not filed). Known before the contract ends, so the store can protect the object until then."""
    if retention is None or archival_year is None:
        return None
    years = RETENTIONS.get(retention)
    if years is None:
        return None
    return date(archival_year + 1 + years, 1, 1)


def disposal_due(
    *,
    retention: str | None,
    archival_year: int | None,
    ended_on: date | None,
    legal_minimum_years: int,
) -> date | None:
    """The day disposal is due, or None (permanent, not filed, or not yet ended)."""
    if retention is None or archival_year is None:
        return None
    years = RETENTIONS.get(retention)
    if years is None:
        return None
    by_retention = date(archival_year + 1 + years, 1, 1)
    if ended_on is None:
        return None
    by_law = add_years(ended_on, legal_minimum_years)
    return max(by_retention, by_law)
