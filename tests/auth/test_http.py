"""The OAuth2 password flow for tools, and housekeeping of dead sessions."""

import httpx
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from gql.auth.models import AuthSession, LoginFailure
from gql.auth.sessions import AuthTools
from gql.core.db import Database
from gql.core.housekeeping import purge_once
from tests.auth.helpers import ME, PASSWORD, bearer, login, register
from tests.conftest import FakeClock, execute


async def test_password_flow_issues_tokens(client: httpx.AsyncClient) -> None:
    # given
    await register(client)
    # when
    response = await client.post(
        "/auth/token", data={"username": "ADA@example.com", "password": PASSWORD}
    )
    # then
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"access_token", "token_type", "expires_in", "refresh_token"}
    assert (body["token_type"], body["expires_in"]) == ("bearer", 900)
    me = await client.get("/auth/me", headers=bearer(body["access_token"]))
    assert me.json()["email"] == "ada@example.com"
    graphql_me = await execute(client, ME, headers=bearer(body["access_token"]))
    assert graphql_me["data"]["me"]["email"] == "ada@example.com"


async def test_password_flow_refuses_wrong_credentials(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    await register(client)
    response = await client.post(
        "/auth/token", data={"username": "ada@example.com", "password": "wrong password"}
    )
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    assert await session.scalar(select(func.count()).select_from(LoginFailure)) == 1
    for _ in range(4):
        await client.post("/auth/token", data={"username": "ada@example.com", "password": "x"})
    limited = await client.post(
        "/auth/token", data={"username": "ada@example.com", "password": PASSWORD}
    )
    assert limited.status_code == 429
    assert int(limited.headers["retry-after"]) > 0


async def test_me_endpoint_needs_a_valid_token(client: httpx.AsyncClient) -> None:
    assert (await client.get("/auth/me")).status_code == 401
    assert (await client.get("/auth/me", headers=bearer("x.y.z"))).status_code == 401


async def test_openapi_offers_the_password_flow(client: httpx.AsyncClient) -> None:
    schemes = (await client.get("/openapi.json")).json()["components"]["securitySchemes"]
    assert schemes["OAuth2PasswordBearer"]["flows"]["password"]["tokenUrl"] == "/auth/token"


async def test_purge_deletes_only_what_has_expired(
    client: httpx.AsyncClient,
    session: AsyncSession,
    db: Database,
    auth_tools: AuthTools,
    clock: FakeClock,
) -> None:
    # given: an old session and failure, then a fresh session and failure
    await register(client)
    await login(client, email="mallory@example.com", password="wrong password")
    clock.advance(days=15)
    await login(client)
    await login(client, email="mallory@example.com", password="wrong password")
    # when
    first = await purge_once(db, auth_tools)
    second = await purge_once(db, auth_tools)
    # then
    assert first == (1, 1)
    assert second == (0, 0)
    assert await session.scalar(select(func.count()).select_from(AuthSession)) == 1
    assert await session.scalar(select(func.count()).select_from(LoginFailure)) == 1
