"""The FastAPI application."""

from __future__ import annotations

import logging
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, FastAPI
from fastapi.routing import APIRoute

from core import __version__
from core.errors import ArchiveError
from core.settings import Settings, get_settings
from search_api.auth import AuthGate, SecurityHeaders, declared_permission
from search_api.errors import install_error_handlers
from search_api.limits import BodySizeLimit
from search_api.routes import (
    access_log,
    auth,
    batches,
    contract_edits,
    contracts,
    jobs,
    ledger,
    locks,
    model,
    ocr,
    search,
    system,
    users,
    verification,
    workflows,
)
from search_api.web import (
    account_pages,
    batch_pages,
    contract_pages,
    edit_pages,
    html_errors,
    job_pages,
    model_pages,
    table_pages,
    workflow_pages,
)
from search_api.web import router as web_router
from services.facade import Runtime
from services.facade.public import print_first_credentials

if TYPE_CHECKING:
    from services.archive import Archive

log = logging.getLogger(__name__)

# Every router of the app. The route table below is built from these (FastAPI keeps included
# routers nested, with no public way to list them), and tests walk it so that no route is missed.
ROUTERS: tuple[APIRouter, ...] = (
    system.router,
    contracts.router,
    model.router,
    search.router,
    locks.router,
    ocr.router,
    verification.router,
    ledger.router,
    web_router,
    contract_pages.router,
)
ROUTERS += (auth.router, users.router, access_log.router, contract_edits.router)
ROUTERS += (account_pages.router,)  # log-in, log-out, password, access log (web)
ROUTERS += (model_pages.router, edit_pages.router)
ROUTERS += (workflows.router, workflow_pages.router)
ROUTERS += (jobs.router, job_pages.router)
ROUTERS += (table_pages.router,)  # the contract table (web)
ROUTERS += (batches.router, batch_pages.router)


@dataclass(frozen=True)
class RouteInfo:
    path: str
    methods: frozenset[str]
    name: str
    in_schema: bool
    permission: str | None = None
    """The permission its ``search_api.auth.Require`` dependency declares (None: none, a bug)."""


def route_table() -> list[RouteInfo]:
    """Every application route (not the documentation pages)."""
    table = []
    for router in ROUTERS:
        for route in router.routes:
            if isinstance(route, APIRoute):
                table.append(
                    RouteInfo(
                        path=route.path,
                        methods=frozenset((route.methods or set()) - {"HEAD", "OPTIONS"}),
                        name=route.name,
                        in_schema=route.include_in_schema,
                        permission=(p.value if (p := declared_permission(route)) else None),
                    )
                )
    return table


MALLOC_ARENAS = 2
"""glibc's malloc arenas for a server process (``MALLOC_ARENA_MAX``, unless the environment sets
it). glibc gives threads up to 8 arenas per core; the request threads, tantivy, SQLite and
OpenSSL each allocating in their own kept a worker's freed memory scattered: a worker grew from
150 to 230-300 MB in 20 s of the load benchmark, and to 160-205 MB with 2 arenas (issue 19)."""


def limit_malloc_arenas() -> None:
    """Apply :data:`MALLOC_ARENAS` to this process (``mallopt(M_ARENA_MAX)``); `serve` also puts
    it in the environment of the workers it starts. Nothing where there is no glibc."""
    import ctypes
    import ctypes.util
    import os

    wanted = os.environ.get("MALLOC_ARENA_MAX", str(MALLOC_ARENAS))
    try:
        arenas = int(wanted)
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        libc.mallopt(-8, arenas)  # M_ARENA_MAX
    except (OSError, AttributeError, ValueError, TypeError):
        pass


def _warm_up(runtime: Runtime) -> None:
    try:
        runtime.warm_up()
    except Exception as exc:  # noqa: BLE001 - only a head start; the first upload retries
        log.warning("the parser processes did not start ahead of time: %s", exc)


def _folder_watcher(runtime: Runtime) -> Any:
    """The watcher of ARCHIVE_WATCH_DIR, or None (unset, or it cannot act: logged, and the
    server serves on; `contract-archive serve` refuses these before it starts)."""
    try:
        return runtime.folder_watcher()
    except ArchiveError as exc:
        log.error("ARCHIVE_WATCH_DIR is not watched: %s (%s)", exc.message, exc.hint or "")
        return None


def create_app(
    archive: Archive | None = None,
    settings: Settings | None = None,
    *,
    ocr_service: Any = None,
    job_worker: Any = None,
) -> FastAPI:
    """The app. With ``archive`` given (tests), it is used as is and not closed at shutdown.

    An app that owns its archive works the OCR queue in the background unless
    ARCHIVE_OCR_BACKGROUND is false; a test hands in its own ``ocr_service`` (started and
    stopped with the app) or none. Likewise the background jobs (reminders, fixity audits,
    reindexing; ARCHIVE_JOBS_BACKGROUND) and ``job_worker``."""
    settings = archive.settings if archive is not None else (settings or get_settings())
    owned = archive is None

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if owned:
            limit_malloc_arenas()
            runtime = app.state.runtime = Runtime.start(settings)
            app.state.archive = runtime.archive
            threading.Thread(target=_warm_up, args=(runtime,), daemon=True).start()
            # First start: an admin with one-time credentials, printed (never logged).
            first = runtime.public.ensure_first_admin()
            if first is not None:
                print_first_credentials(first)
        service = ocr_service
        if service is None and owned and settings.ocr_background:
            service = app.state.runtime.ocr_service()
        jobs = job_worker
        if jobs is None and owned and settings.jobs_background:
            jobs = app.state.runtime.job_worker()
        # The evidence ledger's checkpoints: after each batch, at least daily.
        schedule = app.state.runtime.ledger_schedule() if owned else None
        watcher = _folder_watcher(app.state.runtime) if owned else None
        try:
            if service is not None:
                service.start()
            if schedule is not None:
                schedule.start()
            app.state.ocr_service = service
            if jobs is not None:
                jobs.start()
            app.state.job_worker = jobs
            if watcher is not None:
                watcher.start(interval=settings.watch_interval_seconds)
            app.state.folder_watcher = watcher
            yield
        finally:
            if watcher is not None:
                watcher.stop()  # the file being archived is finished and placed first
            if jobs is not None:
                jobs.stop()
            if schedule is not None:
                schedule.stop()
            if service is not None:
                service.stop()
            if owned:
                app.state.runtime.close()

    app = FastAPI(
        title="Contract archive",
        version=__version__,
        summary="Archive, seal and search contracts in Chinese and English.",
        lifespan=lifespan,
    )
    if archive is not None:
        app.state.archive = archive
        app.state.runtime = Runtime(archive)
    api_routes = [r for router in ROUTERS for r in router.routes if isinstance(r, APIRoute)]
    app.add_middleware(
        BodySizeLimit,
        max_bytes=settings.max_upload_bytes,
        max_body_bytes=settings.max_body_bytes,
        routes=api_routes,
    )
    app.add_middleware(AuthGate, routes=api_routes)
    app.add_middleware(SecurityHeaders)
    install_error_handlers(app, html=html_errors)
    for router in ROUTERS:
        app.include_router(router)
    return app
