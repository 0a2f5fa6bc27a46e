"""Bringing a database to the newest schema with the Alembic migrations shipped in this package."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

# Our own name, so Crossdock can share a database with an application that runs Alembic for itself.
VERSION_TABLE = "cd_schema_version"
MIGRATIONS = Path(__file__).with_name("migrations")
# First half of the PostgreSQL advisory lock that serialises migrations; the second half is the schema's hash.
_MIGRATION_LOCK = 0x43440001


def alembic_config() -> Config:
    """An Alembic configuration built in code: no alembic.ini is needed at runtime."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("path_separator", "os")
    return config


def head_revision() -> str | None:
    """The newest revision shipped with this package."""
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def current_revision(connection: sa.Connection) -> str | None:
    """The revision the connected database is at, or None before the first migration."""
    context = MigrationContext.configure(connection, opts={"version_table": VERSION_TABLE})
    return context.get_current_revision()


def upgrade(engine: sa.Engine) -> None:
    """Upgrade to head in one transaction; concurrent callers wait their turn and then find nothing to do."""
    config = alembic_config()
    # On SQLite the engine begins with BEGIN IMMEDIATE, which already makes a second migrator wait its turn.
    with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            connection.execute(
                sa.text("SELECT pg_advisory_xact_lock(:lock, hashtext(current_schema()))"),
                {"lock": _MIGRATION_LOCK},
            )
        config.attributes["connection"] = connection
        command.upgrade(config, "head")
