"""Identity under real concurrent requests on a real server socket, both databases."""

import asyncio
import contextlib
from collections import Counter
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select, text

from gql.auth.models import AuthSession, LoginFailure, Role, User, user_role
from gql.auth.sessions import AuthTools
from gql.core.db import Database, new_session
from gql.main import create_app
from tests.auth.helpers import LOGIN, PASSWORD, REFRESH, error_code, register
from tests.conftest import FakeClock, LiveServer, make_settings
from tests.factories import gid, signed_in

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


ASSIGN = """
mutation($input: UserRoleInput!) {
  assignRole(input: $input) {
    __typename
    ... on UserSuccess { user { roles { name } } }
    ... on UserError { code message field }
  }
}
"""


RACERS = 8


async def _waiting_for_locks(db: Database) -> int:
    async with db.engine.connect() as connection:
        waiting = await connection.scalar(
            text(
                "SELECT count(*) FROM pg_stat_activity "
                "WHERE datname = current_database() AND wait_event_type = 'Lock'"
            )
        )
    return int(waiting or 0)


async def test_the_same_role_assigned_concurrently_is_held_once(
    http: httpx.AsyncClient, db: Database
) -> None:
    """Racing assignRole calls for one user and role all succeed; one row is written."""
    # given: an admin, and a customer to promote
    admin = await signed_in(http, db, "root@example.com", "admin")
    await signed_in(http, db, "ada@example.com")
    async with new_session(db, write=False) as session:
        user_id = await session.scalar(select(User.id).where(User.email == "ada@example.com"))
        role_id = await session.scalar(select(Role.id).where(Role.name == "staff"))
    variables = {"input": {"userId": gid("User", user_id), "roleId": gid("Role", role_id)}}

    async def assign() -> httpx.Response:
        return await http.post(
            "/graphql", json={"query": ASSIGN, "variables": variables}, headers=admin
        )

    # when: the same assignment, many times at the same moment
    async with contextlib.AsyncExitStack() as stack:
        if not db.is_sqlite:
            # Inserts into user_role wait behind this lock (reads do not), so every request
            # has read "not held yet" before any of them may write: the race happens for sure.
            gate = await stack.enter_async_context(db.engine.connect())
            await gate.begin()
            await gate.execute(text("LOCK TABLE user_role IN SHARE ROW EXCLUSIVE MODE"))
        racers = [asyncio.create_task(assign()) for _ in range(RACERS)]
        if not db.is_sqlite:
            async with asyncio.timeout(20):
                while await _waiting_for_locks(db) < RACERS:
                    await asyncio.sleep(0.02)
    responses = await asyncio.gather(*racers)
    # then: every request succeeded, and the user holds the role exactly once
    assert [r.status_code for r in responses] == [200] * RACERS, [r.text for r in responses]
    bodies = [r.json() for r in responses]
    assert all("errors" not in body for body in bodies), bodies
    assert {body["data"]["assignRole"]["__typename"] for body in bodies} == {"UserSuccess"}
    for body in bodies:
        names = [role["name"] for role in body["data"]["assignRole"]["user"]["roles"]]
        assert sorted(names) == ["customer", "staff"]
    async with new_session(db, write=False) as session:
        held = await session.scalar(
            select(func.count())
            .select_from(user_role)
            .where(user_role.c.user_id == user_id, user_role.c.role_id == role_id)
        )
    assert held == 1
