"""`contract-archive ledger`: the evidence ledger (verify, prove, consistency, checkpoints)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from contract_archive.cli import EXIT_FAILED, acts, app, err, esc, out
from contract_archive.cli.times import when
from core.plural import count, counted
from services.facade import Facade
from services.facade.ledger import LedgerError

ledger_app = typer.Typer(
    help="The evidence ledger: every manifest version in a Merkle tree under signed checkpoints."
)
app.add_typer(ledger_app, name="ledger")


def _read(path: Path, what: str) -> str:
    """A file given on the command line, as text; a clear error naming it otherwise."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise LedgerError(f"{what} {path} cannot be read: {exc.strerror or exc}") from exc
    if len(data) > 1024 * 1024:
        raise LedgerError(f"{what} {path} is too large to be a ledger file")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise LedgerError(f"{what} {path} is not text (UTF-8): {exc.reason}") from exc


@ledger_app.command("verify")
@acts
def verify(
    f: Facade,
    checkpoint: Annotated[
        list[Path] | None,
        typer.Option(
            "--checkpoint",
            help="A checkpoint file kept outside the archive (e.g. by an auditor), checked "
            "too; may be given more than once.",
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="The report as JSON.")] = False,
) -> None:
    """Recompute the whole tree and check it against every signed checkpoint: removed,
    reordered or altered leaves, forged checkpoints, a rolled-back tree are each named.
    Exit 1 when a problem is found."""
    extra = [(f"checkpoint file {p}", _read(p, "the checkpoint file")) for p in checkpoint or []]
    report = f.ledger.verify(extra)
    if as_json:
        out.print(json.dumps(report.to_dict(), ensure_ascii=False, indent=2), markup=False)
    else:
        colour = "green" if report.status == "PASSED" else "bold red"
        out.print(f"ledger: [{colour}]{report.status}[/]")
        out.print(
            counted(f"  tree: {report.tree_size} leaves, {report.checkpoints_checked} checkpoints")
        )
        for p in report.problems:
            out.print(f"  [red]{p.kind:<22}[/] {esc(p.message)}")
        for w in report.warnings:
            err.print(f"[bold yellow]warning:[/] {esc(w)}")
    if report.problems:
        raise typer.Exit(EXIT_FAILED)


@ledger_app.command("prove")
@acts
def prove(
    f: Facade,
    contract_id: Annotated[int, typer.Argument(metavar="ID", help="The contract.")],
    as_json: Annotated[
        bool, typer.Option("--json", help="The proof as JSON (what `check-proof` reads).")
    ] = False,
) -> None:
    """The inclusion proof of the contract's latest manifest version in the latest signed
    checkpoint (a checkpoint is issued first when the version is newer than it)."""
    proof = f.ledger.prove(contract_id)
    if as_json:
        out.print(json.dumps(proof.to_dict(), indent=2), markup=False)
        return
    d = proof.to_dict()
    out.print(
        f"contract {proof.contract_id} manifest v{proof.version} is leaf {proof.leaf_index} "
        f"of {proof.tree_size}"
    )
    out.print(f"  leaf data: {esc(d['leaf']['data'])}")
    out.print(f"  leaf hash: {d['leaf']['hash']}")
    for i, node in enumerate(d["inclusion_path"]):
        out.print(f"  path[{i}]:   {node}")
    out.print("  checkpoint:")
    for line in proof.checkpoint.splitlines():
        out.print(f"    {esc(line)}", markup=False)


@ledger_app.command("consistency")
@acts
def consistency(
    f: Facade,
    old: Annotated[int, typer.Argument(metavar="OLD", help="The older tree size.")],
    new: Annotated[int, typer.Argument(metavar="NEW", help="The newer tree size.")],
    as_json: Annotated[bool, typer.Option("--json", help="The proof as JSON.")] = False,
) -> None:
    """The consistency proof that the tree of OLD leaves is a prefix of the tree of NEW
    leaves (RFC 9162), checked before it is shown."""
    proof = f.ledger.consistency(old, new)
    ok = proof.verified()
    if as_json:
        out.print(json.dumps({**proof.to_dict(), "verified": ok}, indent=2), markup=False)
    else:
        d = proof.to_dict()
        out.print(
            f"tree {old} -> {new}: {'[green]consistent[/]' if ok else '[red]NOT consistent[/]'}"
        )
        out.print(f"  old root: {d['old_root']}")
        out.print(f"  new root: {d['new_root']}")
        for i, node in enumerate(d["consistency_path"]):
            out.print(f"  path[{i}]:  {node}")
    if not ok:
        raise typer.Exit(EXIT_FAILED)


@ledger_app.command("checkpoint")
@acts
def checkpoint(f: Facade) -> None:
    """Sign and timestamp a checkpoint of the tree now (the server issues them after each
    batch and at least daily)."""
    row = f.ledger.checkpoint()
    if row is None:
        return
    out.print(row.note, markup=False, end="")
    if row.timestamp_error:
        err.print(f"[bold yellow]warning:[/] not timestamped: {esc(row.timestamp_error)}")


@ledger_app.command("checkpoints")
@acts
def checkpoints(
    f: Facade,
    as_json: Annotated[bool, typer.Option("--json", help="As JSON.")] = False,
) -> None:
    """Every signed checkpoint, oldest first, and the ledger's public key."""
    rows = f.ledger.checkpoints()
    key = f.ledger.public_key()
    if as_json:
        out.print(
            json.dumps(
                {
                    "key": key,
                    "checkpoints": [
                        {
                            "id": r.id,
                            "tree_size": r.tree_size,
                            "issued_at": r.issued_at.isoformat(),
                            "timestamp_time": r.timestamp_time.isoformat()
                            if r.timestamp_time
                            else None,
                            "note": r.note,
                        }
                        for r in rows
                    ],
                },
                indent=2,
            ),
            markup=False,
        )
        return
    out.print(f"key: {key}", markup=False)
    for r in rows:
        stamp = when(r.timestamp_time, seconds=True) if r.timestamp_time else "none"
        out.print(
            f"#{r.id}  {count(r.tree_size, 'leaves')}  issued {when(r.issued_at, seconds=True)}  "
            f"timestamp {stamp}"
        )


@ledger_app.command("check-proof")
@acts
def check_proof(
    f: Facade,
    proof_file: Annotated[
        Path, typer.Argument(metavar="FILE", help="A proof from `ledger prove --json`.")
    ],
) -> None:
    """Check an inclusion proof file against this archive's ledger key. Exit 1 when it does
    not hold."""
    result = f.ledger.check_proof(_read(proof_file, "the proof file"), what=str(proof_file))
    for line in result.lines:
        (out if not line.startswith("FAILED") else err).print(esc(line))
    if not result.ok:
        raise typer.Exit(EXIT_FAILED)
