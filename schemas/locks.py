"""Retention and legal hold of a contract's evidence package, as the API and the CLI show it."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field


class ObjectLockPublic(BaseModel):
    key: str
    mode: str | None = Field(description="`COMPLIANCE` while a retention period is set.")
    retain_until: datetime | None
    legal_hold: bool


class ContractLocks(BaseModel):
    id: int
    enforced: bool = Field(
        description="Whether the object store itself enforces retention and holds (S3 Object "
        "Lock); the local store does not."
    )
    legal_hold: bool = Field(description="Every object of the package is under legal hold.")
    retain_until: datetime | None = Field(description="Retention of the original.")
    deletable: bool = Field(description="No object of the package is held or retained.")
    objects: list[ObjectLockPublic]
