"""A small graphql-transport-ws client over a real socket, for the tests."""

import asyncio
import json
import socket
from collections import defaultdict, deque
from typing import Any

from websockets.asyncio.client import ClientConnection, connect

PROTOCOL = "graphql-transport-ws"


class GraphQLWebSocket:
    """One connection: init, subscribe, and read messages (answering server pings)."""

    def __init__(self, url: str, token: str | None = None, **connect_options: Any) -> None:
        self.url = url
        self.token = token
        self.connect_options = connect_options
        self.ws: ClientConnection | None = None
        self.pending: defaultdict[str, deque[dict[str, Any]]] = defaultdict(deque)

    async def __aenter__(self) -> "GraphQLWebSocket":
        self.ws = await connect(
            self.url, subprotocols=[PROTOCOL], open_timeout=5, **self.connect_options
        )
        payload = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        await self.ws.send(json.dumps({"type": "connection_init", "payload": payload}))
        ack = await self.receive()
        assert ack["type"] == "connection_ack", ack
        return self

    async def __aexit__(self, *_: object) -> None:
        assert self.ws is not None
        await self.ws.close()

    async def subscribe(
        self, op_id: str, query: str, variables: dict[str, Any] | None = None
    ) -> None:
        """Start an operation."""
        assert self.ws is not None
        message = {
            "id": op_id,
            "type": "subscribe",
            "payload": {"query": query, "variables": variables or {}},
        }
        await self.ws.send(json.dumps(message))

    async def complete(self, op_id: str) -> None:
        """Stop an operation."""
        assert self.ws is not None
        await self.ws.send(json.dumps({"id": op_id, "type": "complete"}))

    async def receive(self, timeout: float = 10) -> dict[str, Any]:
        """The next message that is not a ping."""
        assert self.ws is not None
        # One deadline for the whole wait: the server's pings must not extend it.
        async with asyncio.timeout(timeout):
            return await self._receive_skipping_pings()

    async def _receive_skipping_pings(self) -> dict[str, Any]:
        assert self.ws is not None
        while True:
            message: dict[str, Any] = json.loads(await self.ws.recv())
            if message["type"] == "ping":
                await self.ws.send(json.dumps({"type": "pong"}))
                continue
            return message

    async def receive_for(self, op_id: str, timeout: float = 10) -> dict[str, Any]:
        """The next message of one operation; those of others wait their turn."""
        if self.pending[op_id]:
            return self.pending[op_id].popleft()
        while True:
            message = await self.receive(timeout)
            if message.get("id") == op_id:
                return message
            self.pending[str(message.get("id"))].append(message)

    async def events(self, op_id: str, count: int, timeout: float = 10) -> list[dict[str, Any]]:
        """The payloads of the next `count` messages of an operation."""
        payloads = []
        while len(payloads) < count:
            message = await self.receive_for(op_id, timeout)
            assert message["type"] == "next", message
            payloads.append(message["payload"])
        return payloads

    async def silent(self, seconds: float) -> bool:
        """Whether nothing but pings arrives for `seconds`."""
        try:
            message = await self.receive(timeout=seconds)
        except TimeoutError:
            return True
        raise AssertionError(f"unexpected message {message}")

    def stop_reading(self) -> None:
        """Read nothing more from the socket: a frozen browser tab, as the server sees it."""
        assert self.ws is not None
        self.ws.transport.pause_reading()

    def resume_reading(self) -> None:
        """Read again."""
        assert self.ws is not None
        self.ws.transport.resume_reading()


def small_buffer_socket(port: int) -> socket.socket:
    """A connected socket with a 4 KiB receive buffer (no autotuning), for a stalled reader."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect(("127.0.0.1", port))
    return sock
