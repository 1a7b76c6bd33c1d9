"""Alembic environment: async engines, the models' metadata, batch mode on SQLite."""

import asyncio
from typing import Any

from alembic import context
from sqlalchemy import event, text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import NullPool

from gql.core.config import get_settings
from gql.core.db import UTCDateTime
from gql.models import Base, modelled

config = context.config
target_metadata = Base.metadata


def _url() -> str:
    return config.get_main_option("sqlalchemy.url") or get_settings().database_url


def _render_item(type_: str, obj: object, autogen_context: object) -> str | bool:
    """Write our UTCDateTime as a plain timezone-aware DateTime in new revisions."""
    if type_ == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    return False


def _configure(**kwargs: object) -> None:
    context.configure(
        target_metadata=target_metadata,
        compare_type=True,
        compare_server_default=True,
        render_item=_render_item,
        include_object=modelled,
        **kwargs,  # type: ignore[arg-type]
    )


def run_offline() -> None:
    """Emit SQL to stdout instead of running it."""
    url = _url()
    _configure(url=url, literal_binds=True, render_as_batch=url.startswith("sqlite"))
    with context.begin_transaction():
        context.run_migrations()


# pg_advisory_xact_lock key: app instances starting together migrate one after the other.
MIGRATION_LOCK_KEY = 0x6771_6D69_6772_6174  # "gqmigrat"


def _run(connection: Connection) -> None:
    sqlite = connection.dialect.name == "sqlite"
    # transactional_ddl on SQLite too: Alembic would otherwise commit after each revision,
    # letting a second migrator in between (the connection runs DDL inside BEGIN IMMEDIATE).
    _configure(connection=connection, render_as_batch=sqlite, transactional_ddl=True)
    with context.begin_transaction():
        if connection.dialect.name == "postgresql":
            connection.execute(
                text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK_KEY}
            )
        context.run_migrations()


# How long a SQLite migrator waits for another one that holds the write lock.
SQLITE_MIGRATION_WAIT_MS = 120_000


def _serialize_sqlite(engine: AsyncEngine) -> None:
    """Run SQLite migrations in one BEGIN IMMEDIATE transaction that waits for the lock."""

    @event.listens_for(engine.sync_engine, "connect")
    def on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Without this the driver runs DDL outside any transaction, so two migrators
        # would both find an empty version table and both create the same tables.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_MIGRATION_WAIT_MS}")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def on_begin(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")


async def _run_async() -> None:
    engine = create_async_engine(_url(), poolclass=NullPool)
    if engine.dialect.name == "sqlite":
        _serialize_sqlite(engine)
    async with engine.connect() as connection:
        await connection.run_sync(_run)
    await engine.dispose()


if context.is_offline_mode():
    run_offline()
else:
    asyncio.run(_run_async())
