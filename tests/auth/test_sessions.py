"""Refresh rotation with reuse detection, revocation seen at once, password change."""

from typing import Any

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from gql.auth.models import AuthSession
from gql.core.config import Settings
from gql.core.db import Database
from gql.main import create_app
from tests.auth.helpers import (
    CHANGE_PASSWORD,
    LOGOUT,
    LOGOUT_ALL,
    ME,
    MY_SESSIONS,
    PASSWORD,
    REFRESH,
    REVOKE_SESSION,
    bearer,
    error_code,
    login,
    register,
)
from tests.conftest import execute, without_cost


async def _me_ok(client: httpx.AsyncClient, access_token: str) -> bool:
    body = await execute(client, ME, headers=bearer(access_token))
    return body.get("data") is not None and body["data"]["me"] is not None


async def _refresh(client: httpx.AsyncClient, refresh_token: str) -> dict[str, Any]:
    return await execute(client, REFRESH, {"token": refresh_token})


async def test_refresh_rotates_the_pair(client: httpx.AsyncClient) -> None:
    # given
    first = await register(client)
    # when
    body = await _refresh(client, first["refreshToken"])
    # then
    second = body["data"]["refreshToken"]
    assert second["refreshToken"] != first["refreshToken"]
    assert second["accessToken"] != first["accessToken"]
    assert await _me_ok(client, second["accessToken"])
    third = (await _refresh(client, second["refreshToken"]))["data"]["refreshToken"]
    assert await _me_ok(client, third["accessToken"])


async def test_reusing_a_retired_refresh_token_revokes_the_session(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    # given: a token that has been exchanged once already
    first = await register(client)
    second = (await _refresh(client, first["refreshToken"]))["data"]["refreshToken"]
    # when: the retired one comes back
    reuse = await _refresh(client, first["refreshToken"])
    # then: refused, and the newest tokens of that session die with it
    assert error_code(reuse) == "UNAUTHENTICATED"
    assert error_code(await _refresh(client, second["refreshToken"])) == "UNAUTHENTICATED"
    assert error_code(await execute(client, ME, headers=bearer(second["accessToken"]))) == (
        "UNAUTHENTICATED"
    )
    revoked = await session.scalar(select(AuthSession.revoked_at))
    assert revoked is not None


async def test_logout_refuses_the_old_access_token_on_the_next_request(
    client: httpx.AsyncClient,
) -> None:
    payload = await register(client)
    other = await login(client)
    token = payload["accessToken"]
    body = await execute(client, LOGOUT, headers=bearer(token))
    assert body["data"]["logout"] == {"revokedSessions": 1}
    assert error_code(await execute(client, ME, headers=bearer(token))) == "UNAUTHENTICATED"
    assert error_code(await _refresh(client, payload["refreshToken"])) == "UNAUTHENTICATED"
    assert await _me_ok(client, other["accessToken"])


async def test_logout_all_ends_every_session(client: httpx.AsyncClient) -> None:
    sessions = [await register(client), await login(client), await login(client)]
    body = await execute(client, LOGOUT_ALL, headers=bearer(sessions[1]["accessToken"]))
    assert body["data"]["logoutAll"] == {"revokedSessions": 3}
    for payload in sessions:
        assert not await _me_ok(client, payload["accessToken"])


async def test_logout_needs_a_session(client: httpx.AsyncClient) -> None:
    assert error_code(await execute(client, LOGOUT)) == "UNAUTHENTICATED"
    assert error_code(await execute(client, LOGOUT_ALL)) == "UNAUTHENTICATED"


async def test_revoke_one_of_my_sessions(client: httpx.AsyncClient) -> None:
    # given
    mine = await register(client)
    laptop = await login(client)
    listed = await execute(client, MY_SESSIONS, headers=bearer(mine["accessToken"]))
    laptop_id = next(s["id"] for s in listed["data"]["mySessions"] if not s["current"])
    # when
    body = await execute(client, REVOKE_SESSION, {"id": laptop_id}, bearer(mine["accessToken"]))
    # then
    assert body["data"]["revokeSession"] == {
        "__typename": "RevokeSessionSuccess",
        "sessionId": laptop_id,
    }
    assert not await _me_ok(client, laptop["accessToken"])
    assert await _me_ok(client, mine["accessToken"])
    again = await execute(client, REVOKE_SESSION, {"id": laptop_id}, bearer(mine["accessToken"]))
    assert again["data"]["revokeSession"]["__typename"] == "NotFoundError"


async def test_another_users_session_reads_as_missing(client: httpx.AsyncClient) -> None:
    ada = await register(client)
    bob = await register(client, email="bob@example.com")
    bob_sessions = await execute(client, MY_SESSIONS, headers=bearer(bob["accessToken"]))
    bob_session = bob_sessions["data"]["mySessions"][0]["id"]
    body = await execute(client, REVOKE_SESSION, {"id": bob_session}, bearer(ada["accessToken"]))
    result = body["data"]["revokeSession"]
    assert (result["__typename"], result["field"]) == ("NotFoundError", "id")
    assert await _me_ok(client, bob["accessToken"])


async def test_change_password_ends_every_other_session(client: httpx.AsyncClient) -> None:
    # given
    current = await register(client)
    other = await login(client)
    # when
    body = await execute(
        client,
        CHANGE_PASSWORD,
        {"input": {"currentPassword": PASSWORD, "newPassword": "a brand new secret"}},
        bearer(current["accessToken"]),
    )
    # then
    assert body["data"]["changePassword"] == {
        "__typename": "ChangePasswordSuccess",
        "revokedSessions": 1,
    }
    assert await _me_ok(client, current["accessToken"])
    assert not await _me_ok(client, other["accessToken"])
    assert (await login(client))["__typename"] == "InvalidCredentialsError"
    assert (await login(client, password="a brand new secret"))["__typename"] == "AuthPayload"


async def test_change_password_rejections_change_nothing(client: httpx.AsyncClient) -> None:
    current = await register(client)
    other = await login(client)
    for change, typename, field in (
        (
            {"currentPassword": "wrong one!", "newPassword": "x" * 10},
            "InvalidCredentialsError",
            "currentPassword",
        ),
        ({"currentPassword": PASSWORD, "newPassword": "short"}, "ValidationError", "newPassword"),
    ):
        body = await execute(
            client, CHANGE_PASSWORD, {"input": change}, bearer(current["accessToken"])
        )
        result = body["data"]["changePassword"]
        assert (result["__typename"], result["field"]) == (typename, field)
    assert await _me_ok(client, other["accessToken"])
    assert (await login(client))["__typename"] == "AuthPayload"


async def test_revocation_is_seen_by_another_app_instance(
    client: httpx.AsyncClient, settings: Settings, auth_tools: Any
) -> None:
    # given: a second application process sharing only the database
    other_database = Database(settings)
    other_app = create_app(settings, database=other_database, auth=auth_tools)
    transport = httpx.ASGITransport(app=other_app)
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://other") as other:
            payload = await register(client)
            assert await _me_ok(other, payload["accessToken"])
            # when: logged out through the first instance
            await execute(client, LOGOUT, headers=bearer(payload["accessToken"]))
            # then: the second refuses the token on its very next request
            body = await execute(other, ME, headers=bearer(payload["accessToken"]))
            assert error_code(body) == "UNAUTHENTICATED"
    finally:
        await other_database.dispose()


async def test_a_mutation_after_one_that_rolled_back_still_knows_the_caller(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    # given: a document whose first mutation fails and rolls its transaction back
    payload = await register(client)
    document = """
    mutation {
      revokeSession(id: "no-such-session") { __typename }
      logoutAll { revokedSessions }
    }
    """
    # when
    body = await execute(client, document, headers=bearer(payload["accessToken"]))
    # then
    assert without_cost(body) == {
        "data": {
            "revokeSession": {"__typename": "NotFoundError"},
            "logoutAll": {"revokedSessions": 1},
        }
    }
    assert await session.scalar(select(AuthSession.revoked_at)) is not None
