"""The relational store: SQLAlchemy 2 tables, Alembic migrations, the unit of work, and its in-memory twin."""

from crossdock.store.errors import (
    CrossReferenceConflictError,
    DuplicateDeliveryError,
    StoreError,
    UnitOfWorkError,
    UnknownExceptionError,
)
from crossdock.store.memory import MemoryStore
from crossdock.store.sql import SqlStore

__all__ = [
    "CrossReferenceConflictError",
    "DuplicateDeliveryError",
    "MemoryStore",
    "SqlStore",
    "StoreError",
    "UnitOfWorkError",
    "UnknownExceptionError",
]
