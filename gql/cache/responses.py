"""Catalog reads ahead of the GraphQL layer: answered from memory while their data is
unchanged (the response cache), else by their compiled form (gql.catalog.compiled), else
by the full request.

A read qualifies when every root field it selects is public catalog data (`product`,
`products`): its answer then depends only on the document, the variables and what the
caller may see (of their permissions, those the guards of its fields name), never on who
they are. Each entry remembers what it depends on (gql.cache.versions): the catalog's edit
counters read *before* the answer was computed, the products it shows at the versions it
showed them, and, when it filtered on `inStock`, the availability counters. It is served
only while all of them are the same in a statement that started after the request arrived
(one round of checks shared with other reads, with the caller's session check:
gql.cache.checks), so an answer is never older than the last committed write that could
change it, in any process; a stock change to product X leaves answers that do not show X
alone.

A read the cache cannot answer runs compiled when it can: the same statements, the same
bytes as the general executor, without Strawberry's request path or GraphQL objects.
"""

import contextlib
import hashlib
import logging
from collections import OrderedDict
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import orjson
from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    InlineFragmentNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
)
from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gql.auth.sessions import AuthTools, Viewer, viewer_of
from gql.auth.tokens import InvalidToken
from gql.cache.checks import Check, SharedChecks
from gql.cache.dependencies import ReadDependencies, recording
from gql.cache.store import Entry, ResponseStore
from gql.cache.versions import CatalogVersions
from gql.catalog.compiled import CompiledRead, compile_read
from gql.core.config import Settings
from gql.core.db import Database
from gql.core.driver import Reader, reading
from gql.core.errors import RequestError
from gql.core.observability import Metrics, current_request
from gql.graphql import compat
from gql.graphql.caller import bearer_token, hand_over_caller
from gql.graphql.execution.compiled import Unsupported
from gql.graphql.execution.cost import CostReport, extensions_suffix, reporting
from gql.graphql.execution.documents import (
    DOCUMENT_CACHE_SIZE,
    checked_measures,
    parse_document,
)
from gql.graphql.execution.limits import executed
from gql.graphql.permissions import CALLER, deciding, permissions_guarding
from gql.graphql.schema import schema
from gql.web.costbudget import CostBudget, caller_key
from gql.web.middleware import GRAPHQL_PATH, read_body, replaying
from gql.web.router import content_type

logger = logging.getLogger("gql.cache")

CATALOG_ROOT_FIELDS = frozenset({"product", "products", "__typename"})
REQUEST_KEYS = frozenset({"query", "variables", "operationName", "extensions"})
# Response headers that belong to one response, not to the cached answer.
UNCACHED_HEADERS = frozenset({b"content-length", b"date", b"server", b"etag", b"x-request-id"})
# Clients revalidate with If-None-Match; shared caches never keep a caller's answer.
CACHE_HEADERS = [(b"cache-control", b"private, no-cache"), (b"vary", b"Authorization, Accept")]


@dataclass(frozen=True)
class CatalogRead:
    """A request the cache may answer (the body itself is its key)."""

    operation_name: str | None
    cost: int  # as the query limits measure it (gql.graphql.execution.limits)
    # What the guards of its fields depend on (gql.graphql.permissions.permissions_guarding).
    guarding: frozenset[str]
    # Its compiled form, when it has one (None: the full request runs it).
    compiled: CompiledRead | None = None


def catalog_query(
    document: DocumentNode, operation_name: str | None
) -> OperationDefinitionNode | None:
    """The operation to run, if it is a query whose root fields are all catalog reads."""
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    if operation_name is not None:
        operations = [o for o in operations if o.name and o.name.value == operation_name]
    if len(operations) != 1 or operations[0].operation != OperationType.QUERY:
        return None
    fragments = {
        d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
    }
    if not _root_fields_within(operations[0].selection_set, fragments, set()):
        return None
    return operations[0]


def _root_fields_within(
    selection_set: SelectionSetNode,
    fragments: dict[str, FragmentDefinitionNode],
    seen: set[str],
) -> bool:
    for selection in selection_set.selections:
        if isinstance(selection, FieldNode):
            if selection.name.value not in CATALOG_ROOT_FIELDS:
                return False
        elif isinstance(selection, InlineFragmentNode):
            if not _root_fields_within(selection.selection_set, fragments, seen):
                return False
        elif isinstance(selection, FragmentSpreadNode):
            name = selection.name.value
            fragment = fragments.get(name)
            if fragment is None or name in seen:
                return False
            seen.add(name)
            if not _root_fields_within(fragment.selection_set, fragments, seen):
                return False
    return True


# Request bodies whose cacheability is remembered (per process; at least as many as the
# cache keeps, so that a hit never classifies its body again), up to this size each: what
# is remembered holds the parsed document and variables.
MEMO_BODY_BYTES = 16 * 1024
MEMO_ENTRIES = 1024
_UNSEEN: Any = object()


def _remember(memo: "OrderedDict[Any, Any]", size: int, key: Any, value: Any) -> None:
    memo[key] = value
    if len(memo) > size:
        memo.popitem(last=False)


def _scope_of(viewer: Viewer | None, request: CatalogRead) -> str:
    """What an answer may depend on of its caller: of the permissions that guard its
    fields, those they hold; never who they are. An answer with a field its caller may not
    see has an error, and is not kept."""
    return ",".join(sorted(deciding(viewer, request.guarding))) or "public"


@lru_cache(maxsize=DOCUMENT_CACHE_SIZE)
def _guarding(query: str, max_tokens: int) -> frozenset[str]:
    return permissions_guarding(compat.core_schema(schema), parse_document(query, max_tokens))


def _etag(body: bytes) -> bytes:
    return b'"' + hashlib.blake2b(body, digest_size=16).hexdigest().encode() + b'"'


class CatalogReads:
    """ASGI middleware in front of /graphql POSTs: answers cached catalog reads (with
    ETag, and 304 for a matching If-None-Match); computes the others, compiled when they
    can be, and remembers them. Either part can be off (`cache`, `compiled`)."""

    def __init__(
        self,
        app: ASGIApp,
        database: Database,
        auth: AuthTools,
        settings: Settings,
        budget: CostBudget | None = None,
        metrics: Metrics | None = None,
        *,
        cache: bool = True,
        compiled: bool = True,
    ) -> None:
        self.app = app
        self.outcomes = metrics.response_cache if metrics is not None and cache else None
        self.compiled_answers = metrics.compiled_reads if metrics is not None else None
        self.database = database
        self.auth = auth
        self.settings = settings
        self.budget = budget
        self.store = (
            ResponseStore(settings.response_cache_size, settings.response_cache_bytes)
            if cache
            else None
        )
        self.checks = SharedChecks(
            database, counter=metrics.check_rounds if metrics is not None else None
        )
        self.compiled = compiled
        # What was decided about recent request bodies (by their digest), so that a hit
        # does not parse or measure the same document again.
        self._reads: OrderedDict[bytes, CatalogRead | None] = OrderedDict()
        self._reads_size = max(MEMO_ENTRIES, settings.response_cache_size if cache else 0)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] != GRAPHQL_PATH or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        body = await read_body(receive)
        replay = replaying(body, receive)
        headers = Headers(scope=scope)
        digest = hashlib.blake2b(body, digest_size=20).digest()
        request = self._reads.get(digest, _UNSEEN)
        if request is _UNSEEN:
            request = self._catalog_read(body)
            if len(body) <= MEMO_BODY_BYTES:
                _remember(self._reads, self._reads_size, digest, request)
        if request is None:
            self._count("bypass")
            await self.app(scope, replay, send)
            return
        # The body itself keys the answers: another spelling of the same request only
        # misses the entries of the first.
        key = hashlib.blake2b(
            digest + b"\0" + headers.get("accept", "").encode(), digest_size=20
        ).digest()
        answer = await self._answer(request, key, headers, scope)
        if isinstance(answer, list):
            for message in answer:
                await send(message)
            return
        if answer is None:
            self._count("bypass")
            await self.app(scope, replay, send)
            return
        viewer, versions = answer
        # The request runs as this very read of the caller saw them: the answer is computed
        # with the permissions it is kept under. (Over its cost budget, it is refused there.)
        hand_over_caller(scope, viewer)
        if versions is None:
            await self.app(scope, replay, send)
            return
        with recording() as dependencies, reporting() as report:
            remembering = self._remembering(
                send, key, _scope_of(viewer, request), versions, dependencies, report
            )
            await self.app(scope, replay, remembering)

    async def _answer(
        self, request: CatalogRead, key: bytes, headers: Headers, scope: Scope
    ) -> "list[Message] | tuple[Viewer | None, CatalogVersions | None] | None":
        """The messages of an answer made here (cached, or compiled on a pooled connection
        given back before they are sent); else the caller and versions the full request
        runs with, or None when it must read them itself (a bad token, an outage: it
        reports them)."""
        slot = self.store.slot(key) if self.store is not None else None
        asked = slot.product_ids if slot is not None else ()
        access = await self._access(headers.get("authorization"), asked)
        if access is None:
            return None
        viewer, versions = access
        permission_scope = _scope_of(viewer, request)
        if self.store is not None and versions is not None:
            entry = self.store.get(key, permission_scope, asked, versions)
            cost = self._charge(request.cost, viewer, scope) if entry is not None else None
            if entry is not None and cost is not None:
                _tell_record(request)
                self._count("hit")
                return _cached(entry, headers.get("if-none-match"), cost)
            self._count("miss")
            if entry is not None:  # over its cost budget: the full request refuses it
                return access
        compiled = request.compiled
        if compiled is None or not compiled.allows(viewer):
            return access
        try:
            async with reading(self.database) as read:
                with recording() as dependencies:
                    data = await self._run_compiled(compiled, read)
        except Exception:
            # The full request reports the outage with its own code.
            logger.debug("catalog read handed to the full request", exc_info=True)
            return None
        cost = self._charge(request.cost, viewer, scope) if data is not None else None
        if data is None or cost is None:
            return access
        _tell_record(request)
        if self.compiled_answers is not None:
            self.compiled_answers.inc()
        shared = b'{"data":' + orjson.dumps(data) + b"}"
        body = shared[:-1] + extensions_suffix(cost)
        start: Message = {
            "type": "http.response.start",
            "status": 200,
            "headers": _answer_headers(headers.get("accept"), len(body)),
        }
        if versions is not None:
            self._keep(start, key, permission_scope, versions, dependencies, shared)
        return [start, {"type": "http.response.body", "body": body}]

    async def _run_compiled(self, compiled: CompiledRead, read: Reader) -> dict[str, Any] | None:
        """The compiled read's `data`; None when the full request must run it (it reports
        bad input, refusals and outages its own way)."""
        try:
            return await compiled.run(read, self.database.engine.dialect.name)
        except Unsupported:
            return None
        except Exception:
            logger.debug("compiled read handed to the full request", exc_info=True)
            return None

    def _count(self, outcome: str) -> None:
        if self.outcomes is not None:
            self.outcomes.labels(outcome).inc()

    def _charge(self, cost: int, viewer: Viewer | None, scope: Scope) -> dict[str, Any] | None:
        """`extensions.cost` of a cached answer, its cost charged to the caller's budget as
        for any query; None when the budget cannot pay (the full request refuses it)."""
        budget = self.budget
        reported: dict[str, Any] = {"requestedQueryCost": cost}
        if budget is None or not budget.enabled:
            return reported
        address = scope["client"][0] if scope.get("client") else None
        caller = caller_key(viewer.user.id if viewer is not None else None, address)
        status, retry_after = budget.charge(caller, cost)
        if retry_after is not None:
            return None
        reported["throttleStatus"] = status
        return reported

    def _catalog_read(self, body: bytes) -> "CatalogRead | None":
        """What the log needs of a cacheable request; None for any other."""
        try:
            payload = orjson.loads(body)
        except orjson.JSONDecodeError:
            return None
        if not isinstance(payload, dict) or set(payload) - REQUEST_KEYS:
            return None
        # Only the persisted-query hash may come as an extension (its text is filled in).
        if set(payload.get("extensions") or {}) - {"persistedQuery"}:
            return None
        query, variables = payload.get("query"), payload.get("variables")
        operation_name = payload.get("operationName")
        if not isinstance(query, str) or not isinstance(variables, dict | None):
            return None
        if not isinstance(operation_name, str | None):
            return None
        try:
            document = parse_document(query, self.settings.max_query_tokens)
        except GraphQLError:
            return None
        operation = catalog_query(document, operation_name)
        if operation is None:
            return None
        # Invalid or over a limit: the full request reports it, before any SQL runs.
        core = compat.core_schema(schema)
        measured = checked_measures(core, query, document, self.settings, variables or {})
        if measured is None:
            return None
        picked = executed(measured, operation_name)
        if picked is None:
            return None
        guarding = _guarding(query, self.settings.max_query_tokens)
        if CALLER in guarding:
            return None  # a guard decides by who the caller is: no answer is shared
        compiled = None
        if self.compiled:
            with contextlib.suppress(Unsupported):
                compiled = compile_read(core, document, operation, variables)
        return CatalogRead(
            operation.name.value if operation.name else None,
            picked[1].cost,
            guarding,
            compiled,
        )

    async def _access(
        self, authorization: str | None, product_ids: tuple[int, ...]
    ) -> tuple[Viewer | None, CatalogVersions | None] | None:
        """The caller (None: anonymous) and, with the cache on, the catalog versions (those
        of `product_ids` among them), from a round of checks shared with other reads; None
        when the request must run in full (a bad token gets its error there)."""
        now = self.auth.clock()
        try:
            token = bearer_token(authorization)
            claims = None
            if token is not None:
                claims = self.auth.tokens.decode(token, expected_type="access", now=now)
            if claims is None and self.store is None:
                return None, None
            checked = await self.checks.check(
                Check(
                    product_ids if self.store is not None else None,
                    (claims.session_id, claims.user_id) if claims is not None else None,
                )
            )
        except (InvalidToken, RequestError):
            return None
        except Exception:
            # The full request reports the outage with its own code.
            logger.debug("response cache bypassed", exc_info=True)
            return None
        if claims is None:
            return None, checked.versions
        row = checked.session_row
        viewer = viewer_of(row, claims, now) if row is not None else None
        if viewer is None:
            return None
        return viewer, checked.versions

    def _remembering(
        self,
        send: Send,
        key: bytes,
        permission_scope: str,
        versions: CatalogVersions,
        dependencies: ReadDependencies,
        report: CostReport,
    ) -> Send:
        """A `send` that keeps a successful answer, with what it was computed from, and
        gives it an ETag. What is kept, and tagged, is the answer without the caller's own
        `extensions.cost` (each answer served from it gets its caller's)."""
        start: Message | None = None
        chunks: list[bytes] = []

        async def remember(message: Message) -> None:
            nonlocal start
            if message["type"] == "http.response.start":
                start = message
                return
            if message["type"] != "http.response.body" or start is None:
                await send(message)
                return
            chunks.append(message.get("body", b""))
            if message.get("more_body", False):
                return
            body = b"".join(chunks)
            shared = _without_cost(body, report)
            # A key named "errors" can only be the response's own: string values that
            # contain the word have their quotes escaped.
            if start["status"] == 200 and b'"errors"' not in body and shared is not None:
                self._keep(start, key, permission_scope, versions, dependencies, shared)
            await send(start)
            await send({"type": "http.response.body", "body": body})

        return remember

    def _keep(
        self,
        start: Message,
        key: bytes,
        permission_scope: str,
        versions: CatalogVersions,
        dependencies: ReadDependencies,
        shared: bytes,
    ) -> None:
        """Keep a successful answer (without its caller's cost) with what it was computed
        from, and give the response about to start its ETag and cache headers."""
        if self.store is None or not dependencies.consistent:
            return
        etag = _etag(shared)
        headers = [
            (name, value)
            for name, value in start["headers"]
            if name.lower() not in UNCACHED_HEADERS
        ]
        headers += CACHE_HEADERS
        entry = Entry(
            edits=versions.edits,
            availability=versions.availability if dependencies.availability else None,
            product_ids=tuple(sorted(dependencies.products)),
            products_version=sum(dependencies.products.values()),
            headers=headers,
            body=shared,
            etag=etag,
        )
        self.store.put(key, permission_scope, entry)
        outgoing = MutableHeaders(scope=start)
        outgoing.append("etag", etag.decode())
        for name, value in CACHE_HEADERS:
            outgoing.append(name.decode(), value.decode())


def _tell_record(request: CatalogRead) -> None:
    """What the request's log line and metrics say of an operation answered here."""
    record = current_request.get()
    if record is not None:
        record.operation_name = request.operation_name
        record.operation_type = "query"


def _answer_headers(accept: str | None, length: int) -> list[tuple[bytes, bytes]]:
    """The headers the GraphQL endpoint gives a successful answer of `length` bytes."""
    return [
        (b"content-length", str(length).encode()),
        (b"content-type", content_type(accept).encode()),
    ]


def _without_cost(body: bytes, report: CostReport) -> bytes | None:
    """The answer without `extensions.cost` (the last member the GraphQL layer wrote, as
    noted in `report`); None when it does not end that way."""
    if report.cost is None:
        return None
    suffix = extensions_suffix(report.cost)
    if not body.endswith(suffix):
        return None
    return body[: -len(suffix)] + b"}"


def _cached(entry: Entry, if_none_match: str | None, cost: dict[str, Any]) -> list[Message]:
    """The messages of a cached answer: 304 when the client holds it, else the answer with
    the caller's `extensions.cost`."""
    headers = [*entry.headers, (b"etag", entry.etag)]
    if if_none_match is not None and entry.etag.decode() in {
        tag.strip() for tag in if_none_match.split(",")
    }:
        return [
            {"type": "http.response.start", "status": 304, "headers": headers},
            {"type": "http.response.body", "body": b""},
        ]
    body = entry.body[:-1] + extensions_suffix(cost)
    headers.append((b"content-length", str(len(body)).encode()))
    return [
        {"type": "http.response.start", "status": 200, "headers": headers},
        {"type": "http.response.body", "body": body},
    ]
