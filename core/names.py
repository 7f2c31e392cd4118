"""Company names: the keys customers are matched by, and registration numbers.

Two keys:

* :func:`name_key`: NFKC, case-folded, without spaces and punctuation. Two names with the same
  key are the same name (``ACME Corp.`` = ``Acme Corp``; ``青岛木门有限公司`` with full-width or
  half-width brackets). A customer's name and every alias have distinct keys.
* :func:`loose_key`: the name key without the legal form (有限公司, Inc., LLC, ...). Equal loose
  keys make a *variant*: matched to the customer, with the variant added as an alias and the
  match recorded, so that a person can undo it.
"""

from __future__ import annotations

import re
import unicodedata

_DROP = re.compile(r"[\W_]+", re.UNICODE)

_LEGAL_FORMS = (
    "股份有限公司",
    "有限责任公司",
    "有限公司",
    "分公司",
    "公司",
    "incorporated",
    "corporation",
    "company",
    "limited",
    "holdings",
    "gmbh",
    "corp",
    "inc",
    "llc",
    "lllp",
    "llp",
    "ltd",
    "plc",
    "pty",
    "co",
    "lp",
    "sa",
    "ag",
    "nv",
    "bv",
)


def name_key(name: str) -> str:
    text = unicodedata.normalize("NFKC", name).casefold()
    return _DROP.sub("", text)[:500]


def loose_key(name: str) -> str:
    """The name key with legal forms removed from its end (and a leading "the")."""
    text = unicodedata.normalize("NFKC", name).casefold()
    words = [w for w in re.split(r"[\W_]+", text) if w]
    if words and words[0] == "the":
        words = words[1:]
    while len(words) > 1 and words[-1] in _LEGAL_FORMS:
        words.pop()
    key = "".join(words)
    changed = True
    while changed:
        changed = False
        for form in _LEGAL_FORMS:
            if not form.isascii() and key.endswith(form) and len(key) > len(form) + 1:
                key = key[: -len(form)]
                changed = True
                break
    return key


# --- 统一社会信用代码 (unified social credit code, GB 32100-2015) ---------------------------------
_USCC_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
_USCC_SHAPE = re.compile(rf"[{_USCC_CHARS}]{{18}}")


def uscc_check_char(first17: str) -> str:
    total = sum(_USCC_CHARS.index(c) * w for c, w in zip(first17, _USCC_WEIGHTS, strict=True))
    return _USCC_CHARS[(31 - total % 31) % 31]


def is_valid_uscc(code: str) -> bool:
    code = code.strip().upper()
    if not _USCC_SHAPE.fullmatch(code):
        return False
    return uscc_check_char(code[:17]) == code[17]


def looks_like_uscc(code: str) -> bool:
    """18 letters and digits: meant as a 统一社会信用代码 (and then it must be valid)."""
    return bool(re.fullmatch(r"[0-9A-Za-z]{18}", code.strip()))
