"""Control characters in catalog text are refused by field, identically on both backends."""

from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from gql.catalog.models import Product, ProductImage
from gql.core.db import Database
from tests.factories import gid, make_product, signed_in
from tests.hostile import HOSTILE, LINE_BREAKS, execute_escaped

USER_ERROR = "... on UserError { code message field }"
CREATE = f"""
mutation Create($input: CreateProductInput!) {{
  createProduct(input: $input) {{
    __typename ... on CreateProductSuccess {{ product {{ id name description }} }} {USER_ERROR}
  }}
}}
"""
UPDATE = f"""
mutation Update($input: UpdateProductInput!) {{
  updateProduct(input: $input) {{ __typename {USER_ERROR} }}
}}
"""
ADD_IMAGE = f"""
mutation Add($input: AddProductImageInput!) {{
  addProductImage(input: $input) {{ __typename {USER_ERROR} }}
}}
"""
SEARCH = """
query Search($search: String) { products(filter: {search: $search}) { totalCount } }
"""

VALID = {"sku": "NB-A5", "name": "Notebook", "price": "12.50", "description": "Dotted"}


@pytest.fixture
async def client(client: httpx.AsyncClient, db: Database) -> httpx.AsyncClient:
    """A client signed in as staff (who hold `product:write`)."""
    client.headers.update(await signed_in(client, db, "staff@example.com", "staff"))
    return client


async def _rows(session: AsyncSession) -> list[tuple[Any, ...]]:
    products = await session.execute(
        select(Product.id, Product.name, Product.description, Product.updated_at)
    )
    images = await session.execute(select(ProductImage.id, ProductImage.url))
    await session.commit()
    return [*products.all(), *images.all()]


@pytest.mark.parametrize("character", HOSTILE.values(), ids=HOSTILE.keys())
@pytest.mark.parametrize("field", ["name", "description", "sku"])
async def test_create_refuses_control_characters(
    client: httpx.AsyncClient, session: AsyncSession, field: str, character: str
) -> None:
    # when
    body = await execute_escaped(client, CREATE, {"input": VALID | {field: f"Dot{character}ted"}})
    # then
    result = body["data"]["createProduct"]
    assert (result["__typename"], result["code"], result["field"]) == (
        "ValidationError",
        "VALIDATION_ERROR",
        field,
    )
    assert await session.scalar(select(func.count()).select_from(Product)) == 0


@pytest.mark.parametrize("character", LINE_BREAKS.values(), ids=LINE_BREAKS.keys())
async def test_a_description_may_hold_line_breaks_but_a_name_may_not(
    client: httpx.AsyncClient, session: AsyncSession, character: str
) -> None:
    # when
    multiline = await execute_escaped(
        client, CREATE, {"input": VALID | {"description": f"One{character}two"}}
    )
    single_line = await execute_escaped(
        client, CREATE, {"input": VALID | {"sku": "B", "name": f"One{character}two"}}
    )
    # then
    assert multiline["data"]["createProduct"]["__typename"] == "CreateProductSuccess"
    stored = await session.scalar(select(Product.description))
    assert stored == f"One{character}two"
    result = single_line["data"]["createProduct"]
    assert (result["__typename"], result["field"]) == ("ValidationError", "name")


@pytest.mark.parametrize("character", HOSTILE.values(), ids=HOSTILE.keys())
@pytest.mark.parametrize("field", ["name", "description"])
async def test_update_refuses_control_characters_and_changes_nothing(
    client: httpx.AsyncClient, session: AsyncSession, field: str, character: str
) -> None:
    # given
    product = await make_product(session, "KEEP")
    before = await _rows(session)
    # when
    body = await execute_escaped(
        client, UPDATE, {"input": {"id": gid("Product", product.id), field: f"x{character}y"}}
    )
    # then
    result = body["data"]["updateProduct"]
    assert (result["__typename"], result["code"], result["field"]) == (
        "ValidationError",
        "VALIDATION_ERROR",
        field,
    )
    assert await _rows(session) == before


@pytest.mark.parametrize("character", HOSTILE.values(), ids=HOSTILE.keys())
@pytest.mark.parametrize(
    ("field", "template"), [("url", "https://img.test/a{}.png"), ("altText", "Fr{}ont")]
)
async def test_add_image_refuses_control_characters_and_changes_nothing(
    client: httpx.AsyncClient, session: AsyncSession, field: str, template: str, character: str
) -> None:
    # given
    product = await make_product(session, "IMG", images=1)
    before = await _rows(session)
    image = {"productId": gid("Product", product.id), "url": "https://img.test/ok.png"}
    # when
    body = await execute_escaped(
        client, ADD_IMAGE, {"input": image | {field: template.format(character)}}
    )
    # then
    result = body["data"]["addProductImage"]
    assert (result["__typename"], result["code"], result["field"]) == (
        "ValidationError",
        "VALIDATION_ERROR",
        field,
    )
    assert await _rows(session) == before


@pytest.mark.parametrize(
    "character", [*HOSTILE.values(), *LINE_BREAKS.values()], ids=[*HOSTILE, *LINE_BREAKS]
)
async def test_search_with_control_characters_is_bad_input(
    client: httpx.AsyncClient, session: AsyncSession, character: str
) -> None:
    # given
    await make_product(session, "FIND", name="Findable")
    # when
    body = await execute_escaped(client, SEARCH, {"search": f"Find{character}able"})
    # then
    assert body["data"] is None
    assert body["errors"][0]["extensions"] == {"code": "BAD_USER_INPUT", "field": "filter.search"}
