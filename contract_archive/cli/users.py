"""`contract-archive users`, `tokens` and `restrictions`: who may use the archive, and see what.

Passwords and tokens created here are printed once, to standard output, and never logged.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Annotated

import typer

from contract_archive.cli import app, err, esc, open_archive, out, run
from contract_archive.cli.acting import acting
from schemas.access import TokenPublic, UserPublic

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
def users_create(
    username: Annotated[str, typer.Argument(help="The user name (letters, digits, . _ @ -).")],
    role: Roles = None,
    group: Groups = None,
    display_name: Annotated[str | None, typer.Option(help="A name to show.")] = None,
    no_password: Annotated[
        bool, typer.Option("--no-password", help="Token-only user (no web log-in).")
    ] = False,
) -> None:
    """Create a user. Prints a one-time password, to be changed at the first log-in."""

    def body() -> None:
        with open_archive() as archive:
            access, caller = acting(archive)
            user, password = access.create_user(
                caller,
                username,
                roles=role or [],
                groups=group or [],
                display_name=display_name,
                with_password=not no_password,
            )
        err.print(f"created user [bold]{esc(user.username)}[/] ({', '.join(user.roles)})")
        if password:
            err.print("one-time password (shown once, to be changed at the first log-in):")
            out.print(password, markup=False)

    run(body)


@users_app.command("list")
def users_list(as_json: AsJson = False) -> None:
    """List users with their roles and groups."""

    def body() -> None:
        with open_archive() as archive:
            access, caller = acting(archive)
            users = [UserPublic.from_record(u) for u in access.list_users(caller)]
        if as_json:
            data = [u.model_dump(mode="json") for u in users]
            out.print(json.dumps(data, ensure_ascii=False), markup=False)
            return
        for u in users:
            state = "[red]disabled[/]" if u.disabled else "enabled"
            groups = f"  groups: {', '.join(u.groups)}" if u.groups else ""
            out.print(f"{esc(u.username):<24} {', '.join(u.roles):<28} {state}{esc(groups)}")

    run(body)


def _set_disabled(username: str, disabled: bool) -> None:
    def body() -> None:
        with open_archive() as archive:
            access, caller = acting(archive)
            access.update_user(caller, username, disabled=disabled)
        err.print(f"{esc(username)} is {'disabled' if disabled else 'enabled'}")

    run(body)


@users_app.command("disable")
def users_disable(username: Annotated[str, typer.Argument()]) -> None:
    """Disable a user: their tokens and sessions stop working at once."""
    _set_disabled(username, True)


@users_app.command("enable")
def users_enable(username: Annotated[str, typer.Argument()]) -> None:
    """Enable a disabled user again."""
    _set_disabled(username, False)


@users_app.command("update")
def users_update(
    username: Annotated[str, typer.Argument()],
    role: Roles = None,
    group: Groups = None,
    no_groups: Annotated[bool, typer.Option("--no-groups", help="Remove every group.")] = False,
) -> None:
    """Replace a user's roles (--role) and/or groups (--group, or --no-groups)."""

    def body() -> None:
        with open_archive() as archive:
            access, caller = acting(archive)
            user = access.update_user(
                caller,
                username,
                roles=role or None,
                groups=[] if no_groups else (group or None),
            )
        err.print(
            f"{esc(user.username)}: roles {', '.join(user.roles)}; "
            f"groups {', '.join(user.groups) or '-'}"
        )

    run(body)


@users_app.command("password")
def users_password(username: Annotated[str, typer.Argument()]) -> None:
    """Give a user a new one-time password (printed once; their sessions end)."""

    def body() -> None:
        with open_archive() as archive:
            access, caller = acting(archive)
            password = access.reset_password(caller, username)
        err.print(f"new one-time password of {esc(username)} (shown once):")
        out.print(password, markup=False)

    run(body)


@tokens_app.command("create")
def tokens_create(
    name: Annotated[str, typer.Option("--name", "-n", help="What the token is for.")],
    days: Annotated[
        int | None, typer.Option(min=1, help="Validity in days (default ARCHIVE_TOKEN_DAYS).")
    ] = None,
    user: Annotated[str | None, typer.Option(help="For another user (admins).")] = None,
) -> None:
    """Create an API token. Only the token is printed on standard output, once."""

    def body() -> None:
        with open_archive() as archive:
            access, caller = acting(archive)
            record, token = access.create_token(caller, name=name, days=days, username=user)
        err.print(
            f"token {record.prefix} for {esc(record.username)}, valid until "
            f"{record.expires_at:%Y-%m-%d %H:%M} UTC (shown once; keep it secret):"
        )
        out.print(token, markup=False)

    run(body)


@tokens_app.command("list")
def tokens_list(
    user: Annotated[str | None, typer.Option(help="Another user's tokens (admins).")] = None,
    every: Annotated[bool, typer.Option("--all", help="Every user's tokens (admins).")] = False,
    as_json: AsJson = False,
) -> None:
    """List API tokens (never the tokens themselves)."""

    def body() -> None:
        now = datetime.now(UTC)
        with open_archive() as archive:
            access, caller = acting(archive)
            tokens = [
                TokenPublic.from_record(t, now)
                for t in access.list_tokens(caller, username=user, every=every)
            ]
        if as_json:
            data = [t.model_dump(mode="json") for t in tokens]
            out.print(json.dumps(data, ensure_ascii=False), markup=False)
            return
        for t in tokens:
            state = "active" if t.active else ("revoked" if t.revoked_at else "expired")
            out.print(
                f"{t.id}  {esc(t.username):<20} {state:<8} until {t.expires_at:%Y-%m-%d}  "
                f"{esc(t.name)}"
            )

    run(body)


@tokens_app.command("revoke")
def tokens_revoke(
    token_id: Annotated[str, typer.Argument(help="The token's id (cat_...).")],
) -> None:
    """Revoke an API token: it stops working at once."""

    def body() -> None:
        with open_archive() as archive:
            access, caller = acting(archive)
            record = access.revoke_token(caller, token_id)
        err.print(f"token {record.prefix} of {esc(record.username)} is revoked")

    run(body)


@restrictions_app.command("set")
def restrictions_set(
    classification: Annotated[str, typer.Argument(help="Classification code, e.g. LD.")],
    group: Annotated[list[str], typer.Option("--group", "-g", help="A group (repeatable).")],
) -> None:
    """Make a classification visible only to members of these groups."""

    def body() -> None:
        with open_archive() as archive:
            access, caller = acting(archive)
            code, groups = access.set_restriction(caller, classification, group)
        err.print(f"{esc(code)} is visible only to: {', '.join(groups)}")

    run(body)


@restrictions_app.command("remove")
def restrictions_remove(classification: Annotated[str, typer.Argument()]) -> None:
    """Lift the restriction of a classification."""

    def body() -> None:
        with open_archive() as archive:
            access, caller = acting(archive)
            access.remove_restriction(caller, classification)
        err.print(f"{esc(classification)} is no longer restricted")

    run(body)


@restrictions_app.command("list")
def restrictions_list(as_json: AsJson = False) -> None:
    """List restricted classifications and their groups."""

    def body() -> None:
        with open_archive() as archive:
            access, caller = acting(archive)
            found = access.list_restrictions(caller)
        if as_json:
            data = {k: sorted(v) for k, v in sorted(found.items())}
            out.print(json.dumps(data, ensure_ascii=False), markup=False)
            return
        for code, groups in sorted(found.items()):
            out.print(f"{esc(code):<12} {', '.join(sorted(groups))}")

    run(body)
