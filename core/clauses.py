"""The clause types the archive finds in contracts: CUAD's 33 clause categories (the columns of
``master_clauses.csv`` from "Most Favored Nation" to "Third Party Beneficiary") and the clause
types Chinese contracts name by their headings.

Plain data: the detector (``ingest.extraction.clauses``), the query language (``clause:``), the
API, the CLI and the web all take slugs and labels from here.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class ClauseType:
    slug: str
    en: str
    zh: str
    cuad: str | None = None
    """The CUAD column the English detector is trained on (None: found by Chinese headings)."""


CUAD_TYPES: tuple[ClauseType, ...] = (
    ClauseType("most_favored_nation", "Most favored nation", "最惠待遇", "Most Favored Nation"),
    ClauseType(
        "competitive_restriction_exception",
        "Competitive restriction exception",
        "竞争限制例外",
        "Competitive Restriction Exception",
    ),
    ClauseType("non_compete", "Non-compete", "竞业禁止", "Non-Compete"),
    ClauseType("exclusivity", "Exclusivity", "排他性", "Exclusivity"),
    ClauseType(
        "no_solicit_of_customers",
        "No-solicit of customers",
        "不招揽客户",
        "No-Solicit Of Customers",
    ),
    ClauseType(
        "no_solicit_of_employees",
        "No-solicit of employees",
        "不招揽员工",
        "No-Solicit Of Employees",
    ),
    ClauseType("non_disparagement", "Non-disparagement", "不诋毁", "Non-Disparagement"),
    ClauseType(
        "termination_for_convenience",
        "Termination for convenience",
        "任意解除",
        "Termination For Convenience",
    ),
    ClauseType(
        "rofr_rofo_rofn", "Right of first refusal/offer/negotiation", "优先权", "Rofr/Rofo/Rofn"
    ),
    ClauseType("change_of_control", "Change of control", "控制权变更", "Change Of Control"),
    ClauseType("anti_assignment", "Anti-assignment", "禁止转让", "Anti-Assignment"),
    ClauseType(
        "revenue_profit_sharing",
        "Revenue/profit sharing",
        "收入/利润分成",
        "Revenue/Profit Sharing",
    ),
    ClauseType("price_restrictions", "Price restrictions", "价格限制", "Price Restrictions"),
    ClauseType("minimum_commitment", "Minimum commitment", "最低承诺量", "Minimum Commitment"),
    ClauseType("volume_restriction", "Volume restriction", "数量限制", "Volume Restriction"),
    ClauseType(
        "ip_ownership_assignment",
        "IP ownership assignment",
        "知识产权归属转让",
        "Ip Ownership Assignment",
    ),
    ClauseType("joint_ip_ownership", "Joint IP ownership", "知识产权共有", "Joint Ip Ownership"),
    ClauseType("license_grant", "License grant", "许可授予", "License Grant"),
    ClauseType(
        "non_transferable_license",
        "Non-transferable license",
        "不可转让许可",
        "Non-Transferable License",
    ),
    ClauseType(
        "affiliate_license_licensor",
        "Affiliate license (licensor)",
        "关联方许可（许可方）",
        "Affiliate License-Licensor",
    ),
    ClauseType(
        "affiliate_license_licensee",
        "Affiliate license (licensee)",
        "关联方许可（被许可方）",
        "Affiliate License-Licensee",
    ),
    ClauseType(
        "unlimited_license",
        "Unlimited/all-you-can-eat license",
        "无限量许可",
        "Unlimited/All-You-Can-Eat-License",
    ),
    ClauseType(
        "irrevocable_or_perpetual_license",
        "Irrevocable or perpetual license",
        "不可撤销或永久许可",
        "Irrevocable Or Perpetual License",
    ),
    ClauseType("source_code_escrow", "Source code escrow", "源代码托管", "Source Code Escrow"),
    ClauseType(
        "post_termination_services",
        "Post-termination services",
        "终止后服务",
        "Post-Termination Services",
    ),
    ClauseType("audit_rights", "Audit rights", "审计权", "Audit Rights"),
    ClauseType("uncapped_liability", "Uncapped liability", "无上限责任", "Uncapped Liability"),
    ClauseType("cap_on_liability", "Cap on liability", "责任上限", "Cap On Liability"),
    ClauseType("liquidated_damages", "Liquidated damages", "违约金", "Liquidated Damages"),
    ClauseType("warranty_duration", "Warranty duration", "保修期", "Warranty Duration"),
    ClauseType("insurance", "Insurance", "保险", "Insurance"),
    ClauseType("covenant_not_to_sue", "Covenant not to sue", "不起诉承诺", "Covenant Not To Sue"),
    ClauseType(
        "third_party_beneficiary",
        "Third party beneficiary",
        "第三方受益人",
        "Third Party Beneficiary",
    ),
)

ZH_TYPES: tuple[ClauseType, ...] = (
    ClauseType("liability_for_breach", "Liability for breach", "违约责任"),
    ClauseType("force_majeure", "Force majeure", "不可抗力"),
    ClauseType("dispute_resolution", "Dispute resolution", "争议解决"),
    ClauseType("confidentiality", "Confidentiality", "保密"),
    ClauseType("intellectual_property", "Intellectual property", "知识产权"),
    ClauseType("termination", "Termination", "合同解除/终止"),
    ClauseType("guarantee", "Guarantee", "担保"),
    ClauseType("deposit", "Deposit", "定金"),
)

CLAUSE_TYPES: tuple[ClauseType, ...] = CUAD_TYPES + ZH_TYPES
BY_SLUG: dict[str, ClauseType] = {t.slug: t for t in CLAUSE_TYPES}
SLUGS: tuple[str, ...] = tuple(BY_SLUG)

CLAUSE_FIELD = "clause"
"""The suggestion field clause findings are stored under (one suggestion per clause found)."""


def clause_label(slug: str, lang: str = "en") -> str:
    """The clause type's name in ``lang`` (``zh`` or ``en``); an unknown slug as it is."""
    kind = BY_SLUG.get(slug)
    if kind is None:
        return slug
    return kind.zh if lang == "zh" else kind.en


def decision_key(field: str, value: Any) -> str:
    """What a person decided about when they rejected a suggestion: the field and its value,
    and for a clause the field and its type (the sentence and its span change when the text
    is read again, by OCR or a new extractor; the decision does not). A later extraction
    does not suggest again what has this key among the contract's rejected suggestions."""
    if field == CLAUSE_FIELD and isinstance(value, dict):
        return f"{field}\x1f{value.get('type')}"
    return f"{field}\x1f{json.dumps(value, sort_keys=True, ensure_ascii=False, default=str)}"
