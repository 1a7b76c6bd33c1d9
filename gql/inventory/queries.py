"""Inventory queries: the stock ledger."""

from typing import Annotated

import strawberry

from gql.graphql.connections import AFTER, FIRST, Connection
from gql.graphql.context import Info
from gql.graphql.ids import parse_id
from gql.graphql.permissions import requires
from gql.inventory import service
from gql.inventory.types import StockMovement


@strawberry.type
class InventoryQuery:
    @strawberry.field(
        description="The stock ledger, oldest movement first, of one product or of all. Needs "
        "`inventory:read`.",
        extensions=requires("inventory:read"),
    )
    async def stock_movements(
        self,
        info: Info,
        product_id: Annotated[
            strawberry.ID | None,
            strawberry.argument(
                description="Only this product's movements (none for an unknown id); omitted: "
                "every product's."
            ),
        ] = None,
        first: Annotated[int | None, strawberry.argument(description=FIRST)] = None,
        after: Annotated[str | None, strawberry.argument(description=AFTER)] = None,
    ) -> Connection[StockMovement]:
        """An unknown product has an empty ledger."""
        product = parse_id(product_id, "Product") if product_id is not None else None
        if product_id is not None and product is None:
            product = -1  # a malformed id names no product: an empty page, not an error
        async with info.context.session() as session:
            page = await service.list_movements(
                session, product_id=product, first=first, after=after
            )
        return Connection[StockMovement].from_page(page, StockMovement.from_model, info)
