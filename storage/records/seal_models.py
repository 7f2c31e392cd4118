"""Tables of the seal and of the fixity audit.

``package_manifests``: one row per manifest version of a contract's evidence package, with the
manifest's digest, its seal state (``sealed`` or ``pending`` with the reason) and the time the
timestamp attests. ``fixity_runs`` / ``fixity_findings``: the progress of ``verify --all`` (so an
interrupted audit resumes where it stopped) and the contracts it found not PASSED.
``integrity_alerts``: a contract whose stored file was found damaged when it was to be served
(one row per contract: the latest finding), shown on its page and by ``doctor``.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from storage.records.models import Base, BigIntId, utcnow


class PackageManifest(Base):
    __tablename__ = "package_manifests"

    contract_id: Mapped[int] = mapped_column(
        BigIntId, ForeignKey("contracts.id", ondelete="CASCADE"), primary_key=True
    )
    version: Mapped[int] = mapped_column(Integer, primary_key=True)
    manifest_key: Mapped[str] = mapped_column(String(300))
    manifest_sha256: Mapped[str] = mapped_column(String(64))
    state: Mapped[str] = mapped_column(String(20), index=True)
    """``sealed`` or ``pending``."""
    reason: Mapped[str | None] = mapped_column(Text)
    """Why the seal is pending (the last failure)."""
    seal_key: Mapped[str | None] = mapped_column(String(300))
    key_id: Mapped[str | None] = mapped_column(String(100))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    issued_at: Mapped[datetime] = mapped_column(default=utcnow)
    sealed_at: Mapped[datetime | None] = mapped_column()


class FixityRun(Base):
    __tablename__ = "fixity_runs"

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True, autoincrement=True)
    state: Mapped[str] = mapped_column(String(20), index=True)
    """``running`` (also after an interruption: it resumes) or ``finished``."""
    owner: Mapped[str] = mapped_column(String(200))
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column()
    last_contract_id: Mapped[int] = mapped_column(BigInteger, default=0)
    checked: Mapped[int] = mapped_column(Integer, default=0)
    passed: Mapped[int] = mapped_column(Integer, default=0)
    failed: Mapped[int] = mapped_column(Integer, default=0)
    indeterminate: Mapped[int] = mapped_column(Integer, default=0)
    bytes_hashed: Mapped[int] = mapped_column(BigInteger, default=0)


class FixityFinding(Base):
    __tablename__ = "fixity_findings"
    __table_args__ = (Index("ix_fixity_findings_run_overall", "run_id", "overall"),)

    run_id: Mapped[int] = mapped_column(
        BigIntId, ForeignKey("fixity_runs.id", ondelete="CASCADE"), primary_key=True
    )
    contract_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, index=True)
    """Indexed for a contract's latest finding (the contract table's verification column)."""
    overall: Mapped[str] = mapped_column(String(20))
    summary: Mapped[str] = mapped_column(Text)


class IntegrityAlert(Base):
    __tablename__ = "integrity_alerts"

    contract_id: Mapped[int] = mapped_column(
        BigIntId, ForeignKey("contracts.id", ondelete="CASCADE"), primary_key=True
    )
    file: Mapped[str] = mapped_column(String(100))
    """``original``, ``text`` or ``searchable``."""
    expected_sha256: Mapped[str | None] = mapped_column(String(64))
    problem: Mapped[str] = mapped_column(Text)
    detected_at: Mapped[datetime] = mapped_column(default=utcnow)
    detected_by: Mapped[str] = mapped_column(String(200))
