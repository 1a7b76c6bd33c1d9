"""Database plumbing: SQLite pragmas and write transactions that wait instead of failing."""

import asyncio
from pathlib import Path

from sqlalchemy import text, update

from gql.catalog.models import Product
from gql.core.config import Settings
from gql.core.db import Database, new_session
from tests.factories import make_product


async def test_sqlite_runs_in_wal_mode_with_a_busy_timeout(tmp_path: Path) -> None:
    settings = Settings(
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'p.db'}",
        sqlite_busy_timeout_ms=1234,
        _env_file=None,  # type: ignore[call-arg]
    )
    database = Database(settings)
    try:
        async with database.engine.connect() as connection:
            assert (await connection.execute(text("PRAGMA journal_mode"))).scalar() == "wal"
            assert (await connection.execute(text("PRAGMA busy_timeout"))).scalar() == 1234
            assert (await connection.execute(text("PRAGMA foreign_keys"))).scalar() == 1
    finally:
        await database.dispose()


async def test_concurrent_writers_wait_for_each_other(db: Database) -> None:
    # given
    async with new_session(db, write=True) as session:
        product = await make_product(session, "RACE", stock=0)

    async def increment() -> None:
        async with new_session(db, write=True) as session:
            # read first, then write: a deferred SQLite transaction would fail to upgrade
            await session.get(Product, product.id)
            await asyncio.sleep(0.01)
            await session.execute(
                update(Product).where(Product.id == product.id).values(stock=Product.stock + 1)
            )
            await session.commit()

    # when
    await asyncio.gather(*(increment() for _ in range(10)))
    # then
    async with new_session(db, write=False) as session:
        stored = await session.get(Product, product.id)
        assert stored is not None
        assert stored.stock == 10
