"""The API layer's records in SQL: clients, idempotency keys and the orders the API took."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from crossdock.ports.api import ApiClientRecord, ApiOrderRecord, ClientKind, IdempotencyRecord
from crossdock.store.repositories.base import Transaction, chunks, insert_new, upsert
from crossdock.store.repositories.driver import DriverTable
from crossdock.store.rules import as_utc, stamp, utc_now
from crossdock.store.tables import api_clients, api_orders, idempotency_keys


def _client(row: sa.Row[Any]) -> ApiClientRecord:
    return ApiClientRecord(
        client_id=row.client_id,
        name=row.name,
        kind=ClientKind(row.kind),
        scopes=frozenset(row.scopes),
        secret_hash=row.secret_hash,
        partner_id=row.partner_id,
        rate_plan=row.rate_plan,
        previous_secret_hash=row.previous_secret_hash,
        previous_valid_until=row.previous_valid_until,
        created_at=row.created_at,
        rotated_at=row.rotated_at,
        revoked_at=row.revoked_at,
    )


def _order(row: sa.Row[Any]) -> ApiOrderRecord:
    return ApiOrderRecord(
        order_id=row.order_id,
        number=row.number,
        client_id=row.client_id,
        partner_id=row.partner_id,
        customer_id=row.customer_id,
        customer_reference=row.customer_reference,
        event_id=row.event_id,
        process_id=row.process_id,
        submitted_at=row.submitted_at,
        document=dict(row.document),
    )


def _idempotency(row: sa.Row[Any]) -> IdempotencyRecord:
    return IdempotencyRecord(
        client_id=row.client_id,
        key=row.key,
        request_hash=row.request_hash,
        status_code=row.status_code,
        body=bytes(row.body),
        headers=dict(row.headers),
        created_at=row.created_at,
        expires_at=row.expires_at,
    )


def _idempotency_values(record: IdempotencyRecord, now: datetime) -> dict[str, Any]:
    if record.expires_at is None:
        raise ValueError("an idempotency record needs `expires_at`")
    return {
        "client_id": record.client_id,
        "key": record.key,
        "request_hash": record.request_hash,
        "status_code": record.status_code,
        "body": record.body,
        "headers": dict(record.headers),
        "created_at": stamp(record.created_at, now),
        "expires_at": as_utc(record.expires_at),
    }


def _order_values(order: ApiOrderRecord) -> dict[str, Any]:
    return {
        "order_id": order.order_id,
        "number": order.number,
        "client_id": order.client_id,
        "partner_id": order.partner_id,
        "customer_id": order.customer_id,
        "customer_reference": order.customer_reference,
        "event_id": order.event_id,
        "process_id": order.process_id,
        "submitted_at": as_utc(order.submitted_at),
        "document": order.document,
    }


# The order intake's inserts, on the driver (`driver`).
_IDEMPOTENCY_KEYS = DriverTable(idempotency_keys)
_API_ORDERS = DriverTable(api_orders)


class SqlApiRecords:
    """The ApiRecords repository on `cd_api_clients`, `cd_idempotency_keys` and `cd_api_orders`."""

    def __init__(self, tx: Transaction) -> None:
        self._tx = tx

    def put_client(self, client: ApiClientRecord) -> None:
        """Insert or replace a client."""
        values = {
            "client_id": client.client_id,
            "name": client.name,
            "kind": client.kind.value,
            "partner_id": client.partner_id,
            "scopes": sorted(client.scopes),
            "rate_plan": client.rate_plan,
            "secret_hash": client.secret_hash,
            "previous_secret_hash": client.previous_secret_hash,
            "previous_valid_until": client.previous_valid_until,
            "created_at": stamp(client.created_at, utc_now()),
            "rotated_at": client.rotated_at,
            "revoked_at": client.revoked_at,
        }
        upsert(self._tx, api_clients, values, ["client_id"])

    def get_client(self, client_id: str) -> ApiClientRecord | None:
        """One client, revoked ones included."""
        row = self._tx.read(sa.select(api_clients).where(api_clients.c.client_id == client_id)).first()
        return None if row is None else _client(row)

    def list_clients(self) -> list[ApiClientRecord]:
        """Every client, by id."""
        return [_client(row) for row in self._tx.read(sa.select(api_clients).order_by(api_clients.c.client_id))]

    def get_idempotent(self, client_id: str, key: str, *, now: datetime) -> IdempotencyRecord | None:
        """The stored response for a client's key, unless it has expired."""
        t = idempotency_keys
        row = self._tx.read(
            sa.select(t).where(t.c.client_id == client_id, t.c.key == key, t.c.expires_at > as_utc(now))
        ).first()
        return None if row is None else _idempotency(row)

    def put_idempotent(self, record: IdempotencyRecord) -> bool:
        """Store a first response; False when the key is already stored and not expired."""
        t = idempotency_keys
        now = utc_now()
        if record.expires_at is None:
            raise ValueError("an idempotency record needs `expires_at`")
        # An expired entry for the key may still be there (purged later): the key is free again.
        self._tx.write(
            sa.delete(t).where(t.c.client_id == record.client_id, t.c.key == record.key, t.c.expires_at <= now)
        )
        return insert_new(self._tx, t, _idempotency_values(record, now), t.c.key)

    def get_idempotent_many(
        self, keys: Sequence[tuple[str, str]], *, now: datetime
    ) -> dict[tuple[str, str], IdempotencyRecord]:
        """The stored, unexpired responses for (client id, key) pairs."""
        t = idempotency_keys
        wanted = set(keys)
        found: dict[tuple[str, str], IdempotencyRecord] = {}
        clients = sorted({client for client, _ in wanted})
        # Two plain INs walk the primary key (client_id, key); a row-value IN makes SQLite scan the table.
        for chunk in chunks(sorted({key for _, key in wanted})):
            rows = self._tx.read(
                sa.select(t).where(t.c.client_id.in_(clients), t.c.key.in_(chunk), t.c.expires_at > as_utc(now))
            )
            for row in rows:
                if (row.client_id, row.key) in wanted:
                    found[(row.client_id, row.key)] = _idempotency(row)
        return found

    def add_submissions(self, answers: Sequence[IdempotencyRecord], orders: Sequence[ApiOrderRecord]) -> None:
        """Store answers and orders in bulk (multi-row INSERTs on the driver: the order intake's every group); a
        key or number stored already raises."""
        now = utc_now()
        _IDEMPOTENCY_KEYS.insert(self._tx, [_idempotency_values(record, now) for record in answers])
        _API_ORDERS.insert(self._tx, [_order_values(order) for order in orders])

    def purge_idempotent(
        self, *, now: datetime, keys: Sequence[tuple[str, str]] | None = None, limit: int | None = None
    ) -> int:
        """Forget expired keys: only those of `keys` when given, at most `limit` (oldest first); return how many."""
        t = idempotency_keys
        expired = t.c.expires_at <= as_utc(now)
        if limit is not None and keys is None:
            # The oldest first, found by the expires_at index, then deleted by primary key as a group's keys are.
            query = sa.select(t.c.client_id, t.c.key).where(expired).order_by(t.c.expires_at).limit(limit)
            keys = [(row.client_id, row.key) for row in self._tx.read(query)]
        if keys is None:
            return int(self._tx.write(sa.delete(t).where(expired)).rowcount)
        by_client: dict[str, list[str]] = {}
        for client, key in dict.fromkeys(keys):
            by_client.setdefault(client, []).append(key)
        purged = 0
        for client, names in by_client.items():
            for chunk in chunks(names):  # the primary key (client_id, key), walked per client
                statement = sa.delete(t).where(t.c.client_id == client, t.c.key.in_(chunk), expired)
                purged += int(self._tx.write(statement).rowcount)
        return purged

    def add_order(self, order: ApiOrderRecord) -> bool:
        """Record an order taken; False when its order id or number is already recorded."""
        return insert_new(self._tx, api_orders, _order_values(order), api_orders.c.order_id)

    def find_orders(self, numbers: Sequence[str]) -> dict[str, ApiOrderRecord]:
        """Orders by number, for those stored."""
        found: dict[str, ApiOrderRecord] = {}
        for chunk in chunks(list(dict.fromkeys(numbers))):
            for row in self._tx.read(sa.select(api_orders).where(api_orders.c.number.in_(chunk))):
                found[row.number] = _order(row)
        return found

    def get_order(self, order_id: str) -> ApiOrderRecord | None:
        """One order by canonical id."""
        row = self._tx.read(sa.select(api_orders).where(api_orders.c.order_id == order_id)).first()
        return None if row is None else _order(row)

    def find_order(self, number: str) -> ApiOrderRecord | None:
        """One order by number."""
        row = self._tx.read(sa.select(api_orders).where(api_orders.c.number == number)).first()
        return None if row is None else _order(row)

    def list_orders(
        self, *, partner_id: str | None, after: ApiOrderRecord | None = None, limit: int = 50
    ) -> list[ApiOrderRecord]:
        """A partner's orders (all when `partner_id` is None), oldest first, after the order `after`."""
        t = api_orders
        query = sa.select(t)
        if partner_id is not None:
            query = query.where(t.c.partner_id == partner_id)
        if after is not None:
            query = query.where(
                sa.or_(
                    t.c.submitted_at > as_utc(after.submitted_at),
                    sa.and_(t.c.submitted_at == as_utc(after.submitted_at), t.c.order_id > after.order_id),
                )
            )
        rows = self._tx.read(query.order_by(t.c.submitted_at, t.c.order_id).limit(limit))
        return [_order(row) for row in rows]
