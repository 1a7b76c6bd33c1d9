"""The per-request GraphQL context: database session, caller and DataLoaders."""

import asyncio
import contextlib
import dataclasses
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any, TypeAlias, TypeVar

import strawberry
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import HTTPConnection
from starlette.websockets import WebSocket
from strawberry.fastapi import BaseContext

from gql.auth.service import AuthTools, Client, Viewer, authenticate
from gql.core.config import Settings
from gql.core.db import Database, new_session
from gql.core.errors import Unauthenticated

if TYPE_CHECKING:
    from gql.core.observability import Metrics
    from gql.realtime.hub import StockEventHub

LoaderT = TypeVar("LoaderT")
# The caller of the operation running in this task, as a long-lived connection's context
# authenticated it: once per operation, not once per field that asks. Protocol handlers
# clear it when an operation starts (a task inherits its creator's value).
_operation_caller: ContextVar[tuple["Context", "Viewer | None"] | None] = ContextVar(
    "gql_operation_caller", default=None
)


def new_operation() -> None:
    """Forget the caller of the previous operation in this task's context."""
    _operation_caller.set(None)


# Fire-and-forget tasks are kept here so they are not garbage-collected mid-flight.
_background: set[asyncio.Task[None]] = set()


# Scope state key: the caller as a middleware already read them for this request.
CALLER_KEY = "gql.caller"


def hand_over_caller(scope: Any, viewer: Viewer | None) -> None:
    """Let the request's context use this reading of the caller instead of its own."""
    scope.setdefault("state", {})[CALLER_KEY] = (viewer,)


def bearer_token(authorization: str | None) -> str | None:
    """The token of an `Authorization: Bearer <token>` value; another scheme is refused."""
    if authorization is None or not authorization.strip():
        return None
    scheme, _, token = authorization.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthenticated("Use `Authorization: Bearer <access token>`.")
    return token.strip()


class Context(BaseContext):
    """What every resolver of one request shares."""

    def __init__(
        self,
        database: Database,
        settings: Settings,
        auth: AuthTools,
        *,
        authorization: str | None = None,
        client: Client = Client(),
        hub: "StockEventHub | None" = None,
        long_lived: bool = False,
        metrics: "Metrics | None" = None,
    ) -> None:
        super().__init__()
        self.metrics = metrics
        self.database = database
        self.settings = settings
        self.auth = auth
        self.hub = hub
        # A WebSocket connection's context outlives many events: it keeps no session and
        # no DataLoader from one use to the next, so every event reads fresh data.
        self.long_lived = long_lived
        self.counted_user_id: int | None = None
        self.on_close: list[Callable[[], None]] = []
        self.authorization = authorization
        self.client = client
        # Set by the OperationKind extension before any resolver runs.
        self.is_mutation = False
        self._session: AsyncSession | None = None
        # Sibling fields resolve concurrently, and an AsyncSession must never be used by
        # two tasks at once: every use of the request's session goes through this lock.
        self._session_lock = asyncio.Lock()
        # After the response: a DataLoader batch whose callers were cancelled may still run.
        self._closed = False
        self._loaders: dict[Callable[..., Any], Any] = {}
        self._viewer: Viewer | None = None
        self._authenticated = False
        self._auth_lock = asyncio.Lock()

    @classmethod
    def scoped(
        cls,
        database: Database,
        settings: Settings,
        auth: AuthTools,
        *,
        viewer: Viewer,
        permissions: frozenset[str],
        hub: "StockEventHub | None" = None,
    ) -> "Context":
        """A short-lived context acting with given permissions, to render one event for a
        whole group of subscribers (fresh session and loaders, nothing re-authenticated)."""
        context = cls(database, settings, auth, hub=hub)
        context._viewer = dataclasses.replace(viewer, permissions=permissions)
        context._authenticated = True
        return context

    @asynccontextmanager
    async def session(self) -> AsyncIterator[AsyncSession]:
        """The request's session, held exclusively for the duration of the block."""
        if self.long_lived or self._closed:
            async with new_session(
                self.database, write=self.is_mutation, transaction=self.is_mutation
            ) as fresh:
                yield fresh
            return
        async with self._session_lock:
            if self._session is None:
                # Queries only read: no transaction round trips on PostgreSQL.
                self._session = new_session(
                    self.database, write=self.is_mutation, transaction=self.is_mutation
                )
            yield self._session

    @asynccontextmanager
    async def reading(self) -> AsyncIterator[AsyncSession]:
        """A session of its own that only reads and takes no write lock (SQLite's writer
        lock included): for checks before a mutation's short write transaction."""
        async with new_session(self.database, write=False, transaction=False) as session:
            yield session

    @asynccontextmanager
    async def transaction(
        self, *, commit_on: tuple[type[BaseException], ...] = ()
    ) -> AsyncIterator[AsyncSession]:
        """The session for one mutation: committed once when the block succeeds.

        An exception listed in `commit_on` is an outcome whose writes must stay (a failed
        login is counted, a reused refresh token revokes its session): commit, then raise.
        """
        async with self.session() as session:
            try:
                yield session
            except commit_on:
                await session.commit()
                raise
            except BaseException:
                await session.rollback()
                raise
            await session.commit()

    async def viewer(self) -> Viewer | None:
        """The authenticated caller, or None when no token came; a bad token is an error."""
        if self.long_lived:
            # Checked afresh for every operation of a long-lived connection, and kept only
            # in the operation's task: an open socket should cost little memory.
            cached = _operation_caller.get()
            if cached is not None and cached[0] is self:
                return cached[1]
            token = bearer_token(self.authorization)
            viewer = None
            if token is not None:
                async with self.reading() as session:
                    viewer = await authenticate(session, self.auth, token)
            _operation_caller.set((self, viewer))
            return viewer
        async with self._auth_lock:
            if not self._authenticated:
                token = bearer_token(self.authorization)
                if token is not None:
                    # Never in a mutation's write transaction: it would begin (and on SQLite
                    # take the writer lock) before the mutation has done its checks.
                    async with self.reading() as session:
                        self._viewer = await authenticate(session, self.auth, token)
                self._authenticated = True
            return self._viewer

    async def require_viewer(self) -> Viewer:
        """The authenticated caller; UNAUTHENTICATED without one."""
        viewer = await self.viewer()
        if viewer is None:
            raise Unauthenticated("Authentication is required.")
        return viewer

    async def permissions(self) -> frozenset[str]:
        """The caller's permissions, read with their session (none without a caller)."""
        viewer = await self.viewer()
        return viewer.permissions if viewer is not None else frozenset()

    def known_access(self) -> tuple[Viewer | None, frozenset[str]] | None:
        """The caller and their permissions when already read, else None (no I/O)."""
        if self.long_lived:
            cached = _operation_caller.get()
            if cached is None or cached[0] is not self:
                return None
            viewer = cached[1]
        elif self._authenticated:
            viewer = self._viewer
        else:
            return None
        return viewer, viewer.permissions if viewer is not None else frozenset()

    def count_order_refusal(self, outcome: str) -> None:
        """A placeOrder refused for want of stock (`insufficient_stock`), or over budget
        (`throttled`): gql_order_refusals_total."""
        if self.metrics is not None:
            self.metrics.order_refusals.labels(outcome).inc()

    def forget_viewer(self) -> None:
        """Authenticate again on next use (after the caller's session changed)."""
        self._viewer = None
        self._authenticated = False
        if self.long_lived:
            _operation_caller.set(None)

    def loader(self, factory: Callable[["Context"], LoaderT]) -> LoaderT:
        """The request's instance of a DataLoader, made by `factory` on first use."""
        if self.long_lived:
            return factory(self)
        if factory not in self._loaders:
            self._loaders[factory] = factory(self)
        loader: LoaderT = self._loaders[factory]
        return loader

    def close_connection_soon(self, code: int) -> None:
        """Close this WebSocket shortly, after the frames already queued have gone out."""
        websocket = self.request
        if not isinstance(websocket, WebSocket):
            return

        async def close_later() -> None:
            await asyncio.sleep(0.2)
            with contextlib.suppress(Exception):
                await websocket.close(code=code)

        task = asyncio.create_task(close_later())
        _background.add(task)
        task.add_done_callback(_background.discard)

    async def close(self) -> None:
        """Release the session at the end of the request, once nobody uses it."""
        # GraphQL cancels the siblings of a field whose error nulls their parent, but not the
        # DataLoader batches they wait on: one may still be running a query on the session.
        async with self._session_lock:
            self._closed = True
            if self._session is not None:
                await self._session.close()
                self._session = None
        for callback in self.on_close:
            callback()
        self.on_close.clear()


Info: TypeAlias = strawberry.Info[Context, None]


def client_of(connection: HTTPConnection) -> Client:
    """The address and user agent of a request."""
    host = connection.client.host if connection.client else ""
    return Client(ip=host, user_agent=connection.headers.get("user-agent", ""))


async def context_getter(connection: HTTPConnection) -> AsyncIterator[Context]:
    """FastAPI dependency: a Context for each HTTP request or WebSocket connection."""
    state = connection.app.state
    context = Context(
        state.database,
        state.settings,
        state.auth,
        authorization=connection.headers.get("authorization"),
        client=client_of(connection),
        hub=getattr(state, "hub", None),
        long_lived=connection.scope["type"] == "websocket",
        metrics=getattr(state, "metrics", None),
    )
    caller = connection.scope.get("state", {}).get(CALLER_KEY)
    if caller is not None:
        (context._viewer,) = caller
        context._authenticated = True
    try:
        yield context
    finally:
        await context.close()
