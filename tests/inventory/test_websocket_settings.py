"""WebSocket settings: the legacy protocol is opt-in; connections per user are limited."""

import json

import httpx
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidStatus, NegotiationError

from gql.core.db import Database
from tests.conftest import ServerFactory
from tests.factories import signed_in
from tests.ws import GraphQLWebSocket


async def test_the_legacy_protocol_is_off_by_default(server_with: ServerFactory) -> None:
    server = await server_with()
    with pytest.raises((InvalidStatus, NegotiationError, ConnectionClosed)):
        async with connect(server.ws_url, subprotocols=["graphql-ws"]) as ws:
            await ws.send(json.dumps({"type": "connection_init", "payload": {}}))
            await ws.recv()


async def test_the_legacy_protocol_when_enabled(server_with: ServerFactory) -> None:
    server = await server_with(graphql_ws_legacy=True)
    async with connect(server.ws_url, subprotocols=["graphql-ws"]) as ws:
        assert ws.subprotocol == "graphql-ws"
        await ws.send(json.dumps({"type": "connection_init", "payload": {}}))
        assert json.loads(await ws.recv())["type"] == "connection_ack"


async def test_connections_per_user_are_limited(
    server_with: ServerFactory, client: httpx.AsyncClient, db: Database
) -> None:
    server = await server_with(connections_per_user=2)
    staff = await signed_in(client, db, "staff@example.com", "staff")
    token = staff["Authorization"].removeprefix("Bearer ")
    async with GraphQLWebSocket(server.ws_url, token), GraphQLWebSocket(server.ws_url, token):
        with pytest.raises(ConnectionClosed) as closed:
            async with GraphQLWebSocket(server.ws_url, token):
                pass
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 4403
    # closed connections no longer count
    async with GraphQLWebSocket(server.ws_url, token), GraphQLWebSocket(server.ws_url, token):
        pass
