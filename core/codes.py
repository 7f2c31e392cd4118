"""Classification codes: one validator for every place a code comes in (a contract's
classification, the scheme's codes, restricted classes, an upload's class).

A code is NFKC-normalized and upper-cased, then 1 to 50 Unicode letters or digits, ``.``, ``_``
or ``-``, starting with a letter or digit: ``ld`` and ``ＬＤ`` are ``LD``. Whether a code is one
of the scheme's is checked where a code is set on a contract (the scheme lives in the records).
"""

from __future__ import annotations

import re
import unicodedata

from core.errors import InvalidRequest

MAX_CODE = 50
_CODE = re.compile(r"[^\W_][\w.-]*")


def valid_classification(code: str, *, max_length: int = MAX_CODE) -> str:
    """The code as stored, or InvalidRequest."""
    text = unicodedata.normalize("NFKC", str(code)).strip().upper()
    if not (1 <= len(text) <= max_length and _CODE.fullmatch(text)):
        raise InvalidRequest(
            f"invalid classification code {code!r}",
            hint=f"1-{max_length} letters or digits, '.', '_' or '-' (starting with a letter or "
            "digit), e.g. LD",
        )
    return text


def optional_classification(code: str | None) -> str | None:
    """As :func:`valid_classification`; None or blank means none."""
    if code is None or not str(code).strip():
        return None
    return valid_classification(code)


SCHEME_CODE_LENGTH = 10


def valid_scheme_code(code: str) -> str:
    """A code of the classification scheme: a classification code (:func:`valid_classification`)
    of at most 10 letters or digits, as it is part of the archival code (档号
    ``全宗号-HT·年度-保管期限-分类-件号``, whose parts ``-`` separates)."""
    text = valid_classification(code, max_length=SCHEME_CODE_LENGTH)
    if not text.isalnum():
        raise InvalidRequest(
            f"invalid code of the classification scheme {code!r}",
            hint=f"1-{SCHEME_CODE_LENGTH} letters or digits (a part of the archival code), e.g. LD",
        )
    return text
