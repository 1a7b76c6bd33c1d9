"""Migrations: upgrade, downgrade and upgrade again; models and migrations agree."""

import asyncio
import os
import subprocess
import sys
from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from gql.core.migrate import downgrade, upgrade
from gql.models import Base, modelled
from tests.conftest import EmptyDatabaseFactory


def _inspect(url: str, work: Any) -> Any:
    async def run() -> Any:
        engine = create_async_engine(url, poolclass=NullPool)
        try:
            async with engine.connect() as connection:
                return await connection.run_sync(work)
        finally:
            await engine.dispose()

    return asyncio.run(run())


def _tables(connection: Connection) -> set[str]:
    return set(inspect(connection).get_table_names()) - {"alembic_version"}


def _differences(connection: Connection) -> list[Any]:
    context = MigrationContext.configure(
        connection,
        opts={"compare_type": True, "compare_server_default": True, "include_object": modelled},
    )
    return list(compare_metadata(context, Base.metadata))


def test_upgrade_downgrade_upgrade(empty_databases: EmptyDatabaseFactory) -> None:
    url = empty_databases.new_url()
    upgrade(url)
    assert _inspect(url, _tables) == set(Base.metadata.tables)
    downgrade(url, "base")
    assert _inspect(url, _tables) == set()
    upgrade(url)
    assert _inspect(url, _tables) == set(Base.metadata.tables)


def test_models_and_migrations_agree(database_url: str) -> None:
    assert _inspect(database_url, _differences) == []


def test_instances_starting_together_migrate_one_after_the_other(
    empty_databases: EmptyDatabaseFactory,
) -> None:
    # given: a new database and three app containers starting at once (`gql migrate`)
    url = empty_databases.new_url()
    env = os.environ | {"DATABASE_URL": url}
    # when
    processes = [
        subprocess.Popen(
            [sys.executable, "-m", "gql.cli", "migrate"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(3)
    ]
    results = [(p.wait(timeout=120), p.stderr.read() if p.stderr else "") for p in processes]
    # then
    assert [code for code, _ in results] == [0, 0, 0], results
    assert _inspect(url, _tables) == set(Base.metadata.tables)
