"""What a caller may read and change of the contracts: restricted classes, search, view, text,
download, ingest, edits, reindex."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import IO, Any

from core.access_errors import (
    PurposeRequired,
)
from core.errors import (
    ArchiveError,
    IntegrityFailure,
    InvalidRequest,
    NotFound,
)
from core.roles import Caller, Perm
from core.rules import valid_classification
from ingest.context import IngestRequest, IngestResult, safe_name
from ingest.pipeline import Pipeline
from schemas.search import SearchResponse
from services.access.core import (
    AccessCore,
    AuditStage,
    _groups,
    log,
    query_filters,
)
from storage.index.query import parse
from storage.records.base import ContractRecord


class ContractAccess(AccessCore):
    # -- restricted classes ----------------------------------------------------------------
    def list_restrictions(self, caller: Caller) -> dict[str, frozenset[str]]:
        self.require(caller, Perm.SETTINGS_MANAGE, action="restriction.list")
        return self.store.restrictions()

    def set_restriction(
        self, caller: Caller, classification: str, groups: Sequence[str]
    ) -> tuple[str, tuple[str, ...]]:
        self.require(caller, Perm.SETTINGS_MANAGE, action="restriction.set")
        code, names = valid_classification(classification), _groups(groups)
        if not names:
            raise InvalidRequest("a restriction needs at least one group")
        self.store.set_restriction(
            code,
            names,
            by=caller.username,
            log=self.entry(
                caller,
                "restriction.set",
                details={"classification": code, "groups": list(names)},
            ),
        )
        return code, names

    def remove_restriction(self, caller: Caller, classification: str) -> None:
        self.require(caller, Perm.SETTINGS_MANAGE, action="restriction.remove")
        code = valid_classification(classification)
        removed = self.store.remove_restriction(
            code,
            log=self.entry(caller, "restriction.remove", details={"classification": code}),
        )
        if not removed:
            raise NotFound(f"the classification {code!r} is not restricted")

    # -- contracts -------------------------------------------------------------------------
    def search(
        self,
        caller: Caller,
        q: str,
        *,
        limit: int = 10,
        offset: int = 0,
        sort: str = "relevance",
        facets: bool = False,
        purpose: str | None = None,
        metadata_only: bool = False,
    ) -> SearchResponse:
        self.require(caller, Perm.SEARCH, action="search", details={"query": q})
        details: dict[str, Any] = {
            "query": q,
            "sort": sort,
            "limit": limit,
            "offset": offset,
            "facets": facets,
        }
        try:
            details["filters"] = query_filters(parse(q))
            result = self.archive.search(
                q,
                limit=limit,
                offset=offset,
                sort=sort,
                facets=facets,
                restrict=self.restriction(caller),
                metadata_only=metadata_only,
            )
        except InvalidRequest as exc:
            self.record(
                caller,
                "search",
                outcome="invalid",
                purpose=purpose,
                details={**details, "error": exc.message},
            )
            raise
        self.record(
            caller,
            "search",
            purpose=purpose,
            details={**details, "hits": result.total, "returned": [h.id for h in result.hits]},
        )
        return result

    def list_contracts(
        self, caller: Caller, *, offset: int = 0, limit: int = 50
    ) -> tuple[int, list[ContractRecord]]:
        self.require(caller, Perm.CONTRACTS_VIEW, action="contract.list")
        hidden = self.hidden_classes(caller)
        records = self.store.list_visible_contracts(hidden, offset=offset, limit=limit)
        total = self.store.count_visible_contracts(hidden)
        self.record(
            caller,
            "contract.list",
            details={"offset": offset, "limit": limit, "returned": [r.id for r in records]},
        )
        return total, records

    def view(
        self, caller: Caller, contract_id: int, *, purpose: str | None = None
    ) -> ContractRecord:
        self.require(caller, Perm.CONTRACTS_VIEW, action="contract.view", contract_id=contract_id)
        record, _ = self._visible_record(caller, contract_id, "contract.view", purpose)
        self.record(caller, "contract.view", contract_id=contract_id, purpose=purpose)
        return record

    def check_visible(self, caller: Caller, contract_id: int, action: str) -> ContractRecord:
        """For routes other issues add (verify, OCR, seal...): NotFound for a contract the
        caller may not see. The route logs its own action."""
        record, _ = self._visible_record(caller, contract_id, action, None)
        return record

    def read_text(
        self, caller: Caller, contract_id: int, *, purpose: str | None = None
    ) -> dict[str, Any]:
        self.require(caller, Perm.CONTRACTS_READ, action="contract.text", contract_id=contract_id)
        record, _ = self._visible_record(caller, contract_id, "contract.text", purpose)
        stream, _checked = self.open_checked(
            caller,
            record.text_key,
            record.text_sha256,
            contract_id=contract_id,
            purpose=purpose,
            file="text",
        )
        with stream:
            document = self.archive.parse_text(record, stream.read())
        self.record(
            caller,
            "contract.text",
            contract_id=contract_id,
            purpose=purpose,
            details={"file": "text", "sha256": record.text_sha256},
        )
        return document

    def download(
        self,
        caller: Caller,
        contract_id: int,
        *,
        purpose: str | None = None,
        conditional: bool = False,
    ) -> tuple[ContractRecord, IO[bytes] | None]:
        """The record and the original, opened, once the download is logged. A download of a
        restricted class needs a purpose (借阅登记). ``conditional``: the client already has
        these bytes (If-None-Match matched): logged as such, and no stream is opened."""
        record, purpose = self.may_download(caller, contract_id, purpose=purpose, file="original")
        stream, checked = None, False
        if not conditional:
            stream, checked = self.open_checked(
                caller,
                record.original_key,
                record.sha256,
                contract_id=contract_id,
                purpose=purpose,
                file="original",
            )
        try:
            self.record(
                caller,
                "contract.download",
                outcome="not_modified" if conditional else "ok",
                contract_id=contract_id,
                purpose=purpose,
                details={
                    "file": "original",
                    "filename": record.filename,
                    "sha256": record.sha256,
                    "size": record.size,
                    **({} if conditional else {"checked": checked}),
                },
            )
        except BaseException:
            if stream is not None:
                stream.close()
            raise
        return record, stream

    def open_checked(
        self,
        caller: Caller,
        key: str,
        sha256: str | None,
        *,
        contract_id: int,
        purpose: str | None,
        file: str,
    ) -> tuple[IO[bytes], bool]:
        """A contract's stored file opened to be served, checked against its recorded digest
        (:meth:`services.archive.Archive.read_checked`). A damaged file is not served: the
        attempt is logged (``integrity_failure``) and :class:`IntegrityFailure` raised."""
        try:
            return self.archive.read_checked(key, sha256, contract_id=contract_id, what=file)
        except IntegrityFailure as exc:
            # The contract is flagged (its page's banner, `doctor`) before the refusal is logged.
            self.archive.records.raise_alert(
                contract_id,
                file=file,
                expected_sha256=sha256,
                problem=exc.message,
                detected_by=caller.username,
            )
            self.record(
                caller,
                "contract.download",
                outcome="integrity_failure",
                contract_id=contract_id,
                purpose=purpose,
                details={"file": file, "expected_sha256": sha256, "error": exc.message[:500]},
            )
            raise

    def may_download(
        self, caller: Caller, contract_id: int, *, purpose: str | None, file: str
    ) -> tuple[ContractRecord, str | None]:
        """The checks of any download of a contract's files (the original, the searchable copy,
        the evidence package): the permission, the restricted class, and the purpose a
        restricted class needs (借阅登记). Returns the record and the cleaned purpose; the
        caller logs the download (``contract.download`` with ``file``) before sending bytes."""
        self.require(
            caller, Perm.CONTRACTS_DOWNLOAD, action="contract.download", contract_id=contract_id
        )
        record, restricted = self._visible_record(caller, contract_id, "contract.download", purpose)
        purpose = (purpose or "").strip() or None
        grant = caller.grant_for(contract_id)
        if restricted and purpose is None and grant is not None:
            purpose = grant.log_purpose
        if restricted and purpose is None:
            self.record(
                caller,
                "contract.download",
                outcome="refused",
                contract_id=contract_id,
                details={
                    "file": file,
                    "reason": "purpose required",
                    "classification": record.classification,
                },
            )
            raise PurposeRequired(
                "a purpose is required to download a contract of a restricted class (借阅登记)",
                hint="say why, e.g. ?purpose=litigation case 2024-17",
            )
        return record, purpose

    def ingest(
        self,
        caller: Caller,
        source: IO[bytes],
        *,
        filename: str,
        title: str | None = None,
        customer: str | None = None,
        classification: str | None = None,
    ) -> IngestResult:
        request = IngestRequest(
            filename=safe_name(filename),  # as Archive.ingest: a non-UTF-8 name cannot be stored
            title=title,
            customer=customer,
            classification=valid_classification(classification) if classification else None,
        )
        return self.ingest_request(caller, request, source)

    def ingest_request(
        self, caller: Caller, request: IngestRequest, source: IO[bytes]
    ) -> IngestResult:
        """Archive one file as ``request`` says (a batch's segment: its master and
        provenance), logged as every ingest is."""
        self.require(caller, Perm.CONTRACTS_INGEST, action="contract.ingest")
        if request.classification:
            self.require(caller, Perm.CONTRACTS_CLASSIFY, action="contract.ingest")
        client = self.archive.upload_client
        if client is not None:
            # The server's ingest process runs this same method (without a client) and logs.
            return client.ingest(caller, request, source)
        pipeline = Pipeline([*self.archive.pipeline.stages, AuditStage(self, caller)])
        filename = request.filename
        result = self.archive.ingest_request(request, source, caller.username, pipeline=pipeline)
        if result.status != "archived":
            # Archived ingests were logged by the AuditStage inside the pipeline.
            self.record(
                caller,
                "contract.ingest",
                outcome=result.status,
                contract_id=result.id,
                details={"file": filename, "sha256": result.sha256, "reason": result.reason},
            )
        return result

    def ingest_path(
        self,
        caller: Caller,
        path: Path,
        *,
        display_name: str | None = None,
        title: str | None = None,
        customer: str | None = None,
        classification: str | None = None,
    ) -> IngestResult:
        name = display_name or str(path)
        try:
            fh = open(path, "rb")  # noqa: SIM115 - closed by the with below
        except OSError as exc:
            return IngestResult(
                file=name, status="rejected", reason=f"cannot read the file: {exc.strerror or exc}"
            )
        with fh:
            return self.ingest(
                caller,
                fh,
                filename=name,
                title=title,
                customer=customer,
                classification=classification,
            )

    def may_see(self, caller: Caller, record: ContractRecord) -> bool:
        groups = self.store.restrictions().get(record.classification or "", frozenset())
        return not groups or bool(groups & caller.groups) or bool(caller.grant_for(record.id))

    def update_contract(
        self,
        caller: Caller,
        contract_id: int,
        changes: Mapping[str, Any],
        *,
        purpose: str | None = None,
    ) -> ContractRecord:
        """Change title, customer or classification; the change and its log entry are one
        transaction, and the index follows before the call returns."""
        needed = {Perm.CONTRACTS_CLASSIFY} if "classification" in changes else set()
        if set(changes) - {"classification"}:
            needed.add(Perm.CONTRACTS_EDIT)
        for perm in sorted(needed or {Perm.CONTRACTS_EDIT}):
            self.require(caller, perm, action="contract.update", contract_id=contract_id)
        current, _ = self._visible_record(caller, contract_id, "contract.update", purpose)
        clean: dict[str, Any] = {}
        for key, value in changes.items():
            if key == "title":
                text = " ".join(str(value or "").split())
                if not text:
                    raise InvalidRequest("the title must not be empty")
                clean[key] = text[:1000]
            elif key == "customer":
                clean[key] = " ".join(str(value or "").split())[:500] or None
            elif key == "classification":
                clean[key] = valid_classification(value) if value else None
            else:
                raise InvalidRequest(f"cannot change {key!r} of a contract")
        if not clean:
            raise InvalidRequest("nothing to change")
        changed = {k: v for k, v in clean.items() if getattr(current, k) != v}
        model = getattr(self.archive, "contracts", None)
        if "classification" in changed and changed["classification"] and model is not None:
            # The contract model (issue 6) keeps a confirmed classification of its own and
            # derives the record's from it: the code must be in its scheme.
            scheme = model.store.current_scheme()
            if scheme.get(changed["classification"]) is None:
                raise InvalidRequest(
                    f"{changed['classification']} is not a code of the classification scheme",
                    hint="codes: " + ", ".join(c.code for c in scheme.codes),
                )
        action = "contract.classify" if set(changed) == {"classification"} else "contract.update"
        entry = self.entry(
            caller,
            action,
            contract_id=contract_id,
            purpose=purpose,
            details={k: {"from": getattr(current, k), "to": v} for k, v in changed.items()},
        )
        _, after = self.store.update_contract(contract_id, clean, log=entry)
        if "classification" in changed and model is not None:
            # Confirmed in the model too, or its next refresh would put the suggestion back.
            model.confirm(
                contract_id,
                {"classification": changed["classification"]},
                actor=caller.username,
                reason=purpose,
            )
            after = self.archive.get(contract_id)
        try:
            self.archive.index_changed(after)
        except ArchiveError:
            log.error("contract %s changed but its index entry is stale: run reindex", contract_id)
            raise
        return after

    def reindex(self, caller: Caller, progress: Callable[[int], None] | None = None) -> int:
        self.require(caller, Perm.SETTINGS_MANAGE, action="index.rebuild")
        self.record(caller, "index.rebuild")
        return self.archive.reindex(progress)
