"""Inventory mutations: stock adjustments by hand."""

from typing import Annotated

import strawberry
from sqlalchemy.ext.asyncio import AsyncSession

from gql.core.transactions import run_transaction
from gql.graphql.context import Info
from gql.graphql.ids import require_id
from gql.graphql.permissions import requires
from gql.graphql.user_errors import NotFoundError, ValidationError, returns_user_errors
from gql.inventory import models, service
from gql.inventory.types import InsufficientStockError, StockMovement


@strawberry.type(description="The stock changed.")
class AdjustStockSuccess:
    movement: StockMovement = strawberry.field(description="The ledger row of the change.")


AdjustStockResult = Annotated[
    AdjustStockSuccess | InsufficientStockError | ValidationError | NotFoundError,
    strawberry.union("AdjustStockResult", description="The change, or why nothing changed."),
]


@strawberry.type
class InventoryMutation:
    @strawberry.mutation(
        description="Add or remove units by hand; stock never goes below zero. Needs "
        "`inventory:write`.",
        extensions=requires("inventory:write"),
    )
    @returns_user_errors
    async def adjust_stock(
        self,
        info: Info,
        product_id: Annotated[
            strawberry.ID, strawberry.argument(description="The product's `id`.")
        ],
        delta: Annotated[
            int,
            strawberry.argument(
                description="Units to add (positive) or remove (negative); non-zero, "
                f"at most {service.MAX_ADJUSTMENT} either way."
            ),
        ],
        reason: Annotated[
            models.MovementReason,
            strawberry.argument(description="RESTOCK or ADJUSTMENT (the others are the system's)."),
        ],
    ) -> AdjustStockResult:
        """One ledger row per change."""
        # Read now: a retried attempt follows a rollback, which expires the loaded user.
        actor_id = (await info.context.require_viewer()).user.id

        async def work(session: AsyncSession) -> models.StockMovement:
            return await service.adjust_stock(session, product, delta, reason, actor_id=actor_id)

        product = require_id(product_id, field="productId", type_name="Product")
        movement = await run_transaction(info.context, work)
        return AdjustStockSuccess(movement=StockMovement.from_model(movement))
