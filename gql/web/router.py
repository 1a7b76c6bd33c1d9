"""The GraphQL endpoint: HTTP with GraphQL-over-HTTP media types, and WebSockets with
authentication, pings and per-user connection limits."""

import asyncio
import contextlib
import math
from collections.abc import Callable, Hashable
from typing import Any

import orjson
from graphql import GraphQLFormattedError
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.types import Receive, Scope
from starlette.types import Send as ASGISend
from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketState
from strawberry.asgi import GraphQL
from strawberry.exceptions import ConnectionRejectionError
from strawberry.fastapi import GraphQLRouter
from strawberry.http import GraphQLHTTPResponse
from strawberry.http.exceptions import NonJsonMessageReceived, WebSocketDisconnected
from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import (
    BaseGraphQLTransportWSHandler,
    Operation,
    _OperationStreamClosed,
)
from strawberry.subscriptions.protocols.graphql_transport_ws.types import (
    ErrorMessage as TransportErrorMessage,
)
from strawberry.subscriptions.protocols.graphql_transport_ws.types import NextMessage
from strawberry.subscriptions.protocols.graphql_ws.handlers import BaseGraphQLWSHandler
from strawberry.subscriptions.protocols.graphql_ws.types import ErrorMessage as LegacyErrorMessage
from strawberry.types.execution import ExecutionResult
from strawberry.types.unset import UNSET, UnsetType
from strawberry.utils.aio import aclosing

from gql.context import Context, new_operation
from gql.errors import RequestError
from gql.fanout import LIVE_TARGET, LiveTarget, Send, frame_prefix
from gql.web.graphiql import GraphiQLPage
from gql.web.middleware import decode_json
from gql.web.persisted import safelisted
from gql.web.ratelimit import RateLimiter

JSON = "application/json"
GRAPHQL_RESPONSE = "application/graphql-response+json"
# Set on request.state: the HTTP status of a result that failed before execution, when the
# client accepts application/graphql-response+json.
REQUEST_ERROR_STATUS = "gql_request_error_status"
CREDENTIAL_CODES = frozenset({"UNAUTHENTICATED", "TOKEN_EXPIRED"})


def accepted_media_type(accept: str | None) -> str:
    """`application/graphql-response+json` when the client prefers it, else JSON."""
    best, best_quality = JSON, -1.0
    for part in (accept or "").split(","):
        media_type, *parameters = (piece.strip().lower() for piece in part.split(";"))
        if media_type not in (GRAPHQL_RESPONSE, JSON):
            continue
        quality = 1.0
        for parameter in parameters:
            name, _, value = parameter.partition("=")
            if name.strip() == "q":
                with contextlib.suppress(ValueError):
                    quality = float(value)
        if quality > best_quality:
            best, best_quality = media_type, quality
    return best if best_quality > 0 else JSON


def is_request_error(result: ExecutionResult) -> bool:
    """A request that never executed: no `data` at all, errors without a path."""
    return (
        result.data is None
        and bool(result.errors)
        and all(error.path is None for error in result.errors or ())
    )


def _socket_sender(context: Context) -> Send:
    """Writes a ready frame to the context's WebSocket."""
    websocket = context.request
    assert isinstance(websocket, WebSocket)
    return websocket.send_text


class TransportWSHandler(BaseGraphQLTransportWSHandler[Context, None]):
    """graphql-transport-ws with server pings, so idle connections and proxies stay alive;
    each operation may send shared frames straight to the socket (gql.fanout)."""

    ping_interval: float = 15.0

    async def run_operation(self, operation: Operation[Context, None]) -> None:
        """Strawberry's operation task, which also runs the live phase a resolver hands
        over (gql.fanout): set in this task, the target is seen by its resolvers only."""
        new_operation()
        target = LiveTarget(
            prefix=frame_prefix("next", operation.id),
            send=_socket_sender(self.context),
            query=operation.query,
            operation_name=operation.operation_name,
            variables=operation.variables,
            can_hand_off=True,
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
                    message = NextMessage(id=operation.id, type="next", payload=ending)  # type: ignore[typeddict-item]
                    await operation.send_operation_message(message)
            await operation.send_operation_message({"id": operation.id, "type": "complete"})
        except _OperationStreamClosed:
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
            await self._send_result_stream(operation, result_source)

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
    """The legacy graphql-ws protocol; operations may send shared frames (gql.fanout)."""

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


class Router(GraphQLRouter[Context, None]):
    """The GraphQL endpoint, answering with orjson."""

    def __init__(self, *args: Any, graphiql: GraphiQLPage | None = None, **kwargs: Any) -> None:
        kwargs["graphql_ide"] = "graphiql" if graphiql else None
        # WebSockets are served by WebSocketEndpoint, ahead of FastAPI's routing.
        kwargs["subscription_protocols"] = ()
        super().__init__(*args, **kwargs)
        self.graphiql = graphiql

    async def render_graphql_ide(self, request: Request) -> HTMLResponse:
        """Our GraphiQL page (assets from npm, served here); Strawberry's as a fallback."""
        if self.graphiql is not None and self.graphiql.html is not None:
            return HTMLResponse(self.graphiql.html)
        return await super().render_graphql_ide(request)

    def encode_json(self, data: object) -> str:
        """orjson is several times faster than the standard library here."""
        return orjson.dumps(data).decode()

    def decode_json(self, data: str | bytes) -> object:
        """As WellFormedGraphQL checked the body (gql.web.middleware.decode_json)."""
        return decode_json(data)

    async def process_result(
        self, request: Request, result: ExecutionResult
    ) -> GraphQLHTTPResponse:
        """A request error has no `data` entry (GraphQL over HTTP)."""
        response = await super().process_result(request, result)
        if is_request_error(result):
            response.pop("data", None)
            codes = {(error.extensions or {}).get("code") for error in result.errors or ()}
            status = 400
            if codes <= CREDENTIAL_CODES:
                status = 401
            elif "SERVICE_UNAVAILABLE" in codes:
                status = 503
            elif "INTERNAL_SERVER_ERROR" in codes:
                status = 500
            setattr(request.state, REQUEST_ERROR_STATUS, status)
        return response

    async def run(
        self,
        request: Request | WebSocket,
        context: Context | UnsetType = UNSET,
        root_value: UnsetType | None = UNSET,
    ) -> Any:
        """Answer in the media type the client accepts; with graphql-response+json, a request
        error is a 400 (401 for bad credentials); with plain JSON it stays 200, as older
        clients expect."""
        base_run: Any = super().run  # its overloads split HTTP and WebSocket requests
        response = await base_run(request, context, root_value)
        if not isinstance(request, Request) or not isinstance(response, Response):
            return response
        if response.media_type != JSON:
            return response
        if accepted_media_type(request.headers.get("accept")) == GRAPHQL_RESPONSE:
            response.headers["content-type"] = f"{GRAPHQL_RESPONSE}; charset=utf-8"
            status = getattr(request.state, REQUEST_ERROR_STATUS, None)
            if status is not None and response.status_code == 200:
                response.status_code = status
                if status == 401:
                    response.headers["www-authenticate"] = "Bearer"
        return response


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
