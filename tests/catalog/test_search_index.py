"""Name and SKU searches on PostgreSQL: looked up in the trigram indexes (migration 0013),
finding what the plain scan finds, in every order."""

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from gql.catalog import listing
from gql.catalog.listing import ProductFilter, ProductOrder
from gql.catalog.models import SEARCH_INDEXES
from tests.factories import make_product

pytestmark = pytest.mark.postgres_only

TERMS = ("lamp", "LAMP-0", "desk lamp", "amp", "0_1", "50%", "none of these")


async def test_the_trigram_indexes_exist(session: AsyncSession) -> None:
    names = await session.scalars(
        text("SELECT indexname FROM pg_indexes WHERE tablename = 'product'")
    )
    assert set(SEARCH_INDEXES) <= set(names)


async def test_an_indexed_search_finds_what_a_scan_finds(session: AsyncSession) -> None:
    for n in range(30):
        kind = ("Desk lamp", "Floor LAMP", "Mug 50%", "Chair")[n % 4]
        await make_product(session, f"LAMP-{n:02d}" if n % 3 else f"X0_{n}", name=f"{kind} {n}")
    for term in TERMS:
        for order in ProductOrder:
            query = listing.product_page_query(
                first=7,
                after=None,
                product_filter=ProductFilter(search=term),
                order=order,
                dialect="postgresql",
            )
            indexed = (await session.execute(query.statement, query.params)).all()
            plain = listing._filtered(frozenset(query.list_params), None, False)
            scanned = listing.page_query(
                plain, listing.PRODUCT_SORTS[order], first=7, after=None, params=query.list_params
            )
            assert indexed == (await session.execute(scanned.statement, scanned.params)).all()
            assert "array_agg" in str(query.statement), term
