"""Reference data looked up by code or name (countries, currencies, payment terms, UOMs, categories), cached.

Payloads name reference records by their business key (`US`, `USD`, `N30`, `u`); Tryton wants ids. A table is
loaded on first use and loaded again once when a key is missing, so records created in Tryton since are found.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from crossdock.connectors.tryton.client import TrytonClient, TrytonError
from crossdock.ports.connector import ErrorKind


@dataclass(frozen=True, slots=True)
class Table:
    """A reference model and the field that is its business key."""

    model: str
    key: str
    what: str
    domain: tuple[Any, ...] = ()


COUNTRY = Table("country.country", "code", "country")
SUBDIVISION = Table("country.subdivision", "code", "subdivision (state or province)")
CURRENCY = Table("currency.currency", "code", "currency")
PAYMENT_TERM = Table("account.invoice.payment_term", "name", "payment term")
UOM = Table("product.uom", "symbol", "unit of measure")
CATEGORY = Table("product.category", "name", "product category", (("accounting", "=", False),))
ACCOUNT_CATEGORY = Table("product.category", "name", "accounting product category", (("accounting", "=", True),))


class References:
    """Business key → id per reference table, for one client."""

    def __init__(self, client: TrytonClient, system: str) -> None:
        self._client = client
        self._system = system
        self._ids: dict[Table, dict[str, int]] = {}
        self._net_days: dict[str, int] = {}

    async def id(self, table: Table, key: str | None) -> int | None:
        """The id of the record whose business key is `key` (None for None); data quality error if unknown."""
        if key is None:
            return None
        known = self._ids.get(table)
        if known is None or key not in known:
            known = await self._load(table)
        if key not in known:
            sample = ", ".join(sorted(known)[:12]) or "none"
            raise TrytonError(
                ErrorKind.DATA_QUALITY,
                f"{self._system}: Tryton has no {table.what} {key!r} (it has: {sample}); "
                f"create it in Tryton or map the value to one it has",
            )
        return known[key]

    async def key(self, table: Table, record: int) -> str | None:
        """The business key of record `record` (None if it has none)."""
        known = self._ids.get(table)
        if known is None or record not in known.values():
            known = await self._load(table)
        return next((key for key, value in known.items() if value == record), None)

    async def ids(self, table: Table, keys: Sequence[str]) -> list[int]:
        """Ids for several business keys, in order."""
        return [i for key in keys if (i := await self.id(table, key)) is not None]

    async def net_days(self, term: str) -> int | None:
        """Days until a payment term's last installment is due (its longest relative delta)."""
        if term not in self._net_days:
            await self._load_terms()
        return self._net_days.get(term)

    async def _load(self, table: Table) -> dict[str, int]:
        rows = await self._client.search_read(
            table.model, list(table.domain), ["id", table.key], context={"active_test": False}
        )
        loaded = {str(row[table.key]): int(row["id"]) for row in rows if row.get(table.key)}
        self._ids[table] = loaded
        return loaded

    async def _load_terms(self) -> None:
        terms = await self._client.search_read(
            PAYMENT_TERM.model, [], ["name", "lines"], context={"active_test": False}
        )
        line_ids = [line for term in terms for line in term["lines"]]
        lines = await self._client.read(f"{PAYMENT_TERM.model}.line", line_ids, ["relativedeltas"])
        delta_ids = [delta for line in lines for delta in line["relativedeltas"]]
        deltas = await self._client.read(f"{PAYMENT_TERM.model}.line.delta", delta_ids, ["days", "weeks", "months"])
        days_of_delta = {
            int(d["id"]): int(d["days"] or 0) + 7 * int(d["weeks"] or 0) + 30 * int(d["months"] or 0) for d in deltas
        }
        days_of_line = {
            int(line["id"]): max((days_of_delta[d] for d in line["relativedeltas"]), default=0) for line in lines
        }
        self._net_days = {
            str(term["name"]): max((days_of_line[line] for line in term["lines"]), default=0) for term in terms
        }
