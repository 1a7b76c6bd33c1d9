"""A page of products reads its images with the page, however the query spells it."""

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from tests.conftest import StatementCounter, execute
from tests.factories import make_product

DIRECT = "{ products(first: 5) { edges { node { sku images { url } } } } }"
SPREAD = """
query { products(first: 5) { edges { node { sku ...Pictures } } } }
fragment Pictures on Product { images { url } }
"""
INLINE = "{ products(first: 5) { edges { ... on ProductEdge { node { sku images { url } } } } } }"
NO_IMAGES = "{ products(first: 5) { edges { node { sku } } } }"


@pytest.mark.parametrize("query", [DIRECT, SPREAD, INLINE])
async def test_images_come_with_the_page_in_two_statements(
    query: str, client: httpx.AsyncClient, session: AsyncSession, statements: StatementCounter
) -> None:
    # given
    for sku in ("A", "B", "C"):
        await make_product(session, sku, images=2)
    # when
    statements.reset()
    body = await execute(client, query)
    # then: the page and its images, nothing per product
    nodes = [edge["node"] for edge in body["data"]["products"]["edges"]]
    assert [(n["sku"], [i["url"] for i in n["images"]]) for n in nodes] == [
        (sku, [f"https://img.test/{sku}/0.jpg", f"https://img.test/{sku}/1.jpg"])
        for sku in ("A", "B", "C")
    ]
    page_statements = [s for s in statements.statements if "catalog_version" not in s]
    assert len(page_statements) == 2, page_statements


async def test_a_page_without_images_does_not_read_them(
    client: httpx.AsyncClient, session: AsyncSession, statements: StatementCounter
) -> None:
    await make_product(session, "A", images=2)
    statements.reset()
    await execute(client, NO_IMAGES)
    assert not [s for s in statements.statements if "product_image" in s]
