"""Automatic persisted queries (Apollo's protocol): a client sends the SHA-256 of a query
instead of its text; when the server does not know it yet, the client sends both once.

https://www.apollographql.com/docs/apollo-server/performance/apq
"""

import hashlib
import re
from collections import OrderedDict
from typing import Any
from urllib.parse import parse_qsl, urlencode

import orjson
from starlette.types import ASGIApp, Receive, Scope, Send

from gql.errors import ErrorCode
from gql.web.middleware import GRAPHQL_PATH, read_body, replaying, send_error

SHA256_HEX = re.compile(r"[0-9a-f]{64}")
NOT_FOUND = "PersistedQueryNotFound"


class QueryStore:
    """Query texts by hash, least recently used first out, bounded in total size."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self._texts: OrderedDict[str, str] = OrderedDict()
        self._bytes = 0

    def get(self, digest: str) -> str | None:
        """The query text of a hash, if known."""
        text = self._texts.get(digest)
        if text is not None:
            self._texts.move_to_end(digest)
        return text

    def put(self, digest: str, text: str) -> None:
        """Remember a text under its hash."""
        if digest in self._texts or len(text) > self.max_bytes:
            return
        self._texts[digest] = text
        self._bytes += len(text)
        while self._bytes > self.max_bytes:
            _, evicted = self._texts.popitem(last=False)
            self._bytes -= len(evicted)


class PersistedQueries:
    """ASGI middleware on /graphql: fills in the query text of a hash-only request, and
    learns the hash of a request that sends both (after checking that they match)."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.store = QueryStore(max_bytes)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] != GRAPHQL_PATH:
            await self.app(scope, receive, send)
            return
        if scope["method"] == "GET":
            await self._get(scope, receive, send)
        elif scope["method"] == "POST":
            await self._post(scope, receive, send)
        else:
            await self.app(scope, receive, send)

    async def _post(self, scope: Scope, receive: Receive, send: Send) -> None:
        body = await read_body(receive)
        try:
            payload = orjson.loads(body)
        except orjson.JSONDecodeError:
            payload = None
        if isinstance(payload, dict) and _persisted(payload) is not None:
            outcome = self._resolve(payload)
            if isinstance(outcome, tuple):
                await send_error(send, *outcome)
                return
            body = orjson.dumps(outcome)
        await self.app(scope, replaying(body, receive), send)

    async def _get(self, scope: Scope, receive: Receive, send: Send) -> None:
        params = dict(parse_qsl(scope.get("query_string", b"").decode("latin-1")))
        try:
            extensions = orjson.loads(params.get("extensions", "null"))
        except orjson.JSONDecodeError:
            extensions = None
        payload: dict[str, Any] = {**params, "extensions": extensions}
        if _persisted(payload) is None:
            await self.app(scope, receive, send)
            return
        outcome = self._resolve(payload)
        if isinstance(outcome, tuple):
            await send_error(send, *outcome)
            return
        params["query"] = outcome["query"]
        scope = dict(scope, query_string=urlencode(params).encode())
        await self.app(scope, receive, send)

    def _resolve(self, payload: dict[str, Any]) -> dict[str, Any] | tuple[int, str, str]:
        """The payload with its query text, or (status, message, code) of an error."""
        persisted = _persisted(payload) or {}
        digest = persisted.get("sha256Hash")
        if persisted.get("version") != 1 or not isinstance(digest, str):
            return 400, "Only persisted query version 1 is supported.", ErrorCode.BAD_USER_INPUT
        if not SHA256_HEX.fullmatch(digest):
            return 400, "`sha256Hash` must be 64 lowercase hex digits.", ErrorCode.BAD_USER_INPUT
        query = payload.get("query")
        if isinstance(query, str) and query:
            if hashlib.sha256(query.encode()).hexdigest() != digest:
                return 400, "The query does not match its `sha256Hash`.", ErrorCode.BAD_USER_INPUT
            self.store.put(digest, query)
            return payload
        known = self.store.get(digest)
        if known is None:
            # Apollo clients look for this message (and code), then resend with the text.
            return 200, NOT_FOUND, ErrorCode.PERSISTED_QUERY_NOT_FOUND
        return {**payload, "query": known}


def _persisted(payload: dict[str, Any]) -> dict[str, Any] | None:
    extensions = payload.get("extensions")
    if not isinstance(extensions, dict):
        return None
    persisted = extensions.get("persistedQuery")
    return persisted if isinstance(persisted, dict) else None
