"""The shape every by-key DataLoader shares."""

from collections.abc import Awaitable, Callable, Hashable, Mapping
from typing import TypeVar

from aiodataloader import DataLoader
from sqlalchemy.ext.asyncio import AsyncSession

from gql.graphql.context import Context

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


def rows_by_key(
    context: Context, fetch: Callable[[AsyncSession, list[K]], Awaitable[Mapping[K, V]]]
) -> DataLoader[K, V | None]:
    """A loader of the rows `fetch` finds for a batch of keys in one statement (None for a
    key it does not find)."""

    async def load(keys: list[K]) -> list[V | None]:
        async with context.session() as session:
            found = await fetch(session, keys)
        return [found.get(key) for key in keys]

    return DataLoader(load)
