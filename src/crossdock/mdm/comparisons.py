"""How two normalised customers compare, field by field, as discrete agreement levels.

Each comparison turns a pair into a level: 0 is "missing" (no evidence either way), 1 the strongest agreement, the
last level a clear disagreement. The Fellegi-Sunter model (`fellegi_sunter`) gives every level a weight. The same
rules exist twice, for one pair (`compare_levels`, the online path and explanations) and for millions of pairs at
once over columns (`compare_columns`, the batch dedupe); `tests/unit/mdm` checks that both give the same levels.

Street, city and postal code form one `address` comparison rather than three: they are strongly dependent (the
same ZIP nearly always means the same city), and summing them as independent evidence would count one shared
building three times.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
from rapidfuzz import fuzz, process
from rapidfuzz.distance import OSA, JaroWinkler

from crossdock.mdm.model import Agreement
from crossdock.mdm.normalize import NormalisedCustomer

Index = npt.NDArray[np.int32]  # record positions; pairs are two of these
Codes = npt.NDArray[np.int64]
Levels = npt.NDArray[np.int8]

MISSING = 0
# Per field, the levels 1..k as (label, how they read in an explanation); level 0 is always "missing".
FIELD_LEVELS: dict[str, tuple[tuple[str, Agreement], ...]] = {
    "name": (
        ("same words", Agreement.EXACT),
        ("close", Agreement.CLOSE),
        ("one name contains the other", Agreement.CLOSE),
        ("similar", Agreement.CLOSE),
        ("different", Agreement.DIFFERENT),
    ),
    "tax_id": (("exact", Agreement.EXACT), ("one edit apart", Agreement.CLOSE), ("different", Agreement.DIFFERENT)),
    "address": (
        ("same street address", Agreement.EXACT),
        ("close street address", Agreement.CLOSE),
        ("same postal code or town, one street missing", Agreement.CLOSE),
        ("same postal code or town, other street", Agreement.DIFFERENT),
        ("nearby", Agreement.DIFFERENT),
        ("different", Agreement.DIFFERENT),
    ),
    "phone": (("exact", Agreement.EXACT), ("different", Agreement.DIFFERENT)),
    "email": (("exact", Agreement.EXACT), ("same company domain", Agreement.CLOSE), ("different", Agreement.DIFFERENT)),
}
FIELDS: tuple[str, ...] = tuple(FIELD_LEVELS)
NAME, TAX_ID, ADDRESS, PHONE, EMAIL = range(len(FIELDS))
# Fields a company shares across its branches, in the order they are weighed, and the levels at which each
# says "one company"; after the first of them agrees, the rest are weighed as look-alikes (`fellegi_sunter`).
COMPANY_FIELDS = (TAX_ID, PHONE, EMAIL)
COMPANY_AGREES: dict[int, tuple[int, ...]] = {NAME: (1, 2, 3, 4), TAX_ID: (1, 2), PHONE: (1,), EMAIL: (1, 2)}

NAME_CLOSE = 92.0  # rapidfuzz ratio, 0..100: one or two typos in a 20-letter name
NAME_SIMILAR = 80.0
# Containment is only looked for from this similarity up: below it the extra words outweigh the shared ones, and
# rapidfuzz's token_set_ratio is the costliest comparison, too slow to run on every random pair.
NAME_CONTAINS_FROM = 60.0
STREET_CLOSE = 85.0  # with the same house number: "123 N MAIN ST" against "123 N MIAN ST"
STREET_CLOSE_NO_NUMBER = 90.0
CITY_CLOSE = 0.92  # Jaro-Winkler, 0..1: "CHICAGO" against "CHICAG0"
TAX_ID_MIN_LENGTH = 6  # one edit apart counts only for ids long enough that one edit is a typo, not another id

# Address locality: how the places (postal code, else city) of two records relate.
_PLACE_UNKNOWN, _PLACE_SAME, _PLACE_NEAR, _PLACE_OTHER = range(4)


def _name_level(a: NormalisedCustomer, b: NormalisedCustomer) -> int:
    if not a.name or not b.name:
        return MISSING
    if a.name_sorted == b.name_sorted:
        return 1
    similarity = max(fuzz.ratio(a.name, b.name), fuzz.ratio(a.name_sorted, b.name_sorted))
    if similarity >= NAME_CLOSE:
        return 2
    # "Ace Supply" and "Ace Supply - Peoria": a branch's name, or a name keyed short.
    if similarity >= NAME_CONTAINS_FROM and fuzz.token_set_ratio(a.name_sorted, b.name_sorted) == 100:
        return 3
    return 4 if similarity >= NAME_SIMILAR else 5


def _tax_level(a: NormalisedCustomer, b: NormalisedCustomer) -> int:
    if not a.tax_id or not b.tax_id:
        return MISSING
    if a.tax_id == b.tax_id:
        return 1
    close = min(len(a.tax_id), len(b.tax_id)) >= TAX_ID_MIN_LENGTH and OSA.distance(a.tax_id, b.tax_id) <= 1
    return 2 if close else 3


def _place(a: NormalisedCustomer, b: NormalisedCustomer) -> int:
    if a.country and b.country and a.country != b.country:
        return _PLACE_OTHER
    city_same = bool(a.city and b.city) and (a.city == b.city or JaroWinkler.similarity(a.city, b.city) >= CITY_CLOSE)
    if a.postal_code and b.postal_code:
        if a.postal_code == b.postal_code:
            return _PLACE_SAME
        near = a.postal_code[:3] == b.postal_code[:3]
        return _PLACE_NEAR if near or city_same else _PLACE_OTHER
    if a.city and b.city:
        return _PLACE_SAME if city_same else _PLACE_OTHER
    return _PLACE_UNKNOWN


def _street_close(a: NormalisedCustomer, b: NormalisedCustomer) -> bool:
    if a.house_number and b.house_number:
        return a.house_number == b.house_number and fuzz.ratio(a.street, b.street) >= STREET_CLOSE
    return fuzz.ratio(a.street, b.street) >= STREET_CLOSE_NO_NUMBER


def _address_level(a: NormalisedCustomer, b: NormalisedCustomer) -> int:
    place = _place(a, b)
    if a.street and b.street:
        if place in (_PLACE_SAME, _PLACE_UNKNOWN):
            if a.street == b.street:
                return 1
            if _street_close(a, b):
                return 2
            return 4 if place == _PLACE_SAME else 6
        return 5 if place == _PLACE_NEAR else 6
    return (MISSING, 3, 5, 6)[place]


def _phone_level(a: NormalisedCustomer, b: NormalisedCustomer) -> int:
    if not a.phone or not b.phone:
        return MISSING
    return 1 if a.phone == b.phone else 2


def _email_level(a: NormalisedCustomer, b: NormalisedCustomer) -> int:
    if not a.email or not b.email:
        return MISSING
    if a.email == b.email:
        return 1
    return 2 if a.email_domain and a.email_domain == b.email_domain else 3


def compare_levels(a: NormalisedCustomer, b: NormalisedCustomer) -> tuple[int, ...]:
    """The level of each field in `FIELDS` order, for one pair."""
    return (_name_level(a, b), _tax_level(a, b), _address_level(a, b), _phone_level(a, b), _email_level(a, b))


def value_code(value: str) -> int:
    """A value as a 64-bit code for equality tests in columns, 0 for missing.

    Codes are Python string hashes, the same within one process and the worker processes it forks, so workers
    can code their share of the records. Two different values sharing a code would read as equal; at 64 bits that
    is not expected once in the 10¹³ pairs of a million-record dedupe, let alone the few million compared.
    """
    return hash(value) | 1 if value else 0


def _strings(values: Sequence[object]) -> npt.NDArray[np.object_]:
    column = np.empty(len(values), dtype=object)
    column[:] = values
    return column


# Columns kept as strings, for fuzzy comparison (and the record ids, to name results).
STRING_COLUMNS = ("record_id", "name", "name_sorted", "tax_id", "street", "city")
# Columns kept as codes, for equality: column name and the value it codes.
CODE_COLUMNS: tuple[tuple[str, Callable[[NormalisedCustomer], str]], ...] = (
    ("name_code", lambda c: c.name_sorted),
    ("tax_code", lambda c: c.tax_id),
    ("street_code", lambda c: c.street),
    ("house_code", lambda c: c.house_number),
    ("city_code", lambda c: c.city),
    ("country", lambda c: c.country),
    ("postal_code", lambda c: c.postal_code),
    ("postal_area", lambda c: c.postal_code[:3]),
    ("phone", lambda c: c.phone),
    ("email", lambda c: c.email),
    ("email_domain", lambda c: c.email_domain),
)
ColumnLists = dict[str, list[str] | list[int]]


def column_lists(customers: Sequence[NormalisedCustomer]) -> ColumnLists:
    """Customers as plain lists per column (strings and codes): cheap to send between processes and to join."""
    lists: ColumnLists = {name: [getattr(c, name) for c in customers] for name in STRING_COLUMNS}
    for name, value in CODE_COLUMNS:
        lists[name] = [value_code(value(c)) for c in customers]
    return lists


@dataclass(frozen=True, slots=True)
class CustomerColumns:
    """Normalised customers as columns: strings for fuzzy comparison, integer codes for equality."""

    record_ids: list[str]
    name: npt.NDArray[np.object_]
    name_sorted: npt.NDArray[np.object_]
    name_code: Codes
    tax_id: npt.NDArray[np.object_]
    tax_code: Codes
    street: npt.NDArray[np.object_]
    street_code: Codes
    house_code: Codes
    city: npt.NDArray[np.object_]
    city_code: Codes
    country: Codes
    postal_code: Codes
    postal_area: Codes  # code of the postal code's first three characters
    phone: Codes
    email: Codes
    email_domain: Codes

    @classmethod
    def of(cls, customers: Sequence[NormalisedCustomer]) -> CustomerColumns:
        """Columns of `customers`, in their order."""
        return cls.from_lists(column_lists(customers))

    @classmethod
    def from_lists(cls, lists: ColumnLists) -> CustomerColumns:
        """Columns from `column_lists` output (possibly several joined end to end)."""

        def text(name: str) -> npt.NDArray[np.object_]:
            return _strings(lists[name])

        def code(name: str) -> Codes:
            return np.array(lists[name], dtype=np.int64)

        return cls(
            record_ids=[str(record_id) for record_id in lists["record_id"]],
            name=text("name"),
            name_sorted=text("name_sorted"),
            name_code=code("name_code"),
            tax_id=text("tax_id"),
            tax_code=code("tax_code"),
            street=text("street"),
            street_code=code("street_code"),
            house_code=code("house_code"),
            city=text("city"),
            city_code=code("city_code"),
            country=code("country"),
            postal_code=code("postal_code"),
            postal_area=code("postal_area"),
            phone=code("phone"),
            email=code("email"),
            email_domain=code("email_domain"),
        )

    def __len__(self) -> int:
        return len(self.record_ids)


def _similarity(
    column: npt.NDArray[np.object_], left: Index, right: Index, scorer: Any, workers: int
) -> npt.NDArray[np.float64]:
    if len(left) == 0:
        return np.zeros(0)
    result: npt.NDArray[np.float64] = process.cpdist(
        column[left], column[right], scorer=scorer, dtype=np.float64, workers=workers
    )
    return result


def _name_levels(c: CustomerColumns, left: Index, right: Index, workers: int) -> Levels:
    a, b = c.name_code[left], c.name_code[right]
    levels = np.full(len(left), 5, dtype=np.int8)
    levels[(a == 0) | (b == 0)] = MISSING
    levels[(a == b) & (a != 0)] = 1
    fuzzy = np.flatnonzero(levels == 5)
    similarity = np.maximum(
        _similarity(c.name, left[fuzzy], right[fuzzy], fuzz.ratio, workers),
        _similarity(c.name_sorted, left[fuzzy], right[fuzzy], fuzz.ratio, workers),
    )
    levels[fuzzy] = np.where(similarity >= NAME_CLOSE, 2, np.where(similarity >= NAME_SIMILAR, 4, 5))
    unsure = fuzzy[(similarity < NAME_CLOSE) & (similarity >= NAME_CONTAINS_FROM)]
    contained = _similarity(c.name_sorted, left[unsure], right[unsure], fuzz.token_set_ratio, workers) == 100
    levels[unsure[contained]] = 3
    return levels


def _tax_levels(c: CustomerColumns, left: Index, right: Index, workers: int) -> Levels:
    a, b = c.tax_code[left], c.tax_code[right]
    levels = np.full(len(left), 3, dtype=np.int8)
    levels[(a == 0) | (b == 0)] = MISSING
    levels[(a == b) & (a != 0)] = 1
    other = np.flatnonzero(levels == 3)
    if len(other):
        lengths = np.fromiter((len(s) for s in c.tax_id[left[other]]), dtype=np.int32, count=len(other))
        lengths = np.minimum(lengths, [len(s) for s in c.tax_id[right[other]]])
        edits = _similarity(c.tax_id, left[other], right[other], OSA.distance, workers)
        levels[other[(lengths >= TAX_ID_MIN_LENGTH) & (edits <= 1)]] = 2
    return levels


def _places(c: CustomerColumns, left: Index, right: Index, workers: int) -> Levels:
    city_a, city_b = c.city_code[left], c.city_code[right]
    city_both = (city_a != 0) & (city_b != 0)
    city_same = city_both & (city_a == city_b)
    fuzzy = np.flatnonzero(city_both & ~city_same)
    city_same[fuzzy] = _similarity(c.city, left[fuzzy], right[fuzzy], JaroWinkler.similarity, workers) >= CITY_CLOSE
    postal_a, postal_b = c.postal_code[left], c.postal_code[right]
    postal_both = (postal_a != 0) & (postal_b != 0)
    near = c.postal_area[left] == c.postal_area[right]
    places = np.full(len(left), _PLACE_UNKNOWN, dtype=np.int8)
    places[city_both] = np.where(city_same[city_both], _PLACE_SAME, _PLACE_OTHER)
    places[postal_both] = np.where(
        postal_a[postal_both] == postal_b[postal_both],
        _PLACE_SAME,
        np.where(near[postal_both] | city_same[postal_both], _PLACE_NEAR, _PLACE_OTHER),
    )
    # A country missing on one side is unknown, not different: US systems often leave it empty.
    country_a, country_b = c.country[left], c.country[right]
    places[(country_a != 0) & (country_b != 0) & (country_a != country_b)] = _PLACE_OTHER
    return places


def _address_levels(c: CustomerColumns, left: Index, right: Index, workers: int) -> Levels:
    places = _places(c, left, right, workers)
    street_a, street_b = c.street_code[left], c.street_code[right]
    street_both = (street_a != 0) & (street_b != 0)
    # Without two streets, the place alone decides: unknown, same, near, other.
    levels = np.array([MISSING, 3, 5, 6], dtype=np.int8)[places]
    placed = street_both & ((places == _PLACE_SAME) | (places == _PLACE_UNKNOWN))
    levels[street_both & (places == _PLACE_NEAR)] = 5
    levels[street_both & (places == _PLACE_OTHER)] = 6
    levels[placed] = np.where(places[placed] == _PLACE_SAME, 4, 6)
    exact = placed & (street_a == street_b)
    levels[exact] = 1
    fuzzy = np.flatnonzero(placed & ~exact)
    similarity = _similarity(c.street, left[fuzzy], right[fuzzy], fuzz.ratio, workers)
    house_a, house_b = c.house_code[left[fuzzy]], c.house_code[right[fuzzy]]
    numbered = (house_a != 0) & (house_b != 0)
    close = np.where(
        numbered, (house_a == house_b) & (similarity >= STREET_CLOSE), similarity >= STREET_CLOSE_NO_NUMBER
    )
    levels[fuzzy[close]] = 2
    return levels


def _equal_levels(codes: Codes, left: Index, right: Index) -> Levels:
    a, b = codes[left], codes[right]
    levels = np.where(a == b, 1, 2).astype(np.int8)
    levels[(a == 0) | (b == 0)] = MISSING
    return levels


def _email_levels(c: CustomerColumns, left: Index, right: Index) -> Levels:
    levels = _equal_levels(c.email, left, right)
    domain_a, domain_b = c.email_domain[left], c.email_domain[right]
    levels[levels == 2] = 3
    levels[(levels == 3) & (domain_a == domain_b) & (domain_a != 0)] = 2
    return levels


def compare_columns(columns: CustomerColumns, left: Index, right: Index, *, workers: int = 1) -> Levels:
    """Levels of many pairs at once: row i compares record `left[i]` with `right[i]`; columns in `FIELDS` order."""
    levels = np.empty((len(left), len(FIELDS)), dtype=np.int8)
    levels[:, NAME] = _name_levels(columns, left, right, workers)
    levels[:, TAX_ID] = _tax_levels(columns, left, right, workers)
    levels[:, ADDRESS] = _address_levels(columns, left, right, workers)
    levels[:, PHONE] = _equal_levels(columns.phone, left, right)
    levels[:, EMAIL] = _email_levels(columns, left, right)
    return levels
