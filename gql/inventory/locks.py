"""Row locks and atomic stock updates: correct on PostgreSQL and on SQLite."""

from collections.abc import Iterable
from decimal import Decimal
from typing import NamedTuple, cast

from sqlalchemy import Table, bindparam, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from gql.catalog.models import Product

# pg_advisory_xact_lock key: taken right before ledger rows are written and held to the
# commit, so ledger ids become visible in increasing order (readers never skip an id).
LEDGER_LOCK_KEY = 0x6771_6C65_6467_6572  # "gqledger"


async def lock_products(session: AsyncSession, product_ids: Iterable[int]) -> dict[int, Product]:
    """Lock the product rows in id order (no deadlocks); SQLite's writer lock already holds."""
    ids = sorted(set(product_ids))
    rows = await session.scalars(
        select(Product).where(Product.id.in_(ids)).order_by(Product.id).with_for_update()
    )
    return {product.id: product for product in rows}


class TakenUnits(NamedTuple):
    """What a product holds after units were taken, and its unit price."""

    stock: int
    price: Decimal


# Built once and run through Core: the ORM's bulk-update path cost more than the UPDATE.
_products = cast(Table, Product.__table__)
_TAKE = (
    update(_products)
    .where(_products.c.id == bindparam("product_id"), _products.c.stock >= bindparam("quantity"))
    .values(stock=_products.c.stock - bindparam("quantity"))
    .returning(_products.c.stock, _products.c.price)
)
_ADD = (
    update(_products)
    .where(_products.c.id == bindparam("product_id"))
    .values(stock=_products.c.stock + bindparam("quantity"))
    .returning(_products.c.stock)
)


async def take_units(session: AsyncSession, product_id: int, quantity: int) -> TakenUnits | None:
    """Remove units only if that many are there, locking the row; the stock after and the
    price, or None if short or missing (which leaves the row unlocked)."""
    connection = await session.connection()
    result = await connection.execute(_TAKE, {"product_id": product_id, "quantity": quantity})
    row = result.one_or_none()
    return TakenUnits(row.stock, row.price) if row is not None else None


async def add_units(session: AsyncSession, product_id: int, quantity: int) -> int | None:
    """Add units; the stock after, or None if the product does not exist."""
    connection = await session.connection()
    result = await connection.execute(_ADD, {"product_id": product_id, "quantity": quantity})
    after = result.scalar_one_or_none()
    return int(after) if after is not None else None


async def lock_ledger(session: AsyncSession) -> None:
    """Serialise ledger appends up to the commit (PostgreSQL; SQLite writers are serial)."""
    if session.get_bind().dialect.name == "postgresql":
        await session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": LEDGER_LOCK_KEY})
