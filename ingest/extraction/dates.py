"""Dates as contracts write them, in English and Chinese, with their positions in the text."""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date

from ingest.extraction.numbers import EN_ORDINAL_WORDS, cn_integer, en_ordinal

MONTHS = {
    "january": 1, "jan": 1, "february": 2, "feb": 2, "march": 3, "mar": 3, "april": 4,
    "apr": 4, "may": 5, "june": 6, "jun": 6, "july": 7, "jul": 7, "august": 8, "aug": 8,
    "september": 9, "sept": 9, "sep": 9, "october": 10, "oct": 10, "november": 11, "nov": 11,
    "december": 12, "dec": 12,
}  # fmt: skip
_MONTH = r"(?P<month>" + "|".join(sorted(MONTHS, key=len, reverse=True)) + r")\.?"
_DAY_NUM = r"\(?(?P<day>\d{1,2})(?:\s?(?:s\s?t|n\s?d|r\s?d|t\s?h))?\)?"
"""'23rd', '(1st)', and '20t h' / '1s t' as the text layers of many filed PDFs split them."""
_DAY_WORD = (
    r"(?P<dayword>(?:twenty|thirty)[\s-]"
    r"(?:first|second|third|fourth|fifth|sixth|seventh|eighth|ninth)"
    rf"|{EN_ORDINAL_WORDS})"
)
_YEAR = r"(?P<year>(?:19|20)\d{2})(?![,.]?\d)"
_THEN = r"(?:\s*,\s*|\s+)"
"""Between the day or month and the year: a comma with or without spaces around it ('July 11 ,
2006', 'May 3,2006'), or spaces."""

_EN_PATTERNS = [
    # February 4, 2020 / Feb. 4 2020 / July 11 , 2006 / May 3,2006
    re.compile(rf"\b{_MONTH}\s+{_DAY_NUM}{_THEN}{_YEAR}\b", re.I),
    # 4 February 2020 / 15th day of January, 2018 / 1st day of January 2009 / (1st) day of
    re.compile(
        rf"(?:\b|(?=\())(?<![\d(]){_DAY_NUM}\s+(?:day\s+of\s+|of\s+)?{_MONTH}{_THEN}"
        rf"(?:of\s+)?{_YEAR}\b",
        re.I,
    ),
    # the first day of July, 2017
    re.compile(rf"\b{_DAY_WORD}\s+day\s+of\s+{_MONTH}{_THEN}(?:of\s+)?{_YEAR}\b", re.I),
    # 2020-02-04
    re.compile(r"\b(?P<year>(?:19|20)\d{2})-(?P<month>\d{1,2})-(?P<day>\d{1,2})\b"),
]
# 2/4/2020 and 2-4-2020 (US order in English contracts); two-digit years only in these forms.
# A first number above 12 cannot be the month: "29/3/18" is day, month, year.
_US_NUMERIC = re.compile(
    r"(?<![\d/\-.])(?P<month>\d{1,2})(?P<sep>[/-])(?P<day>\d{1,2})(?P=sep)"
    r"(?P<year>(?:19|20)?\d{2})(?![\d/\-]|\.\d)"
)

_CN_DIGIT = "〇○零一二三四五六七八九"
_CN_DATE = re.compile(
    rf"(?P<year>(?:19|20)\d{{2}}|[{_CN_DIGIT}]{{4}})\s*年\s*"
    rf"(?P<month>\d{{1,2}}|[{_CN_DIGIT}十]{{1,2}})\s*月\s*"
    rf"(?P<day>\d{{1,2}}|[{_CN_DIGIT}十]{{1,3}})\s*[日号]"
)
_DOTTED = re.compile(
    r"(?<![\d.])(?P<year>(?:19|20)\d{2})[./](?P<month>\d{1,2})[./](?P<day>\d{1,2})(?![\d.])"
)


@dataclass(frozen=True)
class DateMatch:
    start: int
    end: int
    value: date
    text: str


def _make(year: int, month: int, day: int) -> date | None:
    try:
        return date(year, month, day)
    except ValueError:
        return None


def _month(text: str) -> int | None:
    if text.isdigit():
        return int(text)
    return MONTHS.get(text.lower().rstrip("."))


def find_dates(text: str, *, us_numeric: bool = True) -> list[DateMatch]:
    """Every date in ``text``, in order, without overlaps."""
    found: list[DateMatch] = []
    for pattern in _EN_PATTERNS:
        for m in pattern.finditer(text):
            groups = m.groupdict()
            month = _month(groups["month"])
            day = en_ordinal(groups["dayword"]) if groups.get("dayword") else int(groups["day"])
            if month is None or day is None:
                continue
            value = _make(int(groups["year"]), month, day)
            if value:
                found.append(DateMatch(m.start(), m.end(), value, m.group()))
    for m in _CN_DATE.finditer(text):
        year = cn_integer(m.group("year"))
        month = cn_integer(m.group("month"))
        day = cn_integer(m.group("day"))
        if year and month and day:
            value = _make(year, month, day)
            if value:
                found.append(DateMatch(m.start(), m.end(), value, m.group()))
    for m in _DOTTED.finditer(text):
        value = _make(int(m.group("year")), int(m.group("month")), int(m.group("day")))
        if value:
            found.append(DateMatch(m.start(), m.end(), value, m.group()))
    if us_numeric:
        for m in _US_NUMERIC.finditer(text):
            year = int(m.group("year"))
            if year < 100:
                year += 2000 if year < 70 else 1900
            month, day = int(m.group("month")), int(m.group("day"))
            if month > 12 >= day:
                month, day = day, month
            value = _make(year, month, day)
            if value:
                found.append(DateMatch(m.start(), m.end(), value, m.group()))
    found.sort(key=lambda d: (d.start, -(d.end - d.start)))
    result: list[DateMatch] = []
    for d in found:
        if result and d.start < result[-1].end:
            continue
        result.append(d)
    return result


def add_months(start: date, months: int) -> date:
    """``start`` moved by whole months; the 31st becomes the month's last day if needed."""
    index = start.year * 12 + start.month - 1 + months
    year, month = divmod(index, 12)
    day = min(start.day, calendar.monthrange(year, month + 1)[1])
    return date(year, month + 1, day)
