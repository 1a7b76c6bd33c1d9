"""Order mutations: place and cancel."""

from typing import Annotated

import strawberry
from sqlalchemy.ext.asyncio import AsyncSession

from gql.context import Info
from gql.errors import EntityNotFound, InvalidInput
from gql.ids import require_id
from gql.inventory.errors import InsufficientStock
from gql.inventory.types import InsufficientStockError
from gql.orders import service
from gql.orders.errors import OrderNotCancellable
from gql.orders.models import Order as OrderModel
from gql.orders.types import Order, OrderNotCancellableError
from gql.permissions import requires, requires_any
from gql.transactions import run_transaction
from gql.user_errors import NotFoundError, ValidationError


@strawberry.input
class OrderLineInput:
    product_id: strawberry.ID
    quantity: int = strawberry.field(description="1 to 1000.")


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
    PlaceOrderSuccess | InsufficientStockError | ValidationError | NotFoundError,
    strawberry.union("PlaceOrderResult"),
]
CancelOrderResult = Annotated[
    CancelOrderSuccess | OrderNotCancellableError | NotFoundError,
    strawberry.union("CancelOrderResult"),
]


@strawberry.type
class OrderMutation:
    @strawberry.mutation(
        description="Buy: every line in stock, or nothing changes.",
        extensions=requires("order:create"),
    )
    async def place_order(self, info: Info, input: PlaceOrderInput) -> PlaceOrderResult:
        """Prices are snapshotted; the product rows are locked in id order."""
        # Read now: a retried attempt follows a rollback, which expires the loaded user.
        customer_id = (await info.context.require_viewer()).user.id
        try:
            lines = [
                service.LineRequest(
                    require_id(line.product_id, field=f"lines[{n}].productId", kind="Product"),
                    line.quantity,
                )
                for n, line in enumerate(input.lines)
            ]

            async def work(session: AsyncSession) -> service.Placed:
                return await service.place_order(session, customer_id, lines, input.idempotency_key)

            placed = await run_transaction(info.context, work)
        except InsufficientStock as error:
            return InsufficientStockError.of_shortage(
                error, permissions=await info.context.permissions()
            )
        except InvalidInput as error:
            return ValidationError.of(error)
        except EntityNotFound as error:
            return NotFoundError.of(error)
        return PlaceOrderSuccess(order=Order.from_model(placed.order), replayed=placed.replayed)

    @strawberry.mutation(
        description="Cancel a PLACED order and put its units back: one's own while holding "
        "order:create, or any with order:manage.",
        extensions=requires_any("order:create", "order:manage"),
    )
    async def cancel_order(self, info: Info, id: strawberry.ID) -> CancelOrderResult:
        """A second cancel is an error and restores nothing."""
        # Read now: a retried attempt follows a rollback, which expires the loaded user.
        actor_id = (await info.context.require_viewer()).user.id
        permissions = await info.context.permissions()
        try:
            order_id = require_id(id, field="id", kind="Order")

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
        except OrderNotCancellable as error:
            return OrderNotCancellableError.of(error)
        except EntityNotFound as error:
            return NotFoundError.of(error)
        return CancelOrderSuccess(order=Order.from_model(order))
