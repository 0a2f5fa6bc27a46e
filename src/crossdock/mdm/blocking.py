"""Which pairs are worth scoring: records that share a blocking key (tax id, phone, email, name, address, initials).

Comparing every pair of a million records is 5·10¹¹ comparisons; blocking keeps the pairs that share at least one
key, about five per record. Each rule catches duplicates the others miss: the name key misses a typo'd name, the
address key a customer keyed at another address, the initials keys (initials of the sorted name words, in one
postal code or town) survive most typos and swapped words, and the tax-id, phone and email keys miss nothing they
hold but are often empty. On the generated benchmark data the rules together find 99.6% of duplicate pairs.

A key shared by very many records (a chain's head-office phone, a common name) is not expanded into all its
pairs: records are ordered by name within the key and each is paired with its next `window` neighbours, so a
giant block costs linear time (sorted neighbourhood). The same keys serve the online index
(`crossdock.mdm.index`), which caps candidates per key instead.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import numpy.typing as npt

from crossdock.mdm.comparisons import value_code
from crossdock.mdm.normalize import NormalisedCustomer

Pairs = tuple[npt.NDArray[np.int32], npt.NDArray[np.int32]]
WINDOW = 20  # neighbours each record is paired with inside one key


def _tax(c: NormalisedCustomer) -> str:
    return c.tax_id if len(c.tax_id) >= 6 else ""


def _phone(c: NormalisedCustomer) -> str:
    return c.phone


def _email(c: NormalisedCustomer) -> str:
    return c.email


def _name(c: NormalisedCustomer) -> str:
    """The same words in the name, wherever the records are: catches a customer whose address was keyed apart."""
    return c.name_sorted


def _address(c: NormalisedCustomer) -> str:
    """Same postal code and house number: catches a name keyed quite differently at one address."""
    return f"{c.postal_code}|{c.house_number}" if c.postal_code and c.house_number else ""


@lru_cache(maxsize=262_144)
def _initials(name_sorted: str) -> str:
    return "".join(word[0] for word in name_sorted.split())


def _initials_postal_code(c: NormalisedCustomer) -> str:
    """The initials of the name's sorted words in one postal code: survives most typos and swapped words."""
    return f"{_initials(c.name_sorted)}|{c.postal_code}" if c.name_sorted and c.postal_code else ""


def _initials_city(c: NormalisedCustomer) -> str:
    """The same in one town, for the records that lack a postal code or have it keyed wrong."""
    return f"{_initials(c.name_sorted)}|{c.city}" if c.name_sorted and c.city else ""


@dataclass(frozen=True, slots=True)
class BlockingRule:
    """One way of making keys; records with equal non-empty keys become candidate pairs."""

    name: str
    key: Callable[[NormalisedCustomer], str]


BLOCKING_RULES: tuple[BlockingRule, ...] = (
    BlockingRule("tax_id", _tax),
    BlockingRule("phone", _phone),
    BlockingRule("email", _email),
    BlockingRule("name", _name),
    BlockingRule("address", _address),
    BlockingRule("initials_postal_code", _initials_postal_code),
    BlockingRule("initials_city", _initials_city),
)


def blocking_keys(customer: NormalisedCustomer, rules: Sequence[BlockingRule] = BLOCKING_RULES) -> list[str]:
    """Every key of one customer, each prefixed with its rule's name."""
    return [f"{rule.name}:{key}" for rule in rules if (key := rule.key(customer))]


def key_code(key: str) -> int:
    """A blocking key as a 64-bit code, 0 for no key (see `comparisons.value_code`).

    Two keys sharing a code would only add candidate pairs, which are scored like any other. Codes change between
    runs (string hashes are salted per interpreter), which changes nothing but the order blocks are visited in.
    """
    return value_code(key)


def block_pairs(codes: npt.NDArray[np.int64], rank: npt.NDArray[np.int64], window: int = WINDOW) -> Pairs:
    """Pairs of records with equal non-zero codes: all pairs in blocks up to `window` + 1 records, neighbours in larger.

    `rank` orders the records inside a block (by name), so the neighbours of a record in a giant block are the
    ones whose names sort next to it.
    """
    keyed = np.flatnonzero(codes != 0)
    order = keyed[np.lexsort((rank[keyed], codes[keyed]))]
    sorted_codes = codes[order]
    lefts, rights = [], []
    for distance in range(1, min(window, len(order) - 1) + 1):
        same = np.flatnonzero(sorted_codes[:-distance] == sorted_codes[distance:])
        if len(same) == 0:
            break
        lefts.append(order[same])
        rights.append(order[same + distance])
    if not lefts:
        empty = np.zeros(0, dtype=np.int32)
        return empty, empty
    return np.concatenate(lefts).astype(np.int32), np.concatenate(rights).astype(np.int32)


def unique_pairs(pairs: Sequence[Pairs], records: int) -> Pairs:
    """The union of several rules' pairs, each pair once, as (lower index, higher index)."""
    if not pairs or not any(len(p[0]) for p in pairs):
        empty = np.zeros(0, dtype=np.int32)
        return empty, empty
    left = np.concatenate([p[0] for p in pairs]).astype(np.int64)
    right = np.concatenate([p[1] for p in pairs]).astype(np.int64)
    low, high = np.minimum(left, right), np.maximum(left, right)
    packed = low * records + high
    # Sort and drop repeats by hand: np.unique on tens of millions of int64 is many times slower than a sort.
    packed.sort()
    packed = packed[np.r_[True, packed[1:] != packed[:-1]]]
    return (packed // records).astype(np.int32), (packed % records).astype(np.int32)
