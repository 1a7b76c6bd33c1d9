"""The demo data loader is idempotent."""

from sqlalchemy import func, select

from gql.catalog.models import Product, ProductImage
from gql.db import Database, new_session
from gql.demo import DEMO_PRODUCTS, seed_demo


async def test_seed_demo_twice_adds_nothing_the_second_time(db: Database) -> None:
    assert await seed_demo(db) == len(DEMO_PRODUCTS)
    assert await seed_demo(db) == 0
    async with new_session(db, write=False) as session:
        assert await session.scalar(select(func.count()).select_from(Product)) == len(DEMO_PRODUCTS)
        images = await session.scalar(select(func.count()).select_from(ProductImage))
    assert images == sum(row[5] for row in DEMO_PRODUCTS)
