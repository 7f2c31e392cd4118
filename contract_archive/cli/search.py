"""`contract-archive search`, `show` and `text`: finding and reading contracts."""

from __future__ import annotations

import html
import json
import re
import sys
from typing import Annotated

import typer
from rich.text import Text

from contract_archive.cli import acts, app, esc, out
from core.plural import counted
from schemas.contracts import ContractPublic
from services.facade import Facade

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
@acts
def search(
    f: Facade,
    query: Annotated[str, typer.Argument(help="Query; see 'Query language' in the README.")],
    limit: Annotated[int, typer.Option(min=1, max=100)] = 10,
    offset: Annotated[int, typer.Option(min=0)] = 0,
    sort: Annotated[str, typer.Option(help="relevance, newest or oldest.")] = "relevance",
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Search the archive; hits come with highlighted snippets."""
    result = f.contracts.search(query, limit=limit, offset=offset, sort=sort)
    if as_json:
        out.print(json.dumps(result.model_dump(mode="json"), ensure_ascii=False), markup=False)
        return
    shown = f"{offset + 1}-{offset + len(result.hits)} of " if result.hits else ""
    out.print(counted(f"[bold]{shown}{result.total}[/] matching contracts ({result.took_ms} ms)"))
    for hit in result.hits:
        who = f"  [dim]{esc(hit.customer)}[/]" if hit.customer else ""
        out.print(f"\n[bold]#{hit.id}[/]  {esc(hit.title)}{who}  [dim]score {hit.score}[/]")
        for snippet in hit.snippets:
            line = Text(f"  p.{snippet.page}: ", style="dim")
            line.append_text(_rich_snippet(snippet.html))
            out.print(line)


@app.command()
@acts
def show(
    f: Facade,
    contract_id: Annotated[int, typer.Argument(help="Contract id.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Show a contract's record."""
    data = ContractPublic.from_record(f.contracts.view(contract_id)).model_dump(mode="json")
    if as_json:
        out.print(json.dumps(data, ensure_ascii=False), markup=False)
        return
    for key in ("id", "title", "customer", "filename", "sha256", "size", "pages", "status"):
        out.print(f"[bold]{key:>18}[/]  {esc(str(data[key]))}")
    out.print(f"[bold]{'archived':>18}[/]  {data['created_at']} by {esc(data['ingested_by'])}")
    if data["pages_needing_ocr"]:
        pages = ", ".join(map(str, data["pages_needing_ocr"]))
        out.print(f"[bold]{'awaiting OCR':>18}[/]  pages {pages}")
    for warning in data["warnings"]:
        out.print(f"[bold yellow]{'warning':>18}[/]  {esc(warning)}")


@app.command()
@acts
def text(
    f: Facade,
    contract_id: Annotated[int, typer.Argument(help="Contract id.")],
    purpose: Annotated[str | None, typer.Option(help="Why (借阅目的); logged.")] = None,
) -> None:
    """Print the extracted text; pages are separated by a form feed."""
    document = f.contracts.text(contract_id, purpose=purpose)
    pages = [str(p.get("text", "")) for p in document.get("pages", [])]
    sys.stdout.write("\f".join(pages))
    if pages and not pages[-1].endswith("\n"):
        sys.stdout.write("\n")
