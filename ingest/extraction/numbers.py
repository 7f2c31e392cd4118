"""Numbers written out: Chinese numerals (小写 and 大写) and English number words."""

from __future__ import annotations

import re
from decimal import Decimal

_DIGITS = {
    "零": 0, "〇": 0, "○": 0, "Ｏ": 0, "O": 0,
    "一": 1, "壹": 1, "幺": 1,
    "二": 2, "贰": 2, "两": 2, "弍": 2,
    "三": 3, "叁": 3, "参": 3,
    "四": 4, "肆": 4,
    "五": 5, "伍": 5,
    "六": 6, "陆": 6,
    "七": 7, "柒": 7,
    "八": 8, "捌": 8,
    "九": 9, "玖": 9,
}  # fmt: skip
_SMALL_UNITS = {"十": 10, "拾": 10, "百": 100, "佰": 100, "千": 1000, "仟": 1000}
_BIG_UNITS = {"万": 10_000, "萬": 10_000, "亿": 100_000_000, "億": 100_000_000}

CN_NUMERAL_CHARS = "".join(_DIGITS) + "".join(_SMALL_UNITS) + "".join(_BIG_UNITS)
FORMAL_CHARS = "零壹贰叁肆伍陆柒捌玖拾佰仟万亿"


def cn_integer(text: str) -> int | None:
    """一千二百零五 → 1205, 贰拾 → 20, 十二 → 12; digit strings like 二〇二〇 → 2020."""
    text = text.strip()
    if not text:
        return None
    if text.isascii() and text.isdigit():
        return int(text)
    if all(c in _DIGITS for c in text):
        value = 0
        for c in text:
            value = value * 10 + _DIGITS[c]
        return value
    total = 0
    section = 0
    number = 0
    seen = False
    for c in text:
        if c in _DIGITS:
            number = _DIGITS[c]
            seen = True
        elif c in _SMALL_UNITS:
            section += (number or 1) * _SMALL_UNITS[c]
            number = 0
            seen = True
        elif c in _BIG_UNITS:
            section += number
            total = (
                (total + section) * _BIG_UNITS[c]
                if _BIG_UNITS[c] > 10_000
                else (total + section * _BIG_UNITS[c])
            )
            section = 0
            number = 0
            seen = True
        else:
            return None
    if not seen:
        return None
    return total + section + number


_FORMAL_AMOUNT = re.compile(
    r"^(?P<yuan>[零壹贰叁肆伍陆柒捌玖拾佰仟万亿〇一二三四五六七八九十百千两]*)[元圆]"
    r"(?:(?P<jiao>[零壹贰叁肆伍陆柒捌玖一二三四五六七八九])角)?"
    r"(?:(?P<fen>[零壹贰叁肆伍陆柒捌玖一二三四五六七八九])分)?[整正]?$"
)


MAX_AMOUNT = Decimal("99999999999999.99")
"""The largest amount extraction suggests: 14 digits before the point, what the records' money
column and the API (``max_digits=16``) hold. A longer figure (an account number, a misread
line of OCR) is no amount; past 28 digits ``quantize`` raised ``InvalidOperation`` (issue 20)."""


def bounded_amount(value: Decimal | int) -> Decimal | None:
    """``value`` to the cent, or None when it is not finite or larger than MAX_AMOUNT."""
    amount = Decimal(value)
    if not amount.is_finite() or abs(amount) > MAX_AMOUNT:
        return None
    return amount.quantize(Decimal("0.01"))


def cn_amount(text: str) -> Decimal | None:
    """An amount in Chinese numerals: 伍万捌仟元整 → 58000.00, 壹佰元伍角 → 100.50.

    Also accepts the amount without 元 (伍万捌仟) as whole yuan.
    """
    text = re.sub(r"\s+", "", text).replace("圆", "元")
    text = re.sub(r"^(?:大写|人民币|[:：(（])+", "", text).rstrip(")）")
    text = re.sub("元+", "元", text).removesuffix("整").removesuffix("正")
    if not text:
        return None
    if "元" not in text:
        value = cn_integer(text.replace("零", "")) if text.strip("零") else None
        return bounded_amount(value) if value is not None else None
    m = _FORMAL_AMOUNT.match(text)
    if not m:
        return None
    yuan_text = m.group("yuan")
    # 零 only pads (伍万零捌拾): drop it before reading the number.
    yuan = cn_integer(yuan_text.replace("零", "")) if yuan_text.strip("零") else 0
    if yuan is None:
        return None
    jiao = _DIGITS.get(m.group("jiao") or "零", 0)
    fen = _DIGITS.get(m.group("fen") or "零", 0)
    if yuan > MAX_AMOUNT:
        return None
    return bounded_amount(Decimal(yuan) + Decimal(jiao) / 10 + Decimal(fen) / 100)


_EN_UNITS = {
    "zero": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
    "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13,
    "fourteen": 14, "fifteen": 15, "sixteen": 16, "seventeen": 17, "eighteen": 18,
    "nineteen": 19, "twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60,
    "seventy": 70, "eighty": 80, "ninety": 90, "a": 1, "an": 1,
}  # fmt: skip
_EN_ORDINALS = {
    "first": 1, "second": 2, "third": 3, "fourth": 4, "fifth": 5, "sixth": 6, "seventh": 7,
    "eighth": 8, "ninth": 9, "tenth": 10, "eleventh": 11, "twelfth": 12, "thirteenth": 13,
    "fourteenth": 14, "fifteenth": 15, "sixteenth": 16, "seventeenth": 17, "eighteenth": 18,
    "nineteenth": 19, "twentieth": 20, "thirtieth": 30,
}  # fmt: skip

EN_NUMBER_WORDS = "|".join(sorted((k for k in _EN_UNITS if len(k) > 2), key=len, reverse=True))
EN_ORDINAL_WORDS = "|".join(sorted(_EN_ORDINALS, key=len, reverse=True))


def en_number(text: str) -> int | None:
    """ "ten", "twenty-one", "12", "ten (10)" → the number."""
    text = text.strip().lower()
    m = re.search(r"\((\d+)\)", text)
    if m:
        return int(m.group(1))
    if text.isdigit():
        return int(text)
    total = 0
    for part in re.split(r"[\s-]+", text):
        if part not in _EN_UNITS:
            return None
        total += _EN_UNITS[part]
    return total


def en_ordinal(text: str) -> int | None:
    """ "first" → 1, "twenty-first" → 21, "1st" → 1."""
    text = text.strip().lower()
    m = re.fullmatch(r"(\d{1,2})(?:st|nd|rd|th)?", text)
    if m:
        return int(m.group(1))
    parts = re.split(r"[\s-]+", text)
    if len(parts) == 2 and parts[0] in _EN_UNITS and parts[1] in _EN_ORDINALS:
        return _EN_UNITS[parts[0]] + _EN_ORDINALS[parts[1]]
    return _EN_ORDINALS.get(text)
