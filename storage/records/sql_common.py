"""What the SQL halves of the record store's areas share.

:class:`SqlPart` is the base of every area mixin (``contracts_sql``, ``customers_sql``, ...):
it names what :class:`~storage.records.sql.SqlRecordStore` provides (the dialect and its
sessions) and adds the write transaction that turns a broken unique constraint into a Conflict.
The converters from rows to plain records that more than one area returns live here too.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects import sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from core.errors import Conflict, NotFound
from core.rules import LIVE_STATES
from storage.records.base import MAX_ID as MAX_ID  # re-exported for the SQL areas
from storage.records.contract_models import ContractParty, ContractTerms
from storage.records.contracts_base import ContractRecord, PageRecord
from storage.records.models import Contract, utcnow
from storage.records.terms_base import PartyRecord, TermsRecord

LIVE = tuple(sorted(LIVE_STATES))
"""The statuses of a contract in force, in a stable order for SQL ``IN``."""

TERM_COLUMNS = tuple(c.key for c in ContractTerms.__table__.columns if c.key != "contract_id")


def short_str(value: Any) -> str | None:
    """A value as an event records it: ISO dates, other values as text of at most 500 chars."""
    if value is None:
        return None
    if isinstance(value, date | datetime):
        return value.isoformat()
    return str(value)[:500]


def contract_record(row: Contract) -> ContractRecord:
    return ContractRecord(
        id=row.id,
        sha256=row.sha256,
        size=row.size,
        content_type=row.content_type,
        filename=row.filename,
        title=row.title,
        customer=row.customer,
        page_count=row.page_count,
        status=row.status,
        created_at=row.created_at,
        ingested_by=row.ingested_by,
        original_key=row.original_key,
        text_key=row.text_key,
        text_sha256=row.text_sha256,
        classification=row.classification,
        warnings=tuple(row.warnings or ()),
        pages=tuple(
            PageRecord(
                page_no=p.page_no,
                text_source=p.text_source,
                chars=p.chars,
                needs_ocr=p.needs_ocr,
                ocr_status=p.ocr_status,
                ocr_confidence=p.ocr_confidence,
                ocr_error=p.ocr_error,
            )
            for p in row.pages
        ),
    )


def terms_record(row: ContractTerms, parties: Sequence[ContractParty]) -> TermsRecord:
    values = {key: getattr(row, key) for key in TERM_COLUMNS}
    return TermsRecord(
        contract_id=row.contract_id,
        parties=tuple(
            PartyRecord(
                role=p.role,
                name=p.name,
                role_label=p.role_label,
                customer_id=p.customer_id,
                is_us=p.is_us,
            )
            for p in sorted(parties, key=lambda p: p.position)
        ),
        **values,
    )


class SqlPart:
    """The base of the area mixins of ``SqlRecordStore``: its dialect and sessions.

    Writers use the store's sessions (SQLite writers take ``BEGIN IMMEDIATE``; PostgreSQL rows
    are locked with ``SELECT ... FOR UPDATE``) and keep every change and the event recording it
    in one transaction.
    """

    dialect: str

    def _session(self, *, write: bool) -> contextlib.AbstractContextManager[Session]:
        raise NotImplementedError  # provided by SqlRecordStore

    @contextlib.contextmanager
    def _write_tx(self) -> Iterator[Session]:
        """A write transaction; a broken unique constraint becomes a Conflict."""
        try:
            with self._session(write=True) as s:
                yield s
        except IntegrityError as exc:
            raise Conflict(
                f"the change conflicts with an existing record: {exc.orig}",
                hint="reload and retry; a name, alias, number or code may be taken already",
            ) from exc

    def _insert(self, table: Any) -> Any:
        """INSERT with ``on_conflict_do_nothing`` in the store's dialect."""
        if self.dialect == "postgresql":
            # imported here: a SQLite archive's commands need not load PostgreSQL's dialect
            from sqlalchemy.dialects import postgresql

            return postgresql.insert(table)
        return sqlite.insert(table)

    # -- the terms row, which terms, lifecycle and filing all write ------------------------
    def _terms_row(self, s: Session, contract_id: int, *, lock: bool = False) -> ContractTerms:
        if s.get(Contract, contract_id) is None:
            raise NotFound(f"contract {contract_id} does not exist")
        row = s.get(ContractTerms, contract_id, with_for_update=True if lock else None)
        if row is None:
            s.execute(
                self._insert(ContractTerms.__table__)
                .values(contract_id=contract_id, updated_at=utcnow(), updated_by="system")
                .on_conflict_do_nothing(index_elements=["contract_id"])
            )
            row = s.get(
                ContractTerms,
                contract_id,
                with_for_update=True if lock else None,
                populate_existing=True,
            )
            assert row is not None
        return row

    @staticmethod
    def _parties(s: Session, contract_id: int) -> list[ContractParty]:
        return list(
            s.scalars(select(ContractParty).where(ContractParty.contract_id == contract_id))
        )
