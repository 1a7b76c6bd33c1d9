"""GraphQL types of the catalog."""

from collections.abc import Awaitable
from datetime import datetime
from decimal import Decimal
from typing import Self

import strawberry

from gql.cache.dependencies import note_product
from gql.catalog import models
from gql.catalog.errors import DuplicateSku, ProductInUse
from gql.catalog.listing import ImageRow, ProductOrder, ProductRow
from gql.catalog.loaders import image_by_id, images_by_product_id, product_by_id
from gql.graphql.context import Info
from gql.graphql.execution.executor import PRELOADED
from gql.graphql.ids import to_global_id
from gql.graphql.node import Node, load_keys
from gql.graphql.permissions import requires
from gql.graphql.user_errors import UserError

ProductOrderBy = strawberry.enum(
    ProductOrder, name="ProductOrderBy", description="Product list orders."
)


@strawberry.type(description="An image of a product.")
class ProductImage(Node):
    id: strawberry.ID
    url: str
    alt_text: str
    position: int

    @classmethod
    def from_model(cls, image: "models.ProductImage | ImageRow") -> Self:
        """The GraphQL view of an image (entity or row)."""
        return cls(
            id=to_global_id("ProductImage", image.id),
            url=image.url,
            alt_text=image.alt_text,
            position=image.position,
        )

    @classmethod
    async def resolve_nodes(cls, info: Info, keys: list[str]) -> list["ProductImage | None"]:
        """Public, like the products that show them."""
        rows = await load_keys(info.context.loader(image_by_id), keys)
        return [cls.from_model(row) if row is not None else None for row in rows]


@strawberry.type(description="A product of the catalog.")
class Product(Node):
    id: strawberry.ID
    sku: str
    name: str
    description: str
    price: Decimal = strawberry.field(description='Unit price, a decimal string such as "19.99".')
    stock: int | None = strawberry.field(
        description="Units in stock (needs `inventory:read`; everyone sees `inStock`).",
        extensions=requires("inventory:read"),
    )
    in_stock: bool = strawberry.field(description="Whether at least one unit is in stock.")
    created_at: datetime
    updated_at: datetime
    db_id: strawberry.Private[int]
    # Images read together with the page, when the query asks for them.
    preloaded_images: strawberry.Private[list[ProductImage] | None] = None

    @classmethod
    def from_model(
        cls, product: "models.Product | ProductRow", images: list[ImageRow] | None = None
    ) -> Self:
        """The GraphQL view of a product (entity or row), with its image rows if read."""
        note_product(product.id, product.version)
        return cls(
            preloaded_images=(
                [ProductImage.from_model(row) for row in images] if images is not None else None
            ),
            id=to_global_id("Product", product.id),
            db_id=product.id,
            sku=product.sku,
            name=product.name,
            description=product.description,
            price=product.price,
            stock=product.stock,
            in_stock=product.stock > 0,
            created_at=product.created_at,
            updated_at=product.updated_at,
        )

    @classmethod
    async def resolve_nodes(cls, info: Info, keys: list[str]) -> list["Product | None"]:
        """Public, like `product(id:)`; `stock` stays guarded by its field."""
        rows = await load_keys(info.context.loader(product_by_id), keys)
        return [cls.from_model(row) if row is not None else None for row in rows]

    @strawberry.field(
        description="The product's images in display order.",
        graphql_type=list[ProductImage],
        # The executor reads preloaded images straight off the product.
        metadata={PRELOADED: "preloaded_images"},
    )
    def images(self, info: Info) -> list[ProductImage] | Awaitable[list[ProductImage]]:
        """Read with the page when it could be; otherwise batched per request (one
        statement for all products whose images are asked for)."""
        if self.preloaded_images is not None:
            return self.preloaded_images
        return self._load_images(info)

    async def _load_images(self, info: Info) -> list[ProductImage]:
        rows = await info.context.loader(images_by_product_id).load(self.db_id)
        return [ProductImage.from_model(row) for row in rows]


@strawberry.type(description="Another product already uses this SKU.")
class DuplicateSkuError(UserError):
    answers = (DuplicateSku,)


@strawberry.type(description="Orders refer to the product, so it cannot be deleted.")
class ProductInUseError(UserError):
    answers = (ProductInUse,)
