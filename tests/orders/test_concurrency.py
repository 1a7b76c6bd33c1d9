"""No overselling, ever: real concurrent requests on a real server socket, both databases."""

import asyncio
from collections import Counter
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from gql.auth.sessions import AuthTools
from gql.catalog.models import Product
from gql.core.db import Database, new_session
from gql.inventory.models import StockMovement
from gql.inventory.service import check_ledger
from gql.orders import service as orders_service
from gql.orders.models import Order
from tests.conftest import LiveServer
from tests.factories import customers, make_product, signed_in
from tests.orders.helpers import CANCEL, PLACE, lines


@pytest.fixture
async def http(live_server: LiveServer) -> AsyncIterator[httpx.AsyncClient]:
    """A client of the live server that can hold hundreds of requests at once."""
    limits = httpx.Limits(max_connections=400, max_keepalive_connections=400)
    async with httpx.AsyncClient(base_url=live_server.http_url, limits=limits, timeout=60) as c:
        yield c


async def _post(
    http: httpx.AsyncClient, query: str, variables: dict[str, Any], headers: dict[str, str]
) -> dict[str, Any]:
    response = await http.post(
        "/graphql", json={"query": query, "variables": variables}, headers=headers
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def _assert_ledger_clean(db: Database) -> None:
    async with new_session(db, write=False) as session:
        assert await check_ledger(session) == []


async def _stock_of(db: Database, product_id: int) -> int:
    async with new_session(db, write=False) as session:
        return int(await session.scalar(select(Product.stock).where(Product.id == product_id)) or 0)


async def test_200_buyers_for_50_units(
    http: httpx.AsyncClient, db: Database, auth_tools: AuthTools
) -> None:
    # given
    async with new_session(db, write=False) as session:
        product = await make_product(session, "LAST-NOTEBOOKS", stock=50)
    buyers = await customers(db, auth_tools, 200)
    # when
    bodies = await asyncio.gather(
        *(
            _post(http, PLACE, {"input": {"lines": lines((product.id, 1))}}, headers)
            for headers in buyers
        )
    )
    # then
    outcomes = Counter(
        body["data"]["placeOrder"]["__typename"] for body in bodies if "errors" not in body
    )
    assert outcomes == {"PlaceOrderSuccess": 50, "InsufficientStockError": 150}, [
        b for b in bodies if "errors" in b
    ][:3]
    assert await _stock_of(db, product.id) == 0
    async with new_session(db, write=False) as session:
        orders = await session.scalar(select(func.count()).select_from(Order))
        ledger = await session.scalar(
            select(func.count()).select_from(StockMovement).where(StockMovement.reason == "ORDER")
        )
    assert (orders, ledger) == (50, 50)
    await _assert_ledger_clean(db)


async def test_opposite_lock_orders_never_deadlock_a_client(
    http: httpx.AsyncClient, db: Database, auth_tools: AuthTools
) -> None:
    # given
    async with new_session(db, write=False) as session:
        a = await make_product(session, "A", stock=1000)
        b = await make_product(session, "B", stock=1000)
    first, second = await customers(db, auth_tools, 2)
    # when: 100 rounds of [A, B] and [B, A] at once
    for _ in range(100):
        bodies = await asyncio.gather(
            _post(http, PLACE, {"input": {"lines": lines((a.id, 1), (b.id, 1))}}, first),
            _post(http, PLACE, {"input": {"lines": lines((b.id, 1), (a.id, 1))}}, second),
        )
        # then: every one of them succeeds
        assert [body["data"]["placeOrder"]["__typename"] for body in bodies] == [
            "PlaceOrderSuccess"
        ] * 2, bodies
    assert (await _stock_of(db, a.id), await _stock_of(db, b.id)) == (800, 800)
    await _assert_ledger_clean(db)


async def test_concurrent_orders_and_cancellations(
    http: httpx.AsyncClient, db: Database, auth_tools: AuthTools
) -> None:
    # given: 20 placed orders of 2 units each, 10 units left
    async with new_session(db, write=False) as session:
        product = await make_product(session, "P", stock=50)
    buyers = await customers(db, auth_tools, 40)
    placed = [
        await _post(http, PLACE, {"input": {"lines": lines((product.id, 2))}}, headers)
        for headers in buyers[:20]
    ]
    order_ids = [body["data"]["placeOrder"]["order"]["id"] for body in placed]
    # when: the 20 cancel while 20 others buy 1 unit each
    bodies = await asyncio.gather(
        *(
            _post(http, CANCEL, {"id": oid}, headers)
            for oid, headers in zip(order_ids, buyers[:20], strict=True)
        ),
        *(
            _post(http, PLACE, {"input": {"lines": lines((product.id, 1))}}, headers)
            for headers in buyers[20:]
        ),
    )
    # then
    assert all("errors" not in body for body in bodies), [b for b in bodies if "errors" in b][:2]
    assert {body["data"]["cancelOrder"]["__typename"] for body in bodies[:20]} == {
        "CancelOrderSuccess"
    }
    bought = sum(
        body["data"]["placeOrder"]["__typename"] == "PlaceOrderSuccess" for body in bodies[20:]
    )
    assert bought == 20
    assert await _stock_of(db, product.id) == 50 - 20
    await _assert_ledger_clean(db)


async def test_a_failure_mid_transaction_changes_nothing(
    http: httpx.AsyncClient, db: Database, auth_tools: AuthTools, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given: writing the order fails after the stock was taken
    async with new_session(db, write=False) as session:
        product = await make_product(session, "P", stock=5)
    (buyer,) = await customers(db, auth_tools, 1)

    async def broken(*_: object, **__: object) -> None:
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(orders_service, "record_order", broken)
    # when
    body = await _post(http, PLACE, {"input": {"lines": lines((product.id, 2))}}, buyer)
    # then
    assert body["errors"][0]["extensions"]["code"] == "INTERNAL_SERVER_ERROR"
    assert "disk on fire" not in str(body)
    assert await _stock_of(db, product.id) == 5
    async with new_session(db, write=False) as session:
        assert await session.scalar(select(func.count()).select_from(Order)) == 0
        assert await session.scalar(select(func.count()).select_from(StockMovement)) == 1
    await _assert_ledger_clean(db)


async def test_an_idempotency_race_places_one_order(
    http: httpx.AsyncClient, client: httpx.AsyncClient, db: Database
) -> None:
    # given
    async with new_session(db, write=False) as session:
        product = await make_product(session, "P", stock=100)
    buyer = await signed_in(client, db, "racer@example.com")
    order_input = {"lines": lines((product.id, 3)), "idempotencyKey": "checkout-7"}
    # when: ten identical requests at once
    bodies = await asyncio.gather(
        *(_post(http, PLACE, {"input": order_input}, buyer) for _ in range(10))
    )
    # then
    results = [body["data"]["placeOrder"] for body in bodies]
    assert {r["__typename"] for r in results} == {"PlaceOrderSuccess"}, bodies
    assert len({r["order"]["id"] for r in results}) == 1
    assert sorted(r["replayed"] for r in results) == [False] + [True] * 9
    assert await _stock_of(db, product.id) == 97
    async with new_session(db, write=False) as session:
        assert await session.scalar(select(func.count()).select_from(Order)) == 1
    await _assert_ledger_clean(db)
