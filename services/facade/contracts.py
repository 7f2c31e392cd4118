"""Contracts: list, show, ingest, search, text, download, edit.

Most actions delegate to :class:`~services.access.service.AccessControl`, which checks, hides
and logs contract reads itself (``logged="self"``). What the access control returns is then
cut to what the caller may see: an ingest that finds the bytes already archived as a contract
of a class the caller is not cleared for says so without naming that contract.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass, replace
from datetime import timedelta
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from core.roles import Perm
from ingest.context import IngestResult
from ingest.errors import RejectFile
from ingest.formats import UNSUPPORTED, rejection
from schemas.contract_model import ContractListItem, ContractListPage
from schemas.contracts import ContractPublic
from schemas.search import SearchHit, SearchResponse
from services.facade.base import Area, action
from services.facade.pages import content_purpose
from storage.objects.base import iter_chunks
from storage.records.base import ContractRecord

if TYPE_CHECKING:
    from services.facade.table import TableQuery

__all__ = [
    "HIDDEN_DUPLICATE",
    "ContractsArea",
    "Download",
    "IngestResult",
    "Ingested",
    "RejectFile",
    "format_refusals",
    "iter_chunks",
    "safe_filename",
]

HIDDEN_DUPLICATE = "already archived, as a contract you may not see"
"""The reason an ingest gives when its bytes are a contract of a class hidden from the caller:
it is a duplicate (nothing new was stored), but which contract is not said."""

_UNSAFE_NAME = re.compile(r'[\x00-\x1f\x7f"\\/:*?<>|;\u202a-\u202e\u2066-\u2069]')


def safe_filename(name: str | None, default: str = "upload.pdf") -> str:
    """A file name fit to store and to send back: the last path component only, without
    control characters, quotes, separators or bidirectional overrides (``evil\u202efdp.exe``)."""
    base = (name or "").replace("\\", "/").rsplit("/", 1)[-1]
    cleaned = _UNSAFE_NAME.sub("_", base).strip(" .")
    return cleaned[:255] or default


@dataclass(frozen=True)
class Ingested:
    """One ingest as the caller may see it: the result (a hidden duplicate without its id,
    title or pages) and, when the caller may see it, the contract's record."""

    result: IngestResult
    record: ContractRecord | None = None

    @property
    def hidden_duplicate(self) -> bool:
        return self.result.status == "duplicate" and self.record is None


@dataclass(frozen=True)
class Download:
    """A download once checked and logged: the record, the opened original (None when the
    client already has these bytes), or a presigned URL of the object store instead."""

    record: ContractRecord
    stream: IO[bytes] | None
    url: str | None = None


class ContractsArea(Area):
    """Contracts: list, show, ingest, search, text, download, edit."""

    # -- finding ----------------------------------------------------------------------------
    @action("contract.search", Perm.SEARCH, logged="self")
    def search(
        self,
        q: str,
        *,
        limit: int = 10,
        offset: int = 0,
        sort: str = "relevance",
        facets: bool = False,
        purpose: str | None = None,
    ) -> SearchResponse:
        """Hits, totals, facets and snippets of the contracts the caller may see (logged by
        AccessControl as ``search``, with the query, the total and the ids returned). A caller
        who may not read content (``contracts:read``) searches the records' metadata: words
        match titles and customers, and hits carry no snippets."""
        return self.acting.access.search(
            self.acting.caller,
            q,
            limit=limit,
            offset=offset,
            sort=sort,
            facets=facets,
            purpose=purpose,
            metadata_only=not self.acting.can(Perm.CONTRACTS_READ),
        )

    @action("contract.list", Perm.CONTRACTS_VIEW, logged="read")
    def list_contracts(
        self,
        *,
        offset: int = 0,
        limit: int = 50,
        customer: str | None = None,
        status: str | None = None,
        classification: str | None = None,
        expiring_within: str | None = None,
        overdue_payments: bool = False,
        expired_unrenewed: bool = False,
        table: TableQuery | None = None,
    ) -> ContractListPage:
        """Contracts in id order with their confirmed terms; contracts of hidden classes are
        left out, and the total does not count them. ``table`` adds the contract table's column
        filters and sort (issue 15), applied in SQL."""
        model = self.archive.contracts
        flt = model.contract_filter(
            customer=customer,
            status=status,
            classification=classification,
            expiring_within=expiring_within,
            overdue_payments=overdue_payments,
            expired_unrenewed=expired_unrenewed,
        )
        flt = replace(flt, hidden_classifications=self.acting.hidden)
        if table is not None:
            flt = table.apply(flt)
        page = model.list_contracts(flt, offset=offset, limit=limit)
        self.acting.note(returned=[line.id for line in page.items])
        return ContractListPage(
            total=page.total,
            offset=offset,
            limit=limit,
            items=[
                ContractListItem(
                    **ContractPublic.from_record(self.archive.get(line.id)).model_dump(),
                    terms=line,
                )
                for line in page.items
            ],
        )

    @action("contract.count", Perm.CONTRACTS_VIEW, logged="read")
    def count(self) -> int:
        """How many contracts the caller may see."""
        total = self.acting.access.store.count_visible_contracts(frozenset(self.acting.hidden))
        self.acting.note(total=total)
        return total

    @action("contract.related", Perm.CONTRACTS_VIEW, logged="read", contract="contract_id")
    def related(self, contract_id: int, *, limit: int = 10) -> list[SearchHit]:
        """Other contracts of the same customer, newest first, that the caller may see."""
        record = self.archive.get(contract_id)
        if not record.customer:
            return []
        customer = record.customer.replace('"', " ").strip()
        found = self.archive.search(
            f'customer:"{customer}" -id:{record.id}',
            limit=limit,
            sort="newest",
            restrict=self.acting.access.restriction(self.acting.caller),
        )
        hits = [h for h in found.hits if h.id != record.id and self.acting.may_see_id(h.id)]
        self.acting.note(returned=[h.id for h in hits])
        return hits

    # -- one contract -------------------------------------------------------------------------
    @action("contract.view", Perm.CONTRACTS_VIEW, logged="read", contract="contract_id")
    def view(self, contract_id: int, *, purpose: str | None = None) -> ContractRecord:
        """The contract's record (metadata, not content)."""
        return self.archive.get(contract_id)

    @action("contract.text", Perm.CONTRACTS_READ, logged="self", contract="contract_id")
    def text(self, contract_id: int, *, purpose: str | None = None) -> dict[str, Any]:
        """The extracted text document, page by page (logged by AccessControl). A contract of
        a restricted class is read with a purpose, as its pages and its download are."""
        record = self.archive.get(contract_id)
        purpose = content_purpose(self.acting, record, purpose, "contract.text", {"file": "text"})
        return self.acting.access.read_text(self.acting.caller, contract_id, purpose=purpose)

    @action("contract.download", Perm.CONTRACTS_DOWNLOAD, logged="self", contract="contract_id")
    def download(
        self,
        contract_id: int,
        *,
        purpose: str | None = None,
        etags: tuple[str, ...] = (),
        presigned: bool = True,
    ) -> Download:
        """The original, once the download is logged (a restricted class needs a purpose).
        ``etags``: what the client has (If-None-Match); when it has these bytes the download
        is logged as ``not_modified`` and no stream is opened. With ARCHIVE_S3_PRESIGNED_DOWNLOADS
        (and ``presigned``) the answer is a short-lived URL of the object store."""
        peek = self.archive.get(contract_id) if etags else None
        conditional = peek is not None and f'"{peek.sha256}"' in etags
        record, stream = self.acting.access.download(
            self.acting.caller, contract_id, purpose=purpose, conditional=conditional
        )
        settings = self.archive.settings
        if stream is not None and presigned and settings.s3_presigned_downloads:
            url = self.archive.objects.presigned_url(
                record.original_key,
                timedelta(seconds=settings.s3_presign_seconds),
                download_name=record.filename,
                content_type=record.content_type,
            )
            if url is not None:
                stream.close()  # the download is logged; the bytes come from the object store
                return Download(record, None, url)
        return Download(record, stream)

    # -- changes --------------------------------------------------------------------------
    @action("contract.ingest", Perm.CONTRACTS_INGEST, logged="self")
    def ingest(
        self,
        source: IO[bytes],
        *,
        filename: str,
        title: str | None = None,
        customer: str | None = None,
        classification: str | None = None,
    ) -> Ingested:
        """Archive one file (logged by AccessControl, the archived ones inside the pipeline)."""
        result = self.acting.access.ingest(
            self.acting.caller,
            source,
            filename=safe_filename(filename),
            title=title,
            customer=customer,
            classification=classification,
        )
        return self._customer_of_duplicate(self._as_seen(result), customer)

    @action("contract.ingest", Perm.CONTRACTS_INGEST, logged="self")
    def ingest_path(
        self,
        path: Path,
        *,
        display_name: str | None = None,
        title: str | None = None,
        customer: str | None = None,
        classification: str | None = None,
    ) -> Ingested:
        """Archive one file of the local file system (the command line)."""
        result = self.acting.access.ingest_path(
            self.acting.caller,
            path,
            display_name=display_name,
            title=title,
            customer=customer,
            classification=classification,
        )
        return self._customer_of_duplicate(self._as_seen(result), customer)

    def _customer_of_duplicate(self, seen: Ingested, customer: str | None) -> Ingested:
        """A duplicate uploaded with a customer: the customer is set when the contract has none
        (and the caller may edit; a change logged as ``contract.terms.update``), and otherwise
        the result says why it was not, never dropped in silence."""
        given = " ".join((customer or "").split())
        record = seen.record
        if not given or record is None or seen.result.status != "duplicate":
            return seen
        if record.customer == given:
            return seen
        if record.customer:
            note = (
                f"already archived with the customer {record.customer!r}; the customer given "
                f"({given!r}) was not applied: change it on the contract if it is wrong"
            )
        elif not self.acting.can(Perm.CONTRACTS_EDIT):
            note = (
                f"already archived without a customer; the customer given ({given!r}) was not "
                "applied: setting it needs the permission contracts:edit"
            )
        else:
            from services.facade.terms import TermsArea

            TermsArea(self.acting).update(
                record.id, {"customer": given}, reason="customer given with a duplicate upload"
            )
            record = self.archive.get(record.id)
            note = f"already archived without a customer; the customer given ({given!r}) was set"
        result = replace(seen.result, warnings=(*seen.result.warnings, note))
        return Ingested(result, record)

    def _as_seen(self, result: IngestResult) -> Ingested:
        if result.attachments:  # an e-mail's: each seen as a file of its own
            seen = tuple(self._as_seen(a).result for a in result.attachments)
            result = dataclasses.replace(result, attachments=seen)
        if result.id is None or result.status not in ("archived", "duplicate"):
            return Ingested(result)
        record = self.archive.get(result.id)
        if self.acting.may_see(record):
            return Ingested(result, record)
        if result.status == "archived":
            # Archived by this caller into a class they are not cleared for: they know what
            # they sent, and the id is theirs to report; the record stays hidden from them.
            return Ingested(result)
        # A duplicate of a contract of a hidden class: the bytes are the caller's own, so
        # their digest is no secret; which contract holds them is (the log keeps its id).
        return Ingested(
            IngestResult(
                file=result.file,
                status=result.status,
                sha256=result.sha256,
                reason=HIDDEN_DUPLICATE,
                warnings=(),
                attachments=result.attachments,
                attached_to=result.attached_to,
            )
        )

    @action("contract.update", Perm.CONTRACTS_EDIT, logged="self", contract="contract_id")
    def update(
        self, contract_id: int, changes: dict[str, Any], *, purpose: str | None = None
    ) -> ContractRecord:
        """Change title, customer or classification; the change and its log entry are one
        transaction (AccessControl), a classification also needs the classify permission."""
        return self.acting.access.update_contract(
            self.acting.caller, contract_id, changes, purpose=purpose
        )


def format_refusals() -> dict[str, tuple[str, str]]:
    """Each format the archive recognises but does not take: its key and the refusal (reason,
    hint) an upload of it gets, for a front end to show in its own language."""
    return {f.key: (rejection(f).message, rejection(f).hint or "") for f in UNSUPPORTED}
