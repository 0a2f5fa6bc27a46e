"""Items in Tryton: a `product.product` variant (the SKU) with the fields of its `product.template`.

One canonical item is one variant, so a template with three variants is three items. The payload:

    {"id": 12, "template": 9, "code": "FB-1001", "name": "Flange bolt M8", "description": null, "type": "goods",
     "active": true, "default_uom": "u", "sale_uom": "u", "purchase_uom": "u", "salable": true, "purchasable": true,
     "list_price": "1.25", "account_category": "Goods", "categories": ["Fasteners"], "crossdock_id": "itm_7",
     "identifiers": [{"type": "mpn", "code": "M8-40"}, {"type": "brand", "code": "Acme"}],
     "packs": [{"uom": "dz", "units": "12"}]}

UOMs are Tryton symbols. `packs` lists the sale and purchase UOMs that differ from the default one, with how many
default units each holds; like `id`, `template` and `crossdock_id` it is read-only. The SKU is written as the
variant's `suffix_code` (Tryton's `code` is the template's prefix followed by it). A `list_price` absent from the
payload is left as it is. The canonical id is an untyped product identifier `<id_prefix><canonical id>`.
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
    decimal_text,
    flag,
    newest,
    plan_rows,
    related,
    text,
)
from crossdock.connectors.tryton.resources.references import ACCOUNT_CATEGORY, CATEGORY, UOM
from crossdock.ports.connector import ErrorKind, UpsertRequest, UpsertResult

PRODUCT = "product.product"
TEMPLATE = "product.template"
_PRODUCT_FIELDS = ["template", "code", "suffix_code", "description", "active", "last_modified_at"]
_TEMPLATE_FIELDS = [
    "name",
    "type",
    "active",
    "salable",
    "purchasable",
    "list_price",
    "categories",
    "account_category",
    "account_category.name",
    "default_uom",
    "sale_uom",
    "purchase_uom",
    *(f"{uom}.{part}" for uom in ("default_uom", "sale_uom", "purchase_uom") for part in ("symbol", "factor")),
    "last_modified_at",
    "_timestamp",
]
_IDENTIFIER_FIELDS = ["product", "sequence", "type", "code", "last_modified_at"]
_ALL = {"active_test": False}


class ItemResource:
    """Items as Tryton product variants."""

    entity: str = "item"
    streams: tuple[Stream, ...] = (
        Stream(PRODUCT),
        Stream(TEMPLATE, "products"),
        Stream("product.identifier", "product"),
    )

    async def read(self, ctx: Context, ids: Sequence[int]) -> list[View]:
        """Variants `ids` with their template's fields."""
        rows = await self._rows(ctx, ids)
        return [await self._view(ctx, *row) for row in rows.values()]

    async def upsert(self, ctx: Context, request: UpsertRequest) -> UpsertResult:
        """Write the variant found by local id, else by the canonical id it carries, else create it."""
        marker = ctx.settings.id_prefix + request.canonical_id
        payload = request.payload
        product_id = int(request.local_id) if request.local_id else None
        if product_id is None:
            found = await ctx.client.search(PRODUCT, [("identifiers.code", "=", marker)], limit=1, context=_ALL)
            product_id = found[0] if found else None
        wanted_identifiers = [{"type": None, "code": marker}, *_identifiers(payload)]
        if product_id is None:
            template = await self._template_values(ctx, payload, [])
            variant = _variant_values(payload)
            variant["identifiers"] = [
                ["create", [{**row, "sequence": n + 1} for n, row in enumerate(wanted_identifiers)]]
            ]
            template["products"] = [["create", [variant]]]
            (template_id,) = await ctx.client.create(TEMPLATE, [template])
            (created,) = await ctx.client.search(PRODUCT, [("template", "=", template_id)], limit=1, context=_ALL)
            return UpsertResult(request.canonical_id, local_id=str(created), created=True)
        rows = await self._rows(ctx, [product_id])
        if product_id not in rows:
            raise TrytonError(
                ErrorKind.DATA_QUALITY,
                f"{ctx.system}: product {product_id} (item {request.canonical_id}) no longer exists in Tryton; "
                "restore it there or remove its cross-reference to create it again",
            )
        product, template_row, identifiers = rows[product_id]
        # Only real changes are sent: an upsert repeated after a crash then touches nothing.
        template = _changes(await self._template_values(ctx, payload, template_row["categories"]), template_row)
        variant = _changes(_variant_values(payload), product)
        plan = plan_rows(
            wanted_identifiers,
            [
                {"type": i["type"] or None, "code": text(i["code"]), "id": i["id"], "sequence": i["sequence"]}
                for i in identifiers
            ],
            compare=("type", "code"),
            kind=lambda i: i.get("type"),
            values=lambda position, row: {**row, "sequence": position + 1},
        )
        if plan:
            variant["identifiers"] = plan.actions()
        if variant:
            template["products"] = [["write", [product_id], variant]]
        if template:
            template_id = int(product["template"])
            await ctx.client.write(
                TEMPLATE, [template_id], template, timestamps={template_id: template_row["_timestamp"]}
            )
        return UpsertResult(request.canonical_id, local_id=str(product_id), details={"changed": bool(template)})

    async def _rows(
        self, ctx: Context, ids: Sequence[int]
    ) -> dict[int, tuple[dict[str, Any], dict[str, Any], list[dict[str, Any]]]]:
        if not ids:
            return {}
        products = await ctx.client.search_read(PRODUCT, [("id", "in", list(ids))], _PRODUCT_FIELDS, context=_ALL)
        template_ids = sorted({int(p["template"]) for p in products})
        templates = {
            int(t["id"]): t
            for t in await ctx.client.search_read(
                TEMPLATE, [("id", "in", template_ids)], _TEMPLATE_FIELDS, context=_ALL
            )
        }
        identifiers = await ctx.client.search_read(
            "product.identifier",
            [("product", "in", [int(p["id"]) for p in products])],
            _IDENTIFIER_FIELDS,
            order=(("product", "ASC"), ("sequence", "ASC"), ("id", "ASC")),
        )
        return {
            int(p["id"]): (p, templates[int(p["template"])], [i for i in identifiers if i["product"] == p["id"]])
            for p in products
        }

    async def _view(
        self, ctx: Context, product: Mapping[str, Any], template: Mapping[str, Any], identifiers: list[dict[str, Any]]
    ) -> View:
        prefix = ctx.settings.id_prefix
        markers = [i for i in identifiers if not i["type"] and str(i["code"]).startswith(prefix)]
        crossdock_id = str(markers[0]["code"])[len(prefix) :] if markers else None
        default_uom = related(template, "default_uom", "symbol")
        payload = {
            "id": int(product["id"]),
            "template": int(template["id"]),
            "code": text(product["code"]),
            "name": text(template["name"]),
            "description": text(product["description"]),
            "type": template["type"],
            "active": flag(template["active"]) and flag(product["active"]),
            "default_uom": default_uom,
            "sale_uom": related(template, "sale_uom", "symbol"),
            "purchase_uom": related(template, "purchase_uom", "symbol"),
            "salable": flag(template["salable"]),
            "purchasable": flag(template["purchasable"]),
            "list_price": decimal_text(template["list_price"]),
            "account_category": _tax_class(ctx, related(template, "account_category", "name")),
            "categories": [await ctx.references.key(CATEGORY, int(c)) for c in template["categories"]],
            "crossdock_id": crossdock_id,
            "identifiers": [
                {"type": i["type"] or None, "code": text(i["code"])} for i in identifiers if i not in markers
            ],
            "packs": _packs(template),
        }
        stamps = [
            product["last_modified_at"],
            template["last_modified_at"],
            *(i["last_modified_at"] for i in identifiers),
        ]
        return View(int(product["id"]), payload, newest(*stamps), crossdock_id)

    async def _template_values(
        self, ctx: Context, payload: Mapping[str, Any], current_categories: Sequence[int]
    ) -> dict[str, Any]:
        default_uom = payload.get("default_uom")
        if not default_uom:
            raise TrytonError(ErrorKind.DATA_QUALITY, f"{ctx.system}: an item needs its default_uom (base UOM)")
        account_category = payload.get("account_category") or ctx.settings.item_account_category
        categories = await ctx.references.ids(CATEGORY, [c for c in payload.get("categories") or [] if c])
        values: dict[str, Any] = {
            "name": payload.get("name"),
            "type": payload.get("type") or "goods",
            "default_uom": await ctx.references.id(UOM, default_uom),
            "sale_uom": await ctx.references.id(UOM, payload.get("sale_uom") or default_uom),
            "purchase_uom": await ctx.references.id(UOM, payload.get("purchase_uom") or default_uom),
            "salable": payload.get("salable", True) is not False,
            "purchasable": payload.get("purchasable", True) is not False,
            "account_category": await ctx.references.id(ACCOUNT_CATEGORY, account_category),
        }
        removed = [c for c in current_categories if c not in categories]
        added = [c for c in categories if c not in current_categories]
        category_actions = ([["remove", removed]] if removed else []) + ([["add", added]] if added else [])
        if category_actions:
            values["categories"] = category_actions
        if payload.get("list_price") is not None:
            values["list_price"] = Decimal(str(payload["list_price"]))
        if payload.get("active") is True:
            # A discontinued SKU deactivates its variant only: the template may hold other, active SKUs.
            values["active"] = True
        return values


def _tax_class(ctx: Context, category: str | None) -> str | None:
    """The accounting category, None for the configured default: new items without a tax class get that one."""
    return None if category == ctx.settings.item_account_category else category


def _changes(values: dict[str, Any], current: Mapping[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in values.items() if key == "categories" or value != current.get(key)}


def _variant_values(payload: Mapping[str, Any]) -> dict[str, Any]:
    values: dict[str, Any] = {"suffix_code": payload.get("code"), "description": payload.get("description")}
    if payload.get("active") is not None:
        values["active"] = bool(payload["active"])
    return values


def _identifiers(payload: Mapping[str, Any]) -> list[dict[str, Any]]:
    return [{"type": row.get("type") or None, "code": row.get("code")} for row in payload.get("identifiers") or []]


def _packs(template: Mapping[str, Any]) -> list[dict[str, Any]]:
    default_symbol = related(template, "default_uom", "symbol")
    default_factor = related(template, "default_uom", "factor") or 1.0
    packs: list[dict[str, Any]] = []
    for field in ("sale_uom", "purchase_uom"):
        symbol = related(template, field, "symbol")
        if symbol and symbol != default_symbol and all(p["uom"] != symbol for p in packs):
            # Factors are floats in Tryton; six places keep 12 as 12 and 1/3 as 0.333333.
            ratio = round(float(related(template, field, "factor")) / float(default_factor), 6)
            packs.append({"uom": symbol, "units": decimal_text(Decimal(str(ratio)))})
    return packs
