"""Id arguments beyond what an INTEGER column holds, and malformed ids, name nothing."""

from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from gql.catalog.models import Product, ProductImage
from gql.core.db import Database
from gql.graphql.ids import parse_id
from tests.conftest import execute, without_cost
from tests.factories import gid, make_product, signed_in

USER_ERROR = "... on UserError { code message field }"
PRODUCT = "query Product($id: ID!) { product(id: $id) { id } }"
UPDATE = f"""
mutation Update($input: UpdateProductInput!) {{
  updateProduct(input: $input) {{ __typename {USER_ERROR} }}
}}
"""
DELETE = f"mutation Delete($id: ID!) {{ deleteProduct(id: $id) {{ __typename {USER_ERROR} }} }}"
ADD_IMAGE = f"""
mutation Add($input: AddProductImageInput!) {{
  addProductImage(input: $input) {{ __typename {USER_ERROR} }}
}}
"""
REMOVE_IMAGE = f"""
mutation Remove($id: ID!) {{ removeProductImage(id: $id) {{ __typename {USER_ERROR} }} }}
"""
REORDER = f"""
mutation Reorder($input: ReorderProductImagesInput!) {{
  reorderProductImages(input: $input) {{ __typename {USER_ERROR} }}
}}
"""

INT4_MAX = 2**31 - 1
BEYOND_INT4 = ["2147483648", "9999999999", "9223372036854775807"]


@pytest.fixture
async def client(client: httpx.AsyncClient, db: Database) -> httpx.AsyncClient:
    """A client signed in as staff (who hold `product:write`)."""
    client.headers.update(await signed_in(client, db, "staff@example.com", "staff"))
    return client


async def _snapshot(session: AsyncSession) -> list[tuple[Any, ...]]:
    products = await session.execute(
        select(Product.id, Product.sku, Product.name, Product.updated_at).order_by(Product.id)
    )
    images = await session.execute(
        select(ProductImage.id, ProductImage.product_id, ProductImage.position).order_by(
            ProductImage.id
        )
    )
    await session.commit()
    return [*products.all(), *images.all()]


def test_parse_id_accepts_exactly_the_positive_int4_range() -> None:
    assert parse_id(gid("Product", 1), "Product") == 1
    assert parse_id(gid("Product", INT4_MAX), "Product") == INT4_MAX
    assert parse_id(gid("Product", INT4_MAX + 1), "Product") is None
    assert parse_id(gid("Product", "9" * 40), "Product") is None
    # only ids of the types asked for, and only global ids
    assert parse_id(gid("Order", 1), "Product") is None
    assert parse_id(gid("Order", 1), "Product", "Order") == 1
    assert parse_id("1", "Product") is None


@pytest.mark.parametrize("product_id", BEYOND_INT4)
async def test_product_beyond_int4_reads_as_null(
    client: httpx.AsyncClient, db: Database, product_id: str
) -> None:
    # when
    body = await execute(client, PRODUCT, {"id": gid("Product", product_id)})
    # then: like an unknown id, on both backends
    assert without_cost(body) == {"data": {"product": None}}


@pytest.mark.parametrize("big_id", BEYOND_INT4)
async def test_mutations_with_ids_beyond_int4_are_not_found_and_change_nothing(
    client: httpx.AsyncClient, session: AsyncSession, big_id: str
) -> None:
    # given
    product = await make_product(session, "KEEP", images=2)
    image_ids = [
        gid("ProductImage", i)
        for i in await session.scalars(
            select(ProductImage.id).where(ProductImage.product_id == product.id)
        )
    ]
    before = await _snapshot(session)
    big_product, big_image = gid("Product", big_id), gid("ProductImage", big_id)
    calls = [
        (UPDATE, {"input": {"id": big_product, "name": "X"}}, "updateProduct", "id"),
        (DELETE, {"id": big_product}, "deleteProduct", "id"),
        (
            ADD_IMAGE,
            {"input": {"productId": big_product, "url": "https://img.test/x.png"}},
            "addProductImage",
            "productId",
        ),
        (REMOVE_IMAGE, {"id": big_image}, "removeProductImage", "id"),
        (
            REORDER,
            {"input": {"productId": big_product, "imageIds": image_ids}},
            "reorderProductImages",
            "productId",
        ),
    ]
    for operation, variables, name, field in calls:
        # when
        body = await execute(client, operation, variables)
        # then
        assert "errors" not in body, body
        result = body["data"][name]
        assert (result["__typename"], result["code"], result["field"]) == (
            "NotFoundError",
            "NOT_FOUND",
            field,
        ), name
    assert await _snapshot(session) == before


@pytest.mark.parametrize(
    "product_id",
    ["1", "nope", "-1", "0", "1.5", "", gid("Product", 424242), gid("Product", 0), gid("Order", 1)],
)
async def test_reorder_images_of_an_unknown_or_malformed_product_changes_nothing(
    client: httpx.AsyncClient, session: AsyncSession, product_id: str
) -> None:
    # given
    product = await make_product(session, "IMG", images=2)
    image_ids = [
        gid("ProductImage", i)
        for i in await session.scalars(
            select(ProductImage.id)
            .where(ProductImage.product_id == product.id)
            .order_by(ProductImage.position.desc())
        )
    ]
    before = await _snapshot(session)
    # when
    body = await execute(
        client, REORDER, {"input": {"productId": product_id, "imageIds": image_ids}}
    )
    # then
    result = body["data"]["reorderProductImages"]
    assert (result["__typename"], result["code"], result["field"]) == (
        "NotFoundError",
        "NOT_FOUND",
        "productId",
    )
    assert await _snapshot(session) == before


@pytest.mark.parametrize("image_id", ["abc", "-1", "0", "", " ", "1e3", "\u0661"])
async def test_remove_image_with_a_malformed_id_changes_nothing(
    client: httpx.AsyncClient, session: AsyncSession, image_id: str
) -> None:
    # given
    await make_product(session, "IMG", images=2)
    before = await _snapshot(session)
    # when
    body = await execute(client, REMOVE_IMAGE, {"id": image_id})
    # then
    result = body["data"]["removeProductImage"]
    assert (result["__typename"], result["code"], result["field"]) == (
        "NotFoundError",
        "NOT_FOUND",
        "id",
    )
    assert await _snapshot(session) == before
