"""Catalog mutations: each commits once and returns its success type or a UserError."""

import asyncio
from decimal import Decimal
from typing import Annotated

import strawberry
from sqlalchemy.ext.asyncio import AsyncSession
from strawberry.file_uploads import Upload

from gql.catalog import listing, models, service
from gql.catalog.types import DuplicateSkuError, Product, ProductImage, ProductInUseError
from gql.catalog.validation import (
    MAX_ALT_TEXT,
    MAX_DESCRIPTION,
    MAX_IMAGES,
    MAX_NAME,
    MAX_PRICE,
    MAX_STOCK,
    MAX_URL,
)
from gql.graphql.context import Info
from gql.graphql.ids import require_id, to_global_id
from gql.graphql.permissions import requires
from gql.graphql.user_errors import NotFoundError, ValidationError, returns_user_errors
from gql.media.images import read_file, read_upload
from gql.media.service import release

WRITE = "product:write"
SKU = (
    "1-64 letters, digits, '.', '_' or '-', starting with a letter or digit, and used by no "
    "other product"
)
PRICE = f"0 to {MAX_PRICE}, at most two decimal places"
ALT_TEXT = f"Text alternative for the image, at most {MAX_ALT_TEXT} characters."
POSITION = (
    "0-based place among the images; last when omitted or past the end. Later images move one "
    "place along; negative is a ValidationError."
)


@strawberry.input(
    description="A new product. Text is trimmed; control characters are refused (line breaks "
    "are allowed in `description`)."
)
class CreateProductInput:
    sku: str = strawberry.field(description=f"Stock keeping unit: {SKU}.")
    name: str = strawberry.field(description=f"Display name, 1-{MAX_NAME} characters.")
    price: Decimal = strawberry.field(description=f"Unit price, {PRICE}.")
    description: str = strawberry.field(
        default="",
        description=f"Longer text, at most {MAX_DESCRIPTION} characters; line breaks allowed.",
    )
    stock: int = strawberry.field(
        default=0,
        description=f"Initial units in stock, 0 to {MAX_STOCK}; above 0, a RESTOCK movement.",
    )


@strawberry.input(
    description="Only the fields given are changed, by the rules of createProduct; null is "
    "not a value for any of them (ValidationError)."
)
class UpdateProductInput:
    id: strawberry.ID = strawberry.field(description="The product to change.")
    sku: str | None = strawberry.field(default=strawberry.UNSET, description=f"New SKU: {SKU}.")
    name: str | None = strawberry.field(
        default=strawberry.UNSET, description=f"New display name, 1-{MAX_NAME} characters."
    )
    description: str | None = strawberry.field(
        default=strawberry.UNSET,
        description=f"New longer text, at most {MAX_DESCRIPTION} characters.",
    )
    price: Decimal | None = strawberry.field(
        default=strawberry.UNSET, description=f"New unit price, {PRICE}."
    )


@strawberry.input(description=f"An image for a product; a product has at most {MAX_IMAGES}.")
class AddProductImageInput:
    product_id: strawberry.ID = strawberry.field(description="The product to add it to.")
    url: str = strawberry.field(
        description=f"Absolute http or https URL of the image, at most {MAX_URL} characters."
    )
    alt_text: str = strawberry.field(default="", description=ALT_TEXT)
    position: int | None = strawberry.field(default=None, description=POSITION)


@strawberry.input(
    description="An uploaded image for a product (a GraphQL multipart request, which must carry "
    f"an `Apollo-Require-Preflight` header); a product has at most {MAX_IMAGES}."
)
class UploadProductImageInput:
    product_id: strawberry.ID = strawberry.field(description="The product to add it to.")
    file: Upload = strawberry.field(
        description="A PNG, JPEG or WebP file of at most MEDIA_MAX_BYTES bytes (5 MiB by "
        "default) and MEDIA_MAX_PIXELS pixels (25 million by default); its format is read "
        "from its bytes, and EXIF, XMP and text metadata are removed before it is stored."
    )
    alt_text: str = strawberry.field(default="", description=ALT_TEXT)
    position: int | None = strawberry.field(default=None, description=POSITION)


@strawberry.input(description="A new display order for the images of a product.")
class ReorderProductImagesInput:
    product_id: strawberry.ID = strawberry.field(description="The product whose images move.")
    image_ids: list[strawberry.ID] = strawberry.field(
        description="Every image id of the product, each once, in the new order."
    )


@strawberry.type(description="The product was created.")
class CreateProductSuccess:
    product: Product = strawberry.field(description="The new product.")


@strawberry.type(description="The product was changed.")
class UpdateProductSuccess:
    product: Product = strawberry.field(description="The product as it is now.")


@strawberry.type(description="The product and its images were deleted.")
class DeleteProductSuccess:
    deleted_id: strawberry.ID = strawberry.field(description="The id the product had.")


@strawberry.type(description="The image was added.")
class AddProductImageSuccess:
    image: ProductImage = strawberry.field(description="The new image.")
    product: Product = strawberry.field(description="Its product, with every image in order.")


@strawberry.type(description="The image was removed; the images after it moved up one place.")
class RemoveProductImageSuccess:
    removed_id: strawberry.ID = strawberry.field(description="The id the image had.")
    product: Product = strawberry.field(description="Its product, with the remaining images.")


@strawberry.type(description="The images are in their new order.")
class ReorderProductImagesSuccess:
    product: Product = strawberry.field(description="The product, images in the new order.")


CreateProductResult = Annotated[
    CreateProductSuccess | ValidationError | DuplicateSkuError,
    strawberry.union(
        "CreateProductResult", description="The new product, or why nothing was created."
    ),
]
UpdateProductResult = Annotated[
    UpdateProductSuccess | ValidationError | DuplicateSkuError | NotFoundError,
    strawberry.union(
        "UpdateProductResult", description="The changed product, or why nothing changed."
    ),
]
DeleteProductResult = Annotated[
    DeleteProductSuccess | NotFoundError | ProductInUseError,
    strawberry.union(
        "DeleteProductResult", description="The deletion, or why nothing was deleted."
    ),
]
AddProductImageResult = Annotated[
    AddProductImageSuccess | ValidationError | NotFoundError,
    strawberry.union(
        "AddProductImageResult", description="The new image, or why nothing was added."
    ),
]
RemoveProductImageResult = Annotated[
    RemoveProductImageSuccess | NotFoundError,
    strawberry.union(
        "RemoveProductImageResult", description="The removal, or why nothing was removed."
    ),
]
ReorderProductImagesResult = Annotated[
    ReorderProductImagesSuccess | ValidationError | NotFoundError,
    strawberry.union(
        "ReorderProductImagesResult", description="The new order, or why nothing moved."
    ),
]


async def _image_added(session: AsyncSession, image: models.ProductImage) -> AddProductImageSuccess:
    """The new image, with its product as the transaction now sees it."""
    product = await listing.get_product(session, image.product_id)
    assert product is not None
    return AddProductImageSuccess(
        image=ProductImage.from_model(image), product=Product.from_model(product)
    )


@strawberry.type
class CatalogMutation:
    @strawberry.mutation(
        description="Add a product to the catalog. Needs `product:write`.",
        extensions=requires(WRITE),
    )
    @returns_user_errors
    async def create_product(
        self,
        info: Info,
        input: Annotated[CreateProductInput, strawberry.argument(description="The product.")],
    ) -> CreateProductResult:
        """Fails with DuplicateSkuError or ValidationError, changing nothing."""
        viewer = await info.context.require_viewer()
        async with info.context.transaction() as session:
            product = await service.create_product(
                session,
                sku=input.sku,
                name=input.name,
                description=input.description,
                price=input.price,
                stock=input.stock,
                actor_id=viewer.user.id,
            )
        return CreateProductSuccess(product=Product.from_model(product))

    @strawberry.mutation(
        description="Change some fields of a product. Needs `product:write`.",
        extensions=requires(WRITE),
    )
    @returns_user_errors
    async def update_product(
        self,
        info: Info,
        input: Annotated[
            UpdateProductInput,
            strawberry.argument(description="The product and its changed fields."),
        ],
    ) -> UpdateProductResult:
        """Omitted fields keep their values; null is not a value for any of them."""
        changes = {
            field: getattr(input, field)
            for field in ("sku", "name", "description", "price")
            if getattr(input, field) is not strawberry.UNSET
        }
        product_id = require_id(input.id, field="id", type_name="Product")
        async with info.context.transaction() as session:
            product = await service.update_product(session, product_id, changes)
        return UpdateProductSuccess(product=Product.from_model(product))

    @strawberry.mutation(
        description="Remove a product and its images; one on an order cannot be removed. Needs "
        "`product:write`.",
        extensions=requires(WRITE),
    )
    @returns_user_errors
    async def delete_product(
        self,
        info: Info,
        id: Annotated[strawberry.ID, strawberry.argument(description="The product's `id`.")],
    ) -> DeleteProductResult:
        """NotFoundError for an unknown id."""
        product_id = require_id(id, field="id", type_name="Product")
        async with info.context.transaction() as session:
            media_keys = await service.delete_product(session, product_id)
        await release(info.context.database, info.context.media, media_keys)
        return DeleteProductSuccess(deleted_id=to_global_id("Product", product_id))

    @strawberry.mutation(
        description="Attach an image to a product. Needs `product:write`.",
        extensions=requires(WRITE),
    )
    @returns_user_errors
    async def add_product_image(
        self,
        info: Info,
        input: Annotated[
            AddProductImageInput, strawberry.argument(description="The image and its product.")
        ],
    ) -> AddProductImageResult:
        """Later images move one place along when `position` is given."""
        product_id = require_id(input.product_id, field="productId", type_name="Product")
        async with info.context.transaction() as session:
            image = await service.add_product_image(
                session,
                product_id,
                url=input.url,
                alt_text=input.alt_text,
                position=input.position,
            )
            return await _image_added(session, image)

    @strawberry.mutation(
        description="Upload an image for a product: stored by this API and served at a "
        "path under `/media/`, in sizes through `resizedUrl`. Needs `product:write`.",
        extensions=requires(WRITE),
    )
    @returns_user_errors
    async def upload_product_image(
        self,
        info: Info,
        input: Annotated[
            UploadProductImageInput,
            strawberry.argument(description="The file and its product."),
        ],
    ) -> AddProductImageResult:
        """A file that is not an accepted image is a ValidationError on `file`; nothing is
        stored."""
        product_id = require_id(input.product_id, field="productId", type_name="Product")
        settings = info.context.settings
        data = await read_file(input.file, settings.media_max_bytes)
        picture = await asyncio.to_thread(
            read_upload,
            data,
            max_bytes=settings.media_max_bytes,
            max_pixels=settings.media_max_pixels,
            field="file",
        )
        async with info.context.transaction() as session:
            image = await service.add_uploaded_image(
                session,
                info.context.media,
                product_id,
                picture,
                alt_text=input.alt_text,
                position=input.position,
            )
            return await _image_added(session, image)

    @strawberry.mutation(
        description="Detach an image from its product (an uploaded file is removed once "
        "no image uses it). Needs `product:write`.",
        extensions=requires(WRITE),
    )
    @returns_user_errors
    async def remove_product_image(
        self,
        info: Info,
        id: Annotated[strawberry.ID, strawberry.argument(description="The image's `id`.")],
    ) -> RemoveProductImageResult:
        """The remaining images close the gap."""
        image_id = require_id(id, field="id", type_name="ProductImage")
        async with info.context.transaction() as session:
            product_id, media_keys = await service.remove_product_image(session, image_id)
            product = await listing.get_product(session, product_id)
        assert product is not None
        await release(info.context.database, info.context.media, media_keys)
        return RemoveProductImageSuccess(
            removed_id=to_global_id("ProductImage", image_id), product=Product.from_model(product)
        )

    @strawberry.mutation(
        description="Set the display order of a product's images. Needs `product:write`.",
        extensions=requires(WRITE),
    )
    @returns_user_errors
    async def reorder_product_images(
        self,
        info: Info,
        input: Annotated[
            ReorderProductImagesInput,
            strawberry.argument(description="The product and its image ids in the new order."),
        ],
    ) -> ReorderProductImagesResult:
        """`imageIds` must name every image of the product exactly once."""
        product_id = require_id(input.product_id, field="productId", type_name="Product")
        image_ids = [
            require_id(i, field="imageIds", type_name="ProductImage") for i in input.image_ids
        ]
        async with info.context.transaction() as session:
            await service.reorder_product_images(session, product_id, image_ids)
            product = await listing.get_product(session, product_id)
        assert product is not None
        return ReorderProductImagesSuccess(product=Product.from_model(product))
