"""Every entrance is throttled: WebSocket connections and operations count against the same
budget as HTTP requests, sockets per address are capped, /auth/token is counted, and a
user's live sessions are capped (the least recently used ended first)."""

import asyncio
from typing import Any

import httpx
import pytest
from websockets.exceptions import InvalidStatus

from gql.auth.sessions import AuthTools
from gql.core.config import Settings
from gql.core.db import Database
from gql.main import create_app
from tests.auth.helpers import MY_SESSIONS, bearer, error_code, login, register
from tests.conftest import ServerFactory, execute, make_settings
from tests.ws import GraphQLWebSocket

TYPENAME = "{ __typename }"
REGISTER_OVER_WS = """
mutation { register(input: {email: "ws@example.com", password: "correct horse battery"}) {
  __typename } }
"""


async def test_websocket_operations_count_against_the_request_budget(
    server_with: ServerFactory,
) -> None:
    # given: a budget of 4 requests per client and minute
    server = await server_with(rate_limit_requests=4)
    async with (
        httpx.AsyncClient(base_url=server.http_url) as http,
        GraphQLWebSocket(server.ws_url) as ws,  # the connection is one
    ):
        # when: operations over the socket, a mutation among them
        await ws.subscribe("1", TYPENAME)
        assert (await ws.receive_for("1"))["type"] == "next"
        await ws.subscribe("2", REGISTER_OVER_WS)
        assert (await ws.receive_for("2"))["type"] == "next"
        await ws.subscribe("3", TYPENAME)
        assert (await ws.receive_for("3"))["type"] == "next"
        await ws.subscribe("4", TYPENAME)
        refused = await ws.receive_for("4")
        # then: the fifth request of the window is refused, whatever its transport
        assert refused["type"] == "error"
        (error,) = refused["payload"]
        assert error["extensions"]["code"] == "RATE_LIMITED"
        assert error["extensions"]["retryAfter"] >= 1
        assert (await http.post("/graphql", json={"query": TYPENAME})).status_code == 429


async def test_sockets_per_address_are_capped(server_with: ServerFactory) -> None:
    # given
    server = await server_with(ws_connections_per_address=2)
    async with GraphQLWebSocket(server.ws_url), GraphQLWebSocket(server.ws_url):
        # when: a third socket from the same address
        with pytest.raises(InvalidStatus) as refused:
            async with GraphQLWebSocket(server.ws_url):
                pass
        # then
        assert refused.value.response.status_code == 403
    # and once one closes, another may open
    async with GraphQLWebSocket(server.ws_url), GraphQLWebSocket(server.ws_url):
        pass


async def test_auth_token_is_throttled_like_graphql(
    db: Database, settings: Settings, auth_tools: AuthTools
) -> None:
    # given: a budget of 2
    app = create_app(
        make_settings(settings.database_url, rate_limit_requests=2), database=db, auth=auth_tools
    )
    form = {"username": "nobody@example.com", "password": "wrong password"}
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        # when
        answers = [(await client.post("/auth/token", data=form)).status_code for _ in range(3)]
        probe = await client.get("/healthz")
    # then: two were looked at (and refused), the third never reached a hash
    assert answers == [401, 401, 429]
    assert probe.status_code == 200  # probes are not counted


async def test_a_users_live_sessions_are_capped_oldest_ended_first(
    db: Database, settings: Settings, clock: Any
) -> None:
    # given: at most 2 live sessions per user
    configured = make_settings(settings.database_url, max_sessions_per_user=2)
    app = create_app(configured, database=db, auth=AuthTools.from_settings(configured, clock))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        first = (await register(client))["accessToken"]
        clock.advance(seconds=1)
        second = (await login(client))["accessToken"]
        clock.advance(seconds=1)
        # when: a third login
        third = (await login(client))["accessToken"]
        # then: the first session ended; the other two stand
        assert error_code(await execute(client, MY_SESSIONS, headers=bearer(first))) == (
            "UNAUTHENTICATED"
        )
        sessions = (await execute(client, MY_SESSIONS, headers=bearer(third)))["data"]
        assert len(sessions["mySessions"]) == 2
        assert "errors" not in await execute(client, MY_SESSIONS, headers=bearer(second))


@pytest.mark.postgres_only
async def test_websocket_operations_share_the_budget_across_processes(
    server_with: ServerFactory,
) -> None:
    # given: two app instances on one PostgreSQL database, a budget of 3
    first = await server_with(rate_limit_requests=3, rate_limit_sync_seconds=0.1)
    second = await server_with(rate_limit_requests=3, rate_limit_sync_seconds=0.1)
    # when: the connection and two operations through the first one's socket
    async with GraphQLWebSocket(first.ws_url) as ws:
        for op_id in ("1", "2"):
            await ws.subscribe(op_id, TYPENAME)
            assert (await ws.receive_for(op_id))["type"] == "next"
    async with httpx.AsyncClient(base_url=second.http_url) as http:
        # (a process learns a client's count from the others once it has seen the client:
        # one request past the budget, as documented)
        assert (await http.post("/graphql", json={"query": TYPENAME})).status_code == 200
        await asyncio.sleep(0.5)  # both share their counts meanwhile
        # then: the second refuses the client's next request
        assert (await http.post("/graphql", json={"query": TYPENAME})).status_code == 429
