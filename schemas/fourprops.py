"""The 四性检测 report (four-properties check of DA/T 70, made when a contract is filed) as the
API shows it (issue 13). ``services/fourprops.py`` makes it; the stored ``fourprops.json`` is
the same document."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

Verdict = Literal["PASSED", "INDETERMINATE", "FAILED"]


class FourPropsItem(BaseModel):
    id: str = Field(description="e.g. digests, seal, virus_scan, active_content")
    title: str
    status: Verdict
    reason: str
    details: dict[str, Any] = Field(default_factory=dict)


class FourPropsProperty(BaseModel):
    id: Literal["authenticity", "integrity", "usability", "security"]
    name_zh: str = Field(description="真实性, 完整性, 可用性, 安全性")
    name_en: str
    status: Verdict = Field(description="The worst of its items.")
    items: list[FourPropsItem]


class FourPropsSealed(BaseModel):
    version: int = Field(description="The manifest version that lists the report.")
    state: str = Field(description="sealed or pending")


class FourPropsReport(BaseModel):
    contract_id: int
    standard: str
    package: str = Field(description="The SHA-256 of the original (the package's address).")
    manifest_version: int | None = Field(
        description="The manifest version the check verified (before filing)."
    )
    checked_at: str
    checked_by: str
    overall: Verdict = Field(description="The worst of the four properties.")
    filing: dict[str, Any] = Field(description="Fonds code, year, retention, class, 档号.")
    properties: list[FourPropsProperty]
    forced: dict[str, Any] | None = Field(
        None, description="A filing forced past a FAILED item: the reason, who, what failed."
    )
    file: str = Field("fourprops.json", description="The report's name in the package.")
    sha256: str = Field(description="The SHA-256 of the stored report.")
    sealed_in: FourPropsSealed | None = Field(
        None, description="The latest manifest version listing the report with this digest."
    )
