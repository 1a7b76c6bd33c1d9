"""Pooled connections the server dropped: without pre-ping they cost one request, then
the pool heals; with it they cost none."""

import asyncio
from typing import Any

import asyncpg
import httpx
import pytest
from sqlalchemy import literal, make_url, select, text

from gql.auth.sessions import AuthTools
from gql.core.config import Settings
from gql.core.db import Database
from gql.core.driver import reading
from gql.main import create_app
from tests.conftest import POSTGRES_ADMIN_URL, make_settings, without_cost
from tests.factories import make_product

pytestmark = pytest.mark.postgres_only

PRODUCTS = "{ products(first: 5) { edges { node { sku } } } }"


async def _pooled_backends(database: Database, count: int) -> list[int]:
    """Open `count` pooled connections at once; their server process ids."""
    pids: list[int] = []
    ready = asyncio.Event()

    async def hold() -> None:
        async with database.engine.connect() as connection:
            pids.append(int(await connection.scalar(text("SELECT pg_backend_pid()")) or 0))
            if len(pids) == count:
                ready.set()
            await ready.wait()

    await asyncio.gather(*(hold() for _ in range(count)))
    return pids


async def _terminate(pids: list[int]) -> None:
    """End these server processes, as a database restart would."""
    admin = await asyncpg.connect(POSTGRES_ADMIN_URL)
    try:
        await admin.execute(
            "SELECT pg_terminate_backend(pid, 5000) FROM unnest($1::int[]) pid", pids
        )
    finally:
        await admin.close()


@pytest.mark.parametrize(("pre_ping", "failures"), [(False, 1), (True, 0)])
async def test_after_a_database_restart_the_pool_reconnects(
    db: Database, settings: Settings, auth_tools: AuthTools, pre_ping: bool, failures: int
) -> None:
    # given: an app with its own pool of three idle connections, and a product to list
    # (no response cache: its version check would absorb the failure)
    settings = make_settings(settings.database_url, response_cache=False, db_pool_pre_ping=pre_ping)
    own = Database(settings)
    try:
        async with own.write_session() as session:
            await make_product(session, "RECONNECT-1")
            await session.commit()
        pids = await _pooled_backends(own, 3)
        app: Any = create_app(settings, database=own, auth=auth_tools)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            # when: the server ends every one of them, as a restart would (and they are gone)
            await _terminate(pids)
            answers = [
                (await client.post("/graphql", json={"query": PRODUCTS})).json() for _ in range(5)
            ]
    finally:
        await own.dispose()
    # then: without pre-ping the first request fails, with a coded error that
    # tells nothing of the inside; with it none does
    failed = [answer for answer in answers if "errors" in answer]
    assert len(failed) == failures, failed
    for answer in failed:
        assert [e["extensions"]["code"] for e in answer["errors"]] == ["SERVICE_UNAVAILABLE"]
        assert "asyncpg" not in str(answer).lower() and "connection" not in str(answer).lower()
    assert [without_cost(answer) for answer in answers[1:]] == [
        {"data": {"products": {"edges": [{"node": {"sku": "RECONNECT-1"}}]}}}
    ] * 4


async def test_driver_reads_never_reuse_a_dropped_connection(settings: Settings) -> None:
    # given: three idle pooled connections, then ended by the server
    own = Database(make_settings(settings.database_url))
    try:
        await _terminate(await _pooled_backends(own, 3))
        # when: reads straight on the driver (catalog reads' caller and version check)
        outcomes: list[object] = []
        for _ in range(8):
            try:
                row = await read_row(own, select(literal(7)), {})
                outcomes.append(row[0] if row is not None else None)
            except Exception:
                outcomes.append("failed")
    finally:
        await own.dispose()
    # then: each dead connection fails at most one read and is replaced
    assert outcomes[:3].count(7) + outcomes[:3].count("failed") == 3, outcomes
    assert outcomes[3:] == [7] * 5, outcomes


async def read_row(database: Database, statement: Any, params: dict[str, Any]) -> Any:
    """The first row of a statement read straight on the driver."""
    async with reading(database) as read:
        rows = await read(statement, params)
    return rows[0] if rows else None


async def _client_backends(database_url: str) -> set[int]:
    """The server processes serving clients of this test's database."""
    admin = await asyncpg.connect(POSTGRES_ADMIN_URL)
    try:
        rows = await admin.fetch(
            "SELECT pid FROM pg_stat_activity WHERE datname = $1 "
            "AND backend_type = 'client backend'",
            make_url(database_url).database,
        )
    finally:
        await admin.close()
    return {row["pid"] for row in rows}


async def test_driver_reads_beyond_the_pool_close_their_overflow_connections(
    settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    # given: a pool of one connection and two overflow ones
    own = Database(make_settings(settings.database_url, db_pool_size=1, db_max_overflow=2))
    before = await _client_backends(settings.database_url)
    try:
        # when: more reads at once than it holds, twice over
        for _ in range(2):
            rows = await asyncio.gather(*(read_row(own, select(literal(7)), {}) for _ in range(9)))
            assert [row[0] if row else None for row in rows] == [7] * 9
        # then: the overflow connections were closed (the pool keeps one), without errors
        await asyncio.sleep(0.2)  # the server ends a closed connection's process at once
        assert len(await _client_backends(settings.database_url) - before) == 1
    finally:
        await own.dispose()
    assert not [r for r in caplog.records if r.levelname == "ERROR"], caplog.text
