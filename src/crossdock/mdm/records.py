"""A canonical customer (a golden record's document, or a record arriving from a system) flattened to the fields
matching reads, and that flat record to and from JSON for the store's match index."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, fields
from datetime import datetime
from typing import Any

from crossdock.mdm.model import CustomerRecord

# Identifier schemes that name a company's tax registration: D-U-N-S and GLN numbers say where, not who pays tax.
TAX_SCHEMES = ("tax_id", "ein", "vat", "company_registration")
# The address that says where the company is: the billing address first, then whatever there is.
_ADDRESS_ORDER = ("bill_to", "sold_to", "payer", "ship_to", "mailing")
_FIELDS = tuple(f.name for f in fields(CustomerRecord))


def _text(value: Any) -> str | None:
    return value.strip() or None if isinstance(value, str) else None


def _first(items: list[dict[str, Any]], predicate: Any) -> dict[str, Any] | None:
    chosen = [item for item in items if predicate(item)]
    preferred = [item for item in chosen if item.get("preferred") or item.get("is_default")]
    found = preferred or chosen
    return found[0] if found else None


def _address(document: Mapping[str, Any]) -> dict[str, Any] | None:
    addresses = [a for a in document.get("addresses") or [] if isinstance(a, dict)]
    for kind in _ADDRESS_ORDER:
        found = _first(addresses, lambda a, kind=kind: a.get("kind") == kind)
        if found is not None:
            return found
    return addresses[0] if addresses else None


def _contact(document: Mapping[str, Any], channels: tuple[str, ...]) -> str | None:
    points = [p for p in document.get("contact_points") or [] if isinstance(p, dict)]
    found = _first(points, lambda p: p.get("channel") in channels)
    return None if found is None else _text(found.get("value"))


def _tax_id(document: Mapping[str, Any]) -> str | None:
    identifiers = [i for i in document.get("identifiers") or [] if isinstance(i, dict)]
    for scheme in TAX_SCHEMES:
        found = next((i for i in identifiers if i.get("scheme") == scheme and _text(i.get("value"))), None)
        if found is not None:
            return _text(found.get("value"))
    return None


def _updated_at(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value
    if isinstance(value, str) and value:
        try:
            return datetime.fromisoformat(value)
        except ValueError:
            return None
    return None


def customer_record(record_id: str, document: Mapping[str, Any], *, system: str = "golden") -> CustomerRecord:
    """A canonical customer document as the flat record matching compares."""
    address = _address(document) or {}
    lines = [line for line in address.get("lines") or [] if isinstance(line, str) and line.strip()]
    return CustomerRecord(
        record_id=record_id,
        system=system,
        name=_text(document.get("name")) or "",
        legal_name=_text(document.get("legal_name")),
        tax_id=_tax_id(document),
        phone=_contact(document, ("phone", "mobile")),
        email=_contact(document, ("email",)),
        street=" ".join(lines) or None,
        city=_text(address.get("city")),
        region=_text(address.get("region")),
        postal_code=_text(address.get("postal_code")),
        country=_text(address.get("country")),
        updated_at=_updated_at(document.get("updated_at")),
    )


def record_json(record: CustomerRecord) -> dict[str, Any]:
    """The record as JSON (for the match index and for stewardship cases)."""
    values = asdict(record)
    values["updated_at"] = None if record.updated_at is None else record.updated_at.isoformat()
    return values


def record_from_json(values: Mapping[str, Any]) -> CustomerRecord:
    """A record back from `record_json`; unknown keys are ignored, so older index rows still read."""
    known: dict[str, Any] = {name: values.get(name) for name in _FIELDS if name in values}
    known["updated_at"] = _updated_at(values.get("updated_at"))
    known["record_id"] = str(known.get("record_id") or "")
    known["system"] = str(known.get("system") or "golden")
    known["name"] = str(known.get("name") or "")
    return CustomerRecord(**known)
