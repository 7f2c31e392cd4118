"""`contract-archive users`, `tokens` and `restrictions`: who may use the archive, and see what.

Passwords and tokens created here are printed once, to standard output, and never logged.
"""

from __future__ import annotations

import json
from typing import Annotated

import typer

from contract_archive.cli import acts, app, err, esc, out
from contract_archive.cli.times import when
from services.facade import Facade

users_app = typer.Typer(help="Users: create, list, disable, enable, update, reset a password.")
tokens_app = typer.Typer(help="API tokens: create (shown once), list, revoke.")
restrictions_app = typer.Typer(help="Restricted classes: classifications only some groups see.")
app.add_typer(users_app, name="users")
app.add_typer(tokens_app, name="tokens")
app.add_typer(restrictions_app, name="restrictions")

Roles = Annotated[
    list[str] | None,
    typer.Option("--role", "-r", help="archivist, legal, auditor or admin (repeatable)."),
]
Groups = Annotated[list[str] | None, typer.Option("--group", "-g", help="A group (repeatable).")]
AsJson = Annotated[bool, typer.Option("--json", help="Print JSON.")]


@users_app.command("create")
@acts
def users_create(
    f: Facade,
    username: Annotated[str, typer.Argument(help="The user name (letters, digits, . _ @ -).")],
    role: Roles = None,
    group: Groups = None,
    display_name: Annotated[str | None, typer.Option(help="A name to show.")] = None,
    no_password: Annotated[
        bool, typer.Option("--no-password", help="Token-only user (no web log-in).")
    ] = False,
) -> None:
    """Create a user. Prints a one-time password, to be changed at the first log-in."""
    made = f.users.create(
        username,
        roles=role or [],
        groups=group or [],
        display_name=display_name,
        with_password=not no_password,
    )
    err.print(f"created user [bold]{esc(made.user.username)}[/] ({', '.join(made.user.roles)})")
    if made.one_time_password:
        err.print("one-time password (shown once, to be changed at the first log-in):")
        out.print(made.one_time_password, markup=False)


@users_app.command("list")
@acts
def users_list(f: Facade, as_json: AsJson = False) -> None:
    """List users with their roles and groups."""
    users = f.users.list()
    if as_json:
        data = [u.model_dump(mode="json") for u in users]
        out.print(json.dumps(data, ensure_ascii=False), markup=False)
        return
    for u in users:
        state = "[red]disabled[/]" if u.disabled else "enabled"
        groups = f"  groups: {', '.join(u.groups)}" if u.groups else ""
        out.print(f"{esc(u.username):<24} {', '.join(u.roles):<28} {state}{esc(groups)}")


@users_app.command("disable")
@acts
def users_disable(f: Facade, username: Annotated[str, typer.Argument()]) -> None:
    """Disable a user: their tokens and sessions stop working at once."""
    f.users.update(username, disabled=True)
    err.print(f"{esc(username)} is disabled")


@users_app.command("enable")
@acts
def users_enable(f: Facade, username: Annotated[str, typer.Argument()]) -> None:
    """Enable a disabled user again."""
    f.users.update(username, disabled=False)
    err.print(f"{esc(username)} is enabled")


@users_app.command("update")
@acts
def users_update(
    f: Facade,
    username: Annotated[str, typer.Argument()],
    role: Roles = None,
    group: Groups = None,
    no_groups: Annotated[bool, typer.Option("--no-groups", help="Remove every group.")] = False,
) -> None:
    """Replace a user's roles (--role) and/or groups (--group, or --no-groups)."""
    user = f.users.update(
        username,
        roles=role or None,
        groups=[] if no_groups else (group or None),
    )
    err.print(
        f"{esc(user.username)}: roles {', '.join(user.roles)}; "
        f"groups {', '.join(user.groups) or '-'}"
    )


@users_app.command("password")
@acts
def users_password(f: Facade, username: Annotated[str, typer.Argument()]) -> None:
    """Give a user a new one-time password (printed once; their sessions end)."""
    reset = f.users.reset_password(username)
    err.print(f"new one-time password of {esc(username)} (shown once):")
    out.print(reset.one_time_password, markup=False)


@tokens_app.command("create")
@acts
def tokens_create(
    f: Facade,
    name: Annotated[str, typer.Option("--name", "-n", help="What the token is for.")],
    days: Annotated[
        int | None, typer.Option(min=1, help="Validity in days (default ARCHIVE_TOKEN_DAYS).")
    ] = None,
    user: Annotated[str | None, typer.Option(help="For another user (admins).")] = None,
) -> None:
    """Create an API token. Only the token is printed on standard output, once."""
    made = f.tokens.create(name, days=days, username=user)
    err.print(
        f"token {made.info.id} for {esc(made.info.username)}, valid until "
        f"{when(made.info.expires_at)} (shown once; keep it secret):"
    )
    out.print(made.token, markup=False)


@tokens_app.command("list")
@acts
def tokens_list(
    f: Facade,
    user: Annotated[str | None, typer.Option(help="Another user's tokens (admins).")] = None,
    every: Annotated[bool, typer.Option("--all", help="Every user's tokens (admins).")] = False,
    as_json: AsJson = False,
) -> None:
    """List API tokens (never the tokens themselves)."""
    tokens = f.tokens.list(username=user, every=every)
    if as_json:
        data = [t.model_dump(mode="json") for t in tokens]
        out.print(json.dumps(data, ensure_ascii=False), markup=False)
        return
    for t in tokens:
        state = "active" if t.active else ("revoked" if t.revoked_at else "expired")
        out.print(
            f"{t.id}  {esc(t.username):<20} {state:<8} until {t.expires_at:%Y-%m-%d}  {esc(t.name)}"
        )


@tokens_app.command("revoke")
@acts
def tokens_revoke(
    f: Facade,
    token_id: Annotated[str, typer.Argument(help="The token's id (cat_...).")],
) -> None:
    """Revoke an API token: it stops working at once."""
    record = f.tokens.revoke(token_id)
    err.print(f"token {record.id} of {esc(record.username)} is revoked")


@restrictions_app.command("set")
@acts
def restrictions_set(
    f: Facade,
    classification: Annotated[str, typer.Argument(help="Classification code, e.g. LD.")],
    group: Annotated[list[str], typer.Option("--group", "-g", help="A group (repeatable).")],
) -> None:
    """Make a classification visible only to members of these groups."""
    made = f.restrictions.set(classification, group)
    err.print(f"{esc(made.classification)} is visible only to: {', '.join(made.groups)}")


@restrictions_app.command("remove")
@acts
def restrictions_remove(f: Facade, classification: Annotated[str, typer.Argument()]) -> None:
    """Lift the restriction of a classification."""
    f.restrictions.remove(classification)
    err.print(f"{esc(classification)} is no longer restricted")


@restrictions_app.command("list")
@acts
def restrictions_list(f: Facade, as_json: AsJson = False) -> None:
    """List restricted classifications and their groups."""
    found = f.restrictions.list()
    if as_json:
        data = {r.classification: r.groups for r in found}
        out.print(json.dumps(data, ensure_ascii=False), markup=False)
        return
    for r in found:
        out.print(f"{esc(r.classification):<12} {', '.join(r.groups)}")
