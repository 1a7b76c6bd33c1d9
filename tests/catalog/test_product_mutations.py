"""Product and image mutations: success, every UserError, and no change when rejected."""

from decimal import Decimal
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from gql.catalog.models import Product, ProductImage
from gql.core.db import Database
from tests.conftest import execute
from tests.factories import db_key, gid, make_product, signed_in

USER_ERROR = "... on UserError { code message field }"

CREATE = f"""
mutation Create($input: CreateProductInput!) {{
  createProduct(input: $input) {{
    __typename
    ... on CreateProductSuccess {{ product {{ id sku name description price stock inStock images {{ url }} }} }}
    {USER_ERROR}
  }}
}}
"""

UPDATE = f"""
mutation Update($input: UpdateProductInput!) {{
  updateProduct(input: $input) {{
    __typename
    ... on UpdateProductSuccess {{ product {{ id sku name description price updatedAt createdAt }} }}
    {USER_ERROR}
  }}
}}
"""

DELETE = f"""
mutation Delete($id: ID!) {{
  deleteProduct(id: $id) {{ __typename ... on DeleteProductSuccess {{ deletedId }} {USER_ERROR} }}
}}
"""

ADD_IMAGE = f"""
mutation Add($input: AddProductImageInput!) {{
  addProductImage(input: $input) {{
    __typename
    ... on AddProductImageSuccess {{ image {{ id url altText position }} product {{ images {{ id url position }} }} }}
    {USER_ERROR}
  }}
}}
"""

REMOVE_IMAGE = f"""
mutation Remove($id: ID!) {{
  removeProductImage(id: $id) {{
    __typename
    ... on RemoveProductImageSuccess {{ removedId product {{ images {{ id position }} }} }}
    {USER_ERROR}
  }}
}}
"""

REORDER = f"""
mutation Reorder($input: ReorderProductImagesInput!) {{
  reorderProductImages(input: $input) {{
    __typename
    ... on ReorderProductImagesSuccess {{ product {{ images {{ id position }} }} }}
    {USER_ERROR}
  }}
}}
"""


@pytest.fixture
async def client(client: httpx.AsyncClient, db: Database) -> httpx.AsyncClient:
    """A client signed in as staff (who hold `product:write`)."""
    client.headers.update(await signed_in(client, db, "staff@example.com", "staff"))
    return client


VALID = {"sku": "NB-A5", "name": "Notebook", "price": "12.50", "description": "Dotted", "stock": 4}


async def _count(session: AsyncSession, model: Any) -> int:
    return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def _snapshot(session: AsyncSession) -> list[tuple[Any, ...]]:
    products = await session.execute(
        select(
            Product.id,
            Product.sku,
            Product.name,
            Product.description,
            Product.price,
            Product.stock,
            Product.updated_at,
        ).order_by(Product.id)
    )
    images = await session.execute(
        select(
            ProductImage.id, ProductImage.product_id, ProductImage.url, ProductImage.position
        ).order_by(ProductImage.id)
    )
    await session.commit()
    return [*products.all(), *images.all()]


async def test_create_product(client: httpx.AsyncClient, session: AsyncSession) -> None:
    # when
    body = await execute(client, CREATE, {"input": VALID})
    # then
    result = body["data"]["createProduct"]
    assert result["__typename"] == "CreateProductSuccess"
    assert result["product"] | {"id": "x"} == {
        "id": "x",
        "sku": "NB-A5",
        "name": "Notebook",
        "description": "Dotted",
        "price": "12.50",
        "stock": 4,
        "inStock": True,
        "images": [],
    }
    stored = await session.get(Product, int(db_key(result["product"]["id"])))
    assert stored is not None
    assert stored.price == Decimal("12.50")
    assert stored.stock == 4


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"sku": ""}, "sku"),
        ({"sku": "has space"}, "sku"),
        ({"sku": "x" * 65}, "sku"),
        ({"name": "   "}, "name"),
        ({"name": "n" * 201}, "name"),
        ({"description": "d" * 5001}, "description"),
        ({"price": "-0.01"}, "price"),
        ({"price": "1.005"}, "price"),
        ({"price": "10000000000"}, "price"),
        ({"price": "NaN"}, "price"),
        ({"stock": -1}, "stock"),
    ],
)
async def test_create_rejects_bad_values_and_changes_nothing(
    client: httpx.AsyncClient, session: AsyncSession, change: dict[str, Any], field: str
) -> None:
    body = await execute(client, CREATE, {"input": VALID | change})
    result = body["data"]["createProduct"]
    assert result["__typename"] == "ValidationError"
    assert result["code"] == "VALIDATION_ERROR"
    assert result["field"] == field
    assert await _count(session, Product) == 0


async def test_create_duplicate_sku(client: httpx.AsyncClient, session: AsyncSession) -> None:
    await make_product(session, "NB-A5")
    before = await _snapshot(session)
    body = await execute(client, CREATE, {"input": VALID})
    result = body["data"]["createProduct"]
    assert result["__typename"] == "DuplicateSkuError"
    assert (result["code"], result["field"]) == ("DUPLICATE_SKU", "sku")
    assert await _snapshot(session) == before


async def test_update_is_partial(client: httpx.AsyncClient, session: AsyncSession) -> None:
    # given
    product = await make_product(session, "OLD", name="Old name", price="5.00")
    # when
    body = await execute(
        client, UPDATE, {"input": {"id": gid("Product", product.id), "price": "6.00"}}
    )
    # then
    result = body["data"]["updateProduct"]
    assert result["__typename"] == "UpdateProductSuccess"
    assert result["product"]["price"] == "6.00"
    assert result["product"]["name"] == "Old name"
    assert result["product"]["updatedAt"] >= result["product"]["createdAt"]
    product_id = product.id
    session.expire_all()
    stored = await session.get(Product, product_id)
    assert stored is not None
    assert (stored.sku, stored.name, stored.price) == ("OLD", "Old name", Decimal("6.00"))


async def test_update_several_fields(client: httpx.AsyncClient, session: AsyncSession) -> None:
    product = await make_product(session, "OLD")
    body = await execute(
        client,
        UPDATE,
        {
            "input": {
                "id": gid("Product", product.id),
                "sku": "NEW",
                "name": " New ",
                "description": "D",
            }
        },
    )
    assert body["data"]["updateProduct"]["product"] | {"id": 0, "updatedAt": 0, "createdAt": 0} == {
        "id": 0,
        "sku": "NEW",
        "name": "New",
        "description": "D",
        "price": "10.00",
        "updatedAt": 0,
        "createdAt": 0,
    }


@pytest.mark.parametrize(
    ("change", "typename", "field"),
    [
        ({"sku": "TAKEN"}, "DuplicateSkuError", "sku"),
        ({"name": None}, "ValidationError", "name"),
        ({"price": "-5"}, "ValidationError", "price"),
        ({"name": ""}, "ValidationError", "name"),
        ({"id": "424242"}, "NotFoundError", "id"),
        ({"id": "nope"}, "NotFoundError", "id"),
    ],
)
async def test_update_rejections_change_nothing(
    client: httpx.AsyncClient,
    session: AsyncSession,
    change: dict[str, Any],
    typename: str,
    field: str,
) -> None:
    product = await make_product(session, "MINE")
    await make_product(session, "TAKEN")
    before = await _snapshot(session)
    body = await execute(client, UPDATE, {"input": {"id": gid("Product", product.id), **change}})
    result = body["data"]["updateProduct"]
    assert (result["__typename"], result["field"]) == (typename, field)
    assert await _snapshot(session) == before


async def test_delete_product_removes_its_images(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    product = await make_product(session, "GONE", images=2)
    keep = await make_product(session, "KEEP", images=1)
    body = await execute(client, DELETE, {"id": gid("Product", product.id)})
    assert body["data"]["deleteProduct"] == {
        "__typename": "DeleteProductSuccess",
        "deletedId": gid("Product", product.id),
    }
    product_id, keep_id = product.id, keep.id
    session.expire_all()
    assert await session.get(Product, product_id) is None
    remaining = (await session.scalars(select(ProductImage.product_id))).all()
    assert remaining == [keep_id]


async def test_delete_unknown_product(client: httpx.AsyncClient, session: AsyncSession) -> None:
    await make_product(session, "STAY")
    before = await _snapshot(session)
    body = await execute(client, DELETE, {"id": "999"})
    assert body["data"]["deleteProduct"]["__typename"] == "NotFoundError"
    assert await _snapshot(session) == before


async def test_add_image_last_and_at_a_position(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    product = await make_product(session, "IMG", images=2)
    pid = gid("Product", product.id)
    last = await execute(
        client, ADD_IMAGE, {"input": {"productId": pid, "url": "https://img.test/last.png"}}
    )
    assert last["data"]["addProductImage"]["image"]["position"] == 2
    first = await execute(
        client,
        ADD_IMAGE,
        {
            "input": {
                "productId": pid,
                "url": "https://img.test/first.png",
                "altText": "Front",
                "position": 0,
            }
        },
    )
    result = first["data"]["addProductImage"]
    assert result["__typename"] == "AddProductImageSuccess"
    assert result["image"]["altText"] == "Front"
    urls = [image["url"] for image in result["product"]["images"]]
    assert urls == [
        "https://img.test/first.png",
        "https://img.test/IMG/0.jpg",
        "https://img.test/IMG/1.jpg",
        "https://img.test/last.png",
    ]
    assert [image["position"] for image in result["product"]["images"]] == [0, 1, 2, 3]


@pytest.mark.parametrize(
    ("change", "typename", "field"),
    [
        ({"url": "ftp://img.test/a.png"}, "ValidationError", "url"),
        ({"url": "not a url"}, "ValidationError", "url"),
        ({"url": "https://"}, "ValidationError", "url"),
        ({"url": "https://img.test/" + "a" * 2048}, "ValidationError", "url"),
        ({"altText": "a" * 301}, "ValidationError", "altText"),
        ({"position": -1}, "ValidationError", "position"),
        ({"productId": "31337"}, "NotFoundError", "productId"),
    ],
)
async def test_add_image_rejections_change_nothing(
    client: httpx.AsyncClient,
    session: AsyncSession,
    change: dict[str, Any],
    typename: str,
    field: str,
) -> None:
    product = await make_product(session, "IMG", images=1)
    before = await _snapshot(session)
    image_input = {
        "productId": gid("Product", product.id),
        "url": "https://img.test/ok.png",
    } | change
    body = await execute(client, ADD_IMAGE, {"input": image_input})
    result = body["data"]["addProductImage"]
    assert (result["__typename"], result["field"]) == (typename, field)
    assert await _snapshot(session) == before


async def test_remove_image_closes_the_gap(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    product = await make_product(session, "IMG", images=3)
    ids = list(
        await session.scalars(
            select(ProductImage.id)
            .where(ProductImage.product_id == product.id)
            .order_by(ProductImage.position)
        )
    )
    body = await execute(client, REMOVE_IMAGE, {"id": gid("ProductImage", ids[1])})
    result = body["data"]["removeProductImage"]
    assert result["removedId"] == gid("ProductImage", ids[1])
    assert result["product"]["images"] == [
        {"id": gid("ProductImage", ids[0]), "position": 0},
        {"id": gid("ProductImage", ids[2]), "position": 1},
    ]


async def test_remove_unknown_image(client: httpx.AsyncClient, session: AsyncSession) -> None:
    await make_product(session, "IMG", images=1)
    before = await _snapshot(session)
    body = await execute(client, REMOVE_IMAGE, {"id": "777"})
    assert body["data"]["removeProductImage"]["__typename"] == "NotFoundError"
    assert await _snapshot(session) == before


async def test_reorder_images(client: httpx.AsyncClient, session: AsyncSession) -> None:
    product = await make_product(session, "IMG", images=3)
    ids = [
        gid("ProductImage", i)
        for i in await session.scalars(
            select(ProductImage.id)
            .where(ProductImage.product_id == product.id)
            .order_by(ProductImage.position)
        )
    ]
    new_order = [ids[2], ids[0], ids[1]]
    body = await execute(
        client, REORDER, {"input": {"productId": gid("Product", product.id), "imageIds": new_order}}
    )
    images = body["data"]["reorderProductImages"]["product"]["images"]
    assert images == [{"id": i, "position": n} for n, i in enumerate(new_order)]


async def test_reorder_must_name_each_image_once(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    product = await make_product(session, "IMG", images=3)
    other = await make_product(session, "OTHER", images=1)
    ids = [
        gid("ProductImage", i)
        for i in await session.scalars(
            select(ProductImage.id)
            .where(ProductImage.product_id == product.id)
            .order_by(ProductImage.position)
        )
    ]
    foreign = gid(
        "ProductImage",
        await session.scalar(select(ProductImage.id).where(ProductImage.product_id == other.id)),
    )
    before = await _snapshot(session)
    for image_ids in ([ids[0], ids[1]], [ids[0], ids[0], ids[1], ids[2]], [*ids[:2], foreign], []):
        body = await execute(
            client,
            REORDER,
            {"input": {"productId": gid("Product", product.id), "imageIds": image_ids}},
        )
        result = body["data"]["reorderProductImages"]
        assert (result["__typename"], result["field"]) == ("ValidationError", "imageIds")
    assert await _snapshot(session) == before
