"""Stock events across processes (LISTEN/NOTIFY) and across a lost listener connection."""

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

import asyncpg
import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from gql.core.config import Settings
from gql.core.db import Database, new_session
from gql.inventory.models import MovementReason
from gql.inventory.service import adjust_stock
from gql.realtime.hub import StockEventHub
from gql.realtime.listener import LISTENER_NAME
from tests.conftest import POSTGRES_ADMIN_URL, LiveServer
from tests.factories import gid, make_product, signed_in
from tests.servers import wait_for_subscribers
from tests.ws import GraphQLWebSocket

pytestmark = pytest.mark.postgres_only

STOCK_CHANGED = (
    "subscription($ids: [ID!]) { stockChanged(productIds: $ids) { id delta quantityAfter } }"
)
ADJUST = (
    "mutation($id: ID!) { adjustStock(productId: $id, delta: 1, reason: RESTOCK) { __typename } }"
)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _serve(database_url: str) -> tuple[subprocess.Popen[bytes], int]:
    port = _free_port()
    env = os.environ | {
        "DATABASE_URL": database_url,
        "PURGE_INTERVAL_SECONDS": "0",
        "LOG_LEVEL": "WARNING",
        "STOCK_EVENTS_POLL_SECONDS": "30",  # events must come by NOTIFY, not by polling
    }
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "gql.main:create_app",
            "--factory",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--log-level",
            "warning",
        ],
        env=env,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return process, port
        except httpx.HTTPError:
            time.sleep(0.2)
    process.kill()
    raise RuntimeError("server did not start")


@pytest.fixture
def two_processes(db: Database, database_url: str) -> Iterator[tuple[int, int]]:
    """Two uvicorn processes sharing the test's PostgreSQL database."""
    first, first_port = _serve(database_url)
    try:
        second, second_port = _serve(database_url)
    except Exception:
        first.kill()
        raise
    try:
        yield first_port, second_port
    finally:
        for process in (first, second):
            process.terminate()
        for process in (first, second):
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()


async def test_a_change_through_one_process_reaches_a_subscriber_of_another(
    two_processes: tuple[int, int], client: httpx.AsyncClient, db: Database, session: AsyncSession
) -> None:
    # given
    writer_port, reader_port = two_processes
    product = await make_product(session, "P", stock=0)
    staff = await signed_in(client, db, "staff@example.com", "staff")
    token = staff["Authorization"].removeprefix("Bearer ")
    async with GraphQLWebSocket(f"ws://127.0.0.1:{reader_port}/graphql", token) as ws:
        await ws.subscribe("s", STOCK_CHANGED, {"ids": [gid("Product", product.id)]})
        await wait_for_subscribers(f"http://127.0.0.1:{reader_port}", 1)
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{writer_port}") as writer:
            for expected in (1, 2, 3):
                # when
                response = await writer.post(
                    "/graphql",
                    json={"query": ADJUST, "variables": {"id": gid("Product", product.id)}},
                    headers=staff,
                )
                assert response.json()["data"]["adjustStock"]["__typename"] == "AdjustStockSuccess"
                # then: delivered (the listener wakes on NOTIFY; the guard only ends a hang)
                (event,) = await ws.events("s", 1, timeout=10)
                assert event["data"]["stockChanged"]["quantityAfter"] == expected


async def _listeners(database: str) -> int:
    admin = await asyncpg.connect(POSTGRES_ADMIN_URL)
    try:
        count: int = await admin.fetchval(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = $1 AND application_name = $2",
            database,
            LISTENER_NAME,
        )
        return count
    finally:
        await admin.close()


async def test_the_listener_reconnects_and_catches_up(
    live_server: LiveServer,
    client: httpx.AsyncClient,
    db: Database,
    session: AsyncSession,
    settings: Settings,
    app: Any,
) -> None:
    # given: a subscriber; no polling, so only LISTEN can bring news from other processes
    app.state.hub.poll_seconds = 120
    product = await make_product(session, "P", stock=0)
    staff = await signed_in(client, db, "staff@example.com", "staff")
    token = staff["Authorization"].removeprefix("Bearer ")
    name = settings.database_url.rsplit("/", 1)[1]
    # another app process: its commits reach this one only through its NOTIFY
    other_process = Database(settings)
    other_hub = StockEventHub(other_process, poll_seconds=120)
    await other_hub.start()
    try:
        async with GraphQLWebSocket(live_server.ws_url, token) as ws:
            await ws.subscribe("s", STOCK_CHANGED, {"ids": [gid("Product", product.id)]})
            await live_server.wait_for_subscribers(1)
            await _adjust_elsewhere(other_process, product.id)
            assert [
                e["data"]["stockChanged"]["quantityAfter"] for e in await ws.events("s", 1)
            ] == [1]
            # when: the listener connections die, as in a database restart, and changes go on
            admin = await asyncpg.connect(POSTGRES_ADMIN_URL)
            try:
                await admin.execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = $1 AND application_name = $2",
                    name,
                    LISTENER_NAME,
                )
            finally:
                await admin.close()
            for _ in range(3):
                await _adjust_elsewhere(other_process, product.id)
            # then: it listens again and catches up, in order, with no gap
            events = await ws.events("s", 3, timeout=15)
            assert [e["data"]["stockChanged"]["quantityAfter"] for e in events] == [2, 3, 4]
            assert await _listeners(name) == 2  # this app's and the other process's
            await _adjust_elsewhere(other_process, product.id)
            assert [
                e["data"]["stockChanged"]["quantityAfter"] for e in await ws.events("s", 1)
            ] == [5]
    finally:
        await other_hub.stop()
        await other_process.dispose()


async def _adjust_elsewhere(database: Database, product_id: int) -> None:
    async with new_session(database, write=True) as session:
        await adjust_stock(session, product_id, 1, MovementReason.RESTOCK, actor_id=None)
        await session.commit()
