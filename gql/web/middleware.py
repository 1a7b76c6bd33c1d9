"""ASGI middleware in front of every route: request ids and access logs, body size,
JSON-only GraphQL posts, and security headers."""

import json
import logging
import re
import time
import uuid
from collections.abc import Callable
from typing import Any

import orjson
from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gql.core.observability import Metrics, RequestRecord, current_request

access_log = logging.getLogger("gql.access")

GRAPHQL_PATH = "/graphql"
# A client's X-Request-ID is honoured when it looks like one; otherwise a new one is made.
REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")
API_CSP = "default-src 'none'; frame-ancestors 'none'"
HSTS = "max-age=63072000; includeSubDomains"


async def send_error(
    send: Send,
    status: int,
    message: str,
    code: str,
    headers: dict[str, str] | None = None,
    **extensions: Any,
) -> None:
    """A GraphQL-shaped error response sent before the app ran."""
    body = orjson.dumps(
        {"errors": [{"message": message, "extensions": {"code": code, **extensions}}]}
    )
    raw = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    raw += [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()]
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": body})


async def read_body(receive: Receive) -> bytes:
    """The whole request body."""
    chunks = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


def replaying(body: bytes, receive: Receive) -> Receive:
    """A `receive` that hands the app this body first, then waits as usual."""
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


class RequestTelemetry:
    """Gives each request an id (X-Request-ID in and out), then logs and counts it."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        given = Headers(scope=scope).get("x-request-id", "")
        record = RequestRecord(given if REQUEST_ID.fullmatch(given) else uuid.uuid4().hex)
        token = current_request.set(record)
        if scope["type"] == "websocket":
            # Only the id, for the socket's log lines: nothing more stays under an open one.
            try:
                await self.app(scope, receive, send)
            finally:
                current_request.reset(token)
            return
        status = 500
        started = time.perf_counter()

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                MutableHeaders(scope=message).append("x-request-id", record.request_id)
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            if scope["type"] == "http":
                self._finish(scope, record, status, time.perf_counter() - started)
            current_request.reset(token)

    def _finish(self, scope: Scope, record: RequestRecord, status: int, seconds: float) -> None:
        is_graphql = scope["path"] == GRAPHQL_PATH
        if is_graphql:
            self.metrics.observe(record, status, seconds)
        access_log.info(
            "%s %s %d",
            scope["method"],
            scope["path"],
            status,
            extra={
                "method": scope["method"],
                "path": scope["path"],
                "status": status,
                "duration_ms": round(seconds * 1000, 2),
                "operation": record.operation_name,
                "operation_type": record.operation_type,
                "error_codes": record.error_codes,
            },
        )


class BodyTooLarge(Exception):
    """The request body passed the limit while the app was reading it."""


def media_type(headers: Headers) -> str:
    """The request's media type, without parameters, lower case ("" when none is given)."""
    return headers.get("content-type", "").split(";", 1)[0].strip().lower()


def is_multipart(scope: Scope) -> bool:
    """Whether the request is a multipart request (a GraphQL upload)."""
    return media_type(Headers(scope=scope)) == "multipart/form-data"


class BodyLimit:
    """Refuses request bodies over `limit` bytes (`upload_limit` for GraphQL multipart
    requests) with 413, declared or streamed."""

    def __init__(self, app: ASGIApp, limit: int, upload_limit: int | None = None) -> None:
        self.app = app
        self.default_limit = limit
        self.upload_limit = upload_limit or limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        upload = scope["path"] == GRAPHQL_PATH and media_type(headers) == "multipart/form-data"
        limit = self.upload_limit if upload else self.default_limit
        declared = headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            await self._refuse(send, limit)
            return
        received = 0
        started = False

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge
            return message

        async def watching_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counting_receive, watching_send)
        except BodyTooLarge:
            if not started:
                await self._refuse(send, limit)

    async def _refuse(self, send: Send, limit: int) -> None:
        await send_error(
            send,
            413,
            f"The request body is larger than {limit} bytes.",
            "BAD_USER_INPUT",
        )


# Headers a cross-site page can only send after a CORS preflight (Apollo Server's names).
PREFLIGHT_HEADERS = ("apollo-require-preflight", "x-apollo-operation-name")


class JsonOnlyGraphQL:
    """CSRF defence: a GraphQL POST must be `application/json`, which a plain HTML form or
    a simple cross-site request cannot send, or, with `uploads`, a multipart request that
    carries a header forcing a CORS preflight (as Apollo Server requires)."""

    def __init__(self, app: ASGIApp, uploads: bool = False) -> None:
        self.app = app
        self.uploads = uploads

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"] == GRAPHQL_PATH and scope["method"] == "POST":
            headers = Headers(scope=scope)
            kind = media_type(headers)
            if self.uploads and kind == "multipart/form-data":
                if not any(headers.get(name, "").strip() for name in PREFLIGHT_HEADERS):
                    await send_error(
                        send,
                        400,
                        "Multipart requests (uploads) must carry a non-empty "
                        "`Apollo-Require-Preflight` header: it keeps cross-site forms out.",
                        "BAD_USER_INPUT",
                    )
                    return
            elif kind != "application/json":
                await send_error(
                    send,
                    415,
                    "GraphQL requests must be sent as `Content-Type: application/json`.",
                    "BAD_USER_INPUT",
                )
                return
        await self.app(scope, receive, send)


# What a GraphQL POST body may hold: each member's JSON type (or null).
REQUEST_FIELDS: dict[str, tuple[type, str]] = {
    "query": (str, "a string"),
    "operationName": (str, "a string"),
    "variables": (dict, "an object"),
    "extensions": (dict, "an object"),
}


def decode_json(data: str | bytes) -> Any:
    """A request's JSON: orjson, or the standard library for what orjson refuses and JSON
    allows (a lone surrogate escape, which the fields then refuse by name). ValueError for
    anything else (invalid UTF-8, nesting beyond 1,024 levels, a 5,000-digit number)."""
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError:
        try:
            return json.loads(data)
        except (ValueError, RecursionError):
            raise ValueError("not a JSON document") from None


def malformed_request(body: bytes) -> str | None:
    """Why a GraphQL POST body cannot be a request (None when it can): not JSON (or not
    UTF-8, nested too deep, a number out of range), not an object, or a member of the wrong
    type. Parsed as the GraphQL view parses it (`decode_json`)."""
    try:
        payload = decode_json(body)
    except ValueError:
        return (
            "The request body is not valid JSON (UTF-8, at most 1,024 levels deep, numbers "
            "within a double's range)."
        )
    if isinstance(payload, list):
        return "Batched requests (a JSON array) are not supported: send one operation."
    if not isinstance(payload, dict):
        return "The request body must be a JSON object with a `query`."
    for name, (kind, described) in REQUEST_FIELDS.items():
        value = payload.get(name)
        if value is not None and not isinstance(value, kind):
            return f"`{name}` must be {described} or null."
    if not payload.get("query") and "persistedQuery" not in (payload.get("extensions") or {}):
        return "`query` is required: the text of the operation to run."
    return None


class WellFormedGraphQL:
    """A GraphQL POST whose body cannot be a request gets 400 with a coded error, before
    anything else reads it."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or scope["path"] != GRAPHQL_PATH
            or scope["method"] != "POST"
            or is_multipart(scope)  # Strawberry parses the form (its parts are JSON again)
        ):
            await self.app(scope, receive, send)
            return
        body = await read_body(receive)
        problem = malformed_request(body)
        if problem is not None:
            await send_error(send, 400, problem, "BAD_USER_INPUT")
            return
        await self.app(scope, replaying(body, receive), send)


class SecurityHeaders:
    """Headers that every response carries: no sniffing, no referrer, no framing, a CSP;
    HSTS when the request came over HTTPS (directly or, with proxy headers, via a proxy)."""

    def __init__(self, app: ASGIApp, page_csp: Callable[[Scope], str | None]) -> None:
        self.app = app
        self.page_csp = page_csp

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers.setdefault("x-content-type-options", "nosniff")
                headers.setdefault("referrer-policy", "no-referrer")
                headers.setdefault("x-frame-options", "DENY")
                is_page = headers.get("content-type", "").startswith("text/html")
                csp = self.page_csp(scope) if is_page else API_CSP
                if csp is not None:
                    headers.setdefault("content-security-policy", csp)
                if scope.get("scheme") == "https":
                    headers.setdefault("strict-transport-security", HSTS)
            await send(message)

        await self.app(scope, receive, send_with_headers)
