"""Contract amounts: figures with a currency (¥, RMB, 人民币, US$, USD, $, €), and Chinese
formal numerals (大写) checked against the figure beside them.

A 大写 amount that agrees with its figure is the strongest evidence a contract gives (it is
written twice on purpose); one that disagrees is reported with a warning, as an OCR error or a
typo in the contract itself is likely. The contract amount is the candidate in the strongest
context (合计, 总价, total price, ...); the others stay as lower-ranked suggestions.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from ingest.extraction.found import Found, found
from ingest.extraction.numbers import FORMAL_CHARS, bounded_amount, cn_amount
from ingest.extraction.text import Document, Page

_NUM = r"(?P<num>\d{1,3}(?:,\d{3})+(?:\.\d{1,2})?|\d+(?:\.\d{1,2})?)"
_SCALE = r"(?:\s*(?P<scale>million|billion|thousand|万元|万|亿元|亿))?"
_PREFIX = re.compile(
    rf"(?P<cur>US\s?\$|U\.S\.\s?\$|USD|HK\$|HKD|RMB|CNY|EUR|GBP|人民币|[¥￥$€£])\s*"
    rf"(?:[(（]\s*(?:小写|大写)?\s*[)）]\s*)?[:：]?\s*{_NUM}{_SCALE}",
    re.I,
)
_SUFFIX = re.compile(
    rf"(?<![\d.,]){_NUM}{_SCALE}\s*(?P<cur>元|US\s+dollars|U\.S\.\s+dollars|dollars|USD|RMB|"
    rf"yuan|euros?|EUR)\b",
    re.I,
)
_FORMAL = re.compile(
    rf"(?:大写|人民币)[\s:：)）(（]*(?P<cn>[{FORMAL_CHARS}元圆角分整正\n]{{2,40}})"
)

_STRONG = re.compile(
    r"(?:合同总价|合同总金额|合同金额|合同价款|总价款|总金额|总价|合计金额|金额合计|合计|总计|价税合计|"
    r"total\s+(?:contract\s+)?(?:price|amount|value|consideration|fees?)|aggregate\s+(?:amount|price)|"
    r"contract\s+(?:price|sum|amount|value)|purchase\s+price|in\s+the\s+amount\s+of)",
    re.I,
)
_WEAK_AFTER = re.compile(
    r"^\s*(?:per\s+(?:share|hour|unit|month|day|year|annum)|/\s*(?:hour|month|share|unit)|par\s+value|"
    r"每(?:股|小时|月|日|天|件|台)|/(?:月|年|日|天)|%)",
    re.I,
)
_NOT_CONSIDERATION_BEFORE = re.compile(
    r"(?:\bpar\s+value|\bnominal\s+value|\bstated\s+value|\bper\s+share|"
    r"\binsurance\b[^.;]{0,80}|\b(?:insured|coverage|policy\s+limits?|per\s+occurrence)\b[^.;]{0,40}|"
    r"\bfor\s+example\b[^.;]{0,40}|\be\.g\.[^.;]{0,40}|\bfor\s+instance\b[^.;]{0,40}|"
    r"面值|每股|保险[^。；]{0,30}|例如[^。；]{0,20})[\s:：,(（]*(?:人民币|RMB|USD|US\$|\$)?\s*$",
    re.I,
)
_NOT_CONSIDERATION_AFTER = re.compile(
    r"^\s*(?:\)\s*)?(?:par\s+value|nominal\s+value|per\s+(?:share|occurrence)|(?:a|each)\s+share|"
    r"of\s+(?:insurance|coverage)|每股|面值)",
    re.I,
)
"""Amounts that are not the contract's consideration: a share's par value ("common stock, par
value USD 0.01 per share"), insurance limits ("insurance ... of not less than $1,000,000 per
occurrence"), figures in examples ("for example, $100"). They are not suggested at all."""

_CURRENCIES = {
    "us$": "USD", "u.s.$": "USD", "usd": "USD", "$": "USD", "dollars": "USD",
    "us dollars": "USD", "u.s. dollars": "USD", "hk$": "HKD", "hkd": "HKD",
    "rmb": "CNY", "cny": "CNY", "人民币": "CNY", "¥": "CNY", "￥": "CNY", "元": "CNY",
    "yuan": "CNY", "eur": "EUR", "€": "EUR", "euro": "EUR", "euros": "EUR", "gbp": "GBP",
    "£": "GBP",
}  # fmt: skip
_SCALES = {
    "thousand": 1000, "million": 1_000_000, "billion": 1_000_000_000, "万": 10_000,
    "万元": 10_000, "亿": 100_000_000, "亿元": 100_000_000,
}  # fmt: skip


@dataclass
class _Candidate:
    page: Page
    start: int
    end: int
    amount: Decimal
    currency: str
    score: float
    written: str | None = None
    check: str | None = None


def _currency(raw: str) -> str:
    key = re.sub(r"\s+", "", raw.lower())
    key = {"us$": "us$", "u.s.$": "u.s.$"}.get(key, key)
    if key in _CURRENCIES:
        return _CURRENCIES[key]
    return _CURRENCIES.get(re.sub(r"\s+", " ", raw.lower()), "CNY")


def _figure(num: str, scale: str | None) -> Decimal | None:
    digits = num.replace(",", "")
    if len(digits.split(".")[0]) > 20:  # far past MAX_AMOUNT: not worth a Decimal
        return None
    try:
        value = Decimal(digits)
    except InvalidOperation:
        return None
    if scale:
        value *= _SCALES.get(scale.lower(), 1)
    return bounded_amount(value)


def find_amounts(doc: Document, limit: int = 3) -> tuple[list[Found], list[str]]:
    candidates: list[_Candidate] = []
    warnings: list[str] = []
    for page in doc.pages:
        text = page.text
        for pattern in (_PREFIX, _SUFFIX):
            for m in pattern.finditer(text):
                value = _figure(m.group("num"), m.group("scale"))
                if value is None or value <= 0:
                    continue
                cur = _currency(m.group("cur"))
                before = text[max(0, m.start() - 100) : m.start()]
                after = text[m.end() : m.end() + 25]
                if _NOT_CONSIDERATION_BEFORE.search(before) or _NOT_CONSIDERATION_AFTER.match(
                    after
                ):
                    continue
                before = before[-60:]
                score = 0.3
                if _STRONG.search(before):
                    score += 0.35
                if _WEAK_AFTER.match(after):
                    score -= 0.25
                if m.group("cur") in ("元",) and not re.search(r"金额|价|款|费|计", before):
                    score -= 0.1
                candidates.append(_Candidate(page, m.start(), m.end(), value, cur, score))
        for m in _FORMAL.finditer(text):
            written = m.group("cn").replace("\n", "")
            value = cn_amount(written)
            if value is None or value <= 0:
                continue
            # The figure it stands beside: the nearest candidate on this page within 80 chars.
            near = [
                c
                for c in candidates
                if c.page is page and abs(c.start - m.start()) < 120 and c.currency == "CNY"
            ]
            if near:
                nearest = min(near, key=lambda c: abs(c.start - m.start()))
                nearest.written = written
                if nearest.amount == value:
                    nearest.check = "match"
                    nearest.score += 0.3
                else:
                    nearest.check = "mismatch"
                    nearest.score -= 0.1
                    warnings.append(
                        f"page {page.number}: the amount in words ({written} = {value}) does not "
                        f"match the figure {nearest.amount}"
                    )
            else:
                candidates.append(
                    _Candidate(page, m.start("cn"), m.end("cn"), value, "CNY", 0.45, written, None)
                )
    # Merge repeats of the same amount; each repeat is more evidence.
    merged: dict[tuple[Decimal, str], _Candidate] = {}
    for c in candidates:
        key = (c.amount, c.currency)
        if key in merged:
            best = merged[key]
            best.score = max(best.score, c.score) + 0.05
            if c.check == "match" or (best.check is None and c.check):
                best.written, best.check = c.written, c.check
        else:
            merged[key] = c
    ranked = sorted(merged.values(), key=lambda c: (-c.score, c.page.number, c.start))[:limit]
    results = []
    for rank, c in enumerate(ranked):
        found_value = {
            "amount": str(c.amount),
            "currency": c.currency,
            "written": c.written,
            "check": c.check,
        }
        shown = f"{c.currency} {c.amount:,}"
        if c.check:
            shown += f" (大写 {c.written}: {c.check})"
        confidence = max(0.05, min(0.95, c.score - 0.1 * rank))
        results.append(
            found("amount", found_value, shown, confidence, "rule:amount", c.page, c.start, c.end)
        )
    return results, warnings
