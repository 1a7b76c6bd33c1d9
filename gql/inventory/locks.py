"""Row locks and atomic stock updates: correct on PostgreSQL and on SQLite."""

from collections.abc import Iterable
from decimal import Decimal
from functools import cache
from typing import Any, NamedTuple, cast

from sqlalchemy import Table, Update, bindparam, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from gql.catalog.models import Product
from gql.inventory import ledger


async def lock_products(session: AsyncSession, product_ids: Iterable[int]) -> dict[int, Product]:
    """Lock the product rows in id order (no deadlocks); SQLite's writer lock already holds."""
    ids = sorted(set(product_ids))
    rows = await session.scalars(
        select(Product).where(Product.id.in_(ids)).order_by(Product.id).with_for_update()
    )
    return {product.id: product for product in rows}


class TakenUnits(NamedTuple):
    """What a product holds after units were taken, its unit price, and the ledger epoch
    of the change (gql.inventory.ledger)."""

    stock: int
    price: Decimal
    epoch: int


class AddedUnits(NamedTuple):
    """What a product holds after units were added, and the ledger epoch of the change."""

    stock: int
    epoch: int


# Built once per dialect and run through Core: the ORM's bulk-update path cost more than
# the UPDATE.
_products = cast(Table, Product.__table__)


@cache
def _change_stock(dialect: str, *, take: bool) -> Update:
    """Take or add `quantity` units of `product_id` (taking only if that many are there),
    raising its version, and on PostgreSQL its ledger epoch."""
    column = _products.c
    values: dict[str, Any] = {
        "stock": column.stock - bindparam("quantity")
        if take
        else column.stock + bindparam("quantity"),
        "version": column.version + 1,
    }
    if dialect == "postgresql":
        values["ledger_epoch"] = ledger.next_epoch(column.ledger_epoch)
    statement = update(_products).where(column.id == bindparam("product_id"))
    if take:
        statement = statement.where(column.stock >= bindparam("quantity"))
    returned = (column.stock, column.price) if take else (column.stock,)
    return statement.values(values).returning(*returned, column.ledger_epoch)


async def take_units(session: AsyncSession, product_id: int, quantity: int) -> TakenUnits | None:
    """Remove units only if that many are there, locking the row; the stock after, the
    price and the epoch, or None if short or missing (which leaves the row unlocked)."""
    connection = await session.connection()
    statement = _change_stock(connection.dialect.name, take=True)
    result = await connection.execute(statement, {"product_id": product_id, "quantity": quantity})
    row = result.one_or_none()
    return TakenUnits(*row) if row is not None else None


async def add_units(session: AsyncSession, product_id: int, quantity: int) -> AddedUnits | None:
    """Add units; the stock after and the epoch, or None if the product does not exist."""
    connection = await session.connection()
    statement = _change_stock(connection.dialect.name, take=False)
    result = await connection.execute(statement, {"product_id": product_id, "quantity": quantity})
    row = result.one_or_none()
    return AddedUnits(*row) if row is not None else None
