"""A drop-ship supplier's answers on Tryton: stopping what it will not deliver, and posting its invoices.

Stopping (`stop_drop_ship`): Tryton cannot cancel a stock move that sits on a shipment, nor lower a confirmed
purchase line; what it supports is cancelling the drop shipment and handling the exceptions that follow, on the sale
and on the purchase, by ignoring or recreating each cancelled move. So the open drop shipments holding a stopped SKU
are cancelled; then the sale's and the purchase's shipment-exception wizards ignore the stopped SKUs' cancelled moves
(the sale line keeps what was delivered and reads the rest as cancelled) and recreate the others' (Tryton orders them
again, on a new drop shipment). The sale is handled first: its recreated moves exist when the purchase's new drop
shipment is made, which links them. Only the drop moves of cancelled drop shipments are offered to the wizards, so an
exception someone left on a warehouse shipment is not touched. Stopping what is stopped finds no open drop shipment
and no unhandled move, and changes nothing.

A supplier that commits to part of a line is stopped once it has shipped that part: Tryton reorders the rest of a
short shipment on a drop shipment of its own, and that one is what gets cancelled (see `orders/drop_ship.py`).

Invoices (`post_supplier_invoice`): a purchase invoiced on fulfilment gets a draft supplier invoice from Tryton for
what was received; the supplier's invoice number goes into its `reference` with the supplier's date, and it is posted.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import date
from typing import Any

from crossdock.connectors.tryton.client import TrytonClient, TrytonError
from crossdock.connectors.tryton.orders_read import INVOICE, PURCHASE, SALE, SHIPMENT_DROP, SaleReader
from crossdock.connectors.tryton.orders_wizard import Wizard, press, view_defaults
from crossdock.connectors.tryton.resources.base import related
from crossdock.ports.connector import ErrorKind
from crossdock.ports.orders import ErpInvoice, ErpPurchase, ErpSale

_OPEN_DROP = ("draft", "waiting")
_POSTED = ("posted", "paid")


class SupplierAnswers:
    """What a drop-ship supplier's acknowledgements and invoices change in one Tryton."""

    def __init__(self, client: TrytonClient, system: str, reader: SaleReader) -> None:
        self._client = client
        self._system = system
        self._reader = reader

    # -- stopping what the supplier will not deliver ------------------------------------------------------------

    async def stop_drop_ship(self, sale_id: int, skus: Sequence[str]) -> ErpSale:
        """Cancel the open drop shipments holding `skus`; ignore their moves, recreate the others' (see above)."""
        stopped = set(skus)
        row = await self._reader.row(sale_id)
        if not stopped:
            return row.to_erp()
        holding = [
            int(drop["id"])
            for drop in row.drops
            if drop["state"] in _OPEN_DROP
            and any(line.sku in stopped for line in row.lines_of(f"{SHIPMENT_DROP},{drop['id']}"))
        ]
        await press(self._client, SHIPMENT_DROP, "cancel", holding)
        await self._handle(SALE, "sale.handle.shipment.exception", sale_id, stopped)
        for purchase in row.purchases:
            (state,) = await self._client.read(PURCHASE, [int(purchase.purchase_id)], ["shipment_state"])
            if state["shipment_state"] == "exception":
                await self._handle(PURCHASE, "purchase.handle.shipment.exception", int(purchase.purchase_id), stopped)
        return await self._reader.read(sale_id)

    async def _handle(self, model: str, wizard_name: str, record_id: int, stopped: Collection[str]) -> None:
        """Ignore the unhandled cancelled drop moves of stopped SKUs, recreate the rest of them."""
        async with Wizard(self._client, wizard_name, model, [record_id]) as wizard:
            asked = await wizard.execute(wizard.start)
            offered = [int(m) for m in view_defaults(asked).get("domain_moves") or []]
            if not offered:
                return
            moves = await self._client.read("stock.move", offered, ["shipment", "product.code"])
            dropped = [m for m in moves if str(m.get("shipment") or "").startswith(f"{SHIPMENT_DROP},")]
            if not dropped:
                return
            ignore = [int(m["id"]) for m in dropped if related(m, "product", "code") in stopped]
            recreate = [int(m["id"]) for m in dropped if int(m["id"]) not in ignore]
            form = {"recreate_moves": recreate, "ignore_moves": ignore, "domain_moves": ignore + recreate}
            await wizard.execute("handle", {"ask": form})

    # -- supplier invoices --------------------------------------------------------------------------------------

    async def read_purchase(self, purchase_id: int) -> ErpPurchase:
        """The purchase with its lines, unit costs and supplier invoices."""
        found = await self._reader.purchases_by_id([purchase_id], with_invoices=True)
        if not found:
            raise TrytonError(
                ErrorKind.DATA_QUALITY,
                f"{self._system}: Tryton has no purchase {purchase_id}; it was deleted there, or its cross-reference "
                "is wrong",
            )
        return found[0]

    async def post_supplier_invoice(
        self, purchase_id: int, invoice_id: int, *, reference: str, invoice_date: date
    ) -> ErpInvoice:
        """Put the supplier's number and date on the purchase's draft invoice and post it (see the module docstring)."""
        purchase = await self.read_purchase(purchase_id)
        booked = [i for i in purchase.invoices if i.reference == reference and i.state in _POSTED]
        if booked:
            return booked[0]
        invoice = next((i for i in purchase.invoices if i.invoice_id == str(invoice_id)), None)
        if invoice is None or invoice.state not in ("draft", "validated"):
            found = "not an invoice of it" if invoice is None else f"{invoice.state}"
            raise TrytonError(
                ErrorKind.DATA_QUALITY,
                f"{self._system}: supplier invoice {invoice_id} of purchase {purchase.number or purchase_id} is "
                f"{found}; only a draft invoice of the purchase can take supplier invoice {reference}",
            )
        values: dict[str, Any] = {"reference": reference, "invoice_date": invoice_date}
        await self._client.write(INVOICE, [invoice_id], values)
        await press(self._client, INVOICE, "post", [invoice_id])
        posted = await self.read_purchase(purchase_id)
        return next(i for i in posted.invoices if i.invoice_id == str(invoice_id))
