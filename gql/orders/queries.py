"""Order queries: one's own orders, or all with order:read_all."""

from typing import Annotated

import strawberry

from gql.graphql.connections import AFTER, FIRST, Connection
from gql.graphql.context import Info
from gql.graphql.ids import parse_id
from gql.graphql.permissions import authenticated
from gql.orders import service
from gql.orders.types import READ_ALL, Order


@strawberry.type
class OrderQuery:
    @strawberry.field(
        description="One order, or null; another customer's reads exactly like a missing one "
        "(unless the caller holds `order:read_all`). Needs a signed-in caller.",
        extensions=authenticated(),
    )
    async def order(
        self,
        info: Info,
        id: Annotated[strawberry.ID, strawberry.argument(description="The order's `id`.")],
    ) -> Order | None:
        """Null when missing or not visible to the caller."""
        viewer = await info.context.require_viewer()
        may_read_all = READ_ALL in await info.context.permissions()
        order_id = parse_id(id, "Order")
        if order_id is None:
            return None
        async with info.context.session() as session:
            order = await service.get_order(
                session, order_id, viewer_id=viewer.user.id, may_read_all=may_read_all
            )
        return Order.from_model(order) if order else None

    @strawberry.field(
        description="Orders, newest first: one's own, or everyone's with `order:read_all`. "
        "Needs a signed-in caller.",
        extensions=authenticated(),
    )
    async def orders(
        self,
        info: Info,
        first: Annotated[int | None, strawberry.argument(description=FIRST)] = None,
        after: Annotated[str | None, strawberry.argument(description=AFTER)] = None,
    ) -> Connection[Order]:
        """A keyset page of orders."""
        viewer = await info.context.require_viewer()
        may_read_all = READ_ALL in await info.context.permissions()
        async with info.context.session() as session:
            page = await service.list_orders(
                session,
                viewer_id=viewer.user.id,
                may_read_all=may_read_all,
                first=first,
                after=after,
            )
        return Connection[Order].from_page(page, Order.from_model, info)
