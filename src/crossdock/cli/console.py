"""`crossdock console users add|list|remove|password`: the people who may sign in to the operations console."""

from __future__ import annotations

import secrets
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated

import typer
from rich.table import Table

from crossdock.cli.common import console, fail, opened_store, print_json, settings_from
from crossdock.console.users import ConsoleUserError, ConsoleUsers, parse_roles

console_app = typer.Typer(help="The operations console served by `crossdock serve` at /console.", no_args_is_help=True)
users_app = typer.Typer(help="Console users and their roles (operator, approver).", no_args_is_help=True)
console_app.add_typer(users_app, name="users")

JsonFlag = Annotated[bool, typer.Option("--json", help="print JSON")]
UsernameArg = Annotated[str, typer.Argument(help="the sign-in name: lower case, starts with a letter")]


@contextmanager
def _users(ctx: typer.Context) -> Iterator[ConsoleUsers]:
    with opened_store(settings_from(ctx)) as store:
        yield ConsoleUsers(store)


def _password(from_stdin: bool, generate: bool) -> tuple[str, bool]:
    """The new password and whether to print it (only a generated one is printed)."""
    if generate:
        return secrets.token_urlsafe(15), True
    if from_stdin:
        return sys.stdin.readline().rstrip("\n"), False
    return typer.prompt("Password", hide_input=True, confirmation_prompt=True), False


@users_app.command("add")
def add(
    ctx: typer.Context,
    username: UsernameArg,
    role: Annotated[list[str], typer.Option("--role", "-r", help="operator and/or approver; repeat for both")],
    display_name: Annotated[str | None, typer.Option(help="the name pages show")] = None,
    password_stdin: Annotated[bool, typer.Option("--password-stdin", help="read the password from stdin")] = False,
    generate: Annotated[bool, typer.Option("--generate", help="make up a strong password and print it once")] = False,
) -> None:
    """Add a console user. Operators work exceptions, dead letters and processes; approvers approve the replays
    of sensitive flows that someone else asked for."""
    try:
        roles = parse_roles(role)
    except ConsoleUserError as error:
        fail(str(error))
    password, show = _password(password_stdin, generate)
    with _users(ctx) as users:
        try:
            users.add(username, password, roles, display_name=display_name)
        except ConsoleUserError as error:
            fail(str(error))
    listed = ", ".join(sorted(r.value for r in roles))
    console.print(f"Added {username} ({listed}).")
    if show:
        console.print(f"Password (shown once): [bold]{password}[/]", highlight=False)


@users_app.command("list")
def list_users(ctx: typer.Context, as_json: JsonFlag = False) -> None:
    """List console users and their roles (never their passwords)."""
    with _users(ctx) as users:
        found = users.list()
    rows = [
        {
            "username": u.username,
            "roles": sorted(r.value for r in u.roles),
            "display_name": u.display_name,
            "created_at": u.created_at.isoformat() if u.created_at else None,
        }
        for u in found
    ]
    if as_json:
        print_json(rows)
        return
    table = Table("username", "roles", "name", "added (UTC)", title="Console users")
    for user in found:
        added = f"{user.created_at:%Y-%m-%d %H:%M:%S}" if user.created_at else ""
        table.add_row(user.username, ", ".join(sorted(r.value for r in user.roles)), user.display_name or "", added)
    console.print(table)


@users_app.command("remove")
def remove(ctx: typer.Context, username: UsernameArg) -> None:
    """Remove a console user and end their sessions."""
    with _users(ctx) as users:
        if not users.remove(username):
            fail(f"there is no console user {username!r}; `crossdock console users list` shows them")
    console.print(f"Removed {username}; their sessions are ended.")


@users_app.command("password")
def password(
    ctx: typer.Context,
    username: UsernameArg,
    password_stdin: Annotated[bool, typer.Option("--password-stdin", help="read the password from stdin")] = False,
    generate: Annotated[bool, typer.Option("--generate", help="make up a strong password and print it once")] = False,
) -> None:
    """Set a console user's password."""
    new, show = _password(password_stdin, generate)
    with _users(ctx) as users:
        try:
            users.set_password(username, new)
        except ConsoleUserError as error:
            fail(str(error))
    console.print(f"Password of {username} changed.")
    if show:
        console.print(f"Password (shown once): [bold]{new}[/]", highlight=False)
