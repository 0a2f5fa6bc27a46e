"""Customers in Tryton: `party.party` with its addresses, contact mechanisms and identifiers.

The payload (what inbound maps from and what outbound produces):

    {"id": 7, "code": "C-1001", "name": "Acme Supply", "active": true, "crossdock_id": "cus_0042",
     "customer_currency": "USD", "customer_payment_term": {"name": "N30", "net_days": 30},
     "credit_limit": {"amount": "25000.00", "currency": "USD"},
     "identifiers": [{"type": "us_ein", "code": "12-3456789"}],
     "addresses": [{"party_name": null, "attn": null, "street": "1 Main St\\nSuite 2", "city": "Atlanta",
                    "postal_code": "30301", "subdivision": "US-GA", "country": "US", "invoice": true,
                    "delivery": false}],
     "contact_mechanisms": [{"type": "email", "value": "ap@acme.example", "name": "accounts payable"}]}

`id` and `crossdock_id` are read-only here. The canonical id is kept as an untyped party identifier whose code is
`<id_prefix><canonical id>`, so a write repeated after a crash finds the party it created the first time.

`credit_limit` is the party's `credit_limit_amount` (module account_credit_limit), which Tryton keeps in the
company currency; null means no limit. A null credit limit in a write leaves the party's as it is (a new party gets
Tryton's default); one in another currency is refused, as is any on a Tryton without that module.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from crossdock.connectors.tryton.capture import Stream
from crossdock.connectors.tryton.client import TrytonError
from crossdock.connectors.tryton.resources.base import (
    Context,
    View,
    amount_text,
    flag,
    newest,
    plan_rows,
    related,
    text,
)
from crossdock.connectors.tryton.resources.references import COUNTRY, CURRENCY, PAYMENT_TERM, SUBDIVISION
from crossdock.model.addresses import e164
from crossdock.ports.connector import ErrorKind, UpsertRequest, UpsertResult

PARTY = "party.party"
_PARTY_FIELDS = [
    "customer_currency",
    "customer_payment_term",
    "name",
    "code",
    "active",
    "last_modified_at",
    "_timestamp",
    "customer_currency.code",
    "customer_payment_term.name",
]
CREDIT_LIMIT = "credit_limit_amount"
_ADDRESS_FIELDS = [
    "party",
    "sequence",
    "party_name",
    "attn",
    "street",
    "city",
    "postal_code",
    "country.code",
    "subdivision.code",
    "invoice",
    "delivery",
    "last_modified_at",
]
_MECHANISM_FIELDS = ["party", "sequence", "type", "value", "name", "last_modified_at"]
_IDENTIFIER_FIELDS = ["party", "sequence", "type", "code", "last_modified_at"]
_ADDRESS_KEYS = ("party_name", "attn", "street", "city", "postal_code", "subdivision", "country", "invoice", "delivery")
_MECHANISM_KEYS = ("type", "value", "name")
_IDENTIFIER_KEYS = ("type", "code")
_ORDER = (("party", "ASC"), ("sequence", "ASC"), ("id", "ASC"))
MANAGED_MECHANISMS = frozenset({"email", "phone", "mobile", "fax", "website"})
_DIALLED = frozenset({"phone", "mobile", "fax"})
"""Contact mechanism types with a canonical channel; Skype, SIP and the like are left as Tryton has them."""


class CustomerResource:
    """Customer accounts as Tryton parties."""

    entity: str = "customer"
    streams: tuple[Stream, ...] = (
        Stream(PARTY),
        Stream("party.address", "party"),
        Stream("party.contact_mechanism", "party"),
        Stream("party.identifier", "party"),
    )

    def __init__(self) -> None:
        self._own_parties: set[int] = set()
        self._company_currency: str | None = None
        self._currency_digits = 2
        self._credit_limits: bool | None = None
        """Whether parties have a credit limit (account_credit_limit is activated); None until asked."""

    async def read(self, ctx: Context, ids: Sequence[int]) -> list[View]:
        """Parties `ids` with their rows; the company's own parties (itself, its employees) are never customers."""
        await self._load_company(ctx)
        rows = await self._rows(ctx, ids)
        return [await self._view(ctx, *row) for party_id, row in rows.items() if party_id not in self._own_parties]

    async def upsert(self, ctx: Context, request: UpsertRequest) -> UpsertResult:
        """Write the party found by local id, else by the canonical id it carries, else create it."""
        await self._load_company(ctx)
        marker = ctx.settings.id_prefix + request.canonical_id
        party_id = int(request.local_id) if request.local_id else None
        if party_id is None:
            found = await ctx.client.search(PARTY, [("identifiers.code", "=", marker)], limit=1, context=_ALL)
            party_id = found[0] if found else None
        if party_id is None:
            created = await self._create(ctx, request.payload, marker)
            return UpsertResult(request.canonical_id, local_id=str(created), created=True)
        rows = await self._rows(ctx, [party_id])
        if party_id not in rows:
            raise TrytonError(
                ErrorKind.DATA_QUALITY,
                f"{ctx.system}: party {party_id} (customer {request.canonical_id}) no longer exists in Tryton; "
                "restore it there or remove its cross-reference to create it again",
            )
        changed = await self._update(ctx, request.payload, marker, *rows[party_id])
        return UpsertResult(request.canonical_id, local_id=str(party_id), details={"changed": changed})

    async def _load_company(self, ctx: Context) -> None:
        """The company's own parties, its currency, and whether parties have credit limits: read once."""
        if self._credit_limits is not None:
            return
        company = (await ctx.client.context()).get("company")
        companies = await ctx.client.search_read("company.company", [], ["party", "currency.code", "currency.digits"])
        employees = await ctx.client.search_read("company.employee", [], ["party"], context=_ALL)
        self._own_parties = {int(row["party"]) for row in (*companies, *employees)}
        # The user's company is the one whose currency Tryton sells in and keeps credit limits in.
        current = next((c for c in companies if c["id"] == company), companies[0] if companies else None)
        if current is not None:
            self._company_currency = related(current, "currency", "code")
            self._currency_digits = int(related(current, "currency", "digits") or 2)
        self._credit_limits = CREDIT_LIMIT in await ctx.client.fields_get(PARTY, [CREDIT_LIMIT])

    async def _create(self, ctx: Context, payload: Mapping[str, Any], marker: str) -> int:
        values = await self._values(ctx, payload)
        children = {
            "identifiers": _numbered([{"type": None, "code": marker}, *_identifiers(payload)]),
            "addresses": await self._addresses(ctx, payload),
            "contact_mechanisms": _numbered(_mechanisms(payload)),
        }
        values.update({name: [["create", rows]] for name, rows in children.items() if rows})
        (created,) = await ctx.client.create(PARTY, [values])
        return created

    async def _update(
        self,
        ctx: Context,
        payload: Mapping[str, Any],
        marker: str,
        party: dict[str, Any],
        addresses: list[dict[str, Any]],
        mechanisms: list[dict[str, Any]],
        identifiers: list[dict[str, Any]],
    ) -> bool:
        """Write what differs, in one call guarded by the party's `_timestamp`; False when nothing did."""
        # With a party sequence the code is read-only once set, even to its own value: send only real changes.
        values = {key: value for key, value in (await self._values(ctx, payload)).items() if value != party.get(key)}
        wanted_addresses = await self._addresses(ctx, payload)
        plans = {
            "addresses": plan_rows(
                _address_views(payload),
                [{**_address_view(a), "id": a["id"], "sequence": a["sequence"]} for a in addresses],
                compare=_ADDRESS_KEYS,
                kind=lambda a: (a.get("invoice"), a.get("delivery")),
                values=lambda position, _: wanted_addresses[position],
            ),
            "contact_mechanisms": plan_rows(
                _mechanisms(payload),
                [_as_dialled(_row(m, _MECHANISM_KEYS)) for m in mechanisms if m["type"] in MANAGED_MECHANISMS],
                compare=_MECHANISM_KEYS,
                kind=lambda m: m.get("type"),
                values=lambda position, row: {**row, "sequence": position + 1},
            ),
            "identifiers": plan_rows(
                [{"type": None, "code": marker}, *_identifiers(payload)],
                [{**_row(i, _IDENTIFIER_KEYS), "type": i["type"] or None} for i in identifiers],
                compare=_IDENTIFIER_KEYS,
                kind=lambda i: i.get("type"),
                values=lambda position, row: {**row, "sequence": position + 1},
            ),
        }
        for name, plan in plans.items():
            if plan:
                # Sales and invoices refer to addresses: a removed one is retired, never deleted.
                values[name] = plan.actions(deactivate=name == "addresses")
        if not values:
            return False
        party_id = int(party["id"])
        await ctx.client.write(PARTY, [party_id], values, timestamps={party_id: party["_timestamp"]})
        return True

    async def _rows(
        self, ctx: Context, ids: Sequence[int]
    ) -> dict[int, tuple[dict[str, Any], list[dict[str, Any]], list[dict[str, Any]], list[dict[str, Any]]]]:
        if not ids:
            return {}
        fields = [*_PARTY_FIELDS, CREDIT_LIMIT] if self._credit_limits else _PARTY_FIELDS
        parties = await ctx.client.search_read(PARTY, [("id", "in", list(ids))], fields, context=_ALL)
        found = [int(p["id"]) for p in parties]
        children = [("party", "in", found)]
        addresses = await ctx.client.search_read("party.address", children, _ADDRESS_FIELDS, order=_ORDER)
        mechanisms = await ctx.client.search_read("party.contact_mechanism", children, _MECHANISM_FIELDS, order=_ORDER)
        identifiers = await ctx.client.search_read("party.identifier", children, _IDENTIFIER_FIELDS, order=_ORDER)
        return {
            int(p["id"]): (
                p,
                [a for a in addresses if a["party"] == p["id"]],
                [m for m in mechanisms if m["party"] == p["id"]],
                [i for i in identifiers if i["party"] == p["id"]],
            )
            for p in parties
        }

    async def _view(
        self,
        ctx: Context,
        party: Mapping[str, Any],
        addresses: list[dict[str, Any]],
        mechanisms: list[dict[str, Any]],
        identifiers: list[dict[str, Any]],
    ) -> View:
        prefix = ctx.settings.id_prefix
        markers = [i for i in identifiers if not i["type"] and str(i["code"]).startswith(prefix)]
        crossdock_id = str(markers[0]["code"])[len(prefix) :] if markers else None
        term = related(party, "customer_payment_term", "name")
        limit = party.get(CREDIT_LIMIT)
        payload = {
            "id": int(party["id"]),
            "code": text(party["code"]),
            "name": text(party["name"]),
            "active": flag(party["active"]),
            "crossdock_id": crossdock_id,
            # Tryton sells in the company's currency to a party that names none.
            "customer_currency": related(party, "customer_currency", "code") or self._company_currency,
            "customer_payment_term": {"name": term, "net_days": await ctx.references.net_days(term)} if term else None,
            "credit_limit": (
                {"amount": amount_text(limit, self._currency_digits), "currency": self._company_currency}
                if limit is not None
                else None
            ),
            "identifiers": [
                {"type": i["type"] or None, "code": text(i["code"])} for i in identifiers if i not in markers
            ],
            "addresses": [_address_view(a) for a in addresses],
            "contact_mechanisms": [_row(m, _MECHANISM_KEYS, ids=False) for m in mechanisms],
        }
        stamps = [row["last_modified_at"] for row in (party, *addresses, *mechanisms, *identifiers)]
        return View(int(party["id"]), payload, newest(*stamps), crossdock_id)

    async def _values(self, ctx: Context, payload: Mapping[str, Any]) -> dict[str, Any]:
        term = payload.get("customer_payment_term")
        term_name = term.get("name") if isinstance(term, Mapping) else term
        values: dict[str, Any] = {
            "name": payload.get("name"),
            "customer_currency": await ctx.references.id(CURRENCY, payload.get("customer_currency")),
            "customer_payment_term": await ctx.references.id(PAYMENT_TERM, term_name),
        }
        if payload.get("code"):
            values["code"] = payload["code"]
        if payload.get("active") is not None:
            values["active"] = bool(payload["active"])
        if payload.get("credit_limit") is not None:
            values[CREDIT_LIMIT] = self._credit_limit(ctx, payload["credit_limit"])
        return values

    def _credit_limit(self, ctx: Context, limit: Mapping[str, Any]) -> Decimal:
        """The amount of a credit limit Tryton can hold: in the company currency, on a Tryton that has them."""
        if not self._credit_limits:
            raise TrytonError(
                ErrorKind.CONFIGURATION,
                f"{ctx.system}: Tryton has no credit limits; activate the account_credit_limit module there, or "
                "drop credit_limit from the Tryton customer outbound mapping",
            )
        if limit.get("currency") != self._company_currency:
            raise TrytonError(
                ErrorKind.DATA_QUALITY,
                f"{ctx.system}: Tryton keeps credit limits in the company currency {self._company_currency}, not "
                f"{limit.get('currency')}; set this account's limit in Tryton, or send it in "
                f"{self._company_currency}",
            )
        return Decimal(str(limit["amount"]))

    async def _addresses(self, ctx: Context, payload: Mapping[str, Any]) -> list[dict[str, Any]]:
        rows = []
        for position, view in enumerate(_address_views(payload)):
            rows.append(
                {
                    **{key: view[key] for key in ("party_name", "attn", "street", "city", "postal_code")},
                    "invoice": view["invoice"],
                    "delivery": view["delivery"],
                    "country": await ctx.references.id(COUNTRY, view["country"]),
                    "subdivision": await ctx.references.id(SUBDIVISION, view["subdivision"]),
                    "sequence": position + 1,
                }
            )
        return rows


_ALL = {"active_test": False}


def _mechanisms(payload: Mapping[str, Any]) -> list[dict[str, Any]]:
    return [
        _as_dialled({key: row.get(key) for key in _MECHANISM_KEYS}) for row in payload.get("contact_mechanisms") or []
    ]


def _as_dialled(row: dict[str, Any]) -> dict[str, Any]:
    """A phone, mobile or fax row with its number in E.164: Tryton formats the numbers it stores (with the
    phonenumbers library installed), so "+1 404 555 0147" written comes back "+1 404-555-0147"; compared as
    written, every upsert would rewrite it."""
    if row.get("type") in _DIALLED and isinstance(row.get("value"), str):
        return {**row, "value": e164(row["value"])}
    return row


def _identifiers(payload: Mapping[str, Any]) -> list[dict[str, Any]]:
    return [{"type": row.get("type") or None, "code": row.get("code")} for row in payload.get("identifiers") or []]


def _numbered(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{**row, "sequence": position + 1} for position, row in enumerate(rows)]


def _row(row: Mapping[str, Any], keys: Sequence[str], *, ids: bool = True) -> dict[str, Any]:
    """A child row's compared fields as text (and its id and sequence, for planning)."""
    values: dict[str, Any] = {key: text(row.get(key)) for key in keys}
    return {**values, "id": row["id"], "sequence": row["sequence"]} if ids else values


def _address_view(row: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "party_name": text(row.get("party_name")),
        "attn": text(row.get("attn")),
        "street": text(row.get("street")),
        "city": text(row.get("city")),
        "postal_code": text(row.get("postal_code")),
        "subdivision": related(row, "subdivision", "code") if "subdivision." in row else row.get("subdivision"),
        "country": related(row, "country", "code") if "country." in row else row.get("country"),
        "invoice": flag(row.get("invoice")),
        "delivery": flag(row.get("delivery")),
    }


def _address_views(payload: Mapping[str, Any]) -> list[dict[str, Any]]:
    return [_address_view(row) for row in payload.get("addresses") or []]
