"""Relay connection types shared by every list of the schema."""

from collections.abc import Callable
from typing import Any, Generic, TypeVar

import strawberry
from sqlalchemy import Select

from gql.context import Info
from gql.pagination import Page

NodeT = TypeVar("NodeT")


@strawberry.type(description="Where a page of a connection sits in the whole list.")
class PageInfo:
    has_next_page: bool
    has_previous_page: bool
    start_cursor: str | None
    end_cursor: str | None


@strawberry.type(description="A node with its opaque cursor.")
class Edge(Generic[NodeT]):
    cursor: str
    node: NodeT


@strawberry.type(description="A page of a list; `totalCount` counts the whole filtered list.")
class Connection(Generic[NodeT]):
    edges: list[Edge[NodeT]]
    page_info: PageInfo
    count_statement: strawberry.Private[Select[int]]

    @strawberry.field(description="Number of items in the whole list, across all pages.")
    async def total_count(self, info: Info) -> int:
        """Counted on demand, so a page that does not ask for it costs no extra statement."""
        async with info.context.session() as session:
            return await session.scalar(self.count_statement) or 0

    @classmethod
    def from_page(cls, page: Page[Any], to_node: Callable[[Any], NodeT]) -> "Connection[NodeT]":
        """Build the connection from a keyset page, converting each item with `to_node`."""
        edges = [
            Edge(cursor=cursor, node=to_node(item))
            for item, cursor in zip(page.items, page.cursors, strict=True)
        ]
        return cls(
            edges=edges,
            page_info=PageInfo(
                has_next_page=page.has_next_page,
                has_previous_page=page.has_previous_page,
                start_cursor=page.cursors[0] if page.cursors else None,
                end_cursor=page.cursors[-1] if page.cursors else None,
            ),
            count_statement=page.count_statement,
        )
