"""Managing API clients (`crossdock api clients ...`): create, rotate, revoke, list. The secret is returned once."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from crossdock.api.security.credentials import (
    DEFAULT_ROTATION_GRACE,
    from_record,
    new_client,
    revoke,
    rotate,
    to_record,
)
from crossdock.api.security.scopes import Scope
from crossdock.ports.api import ApiClientRecord, ClientKind
from crossdock.ports.store import Store


class UnknownClientError(LookupError):
    """No API client has this id."""


def create_client(
    store: Store,
    *,
    name: str,
    kind: ClientKind,
    scopes: Iterable[Scope],
    now: datetime,
    partner_id: str | None = None,
    rate_plan: str | None = None,
    client_id: str | None = None,
) -> tuple[ApiClientRecord, str]:
    """Register a client; return it and its secret (shown once: only its hash is stored)."""
    client, secret = new_client(
        name=name,
        kind=kind,
        scopes=scopes,
        rate_plan=rate_plan or ("partner" if kind is ClientKind.PARTNER else "internal"),
        now=now,
        partner_id=partner_id,
        client_id=client_id,
    )
    record = to_record(client)
    with store.unit_of_work() as uow:
        if client_id is not None and uow.api.get_client(client_id) is not None:
            raise ValueError(f"API client {client_id} exists already; rotate its secret instead")
        uow.api.put_client(record)
        uow.commit()
    return record, secret


def _stored(store: Store, client_id: str) -> ApiClientRecord:
    with store.unit_of_work(read_only=True) as uow:
        record = uow.api.get_client(client_id)
    if record is None:
        raise UnknownClientError(f"no API client {client_id}; `crossdock api clients list` shows them")
    return record


def rotate_client(
    store: Store, client_id: str, *, now: datetime, grace: timedelta = DEFAULT_ROTATION_GRACE
) -> tuple[ApiClientRecord, str]:
    """A new secret for the client; the old one keeps working for `grace`."""
    rotated, secret = rotate(from_record(_stored(store, client_id)), now, grace)
    record = to_record(rotated)
    with store.unit_of_work() as uow:
        uow.api.put_client(record)
        uow.commit()
    return record, secret


def revoke_client(store: Store, client_id: str, *, now: datetime) -> ApiClientRecord:
    """Shut the client out: its secrets and its tokens stop working (tokens within seconds)."""
    record = to_record(revoke(from_record(_stored(store, client_id)), now))
    with store.unit_of_work() as uow:
        uow.api.put_client(record)
        uow.commit()
    return record


def list_clients(store: Store) -> list[ApiClientRecord]:
    """Every client, revoked ones included."""
    with store.unit_of_work(read_only=True) as uow:
        return uow.api.list_clients()
