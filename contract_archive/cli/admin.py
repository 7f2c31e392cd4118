"""`contract-archive reindex` and `serve`: running and maintaining the archive."""

from __future__ import annotations

import os
from typing import Annotated, Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from contract_archive.cli import app, err, out, run
from core.plural import counted
from core.settings import Settings, get_settings

# The archive's services are imported where a command runs them: `serve` with several workers
# checks the archive in a child process, so that the supervisor that only watches the workers
# does not hold the services' modules (about 60 MB) for the server's lifetime.


@app.command()
def reindex() -> None:
    """Rebuild the search index from the records and the stored text."""

    from services.facade import Runtime
    from services.facade.public import print_first_credentials

    def body() -> None:
        # The index is not checked: an index of another layout version is what reindex replaces.
        with Runtime.open(get_settings(), check_index=False) as runtime:
            f = runtime.cli_facade(announce=print_first_credentials)
            total = f.admin.contract_count()
            with Progress(
                TextColumn("reindexing"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeRemainingColumn(),
                console=err,
                disable=not err.is_terminal,
            ) as progress:
                task = progress.add_task("reindex", total=total)
                count = f.admin.reindex(lambda n: progress.update(task, advance=n))
        out.print(counted(f"reindexed {count} contracts"))

    run(body)


def proxy_options(settings: Settings) -> dict[str, Any]:
    """uvicorn's proxy options: the forwarded headers are believed only from
    ARCHIVE_TRUSTED_PROXIES (uvicorn's own default believes 127.0.0.1, so any local process
    could choose its address)."""
    trusted = settings.trusted_proxy_list
    if not trusted:
        return {"proxy_headers": False, "forwarded_allow_ips": []}
    return {"proxy_headers": True, "forwarded_allow_ips": trusted}


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Default: ARCHIVE_HOST.")] = None,
    port: Annotated[int | None, typer.Option(help="Default: ARCHIVE_PORT.")] = None,
    workers: Annotated[int | None, typer.Option(help="Default: ARCHIVE_WORKERS.")] = None,
) -> None:
    """Run the web server (API at /api/v1, documentation at /docs)."""
    import uvicorn

    def body() -> None:
        settings = get_settings()
        count = workers or settings.workers
        if count > 1:
            # The workers are started afresh (spawned) and read their settings from the
            # environment: each takes its share of the cores as parser processes.
            os.environ["ARCHIVE_WORKERS"] = str(count)
            # Fewer malloc arenas (search_api.app.MALLOC_ARENAS), from each worker's start.
            os.environ.setdefault("MALLOC_ARENA_MAX", "2")
            _in_child(_check_start)
        else:
            _check_start()
        h = host or settings.host
        p = port or settings.port
        shown = "127.0.0.1" if h in ("0.0.0.0", "::") else h  # noqa: S104
        err.print(f"[bold green]Contract archive running at http://{shown}:{p}/[/]")
        err.print(f"data directory: {settings.data_dir}")
        if settings.watch_dir is not None:
            err.print(f"watched folder: {settings.watch_dir}")
        uvicorn.run(
            "search_api.app:create_app",
            factory=True,
            host=h,
            port=p,
            workers=count,
            log_level=settings.log_level,
            server_header=False,  # no "server: uvicorn" (ASVS 14.3.3)
            **proxy_options(settings),
        )

    run(body)


def _check_start() -> None:
    """Fail fast, before the server binds, on any misconfiguration; on the first start, make
    the first admin and print its one-time credentials."""
    from services.facade import Runtime
    from services.facade.ocr import check_tesseract
    from services.facade.public import print_first_credentials

    settings = get_settings()
    with Runtime.open(settings) as runtime:
        first = runtime.public.ensure_first_admin()
        if first is not None:
            print_first_credentials(first)
        runtime.check_watch()  # ARCHIVE_WATCH_DIR: the folder, the user
    if settings.ocr_background:
        check_tesseract(settings.ocr_languages)  # names the apt package when missing


def _in_child(fn: Any) -> None:
    """Run ``fn`` in a fresh (spawned) process and wait; its ArchiveError is raised here."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
        pool.submit(fn).result()
