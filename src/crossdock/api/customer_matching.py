"""Is a customer asking to be onboarded one we already have? A deterministic first answer, behind a port.

`NormalisedCustomerMatcher` calls two customers the same when they share a tax id, or when their company names
agree once case, punctuation, accents and legal suffixes are dropped ("ACME Supply, Inc." = "Acme Supply") and
they share a postal code. The [mdm] work replaces it with a scoring matcher behind the same `CustomerMatcher`.

Where the candidates come from is the weak part today: the `GoldenRecords` port answers by canonical id only, so
there is no way to search golden customers by name or tax id. The matcher scans golden customers through an
optional `scan(entity, limit=...)` on the repository, bounded to `scan_limit` (10,000) records; a store without it
yields no candidates and every request goes to review. What it needs is a match-key index kept with the golden
records, e.g. `cd_golden_match_keys(entity, kind, key, canonical_id)` indexed on `(entity, kind, key)`, holding
the normalised tax ids and (name, postal code) keys this module computes, written by `GoldenRecords.put`.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

from crossdock.ports.store import GoldenRecord, UnitOfWork

logger = logging.getLogger(__name__)

SCAN_LIMIT = 10_000
# Words that say what kind of company it is, not which one: "Acme Supply LLC" and "ACME SUPPLY" are one company.
LEGAL_SUFFIXES = frozenset(
    {
        "ab", "ag", "as", "bv", "co", "company", "corp", "corporation", "gmbh", "inc", "incorporated", "kg", "lp",
        "llc", "llp", "ltd", "limited", "nv", "oy", "plc", "pty", "sa", "sarl", "spa", "srl",
    }
)  # fmt: skip
# Identifier schemes that name a company's tax registration; D-U-N-S and GLN numbers are not tax ids, and a D-U-N-S
# number can share its nine digits with an unrelated EIN.
TAX_SCHEMES = frozenset({"tax_id", "vat", "ein"})
_NOT_WORD = re.compile(r"[^0-9a-z]+")
_NOT_ALNUM = re.compile(r"[^0-9A-Z]+")


def company_key(name: str) -> str:
    """The name with case, accents, punctuation and trailing legal suffixes dropped: `acme supply`."""
    plain = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii").lower()
    words = _NOT_WORD.sub(" ", plain.replace("&", " and ")).split()
    while len(words) > 1 and words[-1] in LEGAL_SUFFIXES:
        words.pop()
    return " ".join(words)


def tax_key(value: str) -> str:
    """A tax id with separators dropped and letters upper-cased: `12-3456789` is `123456789`."""
    return _NOT_ALNUM.sub("", value.upper())


def postal_key(country: str, postal_code: str) -> str:
    """A postal code with spaces and dashes dropped, per country; US ZIP+4 counts as its five-digit ZIP."""
    code = _NOT_ALNUM.sub("", postal_code.upper())
    return f"{country.upper()}:{code[:5] if country.upper() == 'US' else code}"


@dataclass(frozen=True, slots=True)
class CustomerProfile:
    """What a match is decided on, normalised."""

    names: frozenset[str]  # company keys of the name and the legal name
    tax_ids: frozenset[str]
    postal_codes: frozenset[str]  # postal keys of every address

    @classmethod
    def of(
        cls, names: Iterable[str | None], tax_ids: Iterable[str | None], addresses: Iterable[tuple[str, str | None]]
    ) -> CustomerProfile:
        """A profile from raw names, tax ids and (country, postal code) pairs; blanks are skipped."""
        return cls(
            names=frozenset(key for name in names if name and (key := company_key(name))),
            tax_ids=frozenset(key for value in tax_ids if value and (key := tax_key(value))),
            postal_codes=frozenset(postal_key(country, code) for country, code in addresses if country and code),
        )

    @classmethod
    def of_golden(cls, document: dict[str, Any]) -> CustomerProfile:
        """A profile from a golden customer document (the canonical Customer, as JSON)."""
        identifiers = [i for i in document.get("identifiers") or [] if isinstance(i, dict)]
        addresses = [a for a in document.get("addresses") or [] if isinstance(a, dict)]
        return cls.of(
            [document.get("name"), document.get("legal_name")],
            [str(i.get("value", "")) for i in identifiers if i.get("scheme") in TAX_SCHEMES],
            [(str(a.get("country", "")), a.get("postal_code")) for a in addresses],
        )

    def match_on(self, other: CustomerProfile) -> list[str]:
        """What the two profiles agree on that makes them one customer; empty when they are not."""
        matched = []
        if self.tax_ids & other.tax_ids:
            matched.append("tax_id")
        if self.names & other.names and self.postal_codes & other.postal_codes:
            matched += ["name", "postal_code"]
        return matched


@dataclass(frozen=True, slots=True)
class CustomerMatch:
    """An existing customer the request is likely the same as, and why."""

    customer_id: str
    matched_on: tuple[str, ...]


class CustomerMatcher(Protocol):
    """Finds the existing customer an onboarding request likely is."""

    def match(self, uow: UnitOfWork, profile: CustomerProfile) -> CustomerMatch | None:
        """The best match among existing customers, or None."""
        ...


@runtime_checkable
class ScansGoldenRecords(Protocol):
    """A golden-record repository that can list records of an entity (not part of the `GoldenRecords` port yet)."""

    def scan(self, entity: str, *, limit: int) -> Sequence[GoldenRecord]:
        """Up to `limit` golden records of `entity`."""
        ...


Candidates = Callable[[UnitOfWork, int], Iterable[GoldenRecord]]


def scanned_golden_customers(uow: UnitOfWork, limit: int) -> Iterable[GoldenRecord]:
    """Golden customers, if the store can list them; none otherwise (every request then goes to review)."""
    if isinstance(uow.golden, ScansGoldenRecords):
        return uow.golden.scan("customer", limit=limit)
    return ()


class NormalisedCustomerMatcher:
    """Same tax id, or same normalised company name and postal code, among at most `scan_limit` golden customers."""

    def __init__(self, candidates: Candidates = scanned_golden_customers, *, scan_limit: int = SCAN_LIMIT) -> None:
        self._candidates = candidates
        self._scan_limit = scan_limit

    def match(self, uow: UnitOfWork, profile: CustomerProfile) -> CustomerMatch | None:
        """The best match: a tax id match before a name match, then the lowest canonical id (deterministic)."""
        best: tuple[int, str, list[str]] | None = None
        seen = 0
        for record in self._candidates(uow, self._scan_limit):
            seen += 1
            matched = profile.match_on(CustomerProfile.of_golden(record.document))
            if not matched:
                continue
            rank = (0 if "tax_id" in matched else 1, record.canonical_id)
            if best is None or rank < best[:2]:
                best = (*rank, matched)
        if seen >= self._scan_limit:
            logger.warning(
                "customer matching compared only the first %d golden customers; duplicates beyond them go to review",
                self._scan_limit,
            )
        return None if best is None else CustomerMatch(best[1], tuple(best[2]))
