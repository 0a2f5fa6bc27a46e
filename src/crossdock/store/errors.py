"""Errors the store raises; each message says what to do about it."""

from __future__ import annotations

# The exactly-once guard's error is the port's, so the core can catch it without importing an adapter.
from crossdock.ports.store import DuplicateDeliveryError

__all__ = [
    "CrossReferenceConflictError",
    "DuplicateDeliveryError",
    "StoreError",
    "UnitOfWorkError",
    "UnknownExceptionError",
]


class StoreError(RuntimeError):
    """The store could not do what was asked."""


class CrossReferenceConflictError(StoreError):
    """A system's local id is already linked to a different canonical object of the same entity."""


class UnknownExceptionError(StoreError, LookupError):
    """No business exception has the given id."""


class UnitOfWorkError(StoreError):
    """A unit of work was used outside its `with` block, after a failure, or to write when read-only."""

    @classmethod
    def not_open(cls) -> UnitOfWorkError:
        """Used before `__enter__` or after `__exit__`."""
        return cls("The unit of work is not open: use `with store.unit_of_work() as uow:` and work inside it.")

    @classmethod
    def already_open(cls) -> UnitOfWorkError:
        """Entered twice."""
        return cls("This unit of work is already open; open another with store.unit_of_work().")

    @classmethod
    def rolled_back(cls, cause: BaseException) -> UnitOfWorkError:
        """Used after a failed statement rolled it back."""
        return cls(f"This unit of work was rolled back after {cause!r}; call rollback() and redo the work.")

    @classmethod
    def read_only(cls) -> UnitOfWorkError:
        """Asked to write while read-only."""
        return cls("This unit of work is read-only; open it with read_only=False to change records.")
