"""Catalog queries: public reads of products."""

from decimal import Decimal
from typing import Annotated

import strawberry

from gql.cache.dependencies import note_availability
from gql.catalog import listing
from gql.catalog.listing import ProductFilter, ProductOrder
from gql.catalog.types import Product
from gql.graphql.connections import Connection
from gql.graphql.context import Info
from gql.graphql.ids import parse_id
from gql.graphql.permissions import public
from gql.graphql.selection import selects


@strawberry.input(description="Conditions on the product list; all given ones must hold.")
class ProductFilterInput:
    search: str | None = strawberry.field(
        default=None, description="Case-insensitive substring of the name or SKU."
    )
    min_price: Decimal | None = None
    max_price: Decimal | None = None
    in_stock: bool | None = None


@strawberry.type
class CatalogQuery:
    @strawberry.field(description="One product by id, or null.", metadata=public())
    async def product(self, info: Info, id: strawberry.ID) -> Product | None:
        """Null for an unknown or malformed id, or the id of another type."""
        product_id = parse_id(id, "Product")
        if product_id is None:
            return None
        async with info.context.session() as session:
            product = await listing.get_product(session, product_id)
        return Product.from_model(product) if product else None

    @strawberry.field(description="Products, a keyset page at a time.", metadata=public())
    async def products(
        self,
        info: Info,
        first: Annotated[
            int | None, strawberry.argument(description="Page size: 20 by default, at most 100.")
        ] = None,
        after: str | None = None,
        filter: ProductFilterInput | None = None,
        order_by: ProductOrder = ProductOrder.ID_ASC,
    ) -> Connection[Product]:
        """Filtered and ordered; `after` is the `endCursor` of the previous page."""
        product_filter = (
            ProductFilter(
                search=filter.search,
                min_price=filter.min_price,
                max_price=filter.max_price,
                in_stock=filter.in_stock,
            )
            if filter
            else ProductFilter()
        )
        if product_filter.in_stock is not None:
            note_availability()
        async with info.context.session() as session:
            page = await listing.list_products(
                session, first=first, after=after, product_filter=product_filter, order=order_by
            )
            images = (
                await listing.images_of_products(session, (row.id for row in page.items))
                if selects(info, "edges", "node", "images")
                else {}
            )
        return Connection[Product].from_page(
            page, lambda row: Product.from_model(row, images.get(row.id)), info
        )
