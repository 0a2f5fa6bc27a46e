"""TrytonOrderDesk: the OrderDesk port on a real Tryton (8.2) over JSON-RPC, with the connector's client.

How each business operation maps onto Tryton:

- Standing: `party.party` by id. Credit hold is the party category "Credit Hold" (Tryton has no hold flag; finance
  sets the category, the sandbox creates it). The limit is `credit_limit_amount` (module account_credit_limit), kept
  in the company currency. Credit used is the party's `credit_amount` (account_credit_limit: its receivable, that
  is posted invoices less payments) plus, for each confirmed or processing sale, its total less its posted and paid
  invoices (those are in the receivable already), converted to the company currency.
- Contract prices: Tryton's own sale price, the variant's `sale_price_uom` read with the sale context a sale line
  uses (`customer`, `price_list` = the party's `sale_price_list` when module sale_price_list is active, `quantity`,
  `currency`); a price list without a matching line gives no price, and the list price is answered then.
- Supply: a variant is drop-shipped when its template's `supply_on_sale` is "always" and one of its
  `purchase.product_supplier` rows has `drop_shipment`; else stocked. Available-to-promise is the variant's
  `quantity` at the warehouse's storage zone with `stock_assign` on: on hand today less the moves open shipments
  have reserved (assigned), exactly what `assign_try` can still reserve.
- Sales: `sale.sale` found by `reference` (our order number) before creating, so a repeated create finds the first.
  Created with the party's matching address (or a new delivery address from the ship-to), invoiced on fulfillment
  (an invoice follows what shipped), shipped on order, lines in order with taxes by name, and a line of the FREIGHT
  service item for freight; then quoted. Confirming queues Tryton's `process` (run at the end of the request when
  no queue worker is configured); a sale still confirmed afterwards is processed again explicitly, which raises
  the error the queued run only logged.

Fulfilment (`orders_fulfil`) explains dispatch, backorders, drop shipments, invoices and cancelling;
`orders_supply` what a drop-ship supplier's answers change: stopping what it refuses, posting its invoices.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from datetime import date
from decimal import Decimal
from typing import Any

from crossdock.connectors.tryton.client import TrytonClient, TrytonError
from crossdock.connectors.tryton.orders_fulfil import Fulfilment
from crossdock.connectors.tryton.orders_read import SALE, SaleReader, decimal_of
from crossdock.connectors.tryton.orders_reference import (
    ALL,
    CREDIT_HOLD,
    FREIGHT_SKU,
    PRODUCT,
    Item,
    OrderReferences,
    item_fields,
    item_of,
    local_id,
)
from crossdock.connectors.tryton.orders_supply import SupplierAnswers
from crossdock.connectors.tryton.orders_wizard import press
from crossdock.connectors.tryton.resources.base import related, text
from crossdock.model.common import Sourcing
from crossdock.ports.connector import ErrorKind
from crossdock.ports.orders import (
    AddressDraft,
    CustomerStanding,
    DispatchResult,
    ErpInvoice,
    ErpPurchase,
    ErpSale,
    ErpShipment,
    ItemSupply,
    PriceQuery,
    SaleDraft,
    SaleState,
    ShipmentLine,
)

PARTY = "party.party"
_ADDRESS_FIELDS = ["street", "city", "postal_code", "country.code", "subdivision.code", "invoice", "delivery"]
_UNINVOICED_STATES = ("confirmed", "processing")


class TrytonOrderDesk:
    """The order operations of one Tryton, over a client it shares with the connector."""

    def __init__(self, system: str, client: TrytonClient) -> None:
        self._system = system
        self._client = client
        self._refs = OrderReferences(client, system)
        self._reader = SaleReader(client, system)
        self._fulfilment = Fulfilment(client, system, self._refs, self._reader)
        self._supply = SupplierAnswers(client, system, self._reader)

    @property
    def system(self) -> str:
        """The configured system name."""
        return self._system

    async def customer_standing(self, customer_local_id: str) -> CustomerStanding:
        """Active, on credit hold or not, limit and use of credit (see the module docstring)."""
        party_id = local_id(self._system, customer_local_id, "customer")
        company = await self._refs.company()
        limits = await self._refs.has_field(PARTY, "credit_limit_amount")
        fields = ["name", "active", "categories", "credit_amount", *(["credit_limit_amount"] if limits else [])]
        party = await self._party(party_id, fields)
        hold = await self._refs.id_of("party.category", "name", CREDIT_HOLD, what="party category", required=False)
        limit = party.get("credit_limit_amount") if limits else None
        return CustomerStanding(
            local_id=str(party_id),
            name=str(party["name"]),
            active=bool(party["active"]),
            credit_hold=hold is not None and hold in party["categories"],
            currency=company.currency,
            credit_limit=Decimal(limit) if limit is not None else None,
            credit_used=Decimal(party.get("credit_amount") or 0) + await self._uninvoiced(party_id),
        )

    async def contract_prices(self, customer_local_id: str, queries: Sequence[PriceQuery]) -> dict[str, Decimal]:
        """The customer's price per SKU for the quantity: Tryton's sale price for it, else the list price."""
        party_id = local_id(self._system, customer_local_id, "customer")
        price_lists = await self._refs.has_field(PARTY, "sale_price_list")
        party = await self._party(party_id, ["customer_currency", *(["sale_price_list"] if price_lists else [])])
        items = await self._refs.items([query.sku for query in queries])
        context: dict[str, Any] = {"customer": party_id, "currency": party.get("customer_currency")}
        if party.get("sale_price_list"):
            context["price_list"] = party["sale_price_list"]
        by_quantity: dict[Decimal, list[Item]] = defaultdict(list)
        for query in queries:
            if query.sku in items:
                by_quantity[query.quantity].append(items[query.sku])
        prices: dict[str, Decimal] = {}
        # Tryton prices all products of one read for one quantity: one read per distinct quantity.
        for quantity, wanted in by_quantity.items():
            rows = await self._client.read(
                PRODUCT,
                sorted({item.id for item in wanted}),
                ["sale_price_uom"],
                context={**context, "quantity": float(quantity)},
            )
            priced = {int(row["id"]): row.get("sale_price_uom") for row in rows}
            for item in wanted:
                price = priced.get(item.id)
                if price is None:
                    price = item.list_price
                if price is not None:
                    prices[item.sku] = Decimal(price)
        return prices

    async def item_supply(self, skus: Sequence[str]) -> dict[str, ItemSupply]:
        """Sourcing and available-to-promise at the warehouse per SKU; SKUs Tryton does not know are left out."""
        if not skus:
            return {}
        warehouse = await self._refs.warehouse()
        rows = await self._client.search_read(
            PRODUCT,
            [("code", "in", sorted(set(skus)))],
            [*item_fields(), "quantity"],
            context={"locations": [warehouse.storage], "stock_assign": True, "with_childs": True},
        )
        templates = sorted({int(row["template"]) for row in rows})
        suppliers = await self._client.search_read(
            "purchase.product_supplier",
            [("template", "in", templates)],
            ["template", "product", "party", "drop_shipment", "lead_time"],
            order=(("sequence", "ASC"), ("id", "ASC")),
        )
        supply: dict[str, ItemSupply] = {}
        for row in rows:
            item = item_of(row)
            own = [s for s in suppliers if s["template"] == item.template and s.get("product") in (None, item.id)]
            dropper = next((s for s in own if s.get("drop_shipment")), None)
            drop_ship = item.supply_on_sale == "always" and dropper is not None
            supplier = dropper if drop_ship else (own[0] if own else None)
            lead_time = supplier.get("lead_time") if supplier is not None else None
            supply[item.sku] = ItemSupply(
                sku=item.sku,
                local_id=str(item.id),
                sourcing=Sourcing.DROP_SHIP if drop_ship else Sourcing.STOCKED,
                available=decimal_of(row.get("quantity")),
                unit=item.unit_symbol,
                supplier_id=str(supplier["party"]) if supplier is not None else None,
                lead_time_days=lead_time.days if lead_time is not None else None,
            )
        return supply

    async def find_sale(self, reference: str) -> ErpSale | None:
        """The live sale made for `reference`, if any."""
        row = await self._reader.find(reference)
        return row.to_erp() if row is not None else None

    async def create_sale(self, draft: SaleDraft) -> ErpSale:
        """Create the sale as a quotation; if one for `draft.reference` exists, answer it (quoted) instead."""
        existing = await self._reader.find(draft.reference)
        if existing is not None:
            if existing.tryton_state == "draft":
                # A create that failed at quoting left a draft: quoting it now finishes that create.
                await press(self._client, SALE, "quote", [existing.id])
            return await self._reader.read(existing.id)
        party_id = local_id(self._system, draft.customer_local_id, "customer")
        party = await self._party(party_id, ["name", "customer_payment_term"])
        invoice_address, shipment_address = await self._addresses(party_id, str(party["name"]), draft.ship_to)
        currency = await self._refs.id_of("currency.currency", "code", draft.currency, what="currency")
        skus = [line.sku for line in draft.lines] + ([FREIGHT_SKU] if draft.freight_amount is not None else [])
        items = await self._refs.items(skus)
        unknown = sorted({sku for sku in skus if sku not in items})
        if unknown:
            raise TrytonError(
                ErrorKind.DATA_QUALITY,
                f"{self._system}: Tryton has no active item {', '.join(unknown)} (order {draft.reference}); create "
                "the items in Tryton, or reactivate them",
            )
        taxes = await self._refs.tax_ids(code for line in draft.lines for code in line.tax_codes)
        warehouse = await self._refs.warehouse()
        lines: list[dict[str, Any]] = []
        for line in draft.lines:
            item = items[line.sku]
            values: dict[str, Any] = {
                "type": "line",
                "sequence": len(lines) + 1,
                "product": item.id,
                "unit": item.sale_unit,
                "quantity": float(line.quantity),
                "unit_price": line.unit_price,
                "taxes": [["add", [taxes[code] for code in line.tax_codes]]],
            }
            if line.description:
                values["description"] = line.description
            lines.append(values)
        if draft.freight_amount is not None:
            freight = items[FREIGHT_SKU]
            lines.append(
                {
                    "type": "line",
                    "sequence": len(lines) + 1,
                    "product": freight.id,
                    "unit": freight.sale_unit,
                    "quantity": 1.0,
                    "unit_price": draft.freight_amount,
                    "description": f"Freight ({draft.shipping_method})" if draft.shipping_method else "Freight",
                }
            )
        values = {
            "party": party_id,
            "invoice_address": invoice_address,
            "shipment_address": shipment_address,
            "currency": currency,
            "reference": draft.reference,
            "description": _description(draft),
            "warehouse": warehouse.id,
            # Invoices follow what shipped, so a backorder is billed when it ships, not at confirmation.
            "invoice_method": "fulfillment",
            "shipment_method": "order",
            "lines": [["create", lines]],
        }
        if draft.sale_date is not None:
            values["sale_date"] = draft.sale_date
        if party.get("customer_payment_term"):
            values["payment_term"] = party["customer_payment_term"]
        (sale_id,) = await self._client.create(SALE, [values])
        await press(self._client, SALE, "quote", [sale_id])
        return await self._reader.read(sale_id)

    async def confirm_sale(self, sale_id: str) -> ErpSale:
        """Quote if needed, confirm, and make sure Tryton processed it (shipments, purchase requests, invoices)."""
        sale = local_id(self._system, sale_id, "sale")
        row = await self._reader.row(sale)
        if row.state() is SaleState.CANCELLED:
            raise TrytonError(
                ErrorKind.DATA_QUALITY,
                f"{self._system}: sale {row.sale.get('number') or sale} is cancelled in Tryton and cannot be "
                "confirmed; create a new sale for the order",
            )
        state = row.tryton_state
        if state == "draft":
            await press(self._client, SALE, "quote", [sale])
            state = "quotation"
        if state == "quotation":
            await press(self._client, SALE, "confirm", [sale])
            state = await self._state(sale)
        if state == "confirmed":
            await press(self._client, SALE, "process", [sale])
        return await self._reader.read(sale)

    async def read_sale(self, sale_id: str) -> ErpSale:
        """The sale as it is now."""
        return await self._reader.read(local_id(self._system, sale_id, "sale"))

    async def dispatch(self, sale_id: str, *, ship_partial: bool) -> DispatchResult:
        """Reserve, pick, pack and ship the sale's open warehouse shipments (see `orders_fulfil`)."""
        return await self._fulfilment.dispatch(local_id(self._system, sale_id, "sale"), ship_partial=ship_partial)

    async def order_drop_ship(self, sale_id: str) -> list[ErpPurchase]:
        """Purchase the sale's drop-ship requests and confirm the purchases (one per supplier)."""
        return await self._fulfilment.order_drop_ship(local_id(self._system, sale_id, "sale"))

    async def complete_drop_shipment(self, sale_id: str, shipped: Sequence[ShipmentLine]) -> ErpShipment:
        """Ship and close the sale's drop shipment for these quantities."""
        return await self._fulfilment.complete_drop_shipment(local_id(self._system, sale_id, "sale"), shipped)

    async def invoice(self, sale_id: str) -> list[ErpInvoice]:
        """Post the sale's draft invoices; all its invoices."""
        return await self._fulfilment.invoice(local_id(self._system, sale_id, "sale"))

    async def cancel_sale(self, sale_id: str) -> ErpSale:
        """Cancel the sale, releasing reserved stock (see `orders_fulfil`)."""
        return await self._fulfilment.cancel(local_id(self._system, sale_id, "sale"))

    async def stop_drop_ship(self, sale_id: str, skus: Sequence[str]) -> ErpSale:
        """Close what is open of these drop-shipped SKUs on the purchase and the sale (see `orders_supply`)."""
        return await self._supply.stop_drop_ship(local_id(self._system, sale_id, "sale"), skus)

    async def read_purchase(self, purchase_id: str) -> ErpPurchase:
        """A purchase with its lines, unit costs and supplier invoices."""
        return await self._supply.read_purchase(local_id(self._system, purchase_id, "purchase"))

    async def post_supplier_invoice(
        self, purchase_id: str, invoice_id: str, *, reference: str, invoice_date: date
    ) -> ErpInvoice:
        """Post the purchase's draft supplier invoice as the supplier's invoice `reference` (see `orders_supply`)."""
        return await self._supply.post_supplier_invoice(
            local_id(self._system, purchase_id, "purchase"),
            local_id(self._system, invoice_id, "invoice"),
            reference=reference,
            invoice_date=invoice_date,
        )

    async def _party(self, party_id: int, fields: Sequence[str]) -> dict[str, Any]:
        rows = await self._client.search_read(PARTY, [("id", "=", party_id)], fields, context=ALL)
        if not rows:
            raise TrytonError(
                ErrorKind.DATA_QUALITY,
                f"{self._system}: Tryton has no party {party_id}; the customer was deleted there, or its "
                "cross-reference is wrong",
            )
        return rows[0]

    async def _state(self, sale_id: int) -> str:
        (row,) = await self._client.read(SALE, [sale_id], ["state"])
        return str(row["state"])

    async def _uninvoiced(self, party_id: int) -> Decimal:
        """What confirmed and processing sales will still invoice, in the company currency."""
        company = await self._refs.company()
        sales = await self._client.search_read(
            SALE,
            [("party", "=", party_id), ("state", "in", list(_UNINVOICED_STATES))],
            ["total_amount", "currency", "invoices"],
        )
        invoice_ids = sorted({int(i) for sale in sales for i in sale["invoices"]})
        invoiced = (
            {
                int(row["id"]): Decimal(row["total_amount"] or 0)
                for row in await self._client.search_read(
                    "account.invoice",
                    [("id", "in", invoice_ids), ("state", "in", ["posted", "paid"])],
                    ["total_amount"],
                )
            }
            if invoice_ids
            else {}
        )
        rates = await self._rates({int(sale["currency"]) for sale in sales} | {company.currency_id})
        total = Decimal(0)
        for sale in sales:
            open_amount = Decimal(sale["total_amount"] or 0) - sum(
                (invoiced.get(int(i), Decimal(0)) for i in sale["invoices"]), Decimal(0)
            )
            if open_amount > 0:
                # Tryton's rates are per unit of the base currency: amount * to-rate / from-rate.
                total += open_amount * rates[company.currency_id] / rates[int(sale["currency"])]
        return total.quantize(Decimal(1).scaleb(-company.digits))

    async def _rates(self, currency_ids: set[int]) -> dict[int, Decimal]:
        if len(currency_ids) == 1:
            return dict.fromkeys(currency_ids, Decimal(1))
        rows = await self._client.read("currency.currency", sorted(currency_ids), ["rate"])
        return {int(row["id"]): Decimal(row["rate"] or 1) for row in rows}

    async def _addresses(self, party_id: int, name: str, ship_to: AddressDraft | None) -> tuple[int, int]:
        """The invoice address and the shipment address of a new sale (the ship-to reused or added)."""
        rows = await self._client.search_read(
            "party.address", [("party", "=", party_id)], _ADDRESS_FIELDS, order=(("sequence", "ASC"), ("id", "ASC"))
        )
        shipment = None
        if ship_to is not None:
            shipment = next((int(row["id"]) for row in rows if _same_address(row, ship_to)), None)
            if shipment is None:
                shipment = await self._add_address(party_id, ship_to)
                rows = [*rows, {"id": shipment, "delivery": True}]
        if not rows:
            raise TrytonError(
                ErrorKind.DATA_QUALITY,
                f"{self._system}: customer {name} (party {party_id}) has no address in Tryton and the order has no "
                "ship-to; add the customer's address in Tryton or send the order with a ship-to",
            )
        invoice = next((int(row["id"]) for row in rows if row.get("invoice")), int(rows[0]["id"]))
        if shipment is None:
            shipment = next((int(row["id"]) for row in rows if row.get("delivery")), int(rows[0]["id"]))
        return invoice, shipment

    async def _add_address(self, party_id: int, address: AddressDraft) -> int:
        country = None
        subdivision = None
        if address.country:
            country = await self._refs.id_of("country.country", "code", address.country, what="country")
            if address.subdivision:
                # An unknown state keeps the address usable: it is still on the street, city and postal code.
                subdivision = await self._refs.id_of(
                    "country.subdivision",
                    "code",
                    f"{address.country}-{address.subdivision}",
                    what="subdivision",
                    required=False,
                )
        (created,) = await self._client.create(
            "party.address",
            [
                {
                    "party": party_id,
                    "street": address.street,
                    "city": address.city,
                    "postal_code": address.postal_code,
                    "country": country,
                    "subdivision": subdivision,
                    "delivery": True,
                    "invoice": False,
                }
            ],
        )
        return created


def _description(draft: SaleDraft) -> str | None:
    # Tryton's sale has one reference field, which holds our order number; the customer's PO goes into the
    # description, where the sale's printouts show it.
    parts = [part for part in (draft.description, f"PO {draft.customer_po}" if draft.customer_po else None) if part]
    return " / ".join(parts) or None


def _same_address(row: Mapping[str, Any], address: AddressDraft) -> bool:
    subdivision = related(row, "subdivision", "code")
    return (
        _norm(text(row.get("street"))) == _norm(address.street)
        and _norm(text(row.get("city"))) == _norm(address.city)
        and _norm(text(row.get("postal_code"))) == _norm(address.postal_code)
        and _norm(related(row, "country", "code")) == _norm(address.country)
        and _norm(str(subdivision).split("-", 1)[-1] if subdivision else None) == _norm(address.subdivision)
    )


def _norm(value: str | None) -> str:
    return " ".join((value or "").casefold().split())
