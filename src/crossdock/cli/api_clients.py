"""`crossdock api clients`: create, rotate, revoke and list the API's clients.

A secret is printed once, when it is made, and never again: the store keeps only its hash. Nothing here logs a
secret or prints a hash; `list` shows who may call and with what, not how they prove it.
"""

from __future__ import annotations

import sys
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from crossdock.api.clients import UnknownClientError, create_client, list_clients, revoke_client, rotate_client
from crossdock.api.limits import DEFAULT_PLANS
from crossdock.api.security.scopes import (
    GRANTABLE,
    InvalidScopeError,
    Scope,
    check_grantable,
    format_scope,
    parse_scope,
)
from crossdock.cli.common import console, errors, fail, opened_store, print_json, settings_from
from crossdock.config import Settings
from crossdock.ports.api import ApiClientRecord, ClientKind

api_app = typer.Typer(help="The HTTP API: its clients.", no_args_is_help=True)
clients_app = typer.Typer(
    help="API clients: create, rotate a secret, revoke, list. Secrets are shown once and never stored.",
    no_args_is_help=True,
)
api_app.add_typer(clients_app, name="clients")

JsonFlag = Annotated[bool, typer.Option("--json", help="print JSON")]
ClientArg = Annotated[str, typer.Argument(help="the client id (`crossdock api clients list` shows them)")]
SECRET_WARNING = "Copy the secret now: Crossdock keeps only its hash and cannot show it again."  # noqa: S105 (advice)


def _now() -> datetime:
    return datetime.now(UTC)


def _when(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat(timespec="seconds")


def summary(record: ApiClientRecord) -> dict[str, Any]:
    """A client as `list` shows it: never its secret hashes."""
    return {
        "client_id": record.client_id,
        "name": record.name,
        "kind": record.kind.value,
        "partner_id": record.partner_id,
        "scopes": sorted(record.scopes),
        "rate_plan": record.rate_plan,
        "created_at": _when(record.created_at),
        "rotated_at": _when(record.rotated_at),
        "previous_secret_valid_until": _when(record.previous_valid_until),
        "revoked_at": _when(record.revoked_at),
    }


def _show_secret(record: ApiClientRecord, secret: str, as_json: bool, note: str | None = None) -> None:
    if as_json:
        print_json({**summary(record), "secret": secret, "warning": SECRET_WARNING})
    else:
        # Plain writes, not rich: a console narrower than the secret must not wrap it into two lines.
        sys.stdout.write(f"client id: {record.client_id}\nsecret:    {secret}\n")
        if note:
            sys.stdout.write(note + "\n")
    errors.print(f"[bold yellow]warning:[/] {SECRET_WARNING}", highlight=False)


def _scopes(kind: ClientKind, scopes: list[str]) -> frozenset[Scope]:
    try:
        parsed = parse_scope(" ".join(scopes))
        check_grantable(kind, parsed)
    except InvalidScopeError as error:
        fail(f"{error}; a {kind.value} client may hold: {format_scope(GRANTABLE[kind])}")
    return parsed


def _rate_plan(settings: Settings, plan: str | None) -> str | None:
    known = sorted({*DEFAULT_PLANS, *settings.api.rate_plans})
    if plan is not None and plan not in known:
        fail(f"unknown rate plan {plan!r}; use one of {', '.join(known)} or add it under api.rate_plans")
    return plan


@clients_app.command()
def create(
    ctx: typer.Context,
    name: Annotated[str, typer.Option("--name", help="who the client is, for people: 'Acme web shop'")],
    kind: Annotated[ClientKind, typer.Option("--kind", help="partner, internal or operator")],
    scope: Annotated[
        list[str], typer.Option("--scope", help="a scope it may ask for, e.g. orders:write; repeat for more")
    ],
    partner: Annotated[
        str | None, typer.Option("--partner", help="the partner's canonical customer id (partner clients only)")
    ] = None,
    rate_plan: Annotated[
        str | None, typer.Option("--rate-plan", help="its rate plan (default: partner, or internal)")
    ] = None,
    client_id: Annotated[
        str | None, typer.Option("--client-id", help="a client id of your choosing (default: generated)")
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Register a client and print its id and secret, once."""
    settings = settings_from(ctx)
    scopes = _scopes(kind, scope)
    plan = _rate_plan(settings, rate_plan)
    with opened_store(settings) as store:
        try:
            record, secret = create_client(
                store,
                name=name,
                kind=kind,
                scopes=scopes,
                now=_now(),
                partner_id=partner,
                rate_plan=plan,
                client_id=client_id,
            )
        except ValueError as error:
            fail(str(error))
    _show_secret(record, secret, as_json)


@clients_app.command()
def rotate(
    ctx: typer.Context,
    client_id: ClientArg,
    grace_hours: Annotated[
        float, typer.Option("--grace-hours", help="how long the old secret keeps working (0: stops now)")
    ] = 24.0,
    as_json: JsonFlag = False,
) -> None:
    """Give the client a new secret, printed once; the old one works for the grace period."""
    with opened_store(settings_from(ctx)) as store:
        try:
            record, secret = rotate_client(store, client_id, now=_now(), grace=timedelta(hours=grace_hours))
        except (UnknownClientError, ValueError) as error:
            fail(str(error))
    until = record.previous_valid_until
    note = f"the old secret works until {_when(until)}" if until else "the old secret has stopped working"
    _show_secret(record, secret, as_json, note)


@clients_app.command()
def revoke(ctx: typer.Context, client_id: ClientArg, as_json: JsonFlag = False) -> None:
    """Shut the client out: its secrets stop working now, its tokens within seconds."""
    with opened_store(settings_from(ctx)) as store:
        try:
            record = revoke_client(store, client_id, now=_now())
        except UnknownClientError as error:
            fail(str(error))
    if as_json:
        print_json(summary(record))
        return
    console.print(
        f"client {escape(record.client_id)} revoked at {_when(record.revoked_at)}; "
        "its tokens stop working within seconds",
        highlight=False,
    )


@clients_app.command("list")
def list_(ctx: typer.Context, as_json: JsonFlag = False) -> None:
    """Every client, revoked ones included; never their secrets or hashes."""
    with opened_store(settings_from(ctx)) as store:
        records = list_clients(store)
    if as_json:
        print_json([summary(record) for record in records])
        return
    table = Table(title="API clients")
    # Whole on one line, however narrow the terminal: an id cut short or folded cannot be copied into a command.
    table.add_column("client id", no_wrap=True, min_width=max((len(r.client_id) for r in records), default=9))
    for column in ("name", "kind", "partner", "scopes", "rate plan", "created", "state"):
        table.add_column(column)
    now = _now()
    for record in records:
        in_grace = record.previous_valid_until is not None and record.previous_valid_until > now
        state = "revoked" if record.revoked_at else ("rotating" if in_grace else "active")
        table.add_row(
            escape(record.client_id),
            escape(record.name),
            record.kind.value,
            escape(record.partner_id or ""),
            escape(" ".join(sorted(record.scopes))),
            escape(record.rate_plan),
            f"{record.created_at:%Y-%m-%d %H:%M}" if record.created_at else "",
            state,
        )
    console.print(table)
