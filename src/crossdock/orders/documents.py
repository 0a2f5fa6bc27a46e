"""Canonical documents built from what the ERP answers: the order's status, shipments, invoices, purchase orders.

These feed the events quote-to-order publishes and the status it reports to the CRM. Canonical ids of documents
the ERP creates are derived from the order's id and the ERP's id (`<order id>.shp.<erp id>`), so re-reading the
same ERP document always names it the same way, and a trace can find them by the order's id.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime
from decimal import Decimal

from crossdock.model.addresses import Address
from crossdock.model.billing import Invoice, InvoiceLine, InvoiceStatus, TaxLine
from crossdock.model.common import ExternalRef, Money, Quantity, Sourcing
from crossdock.model.fulfilment import Shipment, ShipmentKind, ShipmentStatus
from crossdock.model.fulfilment import ShipmentLine as CanonicalShipmentLine
from crossdock.model.purchasing import PurchaseOrder, PurchaseOrderLine, PurchaseOrderStatus
from crossdock.model.sales import SalesOrder, SalesOrderLine, SalesOrderStatus
from crossdock.ports.orders import (
    ErpInvoice,
    ErpPurchase,
    ErpSale,
    ErpSaleLine,
    ErpShipment,
    ShipmentState,
)
from crossdock.ports.orders import (
    ShipmentKind as ErpShipmentKind,
)


def goods_lines(sale: ErpSale) -> list[ErpSaleLine]:
    """The sale's item lines in order, without the freight line."""
    return [line for line in sale.lines if not line.is_freight]


def paired_lines(order: SalesOrder, sale: ErpSale) -> list[tuple[SalesOrderLine, ErpSaleLine]]:
    """Each order line with the ERP line made from it: the sale is created with one line per order line, in order."""
    erp_lines = goods_lines(sale)
    if len(erp_lines) != len(order.lines):
        raise ValueError(
            f"order {order.number} has {len(order.lines)} lines but ERP sale {sale.number or sale.sale_id} has "
            f"{len(erp_lines)}; someone edited the sale's lines in the ERP"
        )
    return list(zip(order.lines, erp_lines, strict=True))


def backordered_by_sku(sale: ErpSale) -> dict[str, Decimal]:
    """Quantities waiting on open warehouse shipments (not yet reserved or shipped), per SKU."""
    waiting: dict[str, Decimal] = {}
    for shipment in sale.shipments:
        if shipment.kind is ErpShipmentKind.WAREHOUSE and shipment.state is ShipmentState.WAITING:
            for line in shipment.lines:
                waiting[line.sku] = waiting.get(line.sku, Decimal(0)) + line.quantity
    return waiting


def order_status(sale: ErpSale | None, *, supplier_backordered: bool = False) -> SalesOrderStatus:
    """The canonical status an ERP sale stands for; the CRM must show the same.

    No sale: rejected (quote-to-order refused it before anything reached the ERP). A cancelled sale: cancelled.
    Every goods line shipped (what a drop-ship supplier refused counts as closed): invoiced once every invoice is
    posted, else shipped; cancelled if nothing shipped at all. Something waiting for stock in the warehouse, or
    backordered by a drop-ship supplier (`supplier_backordered`, from its 855): backordered. Some lines shipped and
    the rest with the supplier: partially shipped.
    """
    if sale is None:
        return SalesOrderStatus.REJECTED
    if sale.state.value == "cancelled":
        return SalesOrderStatus.CANCELLED
    lines = goods_lines(sale)
    if all(line.shipped_quantity + line.cancelled_quantity >= line.quantity for line in lines):
        return _closed_status(sale, lines)
    if backordered_by_sku(sale) or supplier_backordered:
        return SalesOrderStatus.BACKORDERED
    if any(line.shipped_quantity > 0 for line in lines):
        return SalesOrderStatus.PARTIALLY_SHIPPED
    return SalesOrderStatus.ACCEPTED


def _closed_status(sale: ErpSale, lines: Sequence[ErpSaleLine]) -> SalesOrderStatus:
    """Nothing is left to ship: invoiced once every invoice is posted, else shipped; cancelled if nothing shipped."""
    if lines and not any(line.shipped_quantity > 0 for line in lines):
        return SalesOrderStatus.CANCELLED
    posted = sale.invoices and all(invoice.state in ("posted", "paid") for invoice in sale.invoices)
    return SalesOrderStatus.INVOICED if posted else SalesOrderStatus.SHIPPED


def order_as_now(
    order: SalesOrder,
    sale: ErpSale,
    sourcing: dict[str, Sourcing],
    promised: dict[int, date],
    supplier_backorders: Mapping[str, Decimal] | None = None,
) -> SalesOrder:
    """The canonical order with the ERP's progress: status, sourcing, shipped and backordered quantities.

    `supplier_backorders` are what drop-ship suppliers backordered in their 855s, per SKU, still to ship.
    """
    waiting = backordered_by_sku(sale)
    for sku, quantity in (supplier_backorders or {}).items():
        waiting[sku] = waiting.get(sku, Decimal(0)) + quantity
    lines = []
    for order_line, erp_line in paired_lines(order, sale):
        uom = order_line.ordered_quantity.uom
        shipped = min(erp_line.shipped_quantity, order_line.ordered_quantity.value)
        open_quantity = order_line.ordered_quantity.value - shipped
        backordered = min(waiting.get(erp_line.sku, Decimal(0)), open_quantity)
        waiting[erp_line.sku] = waiting.get(erp_line.sku, Decimal(0)) - backordered
        lines.append(
            order_line.revised(
                sourcing=sourcing.get(order_line.sku, Sourcing.STOCKED),
                shipped_quantity=Quantity.of(shipped, uom),
                backordered_quantity=Quantity.of(backordered, uom),
                promised_date=promised.get(order_line.line_number, order_line.promised_date),
            )
        )
    status = order_status(sale, supplier_backordered=any(q > 0 for q in (supplier_backorders or {}).values()))
    return order.revised(status=status, lines=lines)


def shipment_document(order: SalesOrder, shipment: ErpShipment, shipped_on: date, supplier_id: str | None) -> Shipment:
    """A dispatched shipment of the order, in canonical form."""
    numbers = {line.sku: line for line in order.lines}
    lines = []
    for index, line in enumerate(shipment.lines, start=1):
        order_line = numbers.get(line.sku)
        if order_line is None:
            continue  # freight and other non-item moves
        lines.append(
            CanonicalShipmentLine(
                line_number=index,
                order_id=order.id,
                order_number=order.number,
                order_line_number=order_line.line_number,
                item_id=order_line.item_id,
                sku=line.sku,
                quantity=Quantity.of(line.quantity, order_line.ordered_quantity.uom),
            )
        )
    drop_ship = shipment.kind is ErpShipmentKind.DROP_SHIP
    return Shipment(
        id=f"{order.id}.shp.{shipment.shipment_id}",
        number=shipment.number or shipment.shipment_id,
        kind=ShipmentKind.DROP_SHIP if drop_ship else ShipmentKind.OUTBOUND,
        status=ShipmentStatus.SHIPPED,
        customer_id=order.customer_id,
        ship_to_id=order.ship_to_id,
        ship_to=ship_to_address(order),
        supplier_id=supplier_id if drop_ship else None,
        tracking_number=shipment.tracking,
        shipped_at=datetime.combine(shipment.shipped_on or shipped_on, datetime.min.time(), UTC),
        lines=lines,
    )


def ship_to_address(order: SalesOrder) -> Address:
    """The order's ship-to address; intake refuses orders without one, so this is only a guard."""
    if order.ship_to is None:
        raise ValueError(f"order {order.number} has no ship-to address; a shipment needs one")
    return order.ship_to


def invoice_document(order: SalesOrder, invoice: ErpInvoice) -> Invoice:
    """A posted customer invoice of the order, in canonical form."""
    by_sku = {line.sku: line for line in order.lines}
    lines = []
    for index, line in enumerate(invoice.lines, start=1):
        order_line = by_sku.get(line.sku or "")
        lines.append(
            InvoiceLine(
                line_number=index,
                order_id=order.id,
                order_line_number=order_line.line_number if order_line else None,
                item_id=order_line.item_id if order_line else None,
                sku=line.sku,
                description=line.description or (line.sku or "charge"),
                quantity=Quantity.of(line.quantity, order_line.ordered_quantity.uom if order_line else "EA"),
                unit_price=Money(currency=invoice.currency, amount=line.unit_price),
                amount=Money(currency=invoice.currency, amount=line.amount),
            )
        )
    taxes = []
    if invoice.tax_amount:
        taxes.append(TaxLine(tax_code="SALES-TAX", amount=Money(currency=invoice.currency, amount=invoice.tax_amount)))
    return Invoice(
        id=f"{order.id}.inv.{invoice.invoice_id}",
        number=invoice.number or invoice.invoice_id,
        status=InvoiceStatus.POSTED,
        customer_id=order.customer_id,
        order_ids=[order.id],
        customer_po=order.customer_po,
        invoice_date=invoice.invoice_date or order.order_date,
        currency=invoice.currency,
        lines=lines,
        taxes=taxes,
    )


def supplier_id(erp_system: str, erp_supplier: str | int) -> str:
    """The canonical id of a supplier known only by its ERP id (suppliers have no master-data flow yet)."""
    return f"{erp_system}:supplier:{erp_supplier}"


def purchase_document(
    order: SalesOrder, purchase: ErpPurchase, supplier_id: str, ordered_on: date, *, erp_system: str | None = None
) -> PurchaseOrder:
    """A drop-ship purchase order issued to a supplier for the order's lines, in canonical form; with `erp_system`,
    it names the ERP's purchase id (how a supplier's invoice finds the purchase to book against)."""
    by_sku = {line.sku: line for line in order.lines}
    currency = purchase.currency or order.currency
    lines = []
    for index, line in enumerate(purchase.lines, start=1):
        order_line = by_sku.get(line.sku)
        if order_line is None:
            continue
        cost = purchase.unit_costs.get(line.sku, Decimal(0))
        lines.append(
            PurchaseOrderLine(
                line_number=index,
                item_id=order_line.item_id,
                sku=line.sku,
                ordered_quantity=Quantity.of(line.quantity, order_line.ordered_quantity.uom),
                unit_cost=Money(currency=currency, amount=cost),
                sales_order_line_number=order_line.line_number,
            )
        )
    return PurchaseOrder(
        id=f"{order.id}.po.{purchase.purchase_id}",
        external_refs=[] if erp_system is None else [ExternalRef(system=erp_system, local_id=purchase.purchase_id)],
        number=purchase.number or purchase.purchase_id,
        supplier_id=supplier_id,
        kind=Sourcing.DROP_SHIP,
        status=PurchaseOrderStatus.ISSUED,
        order_date=ordered_on,
        currency=currency,
        ship_to=order.ship_to,
        sales_order_id=order.id,
        customer_id=order.customer_id,
        lines=lines,
    )


def posted(invoices: Sequence[ErpInvoice]) -> list[ErpInvoice]:
    """The invoices that are posted (or already paid)."""
    return [invoice for invoice in invoices if invoice.state in ("posted", "paid")]
