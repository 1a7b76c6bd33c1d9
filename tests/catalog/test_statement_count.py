"""Guard: a products page with images costs the same few statements for any page size."""

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from tests.conftest import StatementCounter, execute
from tests.factories import make_product

PAGE_WITH_IMAGES = """
query Page($first: Int!) {
  products(first: $first) { edges { node { id name price images { url position } } } }
}
"""


@pytest.fixture
async def hundred_products(session: AsyncSession) -> None:
    for n in range(100):
        await make_product(session, f"SC-{n:03d}", images=2)


@pytest.mark.usefixtures("hundred_products")
async def test_statements_are_constant_in_page_size(
    client: httpx.AsyncClient, statements: StatementCounter
) -> None:
    counts = {}
    for first in (1, 20, 100):
        statements.reset()
        body = await execute(client, PAGE_WITH_IMAGES, {"first": first})
        assert len(body["data"]["products"]["edges"]) == first
        assert all(len(e["node"]["images"]) == 2 for e in body["data"]["products"]["edges"])
        counts[first] = statements.count
    assert counts[1] == counts[20] == counts[100], counts
    assert counts[100] <= 3, statements.statements
