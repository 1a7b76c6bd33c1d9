"""Stock writes on different products never wait for each other: no shop-wide row, counter
or advisory lock is held by an order, a cancellation or an adjustment (PostgreSQL; SQLite
has one writer at a time by nature)."""

import asyncio
from collections.abc import Awaitable, Callable

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from gql.auth.models import User
from gql.cache.models import CATALOG_SHARDS
from gql.core.db import DATABASE_KEY, Database, new_session
from gql.inventory.models import MovementReason
from gql.inventory.service import adjust_stock, check_ledger
from gql.orders.service import LineRequest, cancel_order, place_order
from tests.conftest import execute
from tests.factories import gid, make_product, signed_in
from tests.orders.helpers import CANCEL, PLACE, lines

pytestmark = pytest.mark.postgres_only

ADJUST = """
mutation($id: ID!, $delta: Int!) {
  adjustStock(productId: $id, delta: $delta, reason: ADJUSTMENT) { __typename }
}
"""


async def _held_order(session: AsyncSession, product_id: int, customer_id: int) -> None:
    await place_order(session, customer_id, [LineRequest(product_id, 1)])


async def _held_cancellation(session: AsyncSession, product_id: int, customer_id: int) -> None:
    async with new_session(session.info[DATABASE_KEY], write=True) as placing:
        placed = await place_order(placing, customer_id, [LineRequest(product_id, 1)])
        await placing.commit()
    await cancel_order(
        session, placed.order.id, actor_id=customer_id, may_cancel_own=True, may_manage=False
    )


async def _held_adjustment(session: AsyncSession, product_id: int, customer_id: int) -> None:
    await adjust_stock(session, product_id, -1, MovementReason.ADJUSTMENT, actor_id=None)


HeldWrite = Callable[[AsyncSession, int, int], Awaitable[None]]


@pytest.mark.parametrize("held_write", [_held_order, _held_cancellation, _held_adjustment])
async def test_orders_cancellations_and_adjustments_of_another_product_do_not_wait(
    held_write: HeldWrite, client: httpx.AsyncClient, db: Database, session: AsyncSession
) -> None:
    # given: a write to product A that changes its availability, its transaction held open
    held_product = await make_product(session, "A", stock=1)
    product = await make_product(session, "B", stock=2)
    assert held_product.id % CATALOG_SHARDS != product.id % CATALOG_SHARDS
    buyer = await signed_in(client, db, "buyer@example.com")
    staff = await signed_in(client, db, "staff@example.com", "staff")
    buyer_id = await session.scalar(select(User.id).where(User.email == "buyer@example.com"))
    assert buyer_id is not None
    held = new_session(db, write=True)
    try:
        await held_write(held, held_product.id, buyer_id)
        # when: B is ordered, the order cancelled, B adjusted and sold out, meanwhile
        async with asyncio.timeout(10):
            placed = await execute(
                client, PLACE, {"input": {"lines": lines((product.id, 1))}}, buyer
            )
            order = placed["data"]["placeOrder"]["order"]
            cancelled = await execute(client, CANCEL, {"id": order["id"]}, buyer)
            adjusted = await execute(
                client, ADJUST, {"id": gid("Product", product.id), "delta": 1}, staff
            )
            sold_out = await execute(
                client, PLACE, {"input": {"lines": lines((product.id, 3))}}, buyer
            )
        # then: each one done while A's transaction is still open
        assert cancelled["data"]["cancelOrder"]["order"]["status"] == "CANCELLED"
        assert adjusted["data"]["adjustStock"]["__typename"] == "AdjustStockSuccess"
        assert sold_out["data"]["placeOrder"]["order"]["status"] == "PLACED"
        await held.commit()
    finally:
        await held.close()
    async with new_session(db, write=False) as reader:
        assert await check_ledger(reader) == []
