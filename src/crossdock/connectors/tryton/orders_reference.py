"""What the order desk looks up in Tryton once and keeps: the company, the warehouse, taxes, freight, credit hold.

Items are not kept: they change while Crossdock runs, and one `search_read` by SKU costs a single round trip.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from crossdock.connectors.tryton.client import TrytonClient, TrytonError
from crossdock.connectors.tryton.resources.base import related
from crossdock.ports.connector import ErrorKind

FREIGHT_SKU = "FREIGHT"
"""The code of the service item a sale's freight line sells."""
CREDIT_HOLD = "Credit Hold"
"""The party category that puts a customer on credit hold (Tryton has no hold flag of its own)."""
PRODUCT = "product.product"
ALL = {"active_test": False}


@dataclass(frozen=True, slots=True)
class Company:
    """The user's company: who sells, in which currency credit is kept."""

    id: int
    currency_id: int
    currency: str
    digits: int


@dataclass(frozen=True, slots=True)
class Warehouse:
    """The warehouse sales ship from, and its storage zone (where stock is reserved from)."""

    id: int
    storage: int


@dataclass(frozen=True, slots=True)
class Item:
    """A variant as the order desk needs it: SKU, units, price, and whether it is goods, a service, drop-shipped."""

    id: int
    sku: str
    template: int
    unit: int
    sale_unit: int
    unit_symbol: str
    list_price: Decimal | None
    kind: str  # goods, assets or service
    supply_on_sale: str | None  # None, stock_first or always


_ITEM_FIELDS = [
    "code",
    "template",
    "default_uom",
    "sale_uom",
    "list_price_used",
    "default_uom.symbol",
    "template.type",
    "template.supply_on_sale",
]


def local_id(system: str, value: str, what: str) -> int:
    """A Tryton id from the port's string id; a data quality error when it is not one."""
    try:
        number = int(value)
    except (TypeError, ValueError):
        number = 0
    if number <= 0:
        raise TrytonError(ErrorKind.DATA_QUALITY, f"{system}: {value!r} is not a Tryton {what} id")
    return number


class OrderReferences:
    """Reference data of one Tryton for the order desk, loaded on first use."""

    def __init__(self, client: TrytonClient, system: str) -> None:
        self._client = client
        self._system = system
        self._company: Company | None = None
        self._warehouse: Warehouse | None = None
        self._fields: dict[tuple[str, str], bool] = {}
        self._ids: dict[tuple[str, str], int] = {}
        self._taxes: dict[str, int] = {}

    async def company(self) -> Company:
        """The logged-in user's company and its currency."""
        if self._company is None:
            company_id = (await self._client.context()).get("company")
            rows = (
                await self._client.search_read(
                    "company.company", [("id", "=", company_id)], ["currency", "currency.code", "currency.digits"]
                )
                if company_id
                else []
            )
            if not rows:
                raise TrytonError(
                    ErrorKind.CONFIGURATION,
                    f"{self._system}: the Tryton user has no company; set the user's current company in Tryton",
                )
            row = rows[0]
            self._company = Company(
                int(row["id"]),
                int(row["currency"]),
                str(related(row, "currency", "code")),
                int(related(row, "currency", "digits") or 2),
            )
        return self._company

    async def warehouse(self) -> Warehouse:
        """The user's warehouse (its preference), else the only warehouse there is."""
        if self._warehouse is None:
            preferred = (await self._client.context()).get("warehouse")
            domain: list[Any] = [("type", "=", "warehouse")]
            if preferred:
                domain.append(("id", "=", preferred))
            rows = await self._client.search_read("stock.location", domain, ["storage_location"], limit=2)
            if len(rows) != 1 or not rows[0]["storage_location"]:
                raise TrytonError(
                    ErrorKind.CONFIGURATION,
                    f"{self._system}: cannot tell which Tryton warehouse sales ship from ({len(rows)} candidates); "
                    "set the connector user's warehouse preference in Tryton",
                )
            self._warehouse = Warehouse(int(rows[0]["id"]), int(rows[0]["storage_location"]))
        return self._warehouse

    async def has_field(self, model: str, name: str) -> bool:
        """Whether `model` has field `name` (it depends on the modules activated in that Tryton)."""
        key = (model, name)
        if key not in self._fields:
            self._fields[key] = name in await self._client.fields_get(model, [name])
        return self._fields[key]

    async def id_of(self, model: str, key: str, value: str, *, what: str, required: bool = True) -> int | None:
        """The id of the `model` record whose `key` is `value`; a data quality error if required and unknown."""
        cache = (model, f"{key}={value}")
        if cache not in self._ids:
            found = await self._client.search(model, [(key, "=", value)], limit=1, context=ALL)
            # A miss is not kept: the record may be created in Tryton later.
            if not found:
                if required:
                    raise TrytonError(
                        ErrorKind.DATA_QUALITY, f"{self._system}: Tryton has no {what} {value!r}; create it in Tryton"
                    )
                return None
            self._ids[cache] = found[0]
        return self._ids[cache]

    async def tax_ids(self, names: Iterable[str]) -> dict[str, int]:
        """Tax ids by name (the tax codes sale lines carry)."""
        wanted = sorted(set(names))
        missing = [name for name in wanted if name not in self._taxes]
        if missing:
            rows = await self._client.search_read("account.tax", [("name", "in", missing)], ["name"])
            self._taxes.update((str(row["name"]), int(row["id"])) for row in rows)
        unknown = [name for name in wanted if name not in self._taxes]
        if unknown:
            raise TrytonError(
                ErrorKind.DATA_QUALITY,
                f"{self._system}: Tryton has no tax named {', '.join(repr(n) for n in unknown)}; create the tax in "
                "Tryton or change the tax rule that names it",
            )
        return {name: self._taxes[name] for name in wanted}

    async def items(self, skus: Sequence[str], *, context: Mapping[str, Any] | None = None) -> dict[str, Item]:
        """The active variants with these SKUs (unknown SKUs are left out)."""
        if not skus:
            return {}
        domain = [("code", "in", sorted(set(skus)))]
        rows = await self._client.search_read(PRODUCT, domain, _ITEM_FIELDS, context=context)
        return {str(row["code"]): item_of(row) for row in rows}


def item_of(row: Mapping[str, Any]) -> Item:
    """An Item from a `product.product` row read with the item fields."""
    price = row.get("list_price_used")
    return Item(
        id=int(row["id"]),
        sku=str(row["code"]),
        template=int(row["template"]),
        unit=int(row["default_uom"]),
        sale_unit=int(row.get("sale_uom") or row["default_uom"]),
        unit_symbol=str(related(row, "default_uom", "symbol")),
        list_price=Decimal(price) if price is not None else None,
        kind=str(related(row, "template", "type")),
        supply_on_sale=related(row, "template", "supply_on_sale") or None,
    )


def item_fields() -> list[str]:
    """The `product.product` fields an Item is read from."""
    return list(_ITEM_FIELDS)
