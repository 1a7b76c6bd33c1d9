"""Reads run straight on the asyncpg driver (`read_rows`): the same rows as SQLAlchemy's,
seen by the statement listeners, and a connection that stays sound when a read fails."""

import asyncio
import gc

import asyncpg
import pytest
from sqlalchemy import Integer, bindparam, func, literal, select

from gql.catalog.models import Product
from gql.core.config import Settings
from gql.core.db import Database, new_session
from gql.core.driver import _driver_form, _driver_forms, read_rows, reading
from tests.conftest import StatementCounter, make_settings
from tests.factories import make_product

pytestmark = pytest.mark.postgres_only

BY_PRICE = select(Product.sku, Product.price, Product.created_at).where(
    Product.price >= bindparam("floor")
)


async def test_query_sessions_read_on_the_driver_and_get_what_sqlalchemy_gets(
    db: Database, statements: StatementCounter
) -> None:
    # given
    async with new_session(db, write=True) as session:
        await make_product(session, "DRV-1")
        await session.commit()
    on_the_driver: list[str] = []
    db.driver_listeners.append(on_the_driver.append)
    try:
        # when: the same read in a query's session and in a transaction
        statements.reset()
        async with new_session(db, write=False, transaction=False) as session:
            untransacted = await read_rows(session, BY_PRICE, {"floor": 0})
        driver_reads = list(on_the_driver)
        async with new_session(db, write=False) as session:
            transacted = await read_rows(session, BY_PRICE, {"floor": 0})
    finally:
        db.driver_listeners.remove(on_the_driver.append)
    # then: equal rows (decimals, zoned times); the first on the driver, both counted
    assert [tuple(row) for row in untransacted] == [tuple(row) for row in transacted]
    assert untransacted[0][2].utcoffset() is not None
    assert len(driver_reads) == 1 and on_the_driver == driver_reads
    assert statements.count == 2, statements.statements


async def test_a_refused_statement_leaves_the_connection_usable(db: Database) -> None:
    # given
    refused = select(literal(1, Integer) / bindparam("zero", type_=Integer))
    async with new_session(db, write=False, transaction=False) as session:
        # when
        with pytest.raises(asyncpg.DivisionByZeroError):
            await read_rows(session, refused, {"zero": 0})
        # then
        assert [tuple(row) for row in await read_rows(session, select(literal(7)), {})] == [(7,)]


async def test_a_read_cancelled_mid_statement_leaves_no_busy_connection(
    settings: Settings,
) -> None:
    # given: a pool of one connection
    own = Database(make_settings(settings.database_url, db_pool_size=1, db_max_overflow=0))
    try:
        async with new_session(own, write=False, transaction=False) as session:
            slow = asyncio.create_task(read_rows(session, select(func.pg_sleep(5)), {}))
            await asyncio.sleep(0.3)
            # when: the request is cancelled while the server is still working
            slow.cancel()
            with pytest.raises(asyncio.CancelledError):
                await slow
        # then: the next read gets a connection at once and its own answer
        async with new_session(own, write=False, transaction=False) as session:
            rows = await asyncio.wait_for(read_rows(session, select(literal(7)), {}), 3)
        assert [tuple(row) for row in rows] == [(7,)]
    finally:
        await own.dispose()


async def test_a_missing_parameter_is_an_error_not_a_null(db: Database) -> None:
    async with new_session(db, write=False, transaction=False) as session:
        with pytest.raises(ValueError, match="floor"):
            await read_rows(session, BY_PRICE, {})


async def test_db_echo_logs_driver_reads(
    settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    # given
    own = Database(make_settings(settings.database_url, db_echo=True))
    try:
        # when
        async with new_session(own, write=False, transaction=False) as session:
            await read_rows(session, BY_PRICE, {"floor": 0})
    finally:
        await own.dispose()
    # then
    assert any(r.getMessage().startswith("[driver] SELECT product.sku") for r in caplog.records), (
        caplog.text
    )


def test_a_compiled_form_is_forgotten_with_its_statement(db: Database) -> None:
    # given: statements made and dropped, as an evicted page statement is (after earlier
    # tests' garbage is gone, which may hold statements of its own)
    gc.collect()
    before = len(_driver_forms)
    for floor in range(50):
        _driver_form(select(Product.sku).where(Product.price >= floor), db.engine.dialect)
    # when
    gc.collect()
    # then
    assert len(_driver_forms) == before


async def test_driver_reads_get_their_connections_in_the_order_they_asked(
    settings: Settings,
) -> None:
    # given: a pool of one connection, held by the first read while two more queue
    own = Database(make_settings(settings.database_url, db_pool_size=1, db_max_overflow=0))
    served: list[str] = []
    release = asyncio.Event()

    async def read(name: str, hold: bool = False) -> None:
        async with reading(own) as run:
            await run(select(literal(1)), {})
            served.append(name)
            if hold:
                await release.wait()

    try:
        first = asyncio.create_task(read("first", hold=True))
        while not served:
            await asyncio.sleep(0.01)
        waiting = [asyncio.create_task(read(name)) for name in ("second", "third")]
        await asyncio.sleep(0.05)
        # when: the connection comes back just as a newcomer asks for one
        release.set()
        newcomer = asyncio.create_task(read("newcomer"))
        await asyncio.gather(first, *waiting, newcomer)
    finally:
        await own.dispose()
    # then: those that waited go first (the pool alone would let the newcomer in)
    assert served == ["first", "second", "third", "newcomer"]
