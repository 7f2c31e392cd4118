"""The customers area of the record store: companies, their names and aliases.

A customer's name and every alias have a unique key (``core.names.name_key``); merging moves
contracts, parties and aliases to the target and keeps the old name as an alias.

The Protocol :class:`CustomerStore` and the plain records it returns (frozen dataclasses, never ORM
objects). Its SQL implementation, :class:`~storage.records.customers_sql.SqlCustomers`, is a part of
``SqlRecordStore``; :class:`~storage.records.base.RecordStore` includes the Protocol.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol, runtime_checkable


@dataclass(frozen=True)
class CustomerRecord:
    id: int
    name: str
    registration_no: str | None
    registration_kind: str | None
    contacts: tuple[dict[str, Any], ...]
    notes: str | None
    aliases: tuple[str, ...]
    created_at: datetime
    created_by: str
    updated_at: datetime


@runtime_checkable
class CustomerStore(Protocol):
    """Customers, found by name, alias or loose key; merged; listed with hidden classes."""

    def create_customer(
        self,
        name: str,
        *,
        actor: str,
        registration_no: str | None = None,
        registration_kind: str | None = None,
        contacts: Sequence[Mapping[str, Any]] = (),
        notes: str | None = None,
        aliases: Sequence[str] = (),
    ) -> CustomerRecord: ...

    def update_customer(
        self, customer_id: int, changes: Mapping[str, Any], *, actor: str
    ) -> CustomerRecord: ...

    def add_alias(self, customer_id: int, alias: str, *, actor: str) -> CustomerRecord: ...

    def remove_alias(self, customer_id: int, alias: str) -> CustomerRecord: ...

    def get_customer(self, customer_id: int) -> CustomerRecord: ...

    def find_customer(self, key: str) -> CustomerRecord | None:
        """The customer whose name key or alias key is ``key``."""

    def find_customers_loose(self, key: str) -> list[CustomerRecord]:
        """Customers whose name or an alias has the loose key ``key`` (legal form ignored)."""

    def list_customers(
        self,
        *,
        q: str | None = None,
        offset: int = 0,
        limit: int = 50,
        hidden: Sequence[str] = (),
    ) -> tuple[int, list[CustomerRecord]]:
        """``hidden``: restricted classes; customers known only through them are left out."""

    def merge_customers(self, target_id: int, source_id: int, *, actor: str) -> CustomerRecord: ...

    def delete_customer_if_unused(self, customer_id: int) -> bool:
        """Delete a customer no contract refers to (undo of a failed ingest)."""
