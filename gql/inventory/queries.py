"""Inventory queries: the stock ledger."""

import strawberry

from gql.graphql.connections import Connection
from gql.graphql.context import Info
from gql.graphql.ids import parse_id
from gql.graphql.permissions import requires
from gql.inventory import service
from gql.inventory.types import StockMovement


@strawberry.type
class InventoryQuery:
    @strawberry.field(
        description="The stock ledger in ledger order, of one product or of all.",
        extensions=requires("inventory:read"),
    )
    async def stock_movements(
        self,
        info: Info,
        product_id: strawberry.ID | None = None,
        first: int | None = None,
        after: str | None = None,
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
