"""What a warehouse clerk, a buyer and a credit controller do in the sandbox Tryton, for tests and the demo.

Each helper does what that person would do in Tryton's client, over JSON-RPC: items created, stock received at the
warehouse (a receipt from the supplier location straight into storage, done), suppliers and drop-ship items set up,
customers put on credit hold (the "Credit Hold" category) or given a credit limit or contract prices.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from decimal import Decimal
from typing import Any

from crossdock.connectors.tryton.client import TrytonClient
from crossdock.sandbox.tryton_setup import ACCOUNT_CATEGORY, CREDIT_HOLD, DEFAULT_PAYMENT_TERM, WAREHOUSE_CODE

Number = Decimal | int | float | str


async def create_item(
    client: TrytonClient,
    sku: str,
    name: str,
    list_price: Number,
    *,
    cost_price: Number | None = None,
    unit: str = "u",
) -> int:
    """A salable, purchasable goods item with one variant coded `sku`; the variant's id."""
    (uom,) = await client.search("product.uom", [("symbol", "=", unit)], limit=1)
    (category,) = await client.search(
        "product.category", [("name", "=", ACCOUNT_CATEGORY), ("accounting", "=", True)], limit=1
    )
    variant: dict[str, Any] = {"suffix_code": sku}
    if cost_price is not None:
        variant["cost_price"] = Decimal(str(cost_price))
    (template,) = await client.create(
        "product.template",
        [
            {
                "name": name,
                "type": "goods",
                "default_uom": uom,
                "sale_uom": uom,
                "purchase_uom": uom,
                "salable": True,
                "purchasable": True,
                "account_category": category,
                "list_price": Decimal(str(list_price)),
                "products": [["create", [variant]]],
            }
        ],
    )
    (product,) = await client.search("product.product", [("template", "=", template)], limit=1)
    return product


async def receive_stock(client: TrytonClient, quantities: Mapping[str, Number]) -> None:
    """Put stock on hand in the warehouse's storage zone: one receipt move per SKU from the supplier location, done."""
    products = await _products(client, list(quantities), ["default_uom", "cost_price"])
    (warehouse,) = await client.search_read(
        "stock.location", [("type", "=", "warehouse"), ("code", "=", WAREHOUSE_CODE)], ["storage_location"], limit=1
    )
    (supplier,) = await client.search("stock.location", [("type", "=", "supplier")], limit=1)
    company = (await client.context())["company"]
    (currency,) = await client.read("company.company", [company], ["currency"])
    moves = await client.create(
        "stock.move",
        [
            {
                "product": products[sku]["id"],
                "unit": products[sku]["default_uom"],
                "quantity": float(quantity),
                "from_location": supplier,
                "to_location": warehouse["storage_location"],
                # Receipts from a supplier carry a cost; the item's cost price (or zero) is what the clerk enters.
                "unit_price": Decimal(products[sku].get("cost_price") or 0),
                "currency": currency["currency"],
            }
            for sku, quantity in quantities.items()
        ],
    )
    await client.execute("stock.move", "do", moves)


async def create_supplier(
    client: TrytonClient, name: str, *, country: str = "US", payment_term: str = DEFAULT_PAYMENT_TERM
) -> int:
    """A supplier party with the address and payment term a purchase needs; its id."""
    (country_id,) = await client.search("country.country", [("code", "=", country)], limit=1)
    (term,) = await client.search("account.invoice.payment_term", [("name", "=", payment_term)], limit=1)
    (party,) = await client.create(
        "party.party",
        [
            {
                "name": name,
                "supplier_payment_term": term,
                "addresses": [["create", [{"street": "1 Supplier Way", "city": "Akron", "country": country_id}]]],
            }
        ],
    )
    return party


async def make_drop_ship_item(
    client: TrytonClient,
    sku: str,
    supplier_party_id: int,
    lead_time_days: int,
    *,
    unit_cost: Number | None = None,
) -> None:
    """Make the item with `sku` always supplied on sale, drop-shipped by the supplier (with its lead time).

    The supplier's price is `unit_cost`, else the item's cost price, else 60% of its list price: Tryton confirms no
    purchase line without a unit price.
    """
    products = await _products(client, [sku], ["template", "cost_price", "list_price_used"])
    product = products[sku]
    template = int(product["template"])
    if unit_cost is None:
        cost = product.get("cost_price") or (Decimal(product.get("list_price_used") or 0) * Decimal("0.6"))
        unit_cost = Decimal(cost).quantize(Decimal("0.0001"))
    [row] = await client.read("product.template", [template], ["default_uom"])
    # A purchasable item needs a purchase unit; the supplier sells in the item's own unit here.
    await client.write(
        "product.template",
        [template],
        {"supply_on_sale": "always", "purchasable": True, "purchase_uom": row["default_uom"]},
    )
    values: dict[str, Any] = {
        "drop_shipment": True,
        "lead_time": timedelta(days=lead_time_days),
        "prices": [["create", [{"quantity": 0.0, "unit_price": Decimal(str(unit_cost))}]]],
    }
    existing = await client.search_read(
        "purchase.product_supplier",
        [("template", "=", template), ("party", "=", supplier_party_id)],
        ["prices"],
        limit=1,
    )
    if existing:
        # The supplier's price is replaced, not added to: one price per supplier and item here.
        if existing[0]["prices"]:
            values["prices"] = [["delete", existing[0]["prices"]], *values["prices"]]
        await client.write("purchase.product_supplier", [int(existing[0]["id"])], values)
    else:
        await client.create("purchase.product_supplier", [{"template": template, "party": supplier_party_id, **values}])


async def set_credit_hold(client: TrytonClient, party_id: int, on: bool) -> None:
    """Put the customer on credit hold (the "Credit Hold" category) or release it."""
    (category,) = await client.search("party.category", [("name", "=", CREDIT_HOLD)], limit=1)
    await client.write("party.party", [party_id], {"categories": [["add" if on else "remove", [category]]]})


async def set_credit_limit(client: TrytonClient, party_id: int, amount: Number | None) -> None:
    """The customer's credit limit in the company currency (None: no limit)."""
    limit = Decimal(str(amount)) if amount is not None else None
    await client.write("party.party", [party_id], {"credit_limit_amount": limit})


async def set_contract_prices(
    client: TrytonClient, party_id: int, prices: Mapping[str, Number], *, name: str | None = None
) -> int:
    """A price list with a fixed price per SKU, made the customer's sale price list; its id.

    Needs Tryton's sale_price_list module (activated by the sandbox setup when its package is installed).
    """
    fields = await client.fields_get("party.party", ["sale_price_list"])
    if "sale_price_list" not in fields:
        raise RuntimeError("this Tryton has no customer price lists; install trytond-sale-price-list and rebuild")
    products = await _products(client, list(prices), [])
    (price_list,) = await client.create(
        "product.price_list",
        [
            {
                "name": name or f"Contract prices of party {party_id}",
                "price": "list_price",
                "lines": [
                    [
                        "create",
                        [
                            {"sequence": n, "product": products[sku]["id"], "formula": str(Decimal(str(price)))}
                            for n, (sku, price) in enumerate(prices.items(), start=1)
                        ],
                    ]
                ],
            }
        ],
    )
    await client.write("party.party", [party_id], {"sale_price_list": price_list})
    return price_list


async def _products(client: TrytonClient, skus: list[str], fields: list[str]) -> dict[str, dict[str, Any]]:
    rows = await client.search_read("product.product", [("code", "in", skus)], ["code", *fields])
    found = {str(row["code"]): row for row in rows}
    missing = [sku for sku in skus if sku not in found]
    if missing:
        raise LookupError(f"Tryton has no item {', '.join(missing)}; create it first (create_item)")
    return found
