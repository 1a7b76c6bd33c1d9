"""GraphQL types of inventory."""

from datetime import datetime
from typing import Self

import strawberry

from gql.catalog.loaders import product_by_id
from gql.catalog.types import Product
from gql.core.errors import DomainError, Forbidden
from gql.graphql import compat
from gql.graphql.context import Info
from gql.graphql.ids import to_global_id
from gql.graphql.node import Node, load_keys
from gql.graphql.permissions import requires
from gql.graphql.user_errors import UserError
from gql.inventory import models
from gql.inventory.errors import InsufficientStock
from gql.inventory.events import StockEventData
from gql.inventory.loaders import movement_by_id
from gql.orders.loaders import order_by_id
from gql.orders.types import Order

StockMovementReason = strawberry.enum(
    models.MovementReason, name="StockMovementReason", description="Why the stock changed."
)
compat.describe_enum_values(
    StockMovementReason,
    {
        "RESTOCK": "Units came in: by adjustStock, or a new product's opening stock.",
        "ADJUSTMENT": "A correction by hand (adjustStock), up or down.",
        "ORDER": "Units sold by placeOrder.",
        "CANCELLATION": "Units put back by cancelOrder.",
    },
)


STOCK_LEVELS = "inventory:read"
HIDDEN = "null unless the caller holds inventory:read (stock levels are not public)"
GUARDED = "needs `inventory:read` (without it: null, with a FORBIDDEN error)"


def _product_id(product_id: int) -> strawberry.ID:
    return to_global_id("Product", product_id)


@strawberry.type(description="A product short of what was asked.")
class StockShortage:
    product_id: strawberry.ID = strawberry.field(description="The `id` of the short product.")
    requested: int = strawberry.field(
        description="Units asked for (the lines of one product together)."
    )
    available: int | None = strawberry.field(description=f"Units there are; {HIDDEN}.")


@strawberry.type(
    description="Not enough stock, so nothing changed; `shortages` lists every short product. "
    "Code `INSUFFICIENT_STOCK`."
)
class InsufficientStockError(UserError):
    requested: int = strawberry.field(description="Units asked for of the first short product.")
    available: int | None = strawberry.field(
        description=f"Units there are of the first short product; {HIDDEN}."
    )
    shortages: list[StockShortage] = strawberry.field(
        description="Every short product, by product id."
    )

    answers = (InsufficientStock,)

    @classmethod
    async def answer(cls, error: DomainError, info: Info) -> Self:
        """The shortage, with stock levels only for a caller who may read them."""
        assert isinstance(error, InsufficientStock)
        return cls.of_shortage(error, permissions=await info.context.permissions())

    @classmethod
    def of_shortage(cls, error: InsufficientStock, *, permissions: frozenset[str]) -> Self:
        """The GraphQL form of an InsufficientStock error, as much as the caller may see."""
        reveal = STOCK_LEVELS in permissions
        first = error.shortages[0]
        return cls(
            code=error.code,
            message=error.describe(levels=reveal, name=_product_id),
            field=error.field,
            requested=first.requested,
            available=first.available if reveal else None,
            shortages=[
                StockShortage(
                    product_id=_product_id(s.product_id),
                    requested=s.requested,
                    available=s.available if reveal else None,
                )
                for s in error.shortages
            ],
        )


@strawberry.interface(description="A committed change of a product's stock.")
class StockChange:
    id: strawberry.ID = strawberry.field(
        description="Global id of the movement (a StockEvent has its own; `node` refetches "
        "a StockMovement)."
    )
    delta: int = strawberry.field(
        description="Units added (positive) or taken (negative); never 0."
    )
    quantity_after: int | None = strawberry.field(
        description=f"Units in stock after the change; {GUARDED}.",
        extensions=requires(STOCK_LEVELS),
    )
    reason: models.MovementReason = strawberry.field(description="Why the stock changed.")
    created_at: datetime = strawberry.field(description="When the change was made (UTC).")
    product_db_id: strawberry.Private[int]
    order_db_id: strawberry.Private[int | None]

    @classmethod
    def from_model(cls, movement: models.StockMovement) -> Self:
        """The GraphQL view of a ledger row."""
        return cls(
            id=to_global_id("StockMovement", movement.id),
            delta=movement.delta,
            quantity_after=movement.quantity_after,
            reason=models.MovementReason(movement.reason),
            created_at=movement.created_at,
            product_db_id=movement.product_id,
            order_db_id=movement.order_id,
        )

    @strawberry.field(description="The product whose stock changed.")
    async def product(self, info: Info) -> Product:
        """Batched per request."""
        product = await info.context.loader(product_by_id).load(self.product_db_id)
        assert product is not None  # the ledger row would be gone with its product
        return Product.from_model(product)

    @strawberry.field(
        description="The order behind an ORDER or CANCELLATION movement, else null; needs "
        "`order:read_all` (without it: null, with a FORBIDDEN error).",
        extensions=requires("order:read_all"),
    )
    async def order(self, info: Info) -> Order | None:
        """Batched per request."""
        if self.order_db_id is None:
            return None
        order = await info.context.loader(order_by_id).load(self.order_db_id)
        return Order.from_model(order) if order else None


@strawberry.type(description="A row of the stock ledger.")
class StockMovement(StockChange, Node):
    @classmethod
    async def resolve_nodes(cls, info: Info, keys: list[str]) -> list["StockMovement | None"]:
        """Only with inventory:read, as `stockMovements`."""
        if STOCK_LEVELS not in (await info.context.require_viewer()).permissions:
            raise Forbidden(f"The `{STOCK_LEVELS}` permission is required.")
        rows = await load_keys(info.context.loader(movement_by_id), keys)
        return [cls.from_model(row) if row is not None else None for row in rows]


@strawberry.type(description="A committed stock movement, delivered live (see stockChanged).")
class StockEvent(StockChange):
    cursor: strawberry.ID = strawberry.field(
        description="Where this event stands in the stream: `stockChanged(after:)` with it "
        "resumes right after this event."
    )
    product_snapshot: strawberry.Private[Product]

    @classmethod
    def of(cls, event: StockEventData) -> Self:
        """The event with its product as of this movement (stock = quantityAfter)."""
        product = Product.from_model(event.product)
        product.stock = event.movement.quantity_after
        return cls(
            id=to_global_id("StockEvent", event.movement.id),
            cursor=strawberry.ID(event.position.cursor()),
            delta=event.movement.delta,
            quantity_after=event.movement.quantity_after,
            reason=models.MovementReason(event.movement.reason),
            created_at=event.movement.created_at,
            product_db_id=event.movement.product_id,
            order_db_id=event.movement.order_id,
            product_snapshot=product,
        )

    @strawberry.field(description="The product as of this movement.")
    async def product(self, info: Info) -> Product:
        """Read with the event, so every subscriber sees the same state and no extra query."""
        return self.product_snapshot
