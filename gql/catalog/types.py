"""GraphQL types of the catalog."""

from collections.abc import Awaitable
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Self

import strawberry

from gql.cache.dependencies import note_product
from gql.catalog import models
from gql.catalog.errors import DuplicateSku, ProductInUse
from gql.catalog.listing import ImageRow, ProductOrder, ProductRow
from gql.catalog.loaders import image_by_id, images_by_product_id, product_by_id
from gql.catalog.validation import MAX_ALT_TEXT, MAX_DESCRIPTION, MAX_NAME, MAX_PRICE, MAX_URL
from gql.graphql import compat
from gql.graphql.context import Info
from gql.graphql.execution.executor import PRELOADED
from gql.graphql.ids import to_global_id
from gql.graphql.node import Node, load_keys
from gql.graphql.permissions import requires
from gql.graphql.user_errors import UserError
from gql.media.renditions import ImageSize, rendition_url

ProductOrderBy = strawberry.enum(
    ProductOrder,
    name="ProductOrderBy",
    description="Product list orders; ties are broken by id, so each order is total.",
)
compat.describe_enum_values(
    ProductOrderBy,
    {
        "ID_ASC": "By id, ascending (the default).",
        "ID_DESC": "By id, descending.",
        "PRICE_ASC": "Cheapest first; equal prices by id, ascending.",
        "PRICE_DESC": "Most expensive first; equal prices by id, descending.",
        "NAME_ASC": "By name in the database's string order; equal names by id, ascending.",
        "CREATED_AT_DESC": "Newest first; equal times by id, descending.",
    },
)


strawberry.enum(
    ImageSize,
    name="ImageSize",
    description="Sizes of image renditions: the box the image is scaled to fit, aspect kept, "
    "never enlarged.",
)
compat.describe_enum_values(
    ImageSize,
    {size.name: f"At most {size.value} pixels wide and high." for size in ImageSize},
)


@strawberry.type(description="An image of a product.")
class ProductImage(Node):
    id: strawberry.ID = strawberry.field(description="Global id of the image.")
    url: str = strawberry.field(
        description="Where the image is: for an uploaded image, a path on this API "
        "(`/media/<key>`, which never changes), else the absolute http or https URL it was "
        f"added with (at most {MAX_URL} characters)."
    )
    alt_text: str = strawberry.field(
        description=f"Text alternative for the image, at most {MAX_ALT_TEXT} characters; empty "
        "when none was given."
    )
    position: int = strawberry.field(description="0-based place in the product's display order.")
    width: int | None = strawberry.field(
        description="Width in pixels of an uploaded image; null for an image added by URL."
    )
    height: int | None = strawberry.field(
        description="Height in pixels of an uploaded image; null for an image added by URL."
    )
    media_key: strawberry.Private[str | None]

    @classmethod
    def from_model(cls, image: "models.ProductImage | ImageRow") -> Self:
        """The GraphQL view of an image (entity or row)."""
        return cls(
            id=to_global_id("ProductImage", image.id),
            url=image.url,
            alt_text=image.alt_text,
            position=image.position,
            width=image.width,
            height=image.height,
            media_key=image.media_key,
        )

    @strawberry.field(
        description="The URL of the image scaled to fit `size` (aspect kept, never enlarged; "
        "made on its first request, then kept). An image added by URL is not resized: its "
        "`url`."
    )
    def resized_url(
        self,
        size: Annotated[ImageSize, strawberry.argument(description="The box the image must fit.")],
    ) -> str:
        """Computed from the key: no statement."""
        if self.media_key is None:
            return self.url
        return rendition_url(self.media_key, size)

    @classmethod
    async def resolve_nodes(cls, info: Info, keys: list[str]) -> list["ProductImage | None"]:
        """Public, like the products that show them."""
        rows = await load_keys(info.context.loader(image_by_id), keys)
        return [cls.from_model(row) if row is not None else None for row in rows]


@strawberry.type(description="A product of the catalog.")
class Product(Node):
    id: strawberry.ID = strawberry.field(description="Global id of the product.")
    sku: str = strawberry.field(
        description="Stock keeping unit, unique in the catalog: 1-64 letters, digits, '.', '_' "
        "or '-', starting with a letter or digit."
    )
    name: str = strawberry.field(description=f"Display name, 1-{MAX_NAME} characters.")
    description: str = strawberry.field(
        description=f"Longer text, at most {MAX_DESCRIPTION} characters (line breaks allowed); "
        "empty when there is none."
    )
    price: Decimal = strawberry.field(
        description='Unit price, a decimal string with two decimal places such as "19.99", '
        f"from 0 to {MAX_PRICE}."
    )
    stock: int | None = strawberry.field(
        description="Units in stock (needs `inventory:read`; everyone sees `inStock`). Without "
        "the permission: null, with a FORBIDDEN (or, signed out, UNAUTHENTICATED) error.",
        extensions=requires("inventory:read"),
    )
    in_stock: bool = strawberry.field(description="Whether at least one unit is in stock.")
    created_at: datetime = strawberry.field(description="When the product was created (UTC).")
    updated_at: datetime = strawberry.field(description="When the product last changed (UTC).")
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


@strawberry.type(description="Another product already uses this SKU; code `DUPLICATE_SKU`.")
class DuplicateSkuError(UserError):
    answers = (DuplicateSku,)


@strawberry.type(
    description="Orders refer to the product, so it cannot be deleted; code `PRODUCT_IN_USE`."
)
class ProductInUseError(UserError):
    answers = (ProductInUse,)
