"""The catalog versions: read with every cached answer's check, raised by stock changes that
move a product in or out of stock (catalog edits raise them by trigger)."""

from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from typing import Any

from sqlalchemy import (
    BigInteger,
    CompoundSelect,
    Integer,
    bindparam,
    func,
    literal,
    select,
    union_all,
)
from sqlalchemy import cast as sql_cast
from sqlalchemy.ext.asyncio import AsyncSession

from gql.cache.models import CATALOG_SHARDS, CatalogVersion
from gql.catalog.models import Product
from gql.core.db import among, insert_for


@dataclass(frozen=True)
class CatalogVersions:
    """The catalog as one round of checks saw it: its edits, its availability changes, and the
    sum of the versions of the products asked about (each only ever grows)."""

    edits: int
    availability: int
    products: int


# The id of the row of `versions_by_product` that holds the catalog's two counters.
COUNTERS_ROW = -1


@cache
def versions_by_product(dialect: str) -> CompoundSelect[Any]:
    """The catalog's counters (row COUNTERS_ROW: edits, availability) and each asked
    product's version (rows id, version, 0), for checks that share one statement."""
    counters = select(
        literal(COUNTERS_ROW, BigInteger),
        sql_cast(func.coalesce(func.sum(CatalogVersion.edits), 0), BigInteger),
        sql_cast(func.coalesce(func.sum(CatalogVersion.availability), 0), BigInteger),
    )
    products = select(
        sql_cast(Product.id, BigInteger), Product.version, literal(0, BigInteger)
    ).where(among(Product.id, "product_ids", Integer, dialect))
    return union_all(counters, products)


@cache
def _raise_availability(dialect: str) -> Any:
    statement = insert_for(dialect)(CatalogVersion).values(
        shard=bindparam("shard"), edits=0, availability=1
    )
    return statement.on_conflict_do_update(
        index_elements=[CatalogVersion.shard],
        set_={"availability": CatalogVersion.availability + 1},
    )


async def note_availability(session: AsyncSession, product_ids: Iterable[int]) -> None:
    """These products sold out or came back in stock in this transaction: raise their
    shards' availability, in shard order (taken last, after the product rows: no
    deadlocks)."""
    shards = sorted({product_id % CATALOG_SHARDS for product_id in product_ids})
    if not shards:
        return
    connection = await session.connection()
    statement = _raise_availability(connection.dialect.name)
    for shard in shards:
        await connection.execute(statement, {"shard": shard})
