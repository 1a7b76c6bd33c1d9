"""Persisted queries (Apollo's protocol): a client sends the SHA-256 of a query instead of
its text.

Modes (PERSISTED_QUERIES):
- `automatic`: when the server does not know a hash yet, the client sends both once, and
  the server remembers it for everybody. Any client may then run a hash that another
  registered, which confirms that somebody sent exactly that text: fine for a public
  API, whose queries are no secret.
- `safelist`: only the operations of a list made at deploy time run (from
  PERSISTED_QUERIES_SAFELIST: Apollo's persisted query manifest, or a JSON list of query
  texts), by hash or by text; anything else is refused with PERSISTED_QUERY_NOT_IN_LIST,
  WebSocket operations included. For an API whose clients are all your own.
- `off`: hashes are not looked up.

https://www.apollographql.com/docs/apollo-server/performance/apq
"""

import hashlib
import re
from collections import OrderedDict
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode

import orjson
from starlette.types import ASGIApp, Receive, Scope, Send

from gql.core.errors import ErrorCode
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


def digest_of(query: str) -> str:
    """The SHA-256 of a query text, as clients send it."""
    return hashlib.sha256(query.encode()).hexdigest()


def safelisted(safelist: dict[str, str] | None, query: str | None) -> bool:
    """Whether a query text may run: always without a safelist."""
    return safelist is None or (query is not None and digest_of(query) in safelist)


def load_safelist(path: Path) -> dict[str, str]:
    """Query texts by hash from an Apollo persisted query manifest
    (`{"operations": [{"id", "body"}]}`) or a JSON list of texts; each hash checked."""
    loaded = orjson.loads(path.read_bytes())
    texts: dict[str, str] = {}
    if isinstance(loaded, dict):
        for operation in loaded.get("operations", []):
            body = operation["body"]
            if operation.get("id", digest_of(body)) != digest_of(body):
                raise ValueError(f"{path}: the id of an operation is not its body's SHA-256")
            texts[digest_of(body)] = body
    elif isinstance(loaded, list) and all(isinstance(text, str) for text in loaded):
        texts = {digest_of(text): text for text in loaded}
    else:
        raise ValueError(f"{path}: expected a persisted query manifest or a list of queries")
    return texts


NOT_SUPPORTED = ErrorCode.PERSISTED_QUERY_NOT_SUPPORTED
NOT_IN_LIST = (
    400,
    "Only the operations registered with this server may run.",
    ErrorCode.PERSISTED_QUERY_NOT_IN_LIST,
)


class PersistedQueries:
    """ASGI middleware on /graphql: fills in the query text of a hash-only request, and
    (automatic mode) learns the hash of a request that sends both, after checking that they
    match; in safelist mode, lets only the listed operations through."""

    def __init__(
        self,
        app: ASGIApp,
        max_bytes: int,
        mode: str = "automatic",
        safelist: dict[str, str] | None = None,
    ) -> None:
        self.app = app
        self.mode = mode
        self.store = QueryStore(max_bytes)
        # Texts by hash, in safelist mode.
        self.safelist = safelist if mode == "safelist" else None

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
        if isinstance(payload, dict) and (
            _persisted(payload) is not None or self.safelist is not None
        ):
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
        if _persisted(payload) is None and self.safelist is None:
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
        if self.mode == "off":
            if not payload.get("query"):
                return 400, "Persisted queries are off: send the query.", NOT_SUPPORTED
            return payload
        if self.safelist is not None:
            return self._from_safelist(payload)
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

    def _from_safelist(self, payload: dict[str, Any]) -> dict[str, Any] | tuple[int, str, str]:
        assert self.safelist is not None
        query = payload.get("query")
        digest = (_persisted(payload) or {}).get("sha256Hash")
        if isinstance(query, str) and query:
            if digest is not None and digest != digest_of(query):
                return 400, "The query does not match its `sha256Hash`.", ErrorCode.BAD_USER_INPUT
            return payload if digest_of(query) in self.safelist else NOT_IN_LIST
        known = self.safelist.get(digest) if isinstance(digest, str) else None
        return {**payload, "query": known} if known is not None else NOT_IN_LIST


def _persisted(payload: dict[str, Any]) -> dict[str, Any] | None:
    extensions = payload.get("extensions")
    if not isinstance(extensions, dict):
        return None
    persisted = extensions.get("persistedQuery")
    return persisted if isinstance(persisted, dict) else None
