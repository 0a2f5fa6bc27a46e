"""Alembic environment: runs only on the connection `crossdock.store.schema.upgrade` hands over."""

from __future__ import annotations

from alembic import context

from crossdock.store.schema import VERSION_TABLE
from crossdock.store.tables import metadata

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError(
        "Store migrations need a connection: run them with SqlStore(url).migrate(), not the alembic CLI."
    )

context.configure(
    connection=connection,
    target_metadata=metadata,
    version_table=VERSION_TABLE,
    # SQLite cannot ALTER most things; batch mode rebuilds the table instead.
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
