"""Base list prices from Tryton: one canonical price list per product variant, holding that variant's list price.

Tryton keeps one list price per variant (`list_price_used`: the variant's own, else its template's), in the company
currency and per the template's default UOM (a sale line converts it to its own unit). One price list per variant,
rather than one for the whole catalogue, keeps the event of one product's price change small; a change to anything
else on the template reads back as the same content, which the core drops as no news. The payload:

    {"id": 12, "template": 9, "code": "FB-1001", "currency": "USD",
     "prices": [{"item_id": "itm_7", "sku": "FB-1001", "uom": "u", "amount": "1.25", "currency": "USD"}]}

`prices` is empty while the variant cannot be sold at a list price (inactive, not salable, or no price set): the
base list then holds no entry for it. `item_id` is the id the item flow gives the variant: the canonical id Crossdock
wrote into it as an identifier, else the one minted for a variant first captured from this system. Tryton is where
list prices are kept; Crossdock does not write price lists into it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from crossdock.connectors.tryton.capture import Stream
from crossdock.connectors.tryton.client import TrytonError
from crossdock.connectors.tryton.resources.base import Context, View, amount_text, flag, newest, related, text
from crossdock.connectors.tryton.resources.item import PRODUCT, TEMPLATE
from crossdock.ports.connector import ErrorKind, UpsertRequest, UpsertResult
from crossdock.sync.capture import canonical_id_for

_PRODUCT_FIELDS = ["template", "code", "active", "list_price_used", "last_modified_at"]
_TEMPLATE_FIELDS = ["active", "salable", "default_uom.symbol", "last_modified_at"]
_IDENTIFIER_FIELDS = ["product", "type", "code", "last_modified_at"]
_COMPANY_FIELDS = ["currency.code", "currency.digits"]
_ALL = {"active_test": False}


class PriceListResource:
    """Each variant's list price as a base price list of one entry; read only."""

    entity: str = "price_list"
    streams: tuple[Stream, ...] = (
        Stream(PRODUCT),
        Stream(TEMPLATE, "products"),
        Stream("product.identifier", "product"),
    )

    def __init__(self) -> None:
        self._currency: tuple[str, int] | None = None

    async def read(self, ctx: Context, ids: Sequence[int]) -> list[View]:
        """The list prices of variants `ids`."""
        if not ids:
            return []
        currency, digits = await self._company_currency(ctx)
        products = await ctx.client.search_read(PRODUCT, [("id", "in", list(ids))], _PRODUCT_FIELDS, context=_ALL)
        templates = {
            int(t["id"]): t
            for t in await ctx.client.search_read(
                TEMPLATE, [("id", "in", sorted({int(p["template"]) for p in products}))], _TEMPLATE_FIELDS, context=_ALL
            )
        }
        prefix = ctx.settings.id_prefix
        markers: dict[int, dict[str, Any]] = {}
        for row in await ctx.client.search_read(
            "product.identifier",
            [("product", "in", [int(p["id"]) for p in products])],
            _IDENTIFIER_FIELDS,
            order=(("product", "ASC"), ("sequence", "ASC"), ("id", "ASC")),
        ):
            if not row["type"] and str(row["code"]).startswith(prefix):
                markers.setdefault(int(row["product"]), row)
        views = []
        for product in products:
            template = templates[int(product["template"])]
            marker = markers.get(int(product["id"]))
            item_id = (
                str(marker["code"])[len(prefix) :]
                if marker
                else canonical_id_for("item", ctx.system, str(product["id"]))
            )
            price = product["list_price_used"]
            sellable = flag(product["active"]) and flag(template["active"]) and flag(template["salable"])
            sku = text(product["code"])
            payload = {
                "id": int(product["id"]),
                "template": int(template["id"]),
                "code": sku,
                "currency": currency,
                "prices": [
                    {
                        "item_id": item_id,
                        "sku": sku,
                        "uom": related(template, "default_uom", "symbol"),
                        "amount": amount_text(price, digits),
                        "currency": currency,
                    }
                ]
                if sellable and price is not None
                else [],
            }
            stamps = [product["last_modified_at"], template["last_modified_at"], marker and marker["last_modified_at"]]
            views.append(View(int(product["id"]), payload, newest(*stamps)))
        return views

    async def upsert(self, ctx: Context, request: UpsertRequest) -> UpsertResult:
        """Refused: list prices are kept in Tryton and flow out of it."""
        raise TrytonError(
            ErrorKind.CONFIGURATION,
            f"{ctx.system}: Crossdock does not write price lists into Tryton, which keeps list prices itself "
            f"(product list_price); remove {ctx.system} from the targets of the price_list flow",
        )

    async def _company_currency(self, ctx: Context) -> tuple[str, int]:
        """The company's currency code and its decimal places: Tryton's list prices are in that currency."""
        if self._currency is None:
            company = (await ctx.client.context()).get("company")
            companies = await ctx.client.read("company.company", [int(company)] if company else [], _COMPANY_FIELDS)
            code = related(companies[0], "currency", "code") if companies else None
            if not code:
                raise TrytonError(
                    ErrorKind.CONFIGURATION,
                    f"{ctx.system}: the Tryton user has no company with a currency; set the user's company in Tryton",
                )
            self._currency = (str(code), int(related(companies[0], "currency", "digits") or 2))
        return self._currency
