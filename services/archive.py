"""The archive: the one object the CLI and the API talk to.

It owns the three stores and the ingest pipeline and offers the operations users have: ingest,
show, read text, download, search, reindex. ``get_archive()`` / ``reset_archive()`` is the
registry the API's dependencies use; tests build their own ``Archive(settings)``.
"""

from __future__ import annotations

import dataclasses
import getpass
import hashlib
import json
import logging
import os
import re
import shutil
import tempfile
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from datetime import UTC, datetime, timedelta
from functools import cached_property
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, TypeVar

from core.access_errors import AuditLogUnavailable
from core.errors import ArchiveError, ConfigurationError, IntegrityFailure, NotFound
from core.rules import optional_classification
from core.settings import Settings, get_settings
from ingest.context import IngestContext, IngestLimits, IngestRequest, IngestResult, safe_name
from ingest.errors import RejectFile, WorkerCrashed
from ingest.formats import EML, OFD, Format
from ingest.images import Rendition, render_image
from ingest.isolation import WorkerPool, default_workers
from ingest.pdf import ParsedPdf, read_pdf
from ingest.pipeline import Pipeline
from ingest.stages import Stage, default_stages, index_document
from ingest.terms_stage import TermsStage
from schemas.search import SearchResponse
from services.search import search as run_search
from signing.embedded import EmbeddedReport, validate_embedded_signatures
from signing.errors import VersionNotIssued
from signing.manifest import IssuedManifest
from signing.recover import RecoverSummary
from signing.recover import recover as recover_from_manifests
from signing.service import SealService
from storage.errors import ObjectLocked, ObjectNotFound, StorageError
from storage.index.base import IndexDocument, SearchIndex
from storage.index.query import Node
from storage.index.vocabulary import ArchiveIndex
from storage.maintenance import claim_owner, owner_tag
from storage.objects.base import ObjectStore, pdf_key
from storage.permissions import DIR_MODE, check_data_dir, set_private_umask
from storage.records.base import ContractRecord, RecordStore
from storage.records.unit import after_commit
from storage.registry import make_index, make_object_store, make_record_store

if TYPE_CHECKING:
    from ingest.batches import BatchPlan
    from ingest.ofd import OfdRead
    from services.contracts.service import ContractService
    from services.ingest_process import IngestClient

log = logging.getLogger(__name__)

WORDS_SCHEMA = "contract-archive/words/1"
_TEXT_NAME = re.compile(r"/text\.v(\d+)\.json$")


def words_key(text_key: str) -> str | None:
    """The word-box file of a text version: ``…/text.vN.json`` → ``…/words.vN.json``."""
    m = _TEXT_NAME.search(text_key)
    return text_key[: m.start()] + f"/words.v{m[1]}.json" if m else None


PARSER_MEMORY_LIMIT = 2 * 1024**3
MAX_EMAIL_NESTING = 2
"""An e-mail attached to an e-mail has its attachments archived too; one level deeper, not."""
T = TypeVar("T")


def valid_classification(code: str | None) -> str | None:
    """A classification code as stored (``core.rules``); empty means none."""
    return optional_classification(code)


def default_user() -> str:
    """Who the CLI acts as until access control names users (ARCHIVE_USER later)."""
    try:
        name = getpass.getuser()
    except (KeyError, OSError):
        name = str(os.getuid())
    return f"local:{name}"


class Archive:
    def __init__(
        self,
        settings: Settings,
        *,
        objects: ObjectStore | None = None,
        records: RecordStore | None = None,
        index: SearchIndex | None = None,
        stages: Sequence[Stage] | None = None,
        parser_workers: int | None = None,
    ) -> None:
        self.settings = settings
        self.objects = objects or make_object_store(settings)
        self.records = records or make_record_store(settings)
        self.index: SearchIndex = ArchiveIndex(index or make_index(settings), self.records)
        self.pipeline = Pipeline(stages if stages is not None else self._default_stages())
        self._parser_workers = parser_workers or settings.parser_workers or default_workers()
        self._pool: WorkerPool | None = None
        self._pool_lock = threading.Lock()
        self.upload_client: IngestClient | None = None
        """The server's ingest process, when `serve` started one: uploads are archived there
        (``services.ingest_process``); None elsewhere (commands, tests, the process itself)."""
        self.package_listeners: list[Callable[[ContractRecord], None]] = []
        """Called with the fresh record after a contract's evidence package changed."""
        self.seal = SealService(
            settings,
            self.objects,
            self.records,
            check_signatures=self._check_signatures,
            isolate=self._isolated,
        )
        # Terms first: the manifest version the package change issues covers them as they are.
        self.package_listeners.append(self._reextract_terms)
        self.package_listeners.append(self.seal.on_package_changed)
        self.package_listeners.append(self._cover_new_objects)

    def next_manifest(
        self, record: ContractRecord, *, change: dict[str, Any] | None = None
    ) -> IssuedManifest | None:
        """The next manifest version after a change of the record or the contract's model (None
        when nothing the manifest covers changed); what it writes joins a legal hold.

        Called inside a change's unit of work (:mod:`storage.records.unit`): a version that
        cannot be issued fails the change, as :class:`VersionNotIssued` naming the cause."""
        try:
            issued = self.seal.refresh(record, change=change)
        except (AuditLogUnavailable, VersionNotIssued):
            raise
        except ArchiveError as exc:
            raise VersionNotIssued(
                f"the change was not saved: the next manifest version of contract "
                f"{record.id} could not be issued: {exc.message}",
                hint="nothing was changed; check the object store and the seal "
                "(`contract-archive doctor`), then retry",
                details={"contract_id": record.id, "cause": exc.code},
            ) from exc
        if issued is not None:
            self._cover_new_objects(record)
        return issued

    def _cover_new_objects(self, record: ContractRecord) -> None:
        """Files the package gained while it is under legal hold join the hold (holds.py)."""
        from services.holds import cover_new_objects

        cover_new_objects(self, record)

    def _reextract_terms(self, record: ContractRecord) -> None:
        """New text (OCR) may hold terms the first extraction missed."""
        self.contracts.reextract(record.id)

    def _default_stages(self) -> list[Stage]:
        """The spine's stages with the contract-model ``terms`` stage after ``record``."""
        stages = default_stages()
        at = next(i for i, s in enumerate(stages) if s.name == "record") + 1
        stages.insert(
            at,
            TermsStage(
                our_entities=self.settings.our_entity_names,
                extract=self.settings.extract_terms,
                min_classifier_examples=self.settings.classifier_min_examples,
            ),
        )
        return stages

    @cached_property
    def contracts(self) -> ContractService:
        """Customers, terms, lifecycle, filing, payments, the scheme (issue 6)."""
        from services.contracts.service import ContractService

        return ContractService(self)

    # -- lifecycle -------------------------------------------------------------------------
    def open(self, *, migrate: bool = True, check_index: bool = True) -> Archive:
        """Check every store (failing fast with the setting to fix) and migrate the records.

        ``check_index=False`` is for ``reindex``, which replaces an index of another layout.
        """
        set_private_umask()  # folders 0700, files 0600 from here on (issue 20)
        try:
            self.settings.data_dir.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)
            check_data_dir(self.settings.data_dir)
            self.settings.tmp_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ConfigurationError(
                f"the data directory {self.settings.data_dir} cannot be created: "
                f"{exc.strerror or exc}",
                hint="set ARCHIVE_DATA_DIR to a writable directory",
            ) from exc
        self.objects.check()
        if migrate:
            self.records.migrate()
        self.records.check()
        if check_index:
            self.index.check()
        self.seal.open()
        return self

    def close(self) -> None:
        if self.upload_client is not None:
            self.upload_client.close()
            self.upload_client = None
        if self._pool is not None:
            self._pool.close()
            self._pool = None
        self.index.close()
        self.records.close()

    def __enter__(self) -> Archive:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- ingest ----------------------------------------------------------------------------
    def warm_up(self) -> None:
        """Start every parser process now (the server calls this in the background at
        start-up), so the first uploads do not wait for them. Not when uploads go to the
        ingest process, which has its own: the worker then starts them on first need (page
        images, a batch's plan)."""
        if self.upload_client is not None:
            return
        pool = self._workers()

        def start_one() -> None:
            # Best effort: when the archive is closed meanwhile (a server stopped at once),
            # the pool refuses new work ("cannot schedule new futures after shutdown"), and a
            # worker that fails to start is started again by the first file that needs it.
            with suppress(RuntimeError, RejectFile, OSError):
                pool.run(len, b"")

        threads = [
            threading.Thread(target=start_one, name="parser-warm-up", daemon=True)
            for _ in range(self._parser_workers)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

    def _workers(self) -> WorkerPool:
        with self._pool_lock:
            if self._pool is None:
                self._pool = WorkerPool(
                    self._parser_workers,
                    timeout=self.settings.parse_timeout_seconds,
                    memory_limit=PARSER_MEMORY_LIMIT,
                    nice=self.settings.parser_nice,
                )
            return self._pool

    def _read_pdf(self, path: Path) -> ParsedPdf:
        pages, chars = self.settings.max_pages, self.settings.min_text_chars_per_page
        try:
            return self._workers().run(read_pdf, path, max_pages=pages, min_chars=chars)
        except WorkerCrashed as exc:
            # pdfium (C) reads the page text: a file that crashes it is read again with
            # pypdf's text, as it was before pdfium; one that crashes that too is rejected.
            log.warning("%s: %s; read again with pypdf's text", path, exc.message)
            return self._workers().run(
                read_pdf, path, max_pages=pages, min_chars=chars, text_from="pypdf"
            )

    def plan_batch(self, path: Path, *, thumbnails: bool = False) -> BatchPlan:
        """Find the separator sheets of a batch scan and plan its split (in the killable
        worker: the batch is untrusted; a few pages a second at the detection resolution)."""
        from ingest.batches import plan_batch

        return self._workers().run(
            plan_batch,
            path,
            self.settings.max_pages,
            thumbnails,
            what="the batch scan",
            timeout=self.settings.parse_timeout_seconds * 5,
        )

    def write_batch_segments(self, path: Path, plan: BatchPlan, folder: Path) -> list[Path]:
        """Each planned segment of a batch as a PDF of its own in ``folder``."""
        from ingest.batches import write_segments

        return self._workers().run(
            write_segments, path, plan, folder, what="the batch scan's segments"
        )

    def _render_image(self, path: Path, out: Path, label: str) -> Rendition:
        return self._workers().run(
            render_image, path, out, label, self.settings.max_pages, what=label
        )

    def _render_office(self, path: Path, out: Path, fmt: Format) -> Rendition:
        from ingest.office import render_office

        limit = self.settings.office_timeout_seconds
        # LibreOffice stops itself at its own timeout (and its profile is removed); the
        # worker is killed only if that fails, with LibreOffice (PR_SET_PDEATHSIG).
        return self._workers().run(
            render_office,
            path,
            out,
            fmt.key,
            fmt.label,
            limit,
            self.settings.libreoffice_program,
            what=fmt.label,
            timeout=limit + 30,
        )

    def _render_email(self, path: Path, out: Path) -> Rendition:
        from ingest.email_msg import render_email

        limit = self.settings.office_timeout_seconds
        return self._workers().run(
            render_email,
            path,
            out,
            limit,
            self.settings.libreoffice_program,
            self.settings.max_email_attachments,
            what=EML.label,
            timeout=limit + 30,
        )

    def _read_ofd(self, path: Path, out: Path) -> OfdRead:
        from ingest.ofd import read_ofd

        return self._workers().run(
            read_ofd,
            path,
            out,
            self.settings.max_pages,
            self.settings.min_text_chars_per_page,
            what=OFD.label,
        )

    def run_isolated(self, fn: Callable[..., T], *args: Any, what: str = "the file") -> T:
        """Run ``fn(*args)`` on an uploaded file in the killable worker pool (time and memory
        limits of the parser); a stall or crash is a RejectFile saying so."""
        return self._workers().run(fn, *args, what=what)

    @contextmanager
    def spooled_original(self, record: ContractRecord) -> Iterator[Path]:
        """The contract's PDF as a temporary local file (for tools that need a path), removed
        after: the original, or the PDF rendition of an image original."""
        self.settings.tmp_dir.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(dir=self.settings.tmp_dir, prefix="view-", suffix=".pdf")
        path = Path(name)
        try:
            with (
                os.fdopen(fd, "wb") as out,
                self.objects.open(pdf_key(record.original_key, record.content_type)) as src,
            ):
                shutil.copyfileobj(src, out, 1024 * 1024)
            yield path
        finally:
            path.unlink(missing_ok=True)

    def _isolated(self, fn: Callable[..., T], /, *args: Any, what: str, timeout: float) -> T:
        """``fn(*args)`` in the killable worker (the seal service's :class:`Isolator`)."""
        return self._workers().run(fn, *args, what=what, timeout=timeout)

    def _check_signatures(self, path: Path) -> EmbeddedReport:
        """The signatures inside an untrusted PDF, validated in the killable worker."""
        limit = self.settings.signature_timeout_seconds
        try:
            return self._workers().run(
                validate_embedded_signatures,
                path,
                trust_roots_pem=self.seal.embedded_trust_pem,
                what="the file's signatures",
                timeout=limit,
            )
        except RejectFile as exc:
            reason = exc.message
            if "took longer" in reason:
                reason += " (ARCHIVE_SIGNATURE_TIMEOUT_SECONDS)"
            return EmbeddedReport(
                validated_at=datetime.now(UTC).isoformat().replace("+00:00", "Z"),
                problem=reason,
            )

    def context(self, user: str) -> IngestContext:
        return IngestContext(
            limits=IngestLimits(
                max_bytes=self.settings.max_upload_bytes,
                max_pages=self.settings.max_pages,
                min_text_chars=self.settings.min_text_chars_per_page,
                min_free_bytes=self.settings.min_free_bytes,
            ),
            objects=self.objects,
            records=self.records,
            index=self.index,
            read_pdf=self._read_pdf,
            user=user,
            owner=claim_owner(),
            check_signatures=self._check_signatures,
            evidence=self.seal,
            retain_until=self.default_retain_until(),
            render_image=self._render_image,
            render_office=self._render_office,
            render_email=self._render_email,
            read_ofd=self._read_ofd,
        )

    def default_retain_until(self) -> datetime | None:
        """Retention of a new original until its classification sets one (None: none)."""
        days = self.settings.default_retention_days
        return datetime.now(UTC) + timedelta(days=days) if days > 0 else None

    def ingest(
        self,
        source: IO[bytes],
        *,
        filename: str,
        title: str | None = None,
        customer: str | None = None,
        classification: str | None = None,
        user: str | None = None,
    ) -> IngestResult:
        request = IngestRequest(
            filename=safe_name(filename),
            title=title,
            customer=customer,
            classification=valid_classification(classification),
        )
        return self.ingest_request(request, source, user or default_user())

    def ingest_request(
        self,
        request: IngestRequest,
        source: IO[bytes],
        user: str,
        *,
        pipeline: Pipeline | None = None,
        depth: int = 0,
    ) -> IngestResult:
        """Archive one file through ``pipeline`` (default: the archive's); an e-mail's
        attachments follow, through the same pipeline, each linked to the message."""
        runner = pipeline or self.pipeline
        result = runner.ingest(self.context(user), request, source, self.settings.tmp_dir)
        if result.ok and result.id is not None and depth < MAX_EMAIL_NESTING:
            record = self.records.get_contract(result.id)
            if record.content_type == EML.content_type:
                attached = self._ingest_attachments(record, request, user, runner, depth)
                result = dataclasses.replace(result, attachments=tuple(attached))
        return result

    def _ingest_attachments(
        self,
        message: ContractRecord,
        request: IngestRequest,
        user: str,
        pipeline: Pipeline,
        depth: int,
    ) -> list[IngestResult]:
        """Each attachment of an archived e-mail as a contract of its own, linked to the
        message (its master, relation ``annex``); a duplicate of one already archived is
        reported as such. A message archived again (a duplicate) has its attachments looked at
        again: what an interrupted run left out is archived then."""
        from ingest.email_msg import save_attachments

        folder = Path(
            tempfile.mkdtemp(prefix=owner_tag() + "attachments-", dir=self.settings.tmp_dir)
        )
        try:
            original = folder / "message.eml"
            with self.objects.open(message.original_key) as src, open(original, "xb") as out:
                shutil.copyfileobj(src, out, 1024 * 1024)
            try:
                saved = self._workers().run(
                    save_attachments,
                    original,
                    folder,
                    self.settings.max_email_attachments,
                    what="the e-mail's attachments",
                )
            except RejectFile as exc:
                return [
                    IngestResult(
                        file=f"{request.filename}/(attachments)",
                        status="rejected",
                        reason=exc.message,
                        hint=exc.hint,
                        attached_to=message.id,
                    )
                ]
            results = []
            for name, path in saved:
                child = IngestRequest(
                    filename=safe_name(f"{request.filename}/{name}"),
                    customer=request.customer,
                    classification=request.classification,
                    master_id=message.id,
                    relation="annex",
                )
                with open(path, "rb") as fh:
                    outcome = self.ingest_request(
                        child, fh, user, pipeline=pipeline, depth=depth + 1
                    )
                results.append(dataclasses.replace(outcome, attached_to=message.id))
                path.unlink(missing_ok=True)
            return results
        finally:
            shutil.rmtree(folder, ignore_errors=True)

    def ingest_path(
        self,
        path: Path,
        *,
        display_name: str | None = None,
        title: str | None = None,
        customer: str | None = None,
        classification: str | None = None,
        user: str | None = None,
    ) -> IngestResult:
        name = safe_name(display_name or str(path))
        try:
            fh = open(path, "rb")  # noqa: SIM115 - closed by the with below
        except OSError as exc:
            return IngestResult(
                file=name,
                status="rejected",
                reason=f"cannot read the file: {exc.strerror or exc}",
            )
        with fh:
            return self.ingest(
                fh,
                filename=name,
                title=title,
                customer=customer,
                classification=classification,
                user=user,
            )

    # -- reading ---------------------------------------------------------------------------
    def get(self, contract_id: int) -> ContractRecord:
        return self.records.get_contract(contract_id)

    def open_original(self, contract_id: int) -> tuple[ContractRecord, IO[bytes]]:
        record = self.get(contract_id)
        return record, self.objects.open(record.original_key)

    def text_document(self, contract_id: int) -> dict[str, Any]:
        record = self.get(contract_id)
        return self._load_text(record)

    def _load_text(self, record: ContractRecord) -> dict[str, Any]:
        with self.objects.open(record.text_key) as fh:
            data = fh.read()
        return self.parse_text(record, data)

    def parse_text(self, record: ContractRecord, data: bytes) -> dict[str, Any]:
        """The text document of ``record`` from its stored bytes (StorageError if damaged)."""
        try:
            document: dict[str, Any] = json.loads(data)
        except ValueError as exc:
            raise StorageError(
                f"the text file of contract {record.id} is damaged ({exc})",
                hint="run `contract-archive doctor`",
            ) from exc
        return document

    def page_texts(self, record: ContractRecord) -> list[str]:
        return [str(p.get("text", "")) for p in self._load_text(record)["pages"]]

    def stored_words(self, record: ContractRecord) -> dict[str, Any] | None:
        """The word boxes OCR stored beside the record's text (``words.vN.json``), or None:
        a contract OCR'd before they were kept, or one without OCR'd pages."""
        key = words_key(record.text_key)
        if not key:
            return None
        try:
            with self.objects.open(key) as fh:
                document = json.loads(fh.read())
        except ObjectNotFound:
            return None
        except (StorageError, ValueError) as exc:
            log.warning("contract %d: the word boxes %s cannot be read (%s)", record.id, key, exc)
            return None
        return document if isinstance(document, dict) else None

    def page_words(self, record: ContractRecord, page: int) -> dict[str, Any] | None:
        """One page's entry of :meth:`stored_words` (its words and the turn they were read at)."""
        document = self.stored_words(record) or {}
        for entry in document.get("pages") or []:
            if isinstance(entry, dict) and entry.get("page") == page:
                return entry
        return None

    def search(
        self,
        q: str,
        *,
        limit: int = 10,
        offset: int = 0,
        sort: str = "relevance",
        facets: bool = False,
        restrict: Node | None = None,
        metadata_only: bool = False,
    ) -> SearchResponse:
        s = self.settings
        return run_search(
            self.index,
            q,
            limit=limit,
            offset=offset,
            sort=sort,
            facets=facets,
            snippet_chars=s.snippet_chars,
            snippets_per_hit=s.snippets_per_hit,
            restrict=restrict,
            metadata_only=metadata_only,
            words=self.records,
        )

    def package_changed(self, contract_id: int) -> ContractRecord:
        """Bring everything derived from a package up to date after it gained or changed a file
        (new OCR text, a searchable copy): the index entry, then every package listener."""
        record = self.get(contract_id)
        self.index.add([index_document(record, self.page_texts(record))])
        for listener in self.package_listeners:
            listener(record)
        return record

    def index_changed(self, record: ContractRecord) -> None:
        """Put a changed record into the search index. The index is not in the database's
        transaction: inside a change's unit of work it follows once the unit committed (the
        record as committed; a unit that rolls back leaves the index as it was, and the
        database's write lock is not held while the index commits)."""
        after_commit(lambda: self._reindex_one(record.id))

    def _reindex_one(self, contract_id: int) -> None:
        try:
            record = self.get(contract_id)
        except NotFound:
            self.index.delete([contract_id])
            return
        self.index.add([index_document(record, self.page_texts(record))])

    def remove(self, contract_id: int) -> None:
        """Take back a contract archived moments ago (a legacy import that failed part way):
        its index entry, its record (terms, events, suggestions go with it) and its package.
        Not a disposal, which is a recorded archival act; only the import undoes this way."""
        record = self.get(contract_id)
        self.index.delete([contract_id])
        self.records.delete_contract(contract_id)
        package = record.original_key.rsplit("/", 1)[0] + "/"
        for key in list(self.objects.iter_keys(package)):
            try:
                self.objects.delete(key)
            except (ObjectLocked, ObjectNotFound):
                # Under COMPLIANCE retention (S3 Object Lock) the original stays until its
                # retention ends; it is content-addressed, so archiving it again reuses it.
                log.warning("kept %s: the object store refuses to delete it", key)

    # -- maintenance -----------------------------------------------------------------------
    def index_documents(self, batch_size: int = 200) -> Iterator[list[IndexDocument]]:
        batch: list[IndexDocument] = []
        for record in self.records.iter_contracts():
            batch.append(index_document(record, self.page_texts(record)))
            if len(batch) >= batch_size:
                yield batch
                batch = []
        if batch:
            yield batch

    def reindex(self, progress: Callable[[int], None] | None = None) -> int:
        """Rebuild the index from records and stored text; swap it in when complete."""
        session = self.index.rebuild()
        count = 0
        try:
            for batch in self.index_documents():
                session.add(batch)
                count += len(batch)
                if progress:
                    progress(len(batch))
            session.commit()
        except BaseException:
            session.abort()
            raise
        # Contracts archived by another process while we rebuilt went into the old index.
        missing = self.records.contract_ids() - self.index.ids()
        for contract_id in sorted(missing):
            with suppress(NotFound):
                record = self.get(contract_id)
                self.index.add([index_document(record, self.page_texts(record))])
                count += 1
        return count

    def recover(self, progress: Callable[[int], None] | None = None) -> RecoverSummary:
        """Rebuild lost contract records and manifest rows from the packages' manifests,
        then the search index from the records."""
        summary = recover_from_manifests(
            self.objects, self.records, self.seal.seals, progress=progress
        )
        if summary.recovered:
            self.reindex()
        return summary

    def read_stream(self, key: str) -> IO[bytes]:
        return self.objects.open(key)

    def read_checked(
        self, key: str, sha256: str | None, *, contract_id: int, what: str
    ) -> tuple[IO[bytes], bool]:
        """A stored file to serve, checked against its recorded SHA-256 before anything is
        sent: the file read once (into memory, or a temporary file past 8 MiB) while hashing,
        then served from that copy, so what is sent is exactly what was checked. A file that
        does not match raises :class:`IntegrityFailure`. Files larger than
        ``ARCHIVE_VERIFY_DOWNLOAD_MAX_BYTES`` (or with no recorded digest) are opened as they
        are; the second value says whether the bytes were checked."""
        limit = self.settings.verify_download_max_bytes
        if not sha256 or limit <= 0 or self.objects.stat(key).size > limit:
            return self.objects.open(key), False
        self.settings.tmp_dir.mkdir(parents=True, exist_ok=True)
        # Handed to the caller, who closes it after sending it.
        copy = tempfile.SpooledTemporaryFile(max_size=8 << 20, dir=str(self.settings.tmp_dir))  # noqa: SIM115
        digest = hashlib.sha256()
        try:
            with self.objects.open(key) as src:
                while chunk := src.read(1 << 20):
                    digest.update(chunk)
                    copy.write(chunk)
        except BaseException:
            copy.close()
            raise
        actual = digest.hexdigest()
        if actual != sha256:
            copy.close()
            name = key.rsplit("/", 1)[-1]
            how = f" (`contract-archive restore {contract_id} FILE`)" if what == "original" else ""
            raise IntegrityFailure(
                f"the stored {what} of contract {contract_id} is damaged: its SHA-256 is not "
                f"the one recorded when it was archived, so it is not served as the {what}",
                hint=f"run `contract-archive verify {contract_id}` and restore the file from a "
                f"copy{how}; the damage is recorded in the access log",
                details={"contract_id": contract_id, "file": name, "expected_sha256": sha256},
            )
        copy.seek(0)
        return copy, True


_archive: Archive | None = None
_archive_lock = threading.Lock()


def get_archive() -> Archive:
    global _archive
    with _archive_lock:
        if _archive is None:
            _archive = Archive(get_settings()).open()
        return _archive


def reset_archive() -> None:
    global _archive
    with _archive_lock:
        if _archive is not None:
            with suppress(ArchiveError):
                _archive.close()
        _archive = None


__all__ = ["Archive", "default_user", "get_archive", "reset_archive"]
