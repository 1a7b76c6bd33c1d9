"""GraphQL types of orders."""

from datetime import datetime
from decimal import Decimal
from typing import Self

import strawberry

from gql.auth.loaders import user_by_id
from gql.auth.types import User
from gql.catalog.loaders import product_by_id
from gql.catalog.types import Product
from gql.graphql import compat
from gql.graphql.context import Info
from gql.graphql.ids import to_global_id
from gql.graphql.node import Node, load_keys
from gql.graphql.user_errors import UserError
from gql.orders import models, service
from gql.orders.errors import OrderNotCancellable
from gql.orders.loaders import lines_by_order_id, order_by_id

READ_ALL = "order:read_all"

OrderStatus = strawberry.enum(
    models.OrderStatus, name="OrderStatus", description="Where an order stands."
)
compat.describe_enum_values(
    OrderStatus,
    {
        "PLACED": "Placed: its units were taken from stock.",
        "CANCELLED": "Cancelled: its units were put back in stock.",
    },
)


@strawberry.type(description="A product on an order, at the price it was sold for.")
class OrderLine:
    quantity: int = strawberry.field(
        description="Units bought (the order's lines of one product together)."
    )
    unit_price: Decimal = strawberry.field(
        description='The price of one unit when the order was placed, such as "19.99".'
    )
    line_total: Decimal = strawberry.field(description="unitPrice times quantity.")
    product_db_id: strawberry.Private[int]

    @classmethod
    def from_model(cls, line: models.OrderLine) -> Self:
        """The GraphQL view of an order line."""
        return cls(
            quantity=line.quantity,
            unit_price=line.unit_price,
            line_total=(line.unit_price * line.quantity).quantize(Decimal("0.01")),
            product_db_id=line.product_id,
        )

    @strawberry.field(description="The product bought (it cannot be deleted while ordered).")
    async def product(self, info: Info) -> Product:
        """Batched per request."""
        product = await info.context.loader(product_by_id).load(self.product_db_id)
        assert product is not None  # order lines keep their products from being deleted
        return Product.from_model(product)


@strawberry.type(description="A customer's purchase.")
class Order(Node):
    id: strawberry.ID = strawberry.field(description="Global id of the order.")
    status: models.OrderStatus = strawberry.field(description="PLACED or CANCELLED.")
    total: Decimal = strawberry.field(
        description="The sum of the line totals, at the prices of when it was placed."
    )
    created_at: datetime = strawberry.field(description="When the order was placed (UTC).")
    cancelled_at: datetime | None = strawberry.field(
        description="When the order was cancelled (UTC); null while it is PLACED."
    )
    db_id: strawberry.Private[int]
    customer_db_id: strawberry.Private[int]

    @classmethod
    def from_model(cls, order: models.Order) -> Self:
        """The GraphQL view of an order row."""
        return cls(
            id=to_global_id("Order", order.id),
            db_id=order.id,
            customer_db_id=order.customer_id,
            status=models.OrderStatus(order.status),
            total=order.total,
            created_at=order.created_at,
            cancelled_at=order.cancelled_at,
        )

    @classmethod
    async def resolve_nodes(cls, info: Info, keys: list[str]) -> list["Order | None"]:
        """One's own orders, or any with order:read_all; another customer's order reads
        exactly like a missing one (as `order(id:)`)."""
        viewer = await info.context.require_viewer()
        may_read_all = READ_ALL in viewer.permissions
        rows = await load_keys(info.context.loader(order_by_id), keys)
        return [
            cls.from_model(row)
            if row is not None
            and service.may_see(row, viewer_id=viewer.user.id, may_read_all=may_read_all)
            else None
            for row in rows
        ]

    @strawberry.field(description="The order's lines, by product id.")
    async def lines(self, info: Info) -> list[OrderLine]:
        """Batched per request."""
        rows = await info.context.loader(lines_by_order_id).load(self.db_id)
        return [OrderLine.from_model(row) for row in rows]

    @strawberry.field(description="Who placed the order.")
    async def customer(self, info: Info) -> User:
        """Batched per request."""
        user = await info.context.loader(user_by_id).load(self.customer_db_id)
        assert user is not None  # customers with orders cannot be deleted
        return User.from_model(user)


@strawberry.type(description="Only a PLACED order can be cancelled; code `ORDER_NOT_CANCELLABLE`.")
class OrderNotCancellableError(UserError):
    answers = (OrderNotCancellable,)
