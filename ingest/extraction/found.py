"""What a rule found: a value for a field, with its evidence and a confidence."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ingest.extraction.text import Page, Span

FIELDS = (
    "contract_no",
    "party",
    "counterparty",
    "amount",
    "sign_date",
    "effective_date",
    "expiry_date",
    "term",
    "renewal",
    "governing_law",
    "classification",
    "clause",
)


@dataclass(frozen=True)
class Found:
    field: str
    value: Any
    """JSON-able: a string, an ISO date, or a small object (party, amount, term, renewal)."""
    display: str
    confidence: float
    method: str
    span: Span | None = None


def found(
    field: str,
    value: Any,
    display: str,
    confidence: float,
    method: str,
    page: Page | None = None,
    start: int = 0,
    end: int = 0,
) -> Found:
    span = page.span(start, end) if page is not None and end > start else None
    return Found(field, value, display, round(min(max(confidence, 0.0), 0.99), 3), method, span)


def renewal_value(
    kind: str,
    term_months: int | None,
    notice_days: int | None,
    perpetual: bool | None,
    renewals: int | None,
) -> dict[str, Any]:
    """The value of a renewal suggestion, the same in both languages: automatic or manual, the
    length of one renewal, the notice period, whether renewals go on without limit, and how many
    there may be when a number is stated."""
    return {
        "type": kind,
        "term_months": term_months,
        "notice_days": notice_days,
        "perpetual": perpetual,
        "renewals": renewals,
    }
