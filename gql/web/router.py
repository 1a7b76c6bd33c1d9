"""The GraphQL endpoint over HTTP, with GraphQL-over-HTTP media types (its WebSocket
endpoint: gql.realtime.websocket)."""

import contextlib
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.websockets import WebSocket
from strawberry.fastapi import GraphQLRouter
from strawberry.http import GraphQLHTTPResponse
from strawberry.types.execution import ExecutionResult
from strawberry.types.unset import UNSET, UnsetType

from gql.graphql import compat
from gql.graphql.context import Context
from gql.web.graphiql import GraphiQLPage
from gql.web.middleware import decode_json

JSON = "application/json"
GRAPHQL_RESPONSE = "application/graphql-response+json"
# Set on request.state: the HTTP status of a result that failed before execution, when the
# client accepts application/graphql-response+json.
REQUEST_ERROR_STATUS = "gql_request_error_status"
# Set on request.state: the seconds of an operation refused for its cost (RATE_LIMITED), whose
# answer is a 429 with Retry-After, as the request limit's (gql.web.ratelimit), whatever the
# media type.
RETRY_AFTER = "gql_retry_after"
CREDENTIAL_CODES = frozenset({"UNAUTHENTICATED", "TOKEN_EXPIRED"})
MALFORMED_MULTIPART = (
    "The multipart request is malformed: `operations` must be a JSON object (the "
    "operation) and `map` a JSON object from each file's field name to the list of variable "
    "paths it fills (the GraphQL multipart request spec)."
)


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


def content_type(accept: str | None) -> str:
    """The Content-Type of a JSON answer to a client sending this Accept header."""
    media_type = accepted_media_type(accept)
    return f"{GRAPHQL_RESPONSE}; charset=utf-8" if media_type == GRAPHQL_RESPONSE else JSON


def is_request_error(result: ExecutionResult) -> bool:
    """A request that never executed: no `data` at all, errors without a path."""
    return (
        result.data is None
        and bool(result.errors)
        and all(error.path is None for error in result.errors or ())
    )


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

    async def parse_multipart(self, request: Any) -> dict[str, str]:
        """A GraphQL multipart request whose form does not hold together is a 400, not an
        internal error."""
        try:
            return await super().parse_multipart(request)
        except compat.ViewHTTPException:
            raise
        except (ValueError, TypeError, KeyError, IndexError, AttributeError):
            raise compat.ViewHTTPException(400, MALFORMED_MULTIPART) from None

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
            elif "RATE_LIMITED" in codes:
                status = 429
                retry_after = max(
                    int((error.extensions or {}).get("retryAfter") or 1)
                    for error in result.errors or ()
                )
                setattr(request.state, RETRY_AFTER, retry_after)
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
        try:
            response = await base_run(request, context, root_value)
        except compat.ViewHTTPException as refused:
            # Coded, as every other refusal (Strawberry's router would answer in plain text).
            return JSONResponse(
                {"errors": [{"message": refused.reason, "extensions": {"code": "BAD_USER_INPUT"}}]},
                status_code=refused.status_code,
            )
        if not isinstance(request, Request) or not isinstance(response, Response):
            return response
        retry_after = getattr(request.state, RETRY_AFTER, None)
        if retry_after is not None and response.status_code == 200:
            response.status_code = 429
            response.headers["retry-after"] = str(retry_after)
        if response.media_type != JSON:
            return response
        media_type = content_type(request.headers.get("accept"))
        if media_type != JSON:
            response.headers["content-type"] = media_type
            status = getattr(request.state, REQUEST_ERROR_STATUS, None)
            if status is not None and response.status_code == 200:
                response.status_code = status
                if status == 401:
                    response.headers["www-authenticate"] = "Bearer"
        return response
