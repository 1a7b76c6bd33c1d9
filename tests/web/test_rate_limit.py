"""Per-client request budgets: 429 with Retry-After, shared by processes on PostgreSQL."""

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from gql.auth.sessions import AuthTools
from gql.core.config import Settings
from gql.core.db import Database, new_session
from gql.main import create_app
from gql.web.ratelimit import RateLimiter, RateLimitWindow
from tests.conftest import StatementCounter, make_settings

QUERY = {"query": "{ products { totalCount } }"}


class Clock:
    """Seconds that move only when told."""

    def __init__(self) -> None:
        self.now = 1_000_040.0  # 20 s into a window

    def __call__(self) -> float:
        return self.now


def _limited_app(db: Database, settings: Settings, auth_tools: AuthTools, limit: int) -> Any:
    configured = make_settings(
        settings.database_url, rate_limit_requests=limit, rate_limit_window_seconds=60
    )
    return create_app(configured, database=db, auth=auth_tools)


@pytest.fixture
async def limited(
    db: Database, settings: Settings, auth_tools: AuthTools
) -> AsyncIterator[httpx.AsyncClient]:
    """A client of an app that allows 3 requests per minute and client."""
    app = _limited_app(db, settings, auth_tools, 3)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://testserver"
    ) as client:
        yield client


async def test_a_client_over_its_budget_gets_429_with_retry_after(
    limited: httpx.AsyncClient, statements: StatementCounter
) -> None:
    # given
    for _ in range(3):
        assert (await limited.post("/graphql", json=QUERY)).status_code == 200
    statements.reset()
    # when
    refused = await limited.post("/graphql", json=QUERY)
    # then
    assert refused.status_code == 429
    retry_after = int(refused.headers["retry-after"])
    assert 1 <= retry_after <= 60
    error = refused.json()["errors"][0]
    assert error["extensions"] == {"code": "RATE_LIMITED", "retryAfter": retry_after}
    assert statements.count == 0
    # other endpoints are not counted
    assert (await limited.get("/healthz")).status_code == 200


def test_the_budget_renews_with_the_next_window() -> None:
    clock = Clock()
    limiter = RateLimiter(2, 60, clock)
    assert [limiter.hit("a"), limiter.hit("a")] == [None, None]
    assert limiter.hit("a") == pytest.approx(40.0)
    assert limiter.hit("b") is None  # budgets are per client
    clock.now += 40
    assert limiter.hit("a") is None


def test_a_limit_of_zero_turns_it_off() -> None:
    limiter = RateLimiter(0, 60)
    assert not limiter.enabled


@pytest.mark.postgres_only
async def test_processes_share_their_counts_through_postgresql(
    backend: str, db: Database, settings: Settings, auth_tools: AuthTools
) -> None:
    # given: two app instances (as two processes would be) on one database, budget 4
    first, second = (_limited_app(db, settings, auth_tools, 4) for _ in range(2))
    clients = [
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver")
        for app in (first, second)
    ]
    try:
        # when: three requests through the first, shared; one through the second, shared
        for _ in range(3):
            assert (await clients[0].post("/graphql", json=QUERY)).status_code == 200
        await first.state.rate_limiter.sync(db)
        assert (await clients[1].post("/graphql", json=QUERY)).status_code == 200
        await second.state.rate_limiter.sync(db)
        # then: both know the client has used its four
        assert (await clients[1].post("/graphql", json=QUERY)).status_code == 429
        assert (await clients[0].post("/graphql", json=QUERY)).status_code == 200  # not yet known
        await first.state.rate_limiter.sync(db)
        assert (await clients[0].post("/graphql", json=QUERY)).status_code == 429
    finally:
        for client in clients:
            await client.aclose()
    async with new_session(db, write=False) as session:
        hits = await session.scalar(select(RateLimitWindow.hits))
    assert hits == 5  # one admitted between two syncs: the documented bound


@pytest.mark.postgres_only
async def test_counts_survive_a_failed_sync(backend: str, db: Database) -> None:
    # given: hits that could not be shared (the database refused)
    limiter = RateLimiter(10, 60)
    for _ in range(3):
        limiter.hit("c")
    broken = Database(make_settings("postgresql+asyncpg://postgres@127.0.0.1:1/none"))
    with pytest.raises(OSError):
        await limiter.sync(broken)
    await broken.dispose()
    # when the database is back
    await limiter.sync(db)
    # then nothing was lost
    assert sum(limiter.shared.values()) == 3
