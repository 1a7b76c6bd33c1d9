"""Faults: a database that goes away and comes back, a failing token layer, SIGTERM."""

import asyncio
import contextlib
import os
import signal
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy.engine import make_url
from websockets.exceptions import ConnectionClosed

from gql.auth import tokens
from gql.auth.sessions import AuthTools
from gql.core.config import Settings
from gql.core.db import Database
from gql.main import create_app
from tests.conftest import execute, make_settings, without_cost
from tests.factories import signed_in
from tests.servers import ServerProcess, free_port, run_gql
from tests.ws import GraphQLWebSocket

COUNT = "{ products { totalCount } }"
CREATE = (
    'mutation { createProduct(input: {sku: "LATE", name: "Late", price: "1.00"}) { __typename } }'
)
LEAKS = ("postgres", "5432", "asyncpg", "sqlalchemy", "Traceback", "refused")


class TcpProxy:
    """A TCP proxy to PostgreSQL that the test can cut, as a database outage looks."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.port = free_port()
        self.server: asyncio.Server | None = None
        self.writers: set[asyncio.StreamWriter] = set()

    async def up(self) -> None:
        """Accept and forward connections."""
        self.server = await asyncio.start_server(self._handle, "127.0.0.1", self.port)

    async def down(self) -> None:
        """Refuse new connections and break every open one."""
        assert self.server is not None
        self.server.close()
        for writer in list(self.writers):
            writer.transport.abort()
        await self.server.wait_closed()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        upstream_reader, upstream_writer = await asyncio.open_connection(
            "127.0.0.1", self.target_port
        )
        self.writers |= {writer, upstream_writer}

        async def pump(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
            with contextlib.suppress(ConnectionError, OSError):
                while data := await source.read(65536):
                    sink.write(data)
                    await sink.drain()
            sink.transport.abort()

        await asyncio.gather(pump(reader, upstream_writer), pump(upstream_reader, writer))
        self.writers -= {writer, upstream_writer}


@pytest.fixture
async def behind_proxy(
    backend: str, database_url: str, db: Database, auth_tools: AuthTools
) -> AsyncIterator[tuple[httpx.AsyncClient, TcpProxy]]:
    """A client of an app that reaches the test database through a TcpProxy."""
    url = make_url(database_url)
    proxy = TcpProxy(url.port or 5432)
    await proxy.up()
    settings = make_settings(url.set(port=proxy.port).render_as_string(hide_password=False))
    database = Database(settings)
    app = create_app(settings, database=database, auth=auth_tools)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield client, proxy
    await database.dispose()
    with contextlib.suppress(Exception):
        await proxy.down()


@pytest.mark.postgres_only
async def test_a_database_outage_is_service_unavailable_until_it_is_back(
    behind_proxy: tuple[httpx.AsyncClient, TcpProxy],
) -> None:
    client, proxy = behind_proxy
    assert without_cost(await execute(client, COUNT)) == {"data": {"products": {"totalCount": 0}}}
    # when the database goes away
    await proxy.down()
    during = await client.post("/graphql", json={"query": COUNT})
    ready, alive = await client.get("/readyz"), await client.get("/healthz")
    # then
    assert during.status_code == 200
    assert [e["extensions"]["code"] for e in during.json()["errors"]] == ["SERVICE_UNAVAILABLE"]
    assert not any(leak in during.text for leak in LEAKS)
    assert (ready.status_code, alive.status_code) == (503, 200)
    # and when it is back, the very next request succeeds (stale connections are replaced)
    await proxy.up()
    assert without_cost(await execute(client, COUNT)) == {"data": {"products": {"totalCount": 0}}}
    assert (await client.get("/readyz")).status_code == 200


async def test_a_failing_token_layer_is_masked(
    client: httpx.AsyncClient, db: Database, monkeypatch: pytest.MonkeyPatch, settings: Settings
) -> None:
    # given: a signed-in caller, then a token layer that fails with its secret in the message
    staff = await signed_in(client, db, "staff@example.com", "staff")

    def broken(*_: object, **__: object) -> None:
        raise RuntimeError(f"cannot verify with key {settings.jwt_secret}")

    monkeypatch.setattr(tokens.TokenCodec, "decode", broken)
    # when
    response = await client.post("/graphql", json={"query": COUNT}, headers=staff)
    # then
    assert settings.jwt_secret not in response.text
    assert "Traceback" not in response.text
    assert [e["extensions"]["code"] for e in response.json()["errors"]] == ["INTERNAL_SERVER_ERROR"]


def _prepare(tmp_path: Path) -> dict[str, str]:
    """A migrated SQLite database with an admin, and the settings of a server on it."""
    settings = {
        "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'gql.db'}",
        "ADMIN_PASSWORD": "correct horse battery",
        "SQLITE_BUSY_TIMEOUT_MS": "10000",
        "SHUTDOWN_TIMEOUT_SECONDS": "20",
    }
    env = os.environ | settings
    run_gql("migrate", env=env, cwd=tmp_path)
    run_gql("create-admin", "--email", "admin@example.com", env=env, cwd=tmp_path)
    return settings


async def test_sigterm_finishes_requests_in_flight_and_closes_subscriptions(
    tmp_path: Path,
) -> None:
    # given: a server, a live subscription, and a mutation stuck behind a write lock
    server = ServerProcess(_prepare(tmp_path), cwd=tmp_path).start()
    try:
        async with httpx.AsyncClient(base_url=server.url, timeout=30) as client:
            login = await execute(
                client,
                'mutation { login(input: {email: "admin@example.com", '
                'password: "correct horse battery"}) { ... on AuthPayload { accessToken } } }',
            )
            token = login["data"]["login"]["accessToken"]
            headers = {"Authorization": f"Bearer {token}"}
            async with GraphQLWebSocket(server.ws_url, token) as ws:
                await ws.subscribe("s", "subscription { stockChanged { id } }")
                lock = sqlite3.connect(tmp_path / "gql.db", isolation_level=None)
                lock.execute("BEGIN IMMEDIATE")
                in_flight = asyncio.create_task(
                    client.post("/graphql", json={"query": CREATE}, headers=headers)
                )
                await asyncio.sleep(0.5)
                # when
                assert server.process is not None
                server.process.send_signal(signal.SIGTERM)
                with pytest.raises(ConnectionClosed) as closed:
                    await ws.receive(timeout=10)
                await asyncio.sleep(0.5)
                lock.rollback()
                lock.close()
                response = await in_flight
            # then: the subscription was closed as a restart, the request finished
            assert closed.value.rcvd is not None
            assert closed.value.rcvd.code == 1012  # service restart: reconnect and resume
            assert response.status_code == 200
            assert without_cost(response.json()) == {
                "data": {"createProduct": {"__typename": "CreateProductSuccess"}}
            }
        # uvicorn ends by re-raising the signal once everything has shut down
        assert server.process.wait(timeout=30) in (0, -signal.SIGTERM)
    finally:
        _, log = server.stop()
    assert "Traceback" not in log
