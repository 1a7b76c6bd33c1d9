"""Order mutations: place and cancel."""

from typing import Annotated

import strawberry
from sqlalchemy.ext.asyncio import AsyncSession

from gql.core.transactions import run_transaction
from gql.graphql.context import Context, Info
from gql.graphql.ids import require_id
from gql.graphql.permissions import requires, requires_any
from gql.graphql.user_errors import (
    NotFoundError,
    RateLimitedError,
    ValidationError,
    returns_user_errors,
)
from gql.inventory.errors import InsufficientStock
from gql.inventory.types import InsufficientStockError
from gql.orders import refusals, service
from gql.orders.models import Order as OrderModel
from gql.orders.types import Order, OrderNotCancellableError


@strawberry.input
class OrderLineInput:
    product_id: strawberry.ID
    quantity: int = strawberry.field(
        description="Units, 1 to ORDER_LINE_MAX_QUANTITY (100 unless the shop says otherwise)."
    )


@strawberry.input
class PlaceOrderInput:
    lines: list[OrderLineInput] = strawberry.field(
        description="1 to 100 lines; lines of the same product are merged."
    )
    idempotency_key: str | None = strawberry.field(
        default=None,
        description="Sending the same key again returns the first order, never a second.",
    )


@strawberry.type
class PlaceOrderSuccess:
    order: Order
    replayed: bool = strawberry.field(
        description="True when the idempotency key had already placed this order."
    )


@strawberry.type
class CancelOrderSuccess:
    order: Order


PlaceOrderResult = Annotated[
    PlaceOrderSuccess | InsufficientStockError | RateLimitedError | ValidationError | NotFoundError,
    strawberry.union("PlaceOrderResult"),
]
CancelOrderResult = Annotated[
    CancelOrderSuccess | OrderNotCancellableError | NotFoundError,
    strawberry.union("CancelOrderResult"),
]


@strawberry.type
class OrderMutation:
    @strawberry.mutation(
        description="Buy: every line in stock, or nothing changes. Orders refused for want of "
        "stock are counted per customer: past ORDER_REFUSALS_PER_CUSTOMER in the window, a "
        "refusal answers RateLimitedError instead of InsufficientStockError.",
        extensions=requires("order:create"),
    )
    @returns_user_errors
    async def place_order(self, info: Info, input: PlaceOrderInput) -> PlaceOrderResult:
        """Prices are snapshotted; the product rows are locked in id order."""
        # Read now: a retried attempt follows a rollback, which expires the loaded user.
        context = info.context
        customer_id = (await context.require_viewer()).user.id
        max_quantity = context.settings.order_line_max_quantity
        lines = [
            service.LineRequest(
                require_id(line.product_id, field=f"lines[{n}].productId", type_name="Product"),
                line.quantity,
            )
            for n, line in enumerate(input.lines)
        ]

        async def work(session: AsyncSession) -> service.Placed:
            return await service.place_order(
                session, customer_id, lines, input.idempotency_key, max_quantity=max_quantity
            )

        try:
            placed = await run_transaction(context, work)
        except InsufficientStock:
            await _count_refusal(context, customer_id)
            raise
        return PlaceOrderSuccess(order=Order.from_model(placed.order), replayed=placed.replayed)

    @strawberry.mutation(
        description="Cancel a PLACED order and put its units back: one's own while holding "
        "order:create, or any with order:manage.",
        extensions=requires_any("order:create", "order:manage"),
    )
    @returns_user_errors
    async def cancel_order(self, info: Info, id: strawberry.ID) -> CancelOrderResult:
        """A second cancel is an error and restores nothing."""
        # Read now: a retried attempt follows a rollback, which expires the loaded user.
        actor_id = (await info.context.require_viewer()).user.id
        permissions = await info.context.permissions()
        order_id = require_id(id, field="id", type_name="Order")

        async def work(session: AsyncSession) -> OrderModel:
            order, _ = await service.cancel_order(
                session,
                order_id,
                actor_id=actor_id,
                may_cancel_own="order:create" in permissions,
                may_manage="order:manage" in permissions,
            )
            return order

        order = await run_transaction(info.context, work)
        return CancelOrderSuccess(order=Order.from_model(order))


async def _count_refusal(context: Context, customer_id: int) -> None:
    """Count an order refused for want of stock (nothing of it was written); raises
    TooManyRefusedOrders, which answers instead, once the customer's budget is used up."""
    try:
        async with context.transaction() as session:
            await refusals.note_refusal(
                session, context.settings, customer_id, context.auth.clock()
            )
    except refusals.TooManyRefusedOrders:
        context.count_order_refusal("throttled")
        raise
    context.count_order_refusal("insufficient_stock")
