"""Global object identification: the `Node` interface, and `node`/`nodes`, which refetch
any object by its global id under the same rules as the typed fields that show it."""

import asyncio
from collections.abc import Sequence
from typing import Annotated, Any, TypeVar

import strawberry
from aiodataloader import DataLoader
from strawberry.types.base import StrawberryObjectDefinition

from gql.core.errors import BadUserInput
from gql.graphql.context import Info
from gql.graphql.ids import db_id, from_global_id
from gql.graphql.pagination import MAX_PAGE_SIZE
from gql.graphql.permissions import public

T = TypeVar("T")


@strawberry.interface(
    description="An object with a global id: `node(id:)` fetches it again, as the caller "
    "may see it."
)
class Node:
    id: strawberry.ID = strawberry.field(
        description="The object's global id: opaque, unique across all types, never reused "
        "for another object."
    )

    @classmethod
    async def resolve_nodes(cls, info: Info, keys: list[str]) -> Sequence[object]:
        """The objects with these keys as the typed fields would show them to the caller,
        in order: None where missing or not visible, an exception where refused."""
        raise NotImplementedError


async def load_keys(loader: DataLoader[int, T | None], keys: list[str]) -> list[T | None]:
    """Rows by the keys of global ids, through a request's DataLoader (None: no such row)."""
    ids = [db_id(key) for key in keys]
    loaded = iter(await loader.load_many([i for i in ids if i is not None]))
    return [next(loaded) if i is not None else None for i in ids]


def _node_class(info: Info, type_name: str) -> type[Node] | None:
    definition = info.schema.get_type_by_name(type_name)
    if not isinstance(definition, StrawberryObjectDefinition) or definition.is_interface:
        return None
    origin = definition.origin
    return origin if isinstance(origin, type) and issubclass(origin, Node) else None


async def resolve_global_ids(info: Info, ids: Sequence[str]) -> list[object]:
    """What each global id names, for the caller: one batch per type, the types at once."""
    results: list[object] = [None] * len(ids)
    wanted: dict[type[Node], list[tuple[int, str]]] = {}
    for index, value in enumerate(ids):
        parsed = from_global_id(value)
        node_class = _node_class(info, parsed[0]) if parsed is not None else None
        if parsed is not None and node_class is not None:
            wanted.setdefault(node_class, []).append((index, parsed[1]))
    classes = list(wanted)
    found = await asyncio.gather(
        *(c.resolve_nodes(info, [key for _, key in wanted[c]]) for c in classes),
        return_exceptions=True,
    )
    for node_class, objects in zip(classes, found, strict=True):
        for n, (index, _) in enumerate(wanted[node_class]):
            # A type that refuses the caller outright refuses each of its ids.
            results[index] = objects if isinstance(objects, BaseException) else objects[n]
    return results


@strawberry.type
class NodeQuery:
    @strawberry.field(
        description="The object with this global id, as the typed fields would show it to "
        "the caller; null when it does not exist, is not visible to the caller, or the id is "
        "not a global id.",
        metadata=public(),
    )
    async def node(
        self,
        info: Info,
        id: Annotated[strawberry.ID, strawberry.argument(description="A global id.")],
    ) -> Node | None:
        """Refused like the typed field would be (UNAUTHENTICATED, FORBIDDEN)."""
        (found,) = await resolve_global_ids(info, [id])
        if isinstance(found, BaseException):
            raise found
        assert found is None or isinstance(found, Node)
        return found

    @strawberry.field(
        description=f"The objects with these global ids, in order: as `node` would give "
        f"each (null, or an error at its index). At most {MAX_PAGE_SIZE} ids.",
        metadata=public(),
        graphql_type=list[Node | None],
    )
    async def nodes(
        self,
        info: Info,
        ids: Annotated[
            list[strawberry.ID],
            strawberry.argument(description=f"Global ids, at most {MAX_PAGE_SIZE}."),
        ],
    ) -> Any:
        """One statement per type of the ids given, whatever their number."""
        if len(ids) > MAX_PAGE_SIZE:
            raise BadUserInput(f"`ids` takes at most {MAX_PAGE_SIZE} ids.", field="ids")
        return await resolve_global_ids(info, ids)
