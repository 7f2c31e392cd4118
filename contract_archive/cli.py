"""The ``contract-archive`` command line.

Exit status: 0 success; 1 when a file was rejected or an operation failed; 2 for a usage or
configuration error. Errors are printed as one line with a hint, never as a traceback.
"""

from __future__ import annotations

import html
import json
import logging
import os
import re
import sys
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path
from typing import Annotated, TypeVar

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.text import Text

from contract_archive.archive import Archive
from contract_archive.errors import ArchiveError, ConfigurationError
from contract_archive.settings import Settings, get_settings
from ingest.context import IngestResult
from schemas.contracts import ContractPublic

app = typer.Typer(
    name="contract-archive",
    help="Archive, seal and search contracts in Chinese and English.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)

out = Console(soft_wrap=True, highlight=False)
err = Console(stderr=True, highlight=False)

T = TypeVar("T")
EXIT_FAILED = 1
EXIT_USAGE = 2


def _fail(error: ArchiveError) -> None:
    err.print(f"[bold red]error:[/] {_esc(error.message)}")
    if error.hint:
        err.print(f"[dim]hint:[/] {_esc(error.hint)}")


def _esc(text: str) -> str:
    return text.replace("[", r"\[")


def _open_archive(settings: Settings | None = None) -> Archive:
    return Archive(settings or get_settings()).open()


def _run(fn: Callable[[], T]) -> T:
    """Run a command body, turning archive errors into a message and an exit status."""
    try:
        return fn()
    except ConfigurationError as exc:
        _fail(exc)
        raise typer.Exit(EXIT_USAGE) from None
    except ArchiveError as exc:
        _fail(exc)
        raise typer.Exit(EXIT_FAILED) from None
    except (typer.Exit, KeyboardInterrupt):
        raise
    except Exception as exc:
        logging.getLogger("contract_archive").debug("unexpected error", exc_info=exc)
        err.print(
            f"[bold red]internal error:[/] {_esc(type(exc).__name__)}: {_esc(str(exc))}\n"
            "[dim]hint: nothing half-done was kept; rerun with ARCHIVE_LOG_LEVEL=debug for "
            "details and report it[/]"
        )
        raise typer.Exit(EXIT_FAILED) from None


# --- ingest -----------------------------------------------------------------------------------
def _expand(paths: list[Path], all_files: bool) -> Iterator[tuple[Path, str]]:
    """Files to ingest with the name to report them by. Directories are walked recursively
    for *.pdf (any case) unless ``all_files``; files named explicitly are always taken."""
    for path in paths:
        if path.is_dir():
            found = []
            for dirpath, dirnames, filenames in os.walk(path):
                dirnames.sort()
                for name in sorted(filenames):
                    if all_files or name.lower().endswith(".pdf"):
                        found.append(Path(dirpath) / name)
            for f in found:
                yield f, str(f)
        else:
            yield path, str(path)


def _print_result(result: IngestResult, as_json: bool) -> None:
    if as_json:
        out.print(json.dumps(result.to_dict(), ensure_ascii=False), markup=False)
        return
    name = _esc(result.file)
    if result.status == "archived":
        extra = ""
        if result.pages_needing_ocr:
            pages = ", ".join(str(p) for p in result.pages_needing_ocr[:10])
            more = "…" if len(result.pages_needing_ocr) > 10 else ""
            extra = f" [yellow](pages awaiting OCR: {pages}{more})[/]"
        out.print(f"[green]archived[/]  #{result.id}  {name}  {result.pages} pages{extra}")
    elif result.status == "duplicate":
        out.print(f"[cyan]duplicate[/] #{result.id}  {name}  (already archived)")
    else:
        out.print(f"[red]{result.status}[/]  {name}: {_esc(result.reason or '')}")
        if result.hint:
            out.print(f"          [dim]hint: {_esc(result.hint)}[/]")


@app.command()
def ingest(
    paths: Annotated[list[Path], typer.Argument(help="Files and directories (recursive).")],
    customer: Annotated[str | None, typer.Option(help="Customer of these contracts.")] = None,
    title: Annotated[str | None, typer.Option(help="Title (default: the file name).")] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="One JSON object per file, one per line.")
    ] = False,
    jobs: Annotated[int, typer.Option(min=1, max=32, help="Files ingested at once.")] = 2,
    all_files: Annotated[
        bool, typer.Option("--all-files", help="In directories, take every file, not only *.pdf.")
    ] = False,
) -> None:
    """Archive PDF files. A batch goes on past bad files; the exit status is 1 if any file
    was rejected."""
    missing = [p for p in paths if not p.exists()]
    for p in missing:
        err.print(f"[bold red]error:[/] {_esc(str(p))} does not exist")
    items = list(_expand([p for p in paths if p.exists()], all_files))
    if not items and not missing:
        err.print("[yellow]no PDF files found[/]")

    def body() -> int:
        counts = {"archived": 0, "duplicate": 0, "rejected": 0, "failed": 0}
        with _open_archive() as archive:
            show_bar = err.is_terminal and len(items) > 1
            progress = Progress(
                TextColumn("[progress.description]{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TaskProgressColumn(),
                TextColumn("{task.fields[pages]} pages, {task.fields[rate]}"),
                TimeElapsedColumn(),
                TimeRemainingColumn(),
                console=err,
                disable=not show_bar,
            )
            with progress, ThreadPoolExecutor(max_workers=jobs) as pool:
                task = progress.add_task("ingesting", total=len(items), pages=0, rate="")
                pages = 0
                futures = {
                    pool.submit(
                        archive.ingest_path,
                        path,
                        display_name=name,
                        title=title,
                        customer=customer,
                    ): name
                    for path, name in items
                }
                for future in as_completed(futures):
                    result = future.result()
                    counts[result.status] += 1
                    pages += result.pages or 0
                    elapsed = progress.tasks[0].elapsed or 0.0
                    rate = f"{pages / elapsed:.1f} pages/s" if elapsed > 0 else ""
                    progress.update(task, advance=1, pages=pages, rate=rate)
                    if show_bar and not as_json:
                        progress.console.print(_result_line(result), markup=True)
                    else:
                        _print_result(result, as_json)
        summary = ", ".join(f"{n} {k}" for k, n in counts.items() if n)
        if not as_json and len(items) > 1:
            err.print(f"[bold]done:[/] {summary}")
        bad = counts["rejected"] + counts["failed"] + len(missing)
        return EXIT_FAILED if bad else 0

    code = _run(body)
    if code:
        raise typer.Exit(code)


def _result_line(result: IngestResult) -> str:
    name = _esc(result.file)
    if result.status == "archived":
        return f"[green]archived[/]  #{result.id}  {name}"
    if result.status == "duplicate":
        return f"[cyan]duplicate[/] #{result.id}  {name}"
    return f"[red]{result.status}[/]  {name}: {_esc(result.reason or '')}"


# --- search -----------------------------------------------------------------------------------
_MARK = re.compile(r"<mark>(.*?)</mark>", re.S)


def _rich_snippet(fragment: str) -> Text:
    text = Text()
    pos = 0
    for m in _MARK.finditer(fragment):
        text.append(html.unescape(fragment[pos : m.start()]))
        text.append(html.unescape(m.group(1)), style="bold black on yellow")
        pos = m.end()
    text.append(html.unescape(fragment[pos:]))
    return text


@app.command()
def search(
    query: Annotated[str, typer.Argument(help="Query; see 'Query language' in the README.")],
    limit: Annotated[int, typer.Option(min=1, max=100)] = 10,
    offset: Annotated[int, typer.Option(min=0)] = 0,
    sort: Annotated[str, typer.Option(help="relevance, newest or oldest.")] = "relevance",
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Search the archive; hits come with highlighted snippets."""

    def body() -> None:
        with _open_archive() as archive:
            result = archive.search(query, limit=limit, offset=offset, sort=sort)
        if as_json:
            out.print(json.dumps(result.model_dump(mode="json"), ensure_ascii=False), markup=False)
            return
        shown = f"{offset + 1}-{offset + len(result.hits)} of " if result.hits else ""
        out.print(f"[bold]{shown}{result.total}[/] contracts match ({result.took_ms} ms)")
        for hit in result.hits:
            who = f"  [dim]{_esc(hit.customer)}[/]" if hit.customer else ""
            out.print(f"\n[bold]#{hit.id}[/]  {_esc(hit.title)}{who}  [dim]score {hit.score}[/]")
            for snippet in hit.snippets:
                line = Text(f"  p.{snippet.page}: ", style="dim")
                line.append_text(_rich_snippet(snippet.html))
                out.print(line)

    _run(body)


@app.command()
def show(
    contract_id: Annotated[int, typer.Argument(help="Contract id.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Show a contract's record."""

    def body() -> None:
        with _open_archive() as archive:
            public = ContractPublic.from_record(archive.get(contract_id))
        data = public.model_dump(mode="json")
        if as_json:
            out.print(json.dumps(data, ensure_ascii=False), markup=False)
            return
        for key in ("id", "title", "customer", "filename", "sha256", "size", "pages", "status"):
            out.print(f"[bold]{key:>18}[/]  {_esc(str(data[key]))}")
        out.print(f"[bold]{'archived':>18}[/]  {data['created_at']} by {_esc(data['ingested_by'])}")
        if data["pages_needing_ocr"]:
            pages = ", ".join(map(str, data["pages_needing_ocr"]))
            out.print(f"[bold]{'awaiting OCR':>18}[/]  pages {pages}")
        for warning in data["warnings"]:
            out.print(f"[bold yellow]{'warning':>18}[/]  {_esc(warning)}")

    _run(body)


@app.command()
def text(contract_id: Annotated[int, typer.Argument(help="Contract id.")]) -> None:
    """Print the extracted text; pages are separated by a form feed."""

    def body() -> None:
        with _open_archive() as archive:
            document = archive.text_document(contract_id)
        pages = [str(p.get("text", "")) for p in document.get("pages", [])]
        sys.stdout.write("\f".join(pages))
        if pages and not pages[-1].endswith("\n"):
            sys.stdout.write("\n")

    _run(body)


@app.command()
def reindex() -> None:
    """Rebuild the search index from the records and the stored text."""

    def body() -> None:
        with _open_archive() as archive:
            total = archive.records.count_contracts()
            with Progress(
                TextColumn("reindexing"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeRemainingColumn(),
                console=err,
                disable=not err.is_terminal,
            ) as progress:
                task = progress.add_task("reindex", total=total)
                count = archive.reindex(lambda n: progress.update(task, advance=n))
        out.print(f"reindexed {count} contracts")

    _run(body)


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
        # Fail fast, before the server binds, on any misconfiguration.
        Archive(settings).open().close()
        h = host or settings.host
        p = port or settings.port
        shown = "127.0.0.1" if h in ("0.0.0.0", "::") else h  # noqa: S104
        err.print(f"[bold green]Contract archive running at http://{shown}:{p}/[/]")
        err.print(f"data directory: {settings.data_dir}")
        uvicorn.run(
            "search_api.app:create_app",
            factory=True,
            host=h,
            port=p,
            workers=workers or settings.workers,
            log_level=settings.log_level,
        )

    _run(body)


def main() -> None:
    logging.basicConfig(
        level=os.environ.get("ARCHIVE_LOG_LEVEL", "warning").upper(),
        format="%(levelname)s %(name)s: %(message)s",
    )
    try:
        app()
    except KeyboardInterrupt:
        err.print("interrupted")
        sys.exit(130)


if __name__ == "__main__":
    main()
