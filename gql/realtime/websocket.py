"""The GraphQL WebSocket endpoint (graphql-transport-ws, and the legacy graphql-ws):
authentication in connection_init, server pings, limits per user and per address, the
request budget and the safelist for every operation, and the live phase of subscriptions
whose frames are shared (gql.realtime.fanout)."""

import asyncio
import contextlib
import math
from collections.abc import Callable, Hashable
from contextlib import aclosing
from typing import Any

import orjson
from graphql import GraphQLFormattedError
from starlette.requests import Request
from starlette.types import Receive, Scope
from starlette.types import Send as ASGISend
from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketState
from strawberry.asgi import GraphQL
from strawberry.exceptions import ConnectionRejectionError
from strawberry.http.exceptions import NonJsonMessageReceived, WebSocketDisconnected
from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import (
    BaseGraphQLTransportWSHandler,
    Operation,
)
from strawberry.subscriptions.protocols.graphql_transport_ws.types import (
    ErrorMessage as TransportErrorMessage,
)
from strawberry.subscriptions.protocols.graphql_transport_ws.types import NextMessage
from strawberry.subscriptions.protocols.graphql_ws.handlers import BaseGraphQLWSHandler
from strawberry.subscriptions.protocols.graphql_ws.types import ErrorMessage as LegacyErrorMessage
from strawberry.types.unset import UnsetType

from gql.core.errors import RequestError
from gql.graphql import compat
from gql.graphql.caller import new_operation
from gql.graphql.context import Context
from gql.graphql.execution.cost import new_cost_report
from gql.realtime.fanout import LIVE_TARGET, LiveTarget, Send, frame_prefix
from gql.web.persisted import safelisted
from gql.web.ratelimit import RateLimiter


def _socket_sender(context: Context) -> Send:
    """Writes a ready frame to the context's WebSocket."""
    websocket = context.request
    assert isinstance(websocket, WebSocket)
    return websocket.send_text


class TransportWSHandler(BaseGraphQLTransportWSHandler[Context, None]):
    """graphql-transport-ws with server pings, so idle connections and proxies stay alive;
    each operation may send shared frames straight to the socket (gql.realtime.fanout)."""

    ping_interval: float = 15.0

    async def run_operation(self, operation: Operation[Context, None]) -> None:
        """Strawberry's operation task, which also runs the live phase a resolver hands
        over (gql.realtime.fanout): set in this task, the target is seen by its resolvers only."""
        new_operation()
        target = LiveTarget(
            prefix=frame_prefix("next", operation.id),
            send=_socket_sender(self.context),
            query=operation.query,
            operation_name=operation.operation_name,
            variables=operation.variables,
            can_hand_off=True,
            cost=new_cost_report(),
        )
        LIVE_TARGET.set(target)
        try:
            await self._stream(operation)
            if target.handoff is not None:
                # Held for as long as the subscription lives, and needed no more.
                operation.query = target.query = ""
                operation.variables = target.variables = None
                new_operation()
                ending = await target.handoff.follow(target)
                if ending is not None:
                    payload = target.first_extensions(ending)
                    message = NextMessage(id=operation.id, type="next", payload=payload)  # type: ignore[typeddict-item]
                    await operation.send_operation_message(message)
            await operation.send_operation_message({"id": operation.id, "type": "complete"})
        except compat.OperationStreamClosed:
            return
        except Exception as error:
            await self.handle_task_exception(error)
            with contextlib.suppress(Exception):
                await operation.send_operation_message({"id": operation.id, "type": "complete"})
            self.operations.pop(operation.id, None)
            raise
        finally:
            if target.handoff is not None:
                target.handoff.release()

    async def _stream(self, operation: Operation[Context, None]) -> None:
        # Its own frame, so that nothing of the execution outlives it into the live phase.
        result_source = await self.schema.stream(
            operation.query,
            variable_values=operation.variables,
            context_value=self.context,
            root_value=self.root_value,
            operation_name=operation.operation_name,
        )
        async with aclosing(result_source):
            await compat.send_result_stream(self, operation, result_source)

    async def handle(self) -> None:
        """Strawberry's receive loop, keeping no message alive while waiting for the next
        (an idle socket would hold its last one, the subscription, otherwise)."""
        self.on_request_accepted()
        websocket = self._websocket
        try:
            try:
                while websocket.application_state != WebSocketState.DISCONNECTED:
                    await self._handle_text(await websocket.receive_text())
            except KeyError:
                await self.handle_invalid_message("WebSocket message type must be text")
            except NonJsonMessageReceived:
                await self.handle_invalid_message("WebSocket message must be valid JSON")
        except (WebSocketDisconnect, WebSocketDisconnected):
            pass
        finally:
            await self.shutdown()

    @property
    def _websocket(self) -> WebSocket:
        websocket = self.context.request
        assert isinstance(websocket, WebSocket)
        return websocket

    async def _handle_text(self, text: str) -> None:
        try:
            message: Any = self.view.decode_json(text)
        except ValueError:
            raise NonJsonMessageReceived from None
        await self.handle_message(message)

    async def handle_task_exception(self, error: Exception) -> None:
        """A client that went away mid-send is no error of ours."""
        if not isinstance(error, WebSocketDisconnected | WebSocketDisconnect):
            await super().handle_task_exception(error)

    def on_request_accepted(self) -> None:
        """Start pinging once the socket is accepted."""
        super().on_request_accepted()
        self._ping_task: asyncio.Task[None] | None = None
        self._ping_timer = asyncio.get_running_loop().call_later(self.ping_interval, self._ping)

    def _ping(self) -> None:
        # A timer, not a task sleeping under every socket: an idle one should cost little.
        self._ping_task = asyncio.create_task(self._send_ping())

    async def _send_ping(self) -> None:
        if self.connection_acknowledged:
            try:
                await self.send_message({"type": "ping"})
            except Exception:
                return
        self._ping_timer = asyncio.get_running_loop().call_later(self.ping_interval, self._ping)

    async def handle_subscribe(self, message: Any) -> None:
        """Every operation counts against the caller's request budget, as over HTTP; with a
        safelist, only its operations run."""
        refusal = _refusal(self.view, self.context, (message.get("payload") or {}).get("query"))
        if refusal is not None and self.connection_acknowledged:
            await self.send_message(
                TransportErrorMessage(id=message["id"], type="error", payload=[refusal])
            )
            return
        await super().handle_subscribe(message)

    async def handle_connection_init(self, message: Any) -> None:
        """Then forget the finished init-timeout task (it would stay with the socket)."""
        await super().handle_connection_init(message)
        if self.connection_acknowledged:
            self.connection_init_timeout_task = None

    async def shutdown(self) -> None:
        """Stop pinging, then end the operations."""
        self._ping_timer.cancel()
        if self._ping_task is not None:
            self._ping_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._ping_task
        await super().shutdown()


class LegacyWSHandler(BaseGraphQLWSHandler[Context, None]):
    """The legacy graphql-ws protocol; operations may send shared frames (gql.realtime.fanout)."""

    async def handle_start(self, message: Any) -> None:
        """Every operation counts against the caller's request budget, as over HTTP; with a
        safelist, only its operations run."""
        refusal = _refusal(self.view, self.context, (message.get("payload") or {}).get("query"))
        if refusal is not None and self.connection_acknowledged:
            await self.send_message(
                LegacyErrorMessage(type="error", id=message["id"], payload=refusal)
            )
            return
        await super().handle_start(message)

    async def handle_async_results(
        self,
        operation_id: str,
        query: str,
        operation_name: str | None,
        variables: dict[str, object] | None,
    ) -> None:
        """Run in the operation's own task: the target is seen by its resolvers only."""
        new_operation()
        LIVE_TARGET.set(
            LiveTarget(
                prefix=frame_prefix("data", operation_id),
                send=_socket_sender(self.context),
                query=query,
                operation_name=operation_name,
                variables=variables,
                cost=new_cost_report(),
            )
        )
        await super().handle_async_results(operation_id, query, operation_name, variables)


class ConnectionLimiter:
    """Counts the open WebSocket connections of each user (or address) in this process."""

    def __init__(self, limit: int) -> None:
        self.limit = limit  # 0: no limit
        self.open: dict[Hashable, int] = {}

    def acquire(self, holder: Hashable) -> bool:
        """Count a new connection, unless the holder already has `limit` of them."""
        if self.limit and self.open.get(holder, 0) >= self.limit:
            return False
        self.open[holder] = self.open.get(holder, 0) + 1
        return True

    def release(self, holder: Hashable) -> None:
        """Forget a closed connection."""
        remaining = self.open.get(holder, 0) - 1
        if remaining > 0:
            self.open[holder] = remaining
        else:
            self.open.pop(holder, None)


def _refusal(view: Any, context: Context, query: object) -> GraphQLFormattedError | None:
    """The error of an operation not on the safelist or over its client's request budget,
    or None to run it."""
    if not safelisted(getattr(view, "safelist", None), query if isinstance(query, str) else None):
        return {
            "message": "Only the operations registered with this server may run.",
            "extensions": {"code": "PERSISTED_QUERY_NOT_IN_LIST"},
        }
    limiter: RateLimiter | None = getattr(view, "rate_limiter", None)
    if limiter is None or not limiter.enabled:
        return None
    retry_after = limiter.hit(context.client.ip or "unknown")
    if retry_after is None:
        return None
    seconds = max(1, math.ceil(retry_after))
    return {
        "message": f"Too many requests; retry in {seconds} s.",
        "extensions": {"code": "RATE_LIMITED", "retryAfter": seconds},
    }


CONTEXT_KEY = "gql.context"


class WebSocketEndpoint(GraphQL[Context, None]):
    """The GraphQL WebSocket endpoint, a bare ASGI app that the application calls before
    FastAPI: under every open socket FastAPI's routing, dependency and middleware frames
    would stay suspended (several KB per connection). Authenticates in `connection_init`,
    limits connections per user and per address, counts connections and operations against
    the client's request budget, pings (graphql-transport-ws) or keeps alive (graphql-ws)."""

    graphql_transport_ws_handler_class = TransportWSHandler
    graphql_ws_handler_class = LegacyWSHandler

    def __init__(
        self,
        schema: Any,
        make_context: Callable[[WebSocket], Context],
        *,
        connections_per_user: int,
        connections_per_address: int,
        rate_limiter: RateLimiter,
        safelist: dict[str, str] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(schema, graphql_ide=None, allow_queries_via_get=False, **kwargs)
        self.make_context = make_context
        self.connection_limiter = ConnectionLimiter(connections_per_user)
        self.address_limiter = ConnectionLimiter(connections_per_address)
        self.rate_limiter = rate_limiter
        self.safelist = safelist

    async def __call__(self, scope: Scope, receive: Receive, send: ASGISend) -> None:
        """Serve one WebSocket; its context is closed when it ends. A socket beyond its
        address's share, or over the client's request budget, is refused (HTTP 403)."""
        address = scope["client"][0] if scope.get("client") else "unknown"
        over_budget = self.rate_limiter.enabled and self.rate_limiter.hit(address) is not None
        if over_budget or not self.address_limiter.acquire(address):
            if (await receive())["type"] == "websocket.connect":
                await send({"type": "websocket.close", "code": 1008})
            return
        try:
            await super().__call__(scope, receive, send)
        finally:
            self.address_limiter.release(address)
            context = scope.get(CONTEXT_KEY)
            if isinstance(context, Context):
                await context.close()

    async def get_context(self, request: Request | WebSocket, response: Any) -> Context:
        """A long-lived context for the connection."""
        assert isinstance(request, WebSocket)
        context = self.make_context(request)
        context.request = request
        request.scope[CONTEXT_KEY] = context
        return context

    def encode_json(self, data: object) -> str:
        """Text frames: WebSocket clients (graphql-ws, GraphiQL) only accept those."""
        return orjson.dumps(data).decode()

    async def on_ws_connect(self, context: Context) -> UnsetType | dict[str, object] | None:
        """Authenticate a WebSocket from its `connection_init` payload; refuse a bad token."""
        params = context.connection_params
        context.connection_params = None  # read once; the socket need not keep it
        if isinstance(params, dict):
            token = params.get("Authorization") or params.get("authorization")
            if isinstance(token, str):
                context.authorization = token
        try:
            viewer = await context.viewer()
        except RequestError as error:
            raise ConnectionRejectionError({"message": error.message}) from None
        # The connection's handler task keeps no caller: each operation authenticates.
        new_operation()
        if viewer is not None:
            user_id = viewer.user.id
            if not self.connection_limiter.acquire(user_id):
                raise ConnectionRejectionError({"message": "Too many connections for this user."})
            context.on_close.append(lambda: self.connection_limiter.release(user_id))
        return None


# Fire-and-forget tasks are kept here so they are not garbage-collected mid-flight.
_background: set[asyncio.Task[None]] = set()


def close_soon(context: Context, code: int) -> None:
    """Close the context's WebSocket shortly, after the frames already queued have gone out."""
    websocket = context.request
    if not isinstance(websocket, WebSocket):
        return

    async def close_later() -> None:
        await asyncio.sleep(0.2)
        with contextlib.suppress(Exception):
            await websocket.close(code=code)

    task = asyncio.create_task(close_later())
    _background.add(task)
    task.add_done_callback(_background.discard)
