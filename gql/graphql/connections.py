"""Relay connection types shared by every list of the schema."""

from collections.abc import Callable
from typing import Any, Generic, TypeVar

import strawberry

from gql.graphql.context import Info
from gql.graphql.execution.executor import PRELOADED
from gql.graphql.pagination import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, Page
from gql.graphql.selection import selects

NodeT = TypeVar("NodeT")

# The `first` and `after` arguments of every list field.
FIRST = (
    f"How many items to return: {DEFAULT_PAGE_SIZE} when omitted, at most {MAX_PAGE_SIZE} "
    "(more is capped); negative is BAD_USER_INPUT."
)
AFTER = (
    "Start after this cursor (an `endCursor` or edge `cursor` of the same list and order; "
    "any other is BAD_USER_INPUT); omitted: from the start."
)


@strawberry.type(description="Where a page of a connection sits in the whole list.")
class PageInfo:
    has_next_page: bool = strawberry.field(description="Whether more items follow this page.")
    has_previous_page: bool = strawberry.field(
        description="Whether items come before this page: true when it was asked for with "
        "`after` (lists page forward only)."
    )
    start_cursor: str | None = strawberry.field(
        description="The cursor of the page's first item; null when the page is empty."
    )
    end_cursor: str | None = strawberry.field(
        description="The cursor of the page's last item, the `after` of the next page; null "
        "when the page is empty."
    )


def _cursor(root: "Edge[Any]") -> str:
    """Encoded on demand when not encoded with the page."""
    return root.encoded_cursor or root.page.cursor(root.item)


@strawberry.type(description="A node with its opaque cursor.")
class Edge(Generic[NodeT]):
    # Encoded with the page when the query asks for cursors, and then read like an attribute.
    cursor: str = strawberry.field(
        resolver=_cursor,
        metadata={PRELOADED: "encoded_cursor"},
        description="Opaque position of this item in its list and order: pass it as `after` "
        "to continue after it.",
    )
    node: NodeT = strawberry.field(description="The item.")
    page: strawberry.Private[Page[Any]]
    item: strawberry.Private[Any]
    encoded_cursor: strawberry.Private[str | None] = None


@strawberry.type(description="A page of a list; `totalCount` counts the whole filtered list.")
class Connection(Generic[NodeT]):
    edges: list[Edge[NodeT]] = strawberry.field(
        description="The items of this page, in the list's order: at most `first`."
    )
    page_info: PageInfo = strawberry.field(description="Where this page sits in the whole list.")
    page: strawberry.Private[Page[Any]]

    @strawberry.field(description="Number of items in the whole list, across all pages.")
    async def total_count(self, info: Info) -> int:
        """Counted on demand, so a page that does not ask for it costs no extra statement."""
        async with info.context.session() as session:
            return await session.scalar(self.page.count_statement, self.page.params) or 0

    @classmethod
    def from_page(
        cls, page: Page[Any], to_node: Callable[[Any], NodeT], info: Info
    ) -> "Connection[NodeT]":
        """Build the connection from a keyset page, converting each item with `to_node`;
        edge cursors are encoded only when the query selects them."""
        with_cursors = selects(info, "edges", "cursor")
        edges = [
            Edge(
                node=to_node(item),
                page=page,
                item=item,
                encoded_cursor=page.cursor(item) if with_cursors else None,
            )
            for item in page.items
        ]
        return cls(
            edges=edges,
            page_info=PageInfo(
                has_next_page=page.has_next_page,
                has_previous_page=page.has_previous_page,
                start_cursor=page.cursor(page.items[0]) if page.items else None,
                end_cursor=page.cursor(page.items[-1]) if page.items else None,
            ),
            page=page,
        )
