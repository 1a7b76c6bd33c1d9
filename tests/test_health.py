"""Liveness and readiness endpoints."""

from pathlib import Path

import httpx

from gql.core.config import Settings
from gql.core.db import Database
from gql.main import create_app


async def test_healthz_and_readyz(client: httpx.AsyncClient) -> None:
    assert (await client.get("/healthz")).json() == {"status": "ok"}
    ready = await client.get("/readyz")
    assert (ready.status_code, ready.json()) == (200, {"status": "ok"})


async def test_readyz_is_503_when_the_database_is_unreachable(tmp_path: Path) -> None:
    # given: a database that cannot be opened (its directory does not exist)
    settings = Settings(
        env="test",
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'missing' / 'x.db'}",
        _env_file=None,  # type: ignore[call-arg]
    )
    database = Database(settings)
    app = create_app(settings, database=database)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        # when
        ready = await client.get("/readyz")
        alive = await client.get("/healthz")
    await database.dispose()
    # then
    assert (ready.status_code, ready.json()) == (503, {"status": "unavailable"})
    assert alive.status_code == 200


async def test_graphiql_is_served(client: httpx.AsyncClient) -> None:
    page = await client.get("/graphql", headers={"Accept": "text/html"})
    assert page.status_code == 200
    assert "graphiql" in page.text.lower()
