"""Control numbers kept in the store, so a restart or a second worker never reuses one a partner has seen."""

from __future__ import annotations

from crossdock.ports.store import UnitOfWork

# X12 control numbers are nine digits at most (ISA13); after 999,999,999 a partner expects them to start over.
_WRAP = 999_999_999


class StoreControlNumbers:
    """The X12 writer's ControlNumbers, taken in the caller's unit of work (committed with the send's journal)."""

    def __init__(self, uow: UnitOfWork) -> None:
        self._uow = uow

    def _next(self, partner: str, kind: str) -> int:
        [number] = self._uow.partners.next_numbers(partner, kind)
        return (number - 1) % _WRAP + 1

    def next_interchange(self, partner: str) -> int:
        """The next ISA13/IEA02 for `partner`."""
        return self._next(partner, "interchange")

    def next_group(self, partner: str) -> int:
        """The next GS06/GE02 for `partner`."""
        return self._next(partner, "group")

    def next_transaction_set(self, partner: str) -> int:
        """The next ST02/SE02 for `partner`."""
        return self._next(partner, "set")
