"""The per-request GraphQL context: database session, caller and DataLoaders."""

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any, TypeAlias, TypeVar

import strawberry
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import HTTPConnection
from strawberry.fastapi import BaseContext

from gql.config import Settings
from gql.db import Database, new_session

LoaderT = TypeVar("LoaderT")


class Context(BaseContext):
    """What every resolver of one request shares."""

    def __init__(self, database: Database, settings: Settings) -> None:
        super().__init__()
        self.database = database
        self.settings = settings
        # Set by the OperationKind extension before any resolver runs.
        self.is_mutation = False
        self._session: AsyncSession | None = None
        # Sibling fields resolve concurrently, and an AsyncSession must never be used by
        # two tasks at once: every use of the request's session goes through this lock.
        self._session_lock = asyncio.Lock()
        self._loaders: dict[Callable[..., Any], Any] = {}

    @asynccontextmanager
    async def session(self) -> AsyncIterator[AsyncSession]:
        """The request's session, held exclusively for the duration of the block."""
        async with self._session_lock:
            if self._session is None:
                self._session = new_session(self.database, write=self.is_mutation)
            yield self._session

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        """The session for one mutation: committed once when the block succeeds."""
        async with self.session() as session:
            try:
                yield session
                await session.commit()
            except BaseException:
                await session.rollback()
                raise

    def loader(self, factory: Callable[["Context"], LoaderT]) -> LoaderT:
        """The request's instance of a DataLoader, made by `factory` on first use."""
        if factory not in self._loaders:
            self._loaders[factory] = factory(self)
        loader: LoaderT = self._loaders[factory]
        return loader

    async def close(self) -> None:
        """Release the session at the end of the request."""
        if self._session is not None:
            await self._session.close()
            self._session = None


Info: TypeAlias = strawberry.Info[Context, None]


async def context_getter(connection: HTTPConnection) -> AsyncIterator[Context]:
    """FastAPI dependency: a Context for each HTTP request or WebSocket connection."""
    context = Context(connection.app.state.database, connection.app.state.settings)
    try:
        yield context
    finally:
        await context.close()
