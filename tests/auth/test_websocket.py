"""WebSocket connections authenticate with the token in `connection_init`."""

import json
from typing import Any

import httpx
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from tests.auth.helpers import LOGOUT, bearer, register
from tests.conftest import LiveServer, execute

PROTOCOL = "graphql-transport-ws"


async def _init(server: LiveServer, payload: dict[str, Any] | None) -> dict[str, Any]:
    async with connect(server.ws_url, subprotocols=[PROTOCOL], open_timeout=5) as ws:
        await ws.send(json.dumps({"type": "connection_init", "payload": payload or {}}))
        message: dict[str, Any] = json.loads(await ws.recv())
        return message


async def _closed_with(server: LiveServer, payload: dict[str, Any]) -> int:
    async with connect(server.ws_url, subprotocols=[PROTOCOL], open_timeout=5) as ws:
        await ws.send(json.dumps({"type": "connection_init", "payload": payload}))
        with pytest.raises(ConnectionClosed) as closed:
            await ws.recv()
        assert closed.value.rcvd is not None
        return closed.value.rcvd.code


@pytest.mark.parametrize("key", ["Authorization", "authorization"])
async def test_a_valid_token_is_acknowledged(
    live_server: LiveServer, client: httpx.AsyncClient, key: str
) -> None:
    payload = await register(client)
    ack = await _init(live_server, {key: f"Bearer {payload['accessToken']}"})
    assert ack["type"] == "connection_ack"


async def test_no_token_is_an_anonymous_connection(live_server: LiveServer) -> None:
    assert (await _init(live_server, None))["type"] == "connection_ack"


@pytest.mark.parametrize(
    "authorization",
    ["Bearer not-a-token", "Basic abc", "Bearer "],
    ids=["garbage", "scheme", "empty"],
)
async def test_a_bad_token_closes_with_4403(live_server: LiveServer, authorization: str) -> None:
    assert await _closed_with(live_server, {"Authorization": authorization}) == 4403


async def test_a_revoked_session_closes_with_4403(
    live_server: LiveServer, client: httpx.AsyncClient
) -> None:
    payload = await register(client)
    await execute(client, LOGOUT, headers=bearer(payload["accessToken"]))
    code = await _closed_with(live_server, {"Authorization": f"Bearer {payload['accessToken']}"})
    assert code == 4403
