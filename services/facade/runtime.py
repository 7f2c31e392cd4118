"""The running archive as the front ends hold it: a :class:`Runtime` makes the caller-bound
:class:`~services.facade.facade.Facade` for each request or command, and the
:class:`~services.facade.public.PublicArea` for what comes before a caller exists (log-in,
credentials, the first administrator)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from core.roles import Caller
from core.settings import Settings, get_settings
from services.access.core import NewCredentials
from services.access.service import AccessControl
from services.archive import Archive
from services.facade.base import Acting
from services.facade.facade import Facade

if TYPE_CHECKING:
    from services.facade.public import PublicArea
    from services.jobs import JobWorker
    from services.ledger import LedgerSchedule
    from services.ocr import OcrService
    from services.watch import FolderWatcher


class Runtime:
    """One open archive and its access control."""

    def __init__(self, archive: Archive) -> None:
        self.archive = archive
        self.access = AccessControl.for_archive(archive)

    @property
    def settings(self) -> Settings:
        return self.archive.settings

    @classmethod
    @contextmanager
    def open(
        cls, settings: Settings | None = None, *, check_index: bool = True
    ) -> Iterator[Runtime]:
        """``check_index=False``: open an index of another layout version too (for reindex,
        which replaces it)."""
        with Archive(settings or get_settings()).open(check_index=check_index) as archive:
            yield cls(archive)

    @classmethod
    def start(cls, settings: Settings | None = None) -> Runtime:
        """Open the archive for a long-running process (the server); :meth:`close` ends it.
        Each of the server's ``ARCHIVE_WORKERS`` processes gets its share of the cores as
        parser processes (unless ``ARCHIVE_PARSER_WORKERS`` says how many)."""
        from ingest.isolation import default_workers
        from services.ingest_process import IngestClient

        settings = settings or get_settings()
        parsers = settings.parser_workers or default_workers(sharing=settings.workers)
        archive = Archive(settings, parser_workers=parsers).open()
        archive.upload_client = IngestClient.from_env(settings.tmp_dir)
        return cls(archive)

    def close(self) -> None:
        self.archive.close()

    @staticmethod
    @contextmanager
    def ingest_process(settings: Settings) -> Iterator[dict[str, str]]:
        """`serve`'s ingest process (``ARCHIVE_UPLOAD_PROCESS``, see
        ``services.ingest_process``) for as long as the server runs: yields the environment
        its workers need to reach it (nothing when it is turned off)."""
        if not settings.upload_process:
            yield {}
            return
        from services.ingest_process import IngestProcess

        process = IngestProcess(settings).start()
        try:
            yield process.env()
        finally:
            process.stop()

    @classmethod
    @contextmanager
    def operator(cls, settings: Settings | None = None) -> Iterator[Facade]:
        """The facade of the operator who holds the data directory, on an archive that is not
        opened (its records may be missing, unmigrated or broken): for the doctor only
        (:meth:`services.facade.admin.AdminArea.doctor`, whose action is not logged). The
        operator is no user of the archive: nothing is read from the users' table."""
        import getpass

        from core.roles import Role
        from storage.permissions import set_private_umask

        set_private_umask()  # what the doctor makes (folders, a migrated database) is private
        archive = Archive(settings or get_settings())
        try:
            try:
                name = getpass.getuser()
            except (KeyError, OSError):
                name = "operator"
            caller = Caller(
                user_id=0,
                username=f"operator:{name}",
                roles=frozenset({Role.ADMIN}),
                groups=frozenset(),
                via="operator",
            )
            yield cls(archive).facade(caller)
        finally:
            archive.close()

    def facade(self, caller: Caller) -> Facade:
        """Everything ``caller`` may do."""
        return Facade(Acting(self.access, caller))

    def cli_facade(self, announce: Callable[[NewCredentials], None] | None = None) -> Facade:
        """The command line's facade: it acts as ARCHIVE_USER (default: the first admin; on
        the first start that admin is made and its one-time credentials go to ``announce``)."""
        return self.facade(self.access.cli_caller(announce=announce))

    def warm_up(self) -> None:
        """Start the parser processes ahead of the first upload."""
        self.archive.warm_up()

    def ocr_service(self) -> OcrService:
        """The background OCR workers of this archive (started and stopped by the server)."""
        from services.ocr import OcrService

        return OcrService(self.archive)

    def job_worker(self) -> JobWorker:
        """The background-job worker of this archive (started and stopped by the server)."""
        from services.jobs import JobWorker

        return JobWorker(self.archive, threads=2)

    def folder_watcher(self) -> FolderWatcher | None:
        """The watcher of ARCHIVE_WATCH_DIR (None when unset), acting as ARCHIVE_WATCH_USER
        (started and stopped by the server; ``contract-archive worker`` runs the same one,
        :func:`services.facade.watch.configured_watcher`). A missing user, or one who may not
        ingest, is a ConfigurationError; a folder that is missing or unwritable is not (the
        watcher logs it and looks again): :meth:`check_watch` refuses it before the server
        starts."""
        from services.facade.watch import configured_watcher

        return configured_watcher(self.access, check=False)

    def check_watch(self) -> None:
        """Refuse, with the reason, a watched folder (ARCHIVE_WATCH_DIR) the server could not
        work in, and a watch user that does not exist or may not ingest."""
        from services.facade.watch import configured_watcher

        configured_watcher(self.access, check=True)

    def ledger_schedule(self) -> LedgerSchedule:
        """The ledger's checkpoint schedule (started and stopped by the server)."""
        from services.ledger import LedgerSchedule

        return LedgerSchedule(self.archive.seal.ledger, interval=self.settings.ledger_batch_seconds)

    @property
    def public(self) -> PublicArea:
        from services.facade.public import PublicArea

        return PublicArea(self.access)
