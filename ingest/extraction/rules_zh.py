"""Rules for Chinese contracts: 合同编号, 甲方/乙方 (出卖人/买受人, ...), 日期, 有效期, 续期,
适用法律.

Model contracts (示范文本) leave these blank (``甲方：____``); a blank, a placeholder or another
label where the value should be is never taken for a value.
"""

from __future__ import annotations

import re
from collections import Counter

from core.names import name_key
from ingest.extraction.dates import find_dates
from ingest.extraction.found import Found, found, renewal_value
from ingest.extraction.numbers import cn_integer
from ingest.extraction.text import Document, Page

# role label → (role, what the role means for classification)
ROLE_LABELS: dict[str, tuple[str, str | None]] = {
    "甲方": ("party_a", None),
    "乙方": ("party_b", None),
    "丙方": ("party_c", None),
    "丁方": ("party_d", None),
    "出卖人": ("seller", "seller"),
    "买受人": ("buyer", "buyer"),
    "卖方": ("seller", "seller"),
    "买方": ("buyer", "buyer"),
    "供方": ("seller", "seller"),
    "需方": ("buyer", "buyer"),
    "供货方": ("seller", "seller"),
    "采购方": ("buyer", "buyer"),
    "出租人": ("lessor", None),
    "承租人": ("lessee", None),
    "出租方": ("lessor", None),
    "承租方": ("lessee", None),
    "委托人": ("principal", None),
    "受托人": ("agent", None),
    "委托方": ("principal", None),
    "受托方": ("agent", None),
    "发包人": ("employer", None),
    "承包人": ("contractor", None),
    "贷款人": ("lender", None),
    "借款人": ("borrower", None),
    "出借人": ("lender", None),
    "保证人": ("guarantor", None),
    "许可方": ("licensor", None),
    "被许可方": ("licensee", None),
    "转让方": ("transferor", None),
    "受让方": ("transferee", None),
    "用人单位": ("employer", None),
    "劳动者": ("employee", None),
    "服务方": ("provider", None),
    "Party A": ("party_a", None),
    "Party B": ("party_b", None),
}
_LABELS = "|".join(sorted((re.escape(k) for k in ROLE_LABELS), key=len, reverse=True))
_PARTY_LINE = re.compile(
    rf"(?<![\w])(?P<label>{_LABELS})\s*(?:[（(](?P<sub>[^）)\n]{{1,10}})[）)])?\s*[:：]\s*"
    rf"(?P<name>[^\n]{{0,80}})"
)
_SIGN_SUBS = {"盖章", "签章", "签字", "签名", "公章", "签字或盖章", "签字盖章"}
_NAME_CUT = re.compile(
    r"[（(]\s*以下简称|[（(]\s*简称|\s{2,}|法定代表人|负责人|住所|地址|联系|电话|"
    r"统一社会信用代码|身份证|证件|邮编|邮政编码|传真|开户|账号|请在此处|（签|\(签|签字|盖章|"
    rf"(?:{_LABELS})\s*(?:[（(][^）)]{{1,10}}[）)])?\s*[:：]"
)
_ORG_END = re.compile(
    r"^.*?(?:股份有限公司|有限责任公司|有限公司|分公司|公司|集团|研究院|研究所|事务所|合作社|"
    r"中心|银行|大学|学院|医院|协会|委员会|政府|局|厂|店|商行|工作室)"
)
_PLACEHOLDER = re.compile(r"^[\s_＿—\-.…·:：□■☐/、,，。;；()（）\[\]【】]*$")


def _clean_party_name(raw: str) -> str | None:
    name = raw.strip()
    cut = _NAME_CUT.search(name)
    if cut:
        # "注册地址：" cut at 地址 leaves 注册: a label's first half, not a name.
        if re.match(r"(?:地址|号码|代码|电话|住所)", name[cut.start() :]) and cut.start() <= 3:
            return None
        name = name[: cut.start()]
    name = name.strip(" \t:：,，;；。.、_＿")
    org = _ORG_END.match(name)
    if org:
        name = org.group()
    if not name or _PLACEHOLDER.match(name) or len(name) < 2:
        return None
    if re.search(r"[_＿]{2,}|□|☐", name):
        return None
    if not re.search(r"[\u4e00-\u9fffA-Za-z]", name):
        return None
    if len(name) > 60:
        return None
    # Words that describe a role, not a name ("甲方：买方指定网上操作人").
    if re.search(r"指定|操作人|代理人|代表人|签约|签订|日期|年\s*月|地址|电话", name):
        return None
    return name


def find_parties_zh(doc: Document) -> list[Found]:
    occurrences: dict[str, list[tuple[str, str | None, Page, int, int, bool]]] = {}
    for page in doc.pages:
        for m in _PARTY_LINE.finditer(page.text):
            name = _clean_party_name(m.group("name"))
            if name is None:
                continue
            label = m.group("label")
            sub = m.group("sub")
            role_label = f"{label}（{sub}）" if sub and sub not in _SIGN_SUBS else label
            start = m.start("name") + m.group("name").find(name[:4])
            key = ROLE_LABELS[label][0]
            occurrences.setdefault(key, []).append(
                (name, role_label, page, start, start + len(name), bool(sub in _SIGN_SUBS))
            )
    results: list[Found] = []
    for role, items in occurrences.items():
        counts = Counter(name_key(i[0]) for i in items)
        best_key, count = counts.most_common(1)[0]
        first = next(i for i in items if name_key(i[0]) == best_key)
        name, role_label, page, start, end, _ = first
        confidence = 0.8 + min(count - 1, 3) * 0.05
        if len(counts) > 1:
            confidence -= 0.2
        results.append(
            found(
                "party",
                {"role": role, "role_label": role_label, "name": name},
                f"{role_label}: {name}",
                confidence,
                "rule:zh-party-label",
                page,
                start,
                end,
            )
        )
    order = {"party_a": 0, "seller": 1, "party_b": 2, "buyer": 3}
    results.sort(key=lambda f: order.get(f.value["role"], 9))
    return results


# --- contract number ----------------------------------------------------------------------------
_CONTRACT_NO = re.compile(
    r"(?:合同编号|合同号|协议编号|编号)\s*[:：]\s*(?P<no>[A-Za-z0-9][A-Za-z0-9\-_/.〔〕\[\]【】()（）·]{2,40})"
)


def find_contract_no_zh(doc: Document) -> list[Found]:
    for page in doc.pages[:3]:
        for m in _CONTRACT_NO.finditer(page.text):
            number = m.group("no").rstrip(".（(")
            if not re.search(r"\d", number) or not re.search(r"[A-Za-z0-9]{3}", number):
                continue
            if re.fullmatch(r"[A-Za-z]+", number):
                continue
            return [
                found(
                    "contract_no",
                    number,
                    number,
                    0.9,
                    "rule:zh-contract-no",
                    page,
                    m.start("no"),
                    m.start("no") + len(number),
                )
            ]
    return []


# --- dates --------------------------------------------------------------------------------------
_SIGN_ZH = re.compile(r"(?:签订|签署|签约|订立|签字)(?:日期|时间)?\s*[:：]?\s*(?:于\s*)?$")
_EFFECTIVE_ZH = re.compile(r"(?:生效日期|生效日|起生效|生效)\s*[:：]?\s*$")
_VALID_RANGE = re.compile(r"(?:有效期|期限|租赁期|服务期|合同期|履行期)[^\n。；;]{0,20}?[自从]\s*$")
_UNTIL_ZH = re.compile(r"^\s*(?:起)?\s*(?:至|到|止于)\s*")
_TERM_ZH = re.compile(
    r"(?:有效期|合同期限|期限|租赁期|服务期)(?:为|是|共)?\s*[:：]?\s*"
    r"(?P<n>\d{1,3}|[一二三四五六七八九十两]{1,3})\s*(?:个)?\s*(?P<unit>年|月)"
)
_PERPETUAL_ZH = re.compile(r"(?:永久授权|永久有效|长期有效|无固定期限)")


def find_dates_zh(doc: Document) -> list[Found]:
    sign: Found | None = None
    effective: Found | None = None
    expiry: Found | None = None
    term: Found | None = None
    for page in doc.pages:
        text = page.text
        dates = find_dates(text, us_numeric=False)
        for index, d in enumerate(dates):
            before = text[max(0, d.start - 30) : d.start]
            after = text[d.end : d.end + 12]
            iso = d.value.isoformat()
            if effective is None and _VALID_RANGE.search(before):
                effective = found(
                    "effective_date", iso, iso, 0.9, "rule:zh-valid-from", page, d.start, d.end
                )
                if index + 1 < len(dates) and _UNTIL_ZH.match(text[d.end : dates[index + 1].start]):
                    nxt = dates[index + 1]
                    expiry = found(
                        "expiry_date",
                        nxt.value.isoformat(),
                        nxt.value.isoformat(),
                        0.9,
                        "rule:zh-valid-until",
                        page,
                        nxt.start,
                        nxt.end,
                    )
                continue
            if sign is None and (_SIGN_ZH.search(before) or re.match(r"^\s*签订", after)):
                sign = found("sign_date", iso, iso, 0.85, "rule:zh-signed", page, d.start, d.end)
                continue
            if effective is None and (
                _EFFECTIVE_ZH.search(before) or re.match(r"^\s*(?:起)?生效", after)
            ):
                effective = found(
                    "effective_date", iso, iso, 0.85, "rule:zh-effective", page, d.start, d.end
                )
                continue
            if expiry is None and re.match(r"^\s*(?:止|届满|到期|终止)", after):
                expiry = found("expiry_date", iso, iso, 0.75, "rule:zh-until", page, d.start, d.end)
        if term is None:
            m = _TERM_ZH.search(text)
            if m:
                n = cn_integer(m.group("n"))
                if n:
                    months = n * 12 if m.group("unit") == "年" else n
                    term = found(
                        "term",
                        {"months": months},
                        f"{n}{m.group('unit')}",
                        0.7,
                        "rule:zh-term",
                        page,
                        m.start(),
                        m.end(),
                    )
            else:
                p = _PERPETUAL_ZH.search(text)
                if p:
                    term = found(
                        "term",
                        {"perpetual": True},
                        "永久",
                        0.6,
                        "rule:zh-perpetual",
                        page,
                        p.start(),
                        p.end(),
                    )
    return [f for f in (sign, effective, expiry, term) if f is not None]


# --- renewal ------------------------------------------------------------------------------------
_AUTO_RENEW_ZH = re.compile(
    r"(?:自动(?:续期|续展|延续|顺延|延长)|(?:续期|顺延|延续)\s*(?P<n>\d{1,2}|[一二三四五六七八九十两])\s*(?:个)?\s*(?P<unit>年|月))"
)
_MANUAL_RENEW_ZH = re.compile(r"(?:续签|续约|续订|另行签订|重新签订)")
_NOTICE_ZH = re.compile(
    r"(?:提前|届满前)\s*(?P<n>\d{1,3}|[一二三四五六七八九十]{1,3})\s*(?:个)?\s*(?P<unit>日|天|个月|月)"
)


_RENEW_LIMIT_ZH = re.compile(
    r"(?:(?:仅(?:限|可)?|最多(?:可)?)?(?:续期|续签|续约|顺延|延期)\s*(?:以|限)?\s*"
    r"(?P<n>[一二两三四五\d])\s*次(?:为限)?|"
    r"最多(?:续期|续签|续约|顺延))"
)
"""A limit on the renewals: 续期以一次为限, 最多续签两次, 仅可续签一次 (the number read with the
仅/最多 before it: the leftmost match would otherwise be the wording without its number)."""
_RENEW_UNLIMITED_ZH = re.compile(r"以此类推|依此类推|依次类推|逐年|每次|循环|不限次数")
"""Renewals without a limit: 以此类推, 逐年顺延."""


def find_renewal_zh(doc: Document) -> list[Found]:
    for page in doc.pages:
        text = page.text
        m = _AUTO_RENEW_ZH.search(text)
        kind = "automatic"
        if m is None or not re.search(
            r"期满|届满|到期", text[max(0, m.start() - 80) : m.end() + 20]
        ):
            m2 = _MANUAL_RENEW_ZH.search(text)
            if m2 is None or not re.search(
                r"期满|届满|到期", text[max(0, m2.start() - 80) : m2.end()]
            ):
                continue
            m, kind = m2, "manual"
        window = text[max(0, m.start() - 100) : m.end() + 60]
        term_months = None
        tm = re.search(
            r"(?:续期|顺延|延续|延长)\s*(?P<n>\d{1,2}|[一二三四五六七八九十两])\s*(?:个)?\s*(?P<unit>年|月)",
            window,
        )
        if tm:
            n = cn_integer(tm.group("n"))
            if n:
                term_months = n * 12 if tm.group("unit") == "年" else n
        notice_days = None
        nm = _NOTICE_ZH.search(window)
        if nm:
            n = cn_integer(nm.group("n"))
            if n:
                notice_days = n * 30 if "月" in nm.group("unit") else n
        perpetual: bool | None = None
        renewals = None
        limit = _RENEW_LIMIT_ZH.search(window)
        if limit:
            perpetual = False
            renewals = cn_integer(limit.group("n")) if limit.group("n") else None
        elif kind == "automatic" or _RENEW_UNLIMITED_ZH.search(window):
            perpetual = True  # 自动续期 renews again at each end unless a limit is stated
        value = renewal_value(kind, term_months, notice_days, perpetual, renewals)
        shown = {"automatic": "自动续期", "manual": "协商续签"}[kind]
        if term_months:
            shown += f"，每次{term_months}个月"
        if perpetual:
            shown += "，续期次数不限"
        elif renewals:
            shown += f"，最多续期{renewals}次"
        return [
            found(
                "renewal",
                value,
                shown,
                0.75 if kind == "automatic" else 0.5,
                f"rule:zh-renewal-{kind}",
                page,
                m.start(),
                m.end(),
            )
        ]
    return []


# --- governing law ------------------------------------------------------------------------------
_LAW_ZH = re.compile(
    r"(?:适用|受|依据|依照|按照)\s*(?P<law>中华人民共和国|中国|香港特别行政区|澳门特别行政区|"
    r"[\u4e00-\u9fff]{2,12}?)\s*(?:的)?\s*法律(?:管辖|约束|解释)?"
)


def find_governing_law_zh(doc: Document) -> list[Found]:
    for page in doc.pages:
        for m in _LAW_ZH.finditer(page.text):
            context = page.text[max(0, m.start() - 40) : m.end() + 20]
            # "适用于本市行政区域" or "依据《…法》" are not a choice of law.
            if not re.search(r"本合同|本协议|争议|解释|履行|管辖", context):
                continue
            law = m.group("law")
            if law == "中国":
                law = "中华人民共和国"
            return [
                found(
                    "governing_law",
                    law,
                    law,
                    0.85,
                    "rule:zh-governing-law",
                    page,
                    m.start("law"),
                    m.end("law"),
                )
            ]
    return []
