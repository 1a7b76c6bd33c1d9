"""Catalog mutations: each commits once and returns its success type or a UserError."""

from decimal import Decimal
from typing import Annotated

import strawberry

from gql.catalog import listing, service
from gql.catalog.types import DuplicateSkuError, Product, ProductImage, ProductInUseError
from gql.graphql.context import Info
from gql.graphql.ids import require_id, to_global_id
from gql.graphql.permissions import requires
from gql.graphql.user_errors import NotFoundError, ValidationError, returns_user_errors

WRITE = "product:write"


@strawberry.input
class CreateProductInput:
    sku: str
    name: str
    price: Decimal
    description: str = ""
    stock: int = strawberry.field(default=0, description="Initial units in stock.")


@strawberry.input(description="Only the fields given are changed.")
class UpdateProductInput:
    id: strawberry.ID
    sku: str | None = strawberry.UNSET
    name: str | None = strawberry.UNSET
    description: str | None = strawberry.UNSET
    price: Decimal | None = strawberry.UNSET


@strawberry.input
class AddProductImageInput:
    product_id: strawberry.ID
    url: str
    alt_text: str = ""
    position: int | None = strawberry.field(
        default=None, description="0-based place among the images; last when omitted."
    )


@strawberry.input
class ReorderProductImagesInput:
    product_id: strawberry.ID
    image_ids: list[strawberry.ID] = strawberry.field(
        description="Every image id of the product, in the new order."
    )


@strawberry.type
class CreateProductSuccess:
    product: Product


@strawberry.type
class UpdateProductSuccess:
    product: Product


@strawberry.type
class DeleteProductSuccess:
    deleted_id: strawberry.ID


@strawberry.type
class AddProductImageSuccess:
    image: ProductImage
    product: Product


@strawberry.type
class RemoveProductImageSuccess:
    removed_id: strawberry.ID
    product: Product


@strawberry.type
class ReorderProductImagesSuccess:
    product: Product


CreateProductResult = Annotated[
    CreateProductSuccess | ValidationError | DuplicateSkuError,
    strawberry.union("CreateProductResult"),
]
UpdateProductResult = Annotated[
    UpdateProductSuccess | ValidationError | DuplicateSkuError | NotFoundError,
    strawberry.union("UpdateProductResult"),
]
DeleteProductResult = Annotated[
    DeleteProductSuccess | NotFoundError | ProductInUseError,
    strawberry.union("DeleteProductResult"),
]
AddProductImageResult = Annotated[
    AddProductImageSuccess | ValidationError | NotFoundError,
    strawberry.union("AddProductImageResult"),
]
RemoveProductImageResult = Annotated[
    RemoveProductImageSuccess | NotFoundError, strawberry.union("RemoveProductImageResult")
]
ReorderProductImagesResult = Annotated[
    ReorderProductImagesSuccess | ValidationError | NotFoundError,
    strawberry.union("ReorderProductImagesResult"),
]


@strawberry.type
class CatalogMutation:
    @strawberry.mutation(description="Add a product to the catalog.", extensions=requires(WRITE))
    @returns_user_errors
    async def create_product(self, info: Info, input: CreateProductInput) -> CreateProductResult:
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

    @strawberry.mutation(description="Change some fields of a product.", extensions=requires(WRITE))
    @returns_user_errors
    async def update_product(self, info: Info, input: UpdateProductInput) -> UpdateProductResult:
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

    @strawberry.mutation(description="Remove a product and its images.", extensions=requires(WRITE))
    @returns_user_errors
    async def delete_product(self, info: Info, id: strawberry.ID) -> DeleteProductResult:
        """NotFoundError for an unknown id."""
        product_id = require_id(id, field="id", type_name="Product")
        async with info.context.transaction() as session:
            await service.delete_product(session, product_id)
        return DeleteProductSuccess(deleted_id=to_global_id("Product", product_id))

    @strawberry.mutation(description="Attach an image to a product.", extensions=requires(WRITE))
    @returns_user_errors
    async def add_product_image(
        self, info: Info, input: AddProductImageInput
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
            product = await listing.get_product(session, product_id)
        assert product is not None
        return AddProductImageSuccess(
            image=ProductImage.from_model(image), product=Product.from_model(product)
        )

    @strawberry.mutation(
        description="Detach an image from its product.", extensions=requires(WRITE)
    )
    @returns_user_errors
    async def remove_product_image(self, info: Info, id: strawberry.ID) -> RemoveProductImageResult:
        """The remaining images close the gap."""
        image_id = require_id(id, field="id", type_name="ProductImage")
        async with info.context.transaction() as session:
            product_id = await service.remove_product_image(session, image_id)
            product = await listing.get_product(session, product_id)
        assert product is not None
        return RemoveProductImageSuccess(
            removed_id=to_global_id("ProductImage", image_id), product=Product.from_model(product)
        )

    @strawberry.mutation(
        description="Set the display order of a product's images.", extensions=requires(WRITE)
    )
    @returns_user_errors
    async def reorder_product_images(
        self, info: Info, input: ReorderProductImagesInput
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
