"""The per-request GraphQL context: database session, caller and DataLoaders."""

import asyncio
import dataclasses
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any, TypeAlias, TypeVar

import strawberry
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import HTTPConnection
from strawberry.fastapi import BaseContext

from gql.auth.sessions import AuthTools, Client, Viewer
from gql.core.config import Settings
from gql.core.db import Database, new_session
from gql.graphql.caller import CALLER_KEY, Caller
from gql.media.storage import MediaStorage, storage_for

if TYPE_CHECKING:
    from gql.core.observability import Metrics
    from gql.realtime.hub import StockEventHub
    from gql.web.costbudget import CostBudget

LoaderT = TypeVar("LoaderT")


class Context(Caller, BaseContext):
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
        cost_budget: "CostBudget | None" = None,
    ) -> None:
        super().__init__()
        self.metrics = metrics
        # Charged with each operation's cost before it executes (gql.graphql.extensions).
        self.cost_budget = cost_budget
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

    @property
    def media(self) -> MediaStorage:
        """Where uploaded images are stored (MEDIA_STORAGE)."""
        return storage_for(self.settings, self.database)

    def loader(self, factory: Callable[["Context"], LoaderT]) -> LoaderT:
        """The request's instance of a DataLoader, made by `factory` on first use."""
        if self.long_lived:
            return factory(self)
        if factory not in self._loaders:
            self._loaders[factory] = factory(self)
        loader: LoaderT = self._loaders[factory]
        return loader

    def count_order_refusal(self, outcome: str) -> None:
        """A placeOrder refused for want of stock (`insufficient_stock`), or over budget
        (`throttled`): gql_order_refusals_total."""
        if self.metrics is not None:
            self.metrics.order_refusals.labels(outcome).inc()

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
        cost_budget=getattr(state, "cost_budget", None),
    )
    caller = connection.scope.get("state", {}).get(CALLER_KEY)
    if caller is not None:
        (context._viewer,) = caller
        context._authenticated = True
    try:
        yield context
    finally:
        await context.close()
