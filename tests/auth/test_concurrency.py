"""Identity under real concurrent requests on a real server socket, both databases."""

import asyncio
from collections import Counter
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from gql.auth.models import AuthSession, LoginFailure
from gql.auth.service import AuthTools
from gql.db import Database, new_session
from gql.main import create_app
from tests.auth.helpers import LOGIN, PASSWORD, REFRESH, error_code, register
from tests.conftest import FakeClock, LiveServer, make_settings

CONCURRENT = 20


async def _http(server: LiveServer) -> httpx.AsyncClient:
    limits = httpx.Limits(max_connections=CONCURRENT, max_keepalive_connections=CONCURRENT)
    return httpx.AsyncClient(base_url=server.http_url, limits=limits, timeout=60)


@pytest.fixture
async def http(live_server: LiveServer) -> AsyncIterator[httpx.AsyncClient]:
    """A client of the live server that holds every concurrent request at once."""
    async with await _http(live_server) as client:
        yield client


async def _post(http: httpx.AsyncClient, query: str, variables: dict[str, Any]) -> dict[str, Any]:
    response = await http.post("/graphql", json={"query": query, "variables": variables})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def _login_typenames(http: httpx.AsyncClient, emails: list[str]) -> Counter[str]:
    bodies = await asyncio.gather(
        *(
            _post(http, LOGIN, {"input": {"email": email, "password": "wrong password"}})
            for email in emails
        )
    )
    assert all("errors" not in body for body in bodies), bodies
    return Counter(body["data"]["login"]["__typename"] for body in bodies)


async def _failures(db: Database) -> int:
    async with new_session(db, write=False) as session:
        return int(await session.scalar(select(func.count()).select_from(LoginFailure)) or 0)


async def test_concurrent_wrong_logins_get_exactly_the_account_allowance(
    http: httpx.AsyncClient, db: Database
) -> None:
    # given: one account, 5 failures allowed per account
    await register(http)
    # when: 20 wrong passwords for it at the same moment
    typenames = await _login_typenames(http, ["ada@example.com"] * CONCURRENT)
    # then: 5 guesses were checked, every other attempt was locked out
    assert typenames == {"InvalidCredentialsError": 5, "RateLimitedError": CONCURRENT - 5}
    assert await _failures(db) == 5


async def test_concurrent_wrong_logins_from_one_address_get_exactly_its_allowance(
    db: Database, database_url: str, clock: FakeClock
) -> None:
    # given: an application that allows 10 failures per address
    settings = make_settings(database_url, login_max_failures_per_ip=10)
    app = create_app(settings, database=db, auth=AuthTools.from_settings(settings, clock))
    server = LiveServer(app)
    await server.start()
    try:
        async with await _http(server) as http:
            # when: 20 wrong logins for 20 different accounts from one address at once
            emails = [f"guess{n}@example.com" for n in range(CONCURRENT)]
            typenames = await _login_typenames(http, emails)
    finally:
        await server.stop()
    # then
    assert typenames == {"InvalidCredentialsError": 10, "RateLimitedError": CONCURRENT - 10}
    assert await _failures(db) == 10


async def test_concurrent_refreshes_with_one_token_let_exactly_one_through(
    http: httpx.AsyncClient, db: Database
) -> None:
    # given
    payload = await register(http)
    # when: real concurrent requests with the same refresh token
    bodies = await asyncio.gather(
        *(_post(http, REFRESH, {"token": payload["refreshToken"]}) for _ in range(5))
    )
    # then: one new pair; the others are refused and revoke the session as a reuse
    winners = [b for b in bodies if b.get("data") and b["data"]["refreshToken"]]
    losers = [b for b in bodies if b.get("errors")]
    assert len(winners) == 1, bodies
    assert len(losers) == 4
    assert {error_code(b) for b in losers} == {"UNAUTHENTICATED"}
    async with new_session(db, write=False) as session:
        sessions = list(await session.scalars(select(AuthSession)))
    assert len(sessions) == 1
    assert sessions[0].revoked_at is not None


async def test_a_login_after_the_storm_is_still_refused(
    http: httpx.AsyncClient, db: Database
) -> None:
    # given: the account was locked by concurrent failures
    await register(http)
    await _login_typenames(http, ["ada@example.com"] * CONCURRENT)
    # when: the right password
    body = await _post(http, LOGIN, {"input": {"email": "ada@example.com", "password": PASSWORD}})
    # then: still locked, even though the password is right
    assert body["data"]["login"]["__typename"] == "RateLimitedError"
    assert body["data"]["login"]["code"] == "RATE_LIMITED"
    assert body["data"]["login"]["retryAfter"] > 0
