"""Catalog queries: public reads of products."""

from decimal import Decimal
from typing import Annotated

import strawberry

from gql.cache.dependencies import note_availability
from gql.catalog import listing
from gql.catalog.listing import ProductFilter, ProductOrder
from gql.catalog.types import Product
from gql.catalog.validation import MAX_PRICE, MAX_SEARCH
from gql.graphql.connections import AFTER, FIRST, Connection
from gql.graphql.context import Info
from gql.graphql.ids import parse_id
from gql.graphql.permissions import public
from gql.graphql.selection import selects


@strawberry.input(description="Conditions on the product list; all given ones must hold.")
class ProductFilterInput:
    search: str | None = strawberry.field(
        default=None,
        description="Case-insensitive substring of the name or SKU, at most "
        f"{MAX_SEARCH} characters; blank matches every product.",
    )
    min_price: Decimal | None = strawberry.field(
        default=None, description=f"Only products priced at least this (0 to {MAX_PRICE})."
    )
    max_price: Decimal | None = strawberry.field(
        default=None, description=f"Only products priced at most this (0 to {MAX_PRICE})."
    )
    in_stock: bool | None = strawberry.field(
        default=None,
        description="true: only products with a unit in stock; false: only sold-out ones; "
        "omitted: both.",
    )


@strawberry.type
class CatalogQuery:
    @strawberry.field(description="One product by id, or null.", metadata=public())
    async def product(
        self,
        info: Info,
        id: Annotated[strawberry.ID, strawberry.argument(description="The product's `id`.")],
    ) -> Product | None:
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
        first: Annotated[int | None, strawberry.argument(description=FIRST)] = None,
        after: Annotated[str | None, strawberry.argument(description=AFTER)] = None,
        filter: Annotated[
            ProductFilterInput | None,
            strawberry.argument(description="Conditions on the list; omitted: every product."),
        ] = None,
        order_by: Annotated[
            ProductOrder,
            strawberry.argument(
                description="The order of the list; a cursor works only in the order it came from."
            ),
        ] = ProductOrder.ID_ASC,
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
