"""Control characters in an order's idempotency key are refused by field, on both backends."""

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from gql.catalog.models import Product
from gql.core.db import Database
from gql.orders.models import Order
from tests.factories import make_product, signed_in
from tests.hostile import HOSTILE, LINE_BREAKS, execute_escaped
from tests.orders.helpers import PLACE, lines


@pytest.mark.parametrize(
    "character", [*HOSTILE.values(), *LINE_BREAKS.values()], ids=[*HOSTILE, *LINE_BREAKS]
)
async def test_place_order_refuses_control_characters_in_the_idempotency_key(
    client: httpx.AsyncClient, db: Database, session: AsyncSession, character: str
) -> None:
    # given
    product = await make_product(session, "KEY", stock=3)
    customer = await signed_in(client, db, "ada@example.com")
    order = {"lines": lines((product.id, 1)), "idempotencyKey": f"cart{character}42"}
    # when
    body = await execute_escaped(client, PLACE, {"input": order}, headers=customer)
    # then
    result = body["data"]["placeOrder"]
    assert (result["__typename"], result["code"], result["field"]) == (
        "ValidationError",
        "VALIDATION_ERROR",
        "idempotencyKey",
    )
    assert await session.scalar(select(func.count()).select_from(Order)) == 0
    assert await session.scalar(select(Product.stock)) == 3
