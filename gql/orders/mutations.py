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
from gql.orders.service import MAX_IDEMPOTENCY_KEY, MAX_LINES
from gql.orders.types import Order, OrderNotCancellableError


@strawberry.input(description="A product and how many units of it to buy.")
class OrderLineInput:
    product_id: strawberry.ID = strawberry.field(description="The product's `id`.")
    quantity: int = strawberry.field(
        description="Units, 1 to ORDER_LINE_MAX_QUANTITY (100 unless the shop says otherwise)."
    )


@strawberry.input(description="What to buy.")
class PlaceOrderInput:
    lines: list[OrderLineInput] = strawberry.field(
        description=f"1 to {MAX_LINES} lines; lines of the same product are merged."
    )
    idempotency_key: str | None = strawberry.field(
        default=None,
        description="Sending the same key again returns the first order, never a second. "
        f"1 to {MAX_IDEMPOTENCY_KEY} characters, one's own: other customers' keys do not "
        "clash.",
    )


@strawberry.type(description="The order was placed (or, with a known idempotency key, found).")
class PlaceOrderSuccess:
    order: Order = strawberry.field(description="The order.")
    replayed: bool = strawberry.field(
        description="True when the idempotency key had already placed this order."
    )


@strawberry.type(description="The order was cancelled and its units put back in stock.")
class CancelOrderSuccess:
    order: Order = strawberry.field(description="The cancelled order.")


PlaceOrderResult = Annotated[
    PlaceOrderSuccess | InsufficientStockError | RateLimitedError | ValidationError | NotFoundError,
    strawberry.union("PlaceOrderResult", description="The order, or why none was placed."),
]
CancelOrderResult = Annotated[
    CancelOrderSuccess | OrderNotCancellableError | NotFoundError,
    strawberry.union(
        "CancelOrderResult", description="The cancelled order, or why nothing changed."
    ),
]


@strawberry.type
class OrderMutation:
    @strawberry.mutation(
        description="Buy: every line in stock, or nothing changes. Orders refused for want of "
        "stock are counted per customer: past ORDER_REFUSALS_PER_CUSTOMER (5 by default) in "
        "ORDER_REFUSAL_WINDOW_SECONDS (900 by default), a refusal answers RateLimitedError "
        "instead of InsufficientStockError. Needs `order:create`.",
        extensions=requires("order:create"),
    )
    @returns_user_errors
    async def place_order(
        self,
        info: Info,
        input: Annotated[
            PlaceOrderInput,
            strawberry.argument(description="The lines to buy and an optional idempotency key."),
        ],
    ) -> PlaceOrderResult:
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
        "`order:create`, or any with `order:manage` (without it, another customer's order "
        "reads as missing).",
        extensions=requires_any("order:create", "order:manage"),
    )
    @returns_user_errors
    async def cancel_order(
        self,
        info: Info,
        id: Annotated[strawberry.ID, strawberry.argument(description="The order's `id`.")],
    ) -> CancelOrderResult:
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
