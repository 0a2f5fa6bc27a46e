"""What a mapping needs besides the file: who the parties are, code conversions and defaults for what X12 omits."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, tzinfo

_UOM_FROM_X12 = {"CA": "CS", "UN": "EA", "PC": "EA", "PCS": "EA"}
_UOM_TO_X12 = {"CS": "CA"}
_NOT_ID = re.compile(r"\s+")


@dataclass(frozen=True, slots=True)
class X12CodeTable:
    """Code conversions between X12 and the canonical model (UOM, ship methods); a partner profile overrides them."""

    uom_from_x12: Mapping[str, str] = field(default_factory=lambda: dict(_UOM_FROM_X12))
    """X12 unit codes whose canonical spelling differs (CA case is canonical CS)."""
    uom_to_x12: Mapping[str, str] = field(default_factory=lambda: dict(_UOM_TO_X12))
    ship_methods_from_x12: Mapping[str, str] = field(default_factory=dict)
    """TD5 routing or carrier codes to canonical ship method codes (UPSG → ups_ground)."""
    ship_methods_to_x12: Mapping[str, str] = field(default_factory=dict)

    def uom(self, x12_code: str) -> str:
        """The canonical UOM for an X12 unit code."""
        return self.uom_from_x12.get(x12_code, x12_code)

    def x12_uom(self, canonical: str) -> str:
        """The X12 unit code for a canonical UOM."""
        return self.uom_to_x12.get(canonical, canonical)

    def ship_method(self, x12_code: str) -> str:
        """The canonical ship method for a TD5 routing or carrier code."""
        return self.ship_methods_from_x12.get(x12_code, x12_code)

    def x12_ship_method(self, canonical: str) -> str:
        """The TD5 routing code for a canonical ship method."""
        return self.ship_methods_to_x12.get(canonical, canonical)

    def overridden(
        self, *, uom: Mapping[str, str] | None = None, ship_methods: Mapping[str, str] | None = None
    ) -> X12CodeTable:
        """A copy with a partner's X12 → canonical overrides added (and their reverse for writing)."""
        uom = dict(uom or {})
        ships = dict(ship_methods or {})
        return replace(
            self,
            uom_from_x12={**self.uom_from_x12, **uom},
            uom_to_x12={**self.uom_to_x12, **{v: k for k, v in uom.items()}},
            ship_methods_from_x12={**self.ship_methods_from_x12, **ships},
            ship_methods_to_x12={**self.ship_methods_to_x12, **{v: k for k, v in ships.items()}},
        )


@dataclass(frozen=True, slots=True)
class X12Context:
    """The parties and defaults for mapping one partner's documents to canonical objects."""

    sender_id: str
    """Canonical id of the party that sent the document (the customer of an inbound 850, the supplier of an 855)."""
    receiver_id: str
    """Canonical id of the party it was sent to."""
    system: str = "edi"
    """The system name external references are recorded under."""
    codes: X12CodeTable = field(default_factory=X12CodeTable)
    currency: str = "USD"
    """The currency when the document has no CUR segment."""
    country: str = "US"
    """The country of an address whose N4 names none."""
    timezone: tzinfo = UTC
    """The partner's timezone, for dates and times X12 gives without one."""
    ship_to_location_id: str | None = None
    """Our receiving warehouse, when a ship notice names no ship-to."""

    def document_id(self, kind: str, number: str) -> str:
        """A stable canonical id for a document from this sender (`po:cus_42:4711`)."""
        return _NOT_ID.sub("_", f"{kind}:{self.sender_id}:{number}")[:200]

    def item_id(self, sku: str) -> str:
        """The canonical item id for an item number; the cross-reference resolves it to the real item later."""
        return _NOT_ID.sub("_", f"item:{sku}")[:200]

    def own_document_id(self, kind: str, number: str) -> str:
        """The canonical id of a document we numbered ourselves (our PO that an 855 or 856 answers)."""
        return _NOT_ID.sub("_", f"{kind}:{number}")[:200]
