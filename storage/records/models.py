"""SQLAlchemy 2 models of the records database.

The schema is created and changed only by the Alembic migrations in ``migrations/versions``;
``tests/test_records.py`` checks that the models and the migrations agree.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    MetaData,
    String,
    Text,
    TypeDecorator,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

# SQLite only auto-increments an INTEGER PRIMARY KEY; PostgreSQL gets a BIGINT identity.
BigIntId = BigInteger().with_variant(Integer(), "sqlite")

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every backend (SQLite drops the offset)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def utcnow() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map: ClassVar[dict[Any, Any]] = {datetime: UTCDateTime, dict[str, Any]: JSON}


class Contract(Base):
    __tablename__ = "contracts"

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True, autoincrement=True)
    sha256: Mapped[str] = mapped_column(String(64), unique=True)
    size: Mapped[int] = mapped_column(BigInteger)
    content_type: Mapped[str] = mapped_column(String(100))
    filename: Mapped[str] = mapped_column(String(1000))
    title: Mapped[str] = mapped_column(String(1000))
    customer: Mapped[str | None] = mapped_column(String(500), index=True)
    page_count: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(30), default="archived")
    classification: Mapped[str | None] = mapped_column(String(50), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    ingested_by: Mapped[str] = mapped_column(String(200))
    original_key: Mapped[str] = mapped_column(String(300))
    text_key: Mapped[str] = mapped_column(String(300))
    text_sha256: Mapped[str] = mapped_column(String(64))
    warnings: Mapped[list[str]] = mapped_column(JSON, default=list)

    pages: Mapped[list[ContractPage]] = relationship(
        back_populates="contract",
        cascade="all, delete-orphan",
        order_by="ContractPage.page_no",
        lazy="selectin",
    )


class ContractPage(Base):
    __tablename__ = "contract_pages"

    contract_id: Mapped[int] = mapped_column(
        BigIntId, ForeignKey("contracts.id", ondelete="CASCADE"), primary_key=True
    )
    page_no: Mapped[int] = mapped_column(Integer, primary_key=True)
    text_source: Mapped[str] = mapped_column(String(20))
    chars: Mapped[int] = mapped_column(Integer)
    needs_ocr: Mapped[bool] = mapped_column(Boolean)
    ocr_status: Mapped[str | None] = mapped_column(String(20))
    ocr_confidence: Mapped[float | None] = mapped_column(Float)
    ocr_error: Mapped[str | None] = mapped_column(Text)

    contract: Mapped[Contract] = relationship(back_populates="pages")


class IngestClaim(Base):
    """A short-lived lock on one SHA-256 while a process ingests it.

    The primary key makes two processes that ingest the same bytes at the same time agree on
    which of them archives it; the other reports a duplicate. A crash leaves the claim behind;
    ``doctor`` removes claims older than the longest possible ingest.
    """

    __tablename__ = "ingest_claims"

    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    owner: Mapped[str] = mapped_column(String(200))
    claimed_at: Mapped[datetime] = mapped_column(default=utcnow)


class SearchWord(Base):
    """A word of the search index's vocabulary and how many documents brought it
    (``storage.records.vocabulary_base``)."""

    __tablename__ = "search_words"

    word: Mapped[str] = mapped_column(String(40), primary_key=True)
    docs: Mapped[int] = mapped_column(Integer, default=1)
