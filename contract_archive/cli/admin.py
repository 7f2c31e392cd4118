"""`contract-archive reindex` and `serve`: running and maintaining the archive."""

from __future__ import annotations

import os
import socket
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
        options: dict[str, Any] = {
            "factory": True,
            "host": h,
            "port": p,
            "workers": count,
            "log_level": settings.log_level,
            "server_header": False,  # no "server: uvicorn" (ASVS 14.3.3)
            **proxy_options(settings),
        }
        from services.facade import Runtime

        with Runtime.ingest_process(settings) as env:
            os.environ.update(env)  # the workers (spawned, or this process) reach it with these
            if count > 1:
                run_workers(uvicorn.Config("search_api.app:create_app", **options))
            else:
                uvicorn.run("search_api.app:create_app", **options)

    run(body)


def tcp_listener(sock: socket.socket) -> socket.socket:
    """The listening socket marked as TCP (``proto`` 6), so that its connections get
    TCP_NODELAY.

    uvicorn 0.54's ``Config.bind_socket`` (what ``--workers N`` uses: the supervisor binds and
    hands the socket to its workers) makes it with ``proto`` 0; accepted sockets inherit that,
    and asyncio turns Nagle's algorithm off only for a socket whose ``proto`` is
    ``IPPROTO_TCP``. With Nagle on, every request after the first on a kept-alive connection
    waited for the client's delayed ACK: 44 ms for ``/api/v1/health`` with 2 workers against
    2-5 ms with one (uvicorn issue #3149). The one-worker path is not affected (asyncio binds
    from ``getaddrinfo``, which says TCP)."""
    if sock.family in (socket.AF_INET, socket.AF_INET6) and sock.proto != socket.IPPROTO_TCP:
        return socket.socket(sock.family, sock.type, socket.IPPROTO_TCP, fileno=sock.detach())
    return sock


def run_workers(config: Any) -> None:
    """``uvicorn.run`` for several workers, with the listener of :func:`tcp_listener`."""
    from uvicorn.supervisors import Multiprocess

    sock = tcp_listener(config.bind_socket())
    try:
        Multiprocess(config, sockets=[sock]).run()
    except KeyboardInterrupt:
        pass
    finally:
        sock.close()


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
