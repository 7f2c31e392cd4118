"""The rules of the contract model, as plain data: lifecycle states and transitions, retention
periods, the default classification scheme, relations and renewal types; and the one validator
of classification codes.

Nothing here touches a database; the store and the service take their decisions from it, and
the README documents the same tables.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date

from core.errors import InvalidRequest

# --- lifecycle --------------------------------------------------------------------------------
STATES: tuple[str, ...] = (
    "draft",
    "in_approval",
    "signing",
    "signed",
    "active",
    "expiring",
    "expired",
    "renewed",
    "terminated",
    "voided",
    "archived",
)
STATE_NAMES_ZH = {
    "draft": "草稿",
    "in_approval": "审批中",
    "signing": "签署中",
    "signed": "已签署未生效",
    "active": "履行中",
    "expiring": "即将到期",
    "expired": "已到期",
    "renewed": "已续期",
    "terminated": "已终止",
    "voided": "已作废",
    "archived": "已归档",
}

# Where a contract may go from each state. `renewed` is a live state: the contract runs in a
# renewed term (an automatic renewal, or a manual one confirmed by a person). A correction by
# a person (`force`) may leave these rules, with a reason, and is recorded as a correction.
TRANSITIONS: dict[str, frozenset[str]] = {
    "draft": frozenset({"in_approval", "voided"}),
    "in_approval": frozenset({"draft", "signing", "voided"}),
    "signing": frozenset({"signed", "voided"}),
    "signed": frozenset({"active", "terminated", "voided"}),
    "active": frozenset({"expiring", "expired", "renewed", "terminated"}),
    "expiring": frozenset({"active", "expired", "renewed", "terminated"}),
    "renewed": frozenset({"expiring", "expired", "renewed", "terminated"}),
    "expired": frozenset({"renewed", "terminated", "archived"}),
    "terminated": frozenset({"archived"}),
    "voided": frozenset({"archived"}),
    "archived": frozenset(),
}
INITIAL_STATE = "signed"
"""A file archived by ingest is an executed contract: it starts as signed, not yet effective,
and the reminder job moves it on once its dates are confirmed."""

LIVE_STATES = frozenset({"signed", "active", "expiring", "renewed"})
"""States in which a contract runs and expiry and payment reminders apply."""
ENDED_STATES = frozenset({"expired", "terminated", "voided"})
FILABLE_STATES = frozenset(STATES) - {"draft", "in_approval", "signing"}


def expiring_window(tiers: tuple[int, ...] | list[int]) -> int:
    """How many days before its expiry a live contract is *expiring*: the widest reminder tier
    (``ARCHIVE_REMINDER_DAYS``, 90 by default). The one definition: the status the reminder job
    sets, the dashboard's list and the customer card's count all use it."""
    return max(tiers) if tiers else 0


def is_expiring(status: str, expiry: date | None, today: date, window: int) -> bool:
    """A live contract whose expiry is today or within ``window`` days."""
    return status in LIVE_STATES and expiry is not None and 0 <= (expiry - today).days <= window


def allowed_from(target: str) -> frozenset[str]:
    """Every state from which ``target`` may be reached by the rules."""
    return frozenset(s for s, targets in TRANSITIONS.items() if target in targets)


# --- retention --------------------------------------------------------------------------------
RETENTIONS: dict[str, int | None] = {"Y": None, "D30": 30, "D10": 10}
"""保管期限: Y permanent (永久), D30 thirty years, D10 ten years."""

# --- relations and renewals ---------------------------------------------------------------------
RELATIONS = ("amendment", "supplement", "annex", "renewal")
RENEWAL_TYPES = ("automatic", "manual", "none")
MAX_RENEWALS = 100
"""The most renewals a contract may state (``renewal_max_count``) or have had
(``renewal_count``)."""
WHOLE_TERMS: dict[str, tuple[int, int]] = {
    "renewal_term_months": (1, 1200),
    "notice_days": (0, 3650),
    "legal_minimum_years": (0, 100),
    "renewal_max_count": (0, MAX_RENEWALS),
    "renewal_count": (0, MAX_RENEWALS),
}
"""The whole-number terms and their bounds: one rule for the API's schema, the web form and
the command line."""


def renewals_left(max_count: int | None, count: int | None) -> int | None:
    """How many more times a contract may renew: None without a stated limit (renews without
    end), else the limit less the renewals so far (never below 0). A missing count is 0."""
    if max_count is None:
        return None
    return max(0, max_count - (count or 0))


def renews_automatically(
    renewal_type: str | None, max_count: int | None, count: int | None
) -> bool:
    """Whether the contract renews by itself at its expiry: an automatic renewal with a renewal
    left. One that has used up its renewals expires like a contract that does not renew."""
    return renewal_type == "automatic" and renewals_left(max_count, count) != 0


CURRENCIES = ("CNY", "USD", "EUR", "HKD", "GBP", "JPY")
PAYMENT_DIRECTIONS = ("receivable", "payable")
PARTY_ROLES = (
    "party_a",
    "party_b",
    "party_c",
    "party_d",
    "seller",
    "buyer",
    "lessor",
    "lessee",
    "principal",
    "agent",
    "employer",
    "contractor",
    "employee",
    "lender",
    "borrower",
    "guarantor",
    "licensor",
    "licensee",
    "transferor",
    "transferee",
    "provider",
    "party",
)
"""The parties' roles extraction finds (``ingest/extraction/rules_zh.py``) and the web's parties
form offers; the API takes any role (an import's free one), kept while it is not changed."""


# --- the default classification scheme -----------------------------------------------------------
@dataclass(frozen=True)
class DefaultCode:
    code: str
    name_zh: str
    name_en: str
    retention: str
    keywords: tuple[str, ...]


def _code(code: str, zh: str, en: str, retention: str, keywords: str) -> DefaultCode:
    return DefaultCode(code, zh, en, retention, tuple(k for k in keywords.split("|") if k))


# Keywords feed the rule classifier at ingest; they are part of the scheme and edited with it.
DEFAULT_SCHEME: tuple[DefaultCode, ...] = (
    _code(
        "XS",
        "销售",
        "sales",
        "D30",
        "销售合同|买卖合同|购销合同|出卖人|卖方|供方|reseller|distributor|distribution agreement|"
        "sale of goods|sales agreement|purchase order",
    ),
    _code(
        "CG",
        "采购",
        "purchase",
        "D30",
        "采购合同|采购|供货合同|买受人|买方|需方|supply agreement|manufacturing agreement|"
        "purchase agreement|supplier|manufacturer",
    ),
    _code(
        "LD",
        "劳动",
        "labour",
        "Y",
        "劳动合同|劳务合同|用人单位|劳动者|employment agreement|employee|employer",
    ),
    _code(
        "ZL",
        "租赁",
        "lease",
        "D30",
        "租赁合同|出租人|承租人|租金|lease agreement|lessor|lessee|landlord|tenant",
    ),
    _code(
        "FW",
        "服务",
        "service",
        "D10",
        "服务合同|委托合同|技术服务|物业服务|运输合同|service agreement|services agreement|"
        "consulting agreement|hosting|maintenance|outsourcing|transportation agreement|"
        "agency agreement|sponsorship|endorsement|marketing agreement|promotion agreement|"
        "affiliate",
    ),
    _code(
        "BM",
        "保密",
        "NDA",
        "D10",
        "保密协议|保密合同|竞业限制|non-disclosure|confidentiality agreement|non-competition|"
        "non-solicitation",
    ),
    _code(
        "JK",
        "借款/担保",
        "loan/guarantee",
        "D30",
        "借款合同|贷款|借款人|担保合同|保证合同|抵押合同|质押|loan agreement|credit agreement|"
        "guarantee|borrower|lender|promissory note",
    ),
    _code(
        "GC",
        "建设工程",
        "construction",
        "Y",
        "建设工程|施工合同|工程承包|发包人|承包人|construction agreement|contractor|construction",
    ),
    _code(
        "JS",
        "技术/知识产权",
        "technology/IP",
        "Y",
        "技术开发|技术转让|软件许可|许可方|被许可方|源码|知识产权|专利|商标|著作权|"
        "license agreement|licensee|licensor|intellectual property|patent|development agreement|"
        "software|co-branding",
    ),
    _code(
        "GQ",
        "股权/投资",
        "equity/investment",
        "Y",
        "股权转让|增资|投资协议|入股|股东|合资|share purchase|stock purchase|"
        "subscription agreement|joint venture|investment agreement|shareholder|"
        "strategic alliance|cooperation agreement|merger",
    ),
    _code(
        "DS",
        "电子商务",
        "e-commerce",
        "D10",
        "电子商务|网络平台|电商|网店|平台服务协议|e-commerce|online store|marketplace|website",
    ),
    _code("QT", "其他", "other", "D10", ""),
)
FALLBACK_CODE = "QT"


# --- classification codes ---------------------------------------------------------------------
# One validator for every place a code comes in (a contract's classification, the scheme's
# codes, restricted classes, an upload's class). A code is NFKC-normalized and upper-cased, then
# 1 to 50 Unicode letters or digits, ``.``, ``_`` or ``-``, starting with a letter or digit:
# ``ld`` and ``ＬＤ`` are ``LD``. Whether a code is one of the scheme's is checked where a code is
# set on a contract (the scheme lives in the records).
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
