"""No stock oracle: refused orders are budgeted per customer (past the budget a refusal
tells nothing of stock), lines are capped, and stock levels reached through a movement are
guarded like `stock`."""

import asyncio

import httpx
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from gql.auth.sessions import AuthTools
from gql.core.config import Settings
from gql.core.db import Database, new_session
from gql.main import create_app
from gql.orders.models import Order, OrderRefusal
from tests.conftest import FakeClock, execute, make_settings
from tests.factories import gid, make_product, signed_in
from tests.orders.helpers import PLACE, lines

ADJUST = """
mutation($id: ID!) {
  adjustStock(productId: $id, delta: 1, reason: RESTOCK) {
    __typename ... on AdjustStockSuccess { movement { delta quantityAfter } }
  }
}
"""


def _outcome(body: dict[str, object]) -> str:
    return str(body["data"]["placeOrder"]["__typename"])  # type: ignore[index]


async def test_refused_orders_past_the_budget_tell_nothing_of_stock(
    db: Database, settings: Settings, session: AsyncSession, clock: FakeClock
) -> None:
    # given: a budget of 5 refusals a minute
    configured = make_settings(settings.database_url, order_refusal_window_seconds=60)
    app = create_app(configured, database=db, auth=AuthTools.from_settings(configured, clock))
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://testserver"
    ) as client:
        await _probe(client, db, session, clock)


async def _probe(
    client: httpx.AsyncClient, db: Database, session: AsyncSession, clock: FakeClock
) -> None:
    # given: a product with 7 units, and a customer bisecting its stock with short orders
    product = await make_product(session, "P", stock=7)
    prober = await signed_in(client, db, "prober@example.com")
    other = await signed_in(client, db, "other@example.com")
    answers = []
    for quantity in (64, 32, 16, 8, 12, 10):
        body = await execute(
            client, PLACE, {"input": {"lines": lines((product.id, quantity))}}, prober
        )
        answers.append(body["data"]["placeOrder"])
    # then: five refusals answer as usual (without levels), the sixth is throttled
    assert [a["__typename"] for a in answers[:5]] == ["InsufficientStockError"] * 5
    assert all(a["available"] is None for a in answers[:5])
    throttled = answers[5]
    assert (throttled["__typename"], throttled["code"]) == ("RateLimitedError", "RATE_LIMITED")
    # an order that can be served still is; another customer is not concerned
    assert (
        _outcome(await execute(client, PLACE, {"input": {"lines": lines((product.id, 1))}}, prober))
        == "PlaceOrderSuccess"
    )
    assert (
        _outcome(await execute(client, PLACE, {"input": {"lines": lines((product.id, 99))}}, other))
        == "InsufficientStockError"
    )
    # when the window has passed, then refusals answer again
    clock.advance(seconds=61)
    assert (
        _outcome(
            await execute(client, PLACE, {"input": {"lines": lines((product.id, 99))}}, prober)
        )
        == "InsufficientStockError"
    )
    # and the refused orders changed nothing but their count
    async with new_session(db, write=False) as reader:
        assert await reader.scalar(select(func.count()).select_from(Order)) == 1
        assert await reader.scalar(select(func.count()).select_from(OrderRefusal)) == 7
    metrics = (await client.get("/metrics")).text
    assert 'gql_order_refusals_total{outcome="throttled"} 1.0' in metrics


async def test_concurrent_refusals_cannot_slip_under_the_budget(
    client: httpx.AsyncClient, db: Database, session: AsyncSession
) -> None:
    product = await make_product(session, "P", stock=1)
    prober = await signed_in(client, db, "prober@example.com")
    # when: twelve short orders at once
    bodies = await asyncio.gather(
        *(
            execute(client, PLACE, {"input": {"lines": lines((product.id, 2 + n))}}, prober)
            for n in range(12)
        )
    )
    # then: exactly the budget answered with stock, the rest throttled
    outcomes = [_outcome(body) for body in bodies]
    assert outcomes.count("InsufficientStockError") == 5, outcomes
    assert outcomes.count("RateLimitedError") == 7


async def test_lines_are_capped_by_the_setting(
    db: Database, settings: Settings, auth_tools: AuthTools, session: AsyncSession
) -> None:
    app = create_app(
        make_settings(settings.database_url, order_line_max_quantity=5),
        database=db,
        auth=auth_tools,
    )
    product = await make_product(session, "P", stock=100)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        buyer = await signed_in(client, db, "buyer@example.com")
        refused = await execute(client, PLACE, {"input": {"lines": lines((product.id, 6))}}, buyer)
        placed = await execute(client, PLACE, {"input": {"lines": lines((product.id, 5))}}, buyer)
    result = refused["data"]["placeOrder"]
    assert (result["__typename"], result["field"]) == ("ValidationError", "lines[0].quantity")
    assert _outcome(placed) == "PlaceOrderSuccess"


async def test_a_movement_shows_stock_levels_only_with_inventory_read(
    client: httpx.AsyncClient, db: Database, session: AsyncSession
) -> None:
    # given: a role that may change stock but not read it
    from gql.auth import roles

    async with new_session(db, write=True) as writing:
        await roles.create_role(
            writing, name="stocker", description="", permissions=["inventory:write"]
        )
        await writing.commit()
    stocker = await signed_in(client, db, "stocker@example.com", "stocker")
    staff = await signed_in(client, db, "staff@example.com", "staff")
    product = await make_product(session, "P", stock=3)
    # when
    blind = await execute(client, ADJUST, {"id": gid("Product", product.id)}, stocker)
    seeing = await execute(client, ADJUST, {"id": gid("Product", product.id)}, staff)
    # then
    assert blind["data"]["adjustStock"]["movement"] == {"delta": 1, "quantityAfter": None}
    (error,) = blind["errors"]
    assert error["extensions"]["code"] == "FORBIDDEN"
    assert error["path"] == ["adjustStock", "movement", "quantityAfter"]
    assert seeing["data"]["adjustStock"]["movement"] == {"delta": 1, "quantityAfter": 5}
