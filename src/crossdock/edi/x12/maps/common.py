"""Helpers every X12 mapping shares: safe element access, dates and numbers, N1 party loops and product ids."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time
from decimal import Decimal, InvalidOperation
from typing import TypeVar

from pydantic import ValidationError

from crossdock.edi.x12.errors import X12MappingError
from crossdock.edi.x12.maps.context import X12Context
from crossdock.edi.x12.tokenizer import Segment
from crossdock.model.addresses import Address, AddressKind
from crossdock.model.common import Money, Quantity

T = TypeVar("T")

_WEIGHT_UNITS = {"LB": "LB", "LBR": "LB", "KG": "KG", "KGM": "KG", "GR": "G", "OZ": "OZ"}


def beginning_segment(segments: list[Segment], tag: str, set_id: str, what: str, position: int) -> Segment:
    """The set's beginning segment (BEG, BAK, BSN, BIG, BIA), or the mapping error every reader gives without it."""
    found = next((segment for segment in segments if segment[0] == tag), None)
    if found is None:
        raise X12MappingError(f"the {set_id} has no {tag} segment; it cannot be read as {what}", position=position)
    return found


def value(segment: Segment, index: int) -> str:
    """Element `index` of `segment` (1-based), or "" when the segment is shorter."""
    return segment[index].strip() if index < len(segment) else ""


def to_decimal(text: str, what: str, position: int, *, implied: int = 0) -> Decimal:
    """`text` as a Decimal; `implied` decimal places for Nn elements (TDS01 `8668` with 2 is 86.68)."""
    try:
        number = Decimal(text)
    except InvalidOperation:
        raise X12MappingError(f"{what} {text!r} is not a number; correct it", position=position) from None
    if not number.is_finite():
        raise X12MappingError(f"{what} {text!r} is not a finite number", position=position)
    return number.scaleb(-implied) if implied else number


def to_date(text: str, what: str, position: int) -> date:
    """A CCYYMMDD (or YYMMDD) element as a date."""
    try:
        if len(text) == 8:
            return date(int(text[:4]), int(text[4:6]), int(text[6:]))
        if len(text) == 6:
            return date(2000 + int(text[:2]), int(text[2:4]), int(text[4:]))
    except ValueError:
        pass
    raise X12MappingError(f"{what} {text!r} is not a date (CCYYMMDD); correct it", position=position)


def to_time(text: str, what: str, position: int) -> time:
    """An HHMM[SS] element as a time (hundredths dropped)."""
    try:
        if len(text) >= 4 and text.isdigit():
            seconds = int(text[4:6]) if len(text) >= 6 else 0
            return time(int(text[:2]), int(text[2:4]), seconds)
    except ValueError:
        pass
    raise X12MappingError(f"{what} {text!r} is not a time (HHMM or HHMMSS); correct it", position=position)


def at(day: date, clock: time | None, context: X12Context) -> datetime:
    """The instant of a date and optional time given in the partner's timezone."""
    return datetime.combine(day, clock or time(0), tzinfo=context.timezone)


def number_text(number: Decimal) -> str:
    """A decimal in plain X12 R notation: no exponent, no trailing zeros (`9.25`, `120`)."""
    text = format(number.normalize(), "f")
    return text if text != "-0" else "0"


def implied_text(number: Decimal, places: int = 2) -> str:
    """A decimal as an Nn element with `places` implied decimals (86.68 → `8668`)."""
    scaled = number.scaleb(places)
    if scaled != scaled.to_integral_value():
        raise X12MappingError(f"amount {number} has more than {places} decimals; an N{places} element cannot carry it")
    return str(int(scaled))


def date_text(day: date) -> str:
    """A date as CCYYMMDD."""
    return day.strftime("%Y%m%d")


def canonical(build: Callable[[], T], what: str, position: int) -> T:
    """Build a canonical object; its validation errors become X12MappingError naming the document."""
    try:
        return build()
    except ValidationError as error:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'document'}: {e['msg']}" for e in error.errors()[:5]
        )
        raise X12MappingError(
            f"{what} does not make a valid canonical object ({problems}); correct the file or the partner's mapping",
            position=position,
        ) from None


def quantity(amount: str, uom: str, context: X12Context, what: str, position: int) -> Quantity:
    """An X12 quantity and unit code as a canonical Quantity, converting the unit through the code table."""
    number = to_decimal(amount, what, position)
    return canonical(lambda: Quantity.of(number, context.codes.uom(uom or "EA")), what, position)


def money(amount: str, currency: str, what: str, position: int) -> Money:
    """An X12 amount as Money."""
    number = to_decimal(amount, what, position)
    return canonical(lambda: Money.of(number, currency), what, position)


def weight_unit(code: str) -> str | None:
    """The canonical weight unit for an X12 unit code (LB, KG), or None for units that are not weights."""
    return _WEIGHT_UNITS.get(code)


def product_ids(segment: Segment, first: int) -> dict[str, str]:
    """Qualifier → id for the product id pairs starting at element `first` (PO106/PO107, LIN02/LIN03...)."""
    ids: dict[str, str] = {}
    for index in range(first, len(segment) - 1, 2):
        qualifier, code = segment[index].strip(), segment[index + 1].strip()
        if qualifier and code and qualifier not in ids:
            ids[qualifier] = code
    return ids


def first_id(ids: dict[str, str], qualifiers: tuple[str, ...]) -> str | None:
    """The id of the first qualifier in `qualifiers` that `ids` has."""
    return next((ids[q] for q in qualifiers if q in ids), None)


@dataclass
class Party:
    """An N1 loop: entity code, name, id and the address from N2/N3/N4."""

    entity: str
    name: str
    id_qualifier: str
    id_code: str
    position: int
    attention: str = ""
    lines: list[str] = field(default_factory=list)
    city: str = ""
    region: str = ""
    postal_code: str = ""
    country: str = ""

    def address(self, kind: AddressKind, context: X12Context) -> Address | None:
        """The party's postal address, or None when the loop carries no street and city."""
        if not self.lines or not self.city:
            return None
        country = self.country or context.country
        postal = self.postal_code or None
        if postal and country == "US" and len(postal) == 9 and postal.isdigit():
            postal = f"{postal[:5]}-{postal[5:]}"
        return canonical(
            lambda: Address(
                kind=kind,
                country=country,
                lines=self.lines[:5],
                city=self.city,
                region=self.region or None,
                postal_code=postal,
                name=self.name or None,
                attention=self.attention or None,
            ),
            f"the {self.entity} address",
            self.position,
        )


def read_party(segments: list[Segment], index: int, start_position: int) -> tuple[Party, int]:
    """The N1 loop at `segments[index]` and the index after it."""
    n1 = segments[index]
    party = Party(value(n1, 1), value(n1, 2), value(n1, 3), value(n1, 4), start_position + index)
    index += 1
    while index < len(segments) and segments[index][0] in ("N2", "N3", "N4", "REF", "PER"):
        segment = segments[index]
        tag = segment[0]
        if tag == "N2":
            party.attention = party.attention or value(segment, 1)
        elif tag == "N3":
            party.lines.extend(v for v in (value(segment, 1), value(segment, 2)) if v)
        elif tag == "N4" and not party.city:
            party.city, party.region = value(segment, 1), value(segment, 2)
            party.postal_code, party.country = value(segment, 3), value(segment, 4)
        index += 1
    return party, index


def party_segments(entity: str, address: Address | None, location_id: str | None) -> list[Segment]:
    """An N1 loop for a party: N1 with name and location id (qualifier 92), N2 attention, N3 lines, N4."""
    name = (address.name if address is not None else None) or ""
    n1 = ["N1", entity, name, "92" if location_id else "", location_id or ""]
    if not name and not location_id:
        n1[2] = entity
    segments = [n1]
    if address is None:
        return segments
    if address.attention:
        segments.append(["N2", address.attention])
    if len(address.lines) > 4:
        raise X12MappingError(f"the {entity} address has {len(address.lines)} street lines; X12 carries at most 4")
    segments.extend(["N3", *address.lines[first : first + 2]] for first in range(0, len(address.lines), 2))
    segments.append(["N4", address.city, address.region or "", address.postal_code or "", address.country])
    return segments


def loops(segments: list[Segment], header: str, stops: tuple[str, ...]) -> Iterator[tuple[int, list[Segment]]]:
    """Each iteration of the loop started by `header` (its index and segments) until a segment in `stops`."""
    start: int | None = None
    for index, segment in enumerate(segments):
        tag = segment[0]
        if tag == header or tag in stops:
            if start is not None:
                yield start, segments[start:index]
            start = index if tag == header else None
            if tag in stops:
                return
    if start is not None:
        yield start, segments[start:]
