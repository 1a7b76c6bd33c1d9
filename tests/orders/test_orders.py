"""placeOrder, cancelOrder and the order queries, one request at a time."""

from decimal import Decimal
from typing import Any

import httpx
import pytest
from sqlalchemy import delete, func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from gql.auth.models import Role, User, role_permission, user_role
from gql.catalog.models import Product
from gql.core.db import Database, new_session
from gql.inventory import locks
from gql.inventory.models import StockMovement
from gql.inventory.service import check_ledger
from gql.orders.models import Order
from tests.conftest import StatementCounter, execute, without_cost
from tests.factories import db_key, gid, make_product, signed_in
from tests.orders.helpers import CANCEL, ORDER, ORDERS, PLACE, lines


@pytest.fixture
async def ada(client: httpx.AsyncClient, db: Database) -> dict[str, str]:
    return await signed_in(client, db, "ada@example.com")


async def _state(session: AsyncSession) -> tuple[list[tuple[int, int]], int, int]:
    stocks = [
        tuple(r)
        for r in (
            await session.execute(select(Product.id, Product.stock).order_by(Product.id))
        ).all()
    ]
    movements = await session.scalar(select(func.count()).select_from(StockMovement))
    orders = await session.scalar(select(func.count()).select_from(Order))
    await session.commit()
    return stocks, int(movements or 0), int(orders or 0)  # type: ignore[return-value]


async def _ledger_clean(db: Database) -> None:
    async with new_session(db, write=False) as session:
        assert await check_ledger(session) == []


async def test_place_order_snapshots_prices_and_takes_stock(
    client: httpx.AsyncClient, db: Database, session: AsyncSession, ada: dict[str, str]
) -> None:
    # given
    pen = await make_product(session, "PEN", price="2.20", stock=10)
    book = await make_product(session, "BOOK", price="12.55", stock=3)
    # when: with a duplicate line that is merged
    body = await execute(
        client, PLACE, {"input": {"lines": lines((book.id, 1), (pen.id, 3), (book.id, 1))}}, ada
    )
    # then
    result = body["data"]["placeOrder"]
    assert result["__typename"] == "PlaceOrderSuccess"
    order = result["order"]
    assert (order["status"], order["total"], order["customer"]["email"]) == (
        "PLACED",
        "31.70",
        "ada@example.com",
    )
    assert order["lines"] == [
        {
            "quantity": 3,
            "unitPrice": "2.20",
            "lineTotal": "6.60",
            "product": {"id": gid("Product", pen.id), "sku": "PEN"},
        },
        {
            "quantity": 2,
            "unitPrice": "12.55",
            "lineTotal": "25.10",
            "product": {"id": gid("Product", book.id), "sku": "BOOK"},
        },
    ]
    stocks, movements, orders = await _state(session)
    assert stocks == [(pen.id, 7), (book.id, 1)]
    assert (movements, orders) == (4, 1)
    # a later price change leaves the order as it was sold
    pen_row = await session.get(Product, pen.id)
    assert pen_row is not None
    pen_row.price = Decimal("99.00")
    await session.commit()
    again = await execute(client, ORDER, {"id": order["id"]}, ada)
    assert again["data"]["order"]["total"] == "31.70"
    await _ledger_clean(db)


async def test_all_or_nothing_lists_every_short_line_without_stock_levels(
    client: httpx.AsyncClient, db: Database, session: AsyncSession, ada: dict[str, str]
) -> None:
    """A customer (no inventory:read) learns which lines are short, not how many units exist."""
    # given
    a = await make_product(session, "A", stock=1)
    b = await make_product(session, "B", stock=5)
    c = await make_product(session, "C", stock=0)
    before = await _state(session)
    # when
    body = await execute(
        client, PLACE, {"input": {"lines": lines((a.id, 2), (b.id, 5), (c.id, 1))}}, ada
    )
    # then
    result = body["data"]["placeOrder"]
    assert result["__typename"] == "InsufficientStockError"
    assert (result["requested"], result["available"]) == (2, None)
    assert result["shortages"] == [
        {"productId": gid("Product", a.id), "requested": 2, "available": None},
        {"productId": gid("Product", c.id), "requested": 1, "available": None},
    ]
    assert "available" not in result["message"]
    assert await _state(session) == before


async def test_short_lines_show_stock_levels_to_inventory_readers(
    client: httpx.AsyncClient, db: Database, session: AsyncSession
) -> None:
    """A buyer who also holds inventory:read sees the units there are."""
    # given: admin holds order:create and inventory:read
    admin = await signed_in(client, db, "boss@example.com", "admin")
    a = await make_product(session, "A", stock=1)
    c = await make_product(session, "C", stock=0)
    # when
    body = await execute(client, PLACE, {"input": {"lines": lines((a.id, 2), (c.id, 1))}}, admin)
    # then
    result = body["data"]["placeOrder"]
    assert (result["__typename"], result["requested"], result["available"]) == (
        "InsufficientStockError",
        2,
        1,
    )
    assert result["shortages"] == [
        {"productId": gid("Product", a.id), "requested": 2, "available": 1},
        {"productId": gid("Product", c.id), "requested": 1, "available": 0},
    ]
    assert "1 available" in result["message"]


async def test_a_line_taken_before_a_short_one_is_not_reported_short(
    client: httpx.AsyncClient, db: Database, session: AsyncSession
) -> None:
    """Lines are taken in id order; the first fits exactly, the second does not."""
    # given
    admin = await signed_in(client, db, "boss@example.com", "admin")
    a = await make_product(session, "A", stock=3)
    b = await make_product(session, "B", stock=1)
    before = await _state(session)
    # when
    body = await execute(client, PLACE, {"input": {"lines": lines((a.id, 3), (b.id, 2))}}, admin)
    # then: A still counts its 3 units, and nothing changed
    assert body["data"]["placeOrder"]["shortages"] == [
        {"productId": gid("Product", b.id), "requested": 2, "available": 1}
    ]
    assert await _state(session) == before


async def test_units_that_arrive_after_a_line_fell_short_are_taken(
    client: httpx.AsyncClient,
    db: Database,
    session: AsyncSession,
    ada: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The conditional UPDATE fell short, a restock committed before the rows were locked:
    the order goes through on what the locked rows hold."""
    # given: B's first conditional UPDATE reports it short, as if the restock came later
    a = await make_product(session, "A", price="1.00", stock=5)
    b = await make_product(session, "B", price="2.00", stock=4)
    take_units = locks.take_units
    refused: list[int] = []

    async def late_restock(s: AsyncSession, product_id: int, quantity: int) -> Any:
        if product_id == b.id and not refused:
            refused.append(product_id)
            return None
        return await take_units(s, product_id, quantity)

    monkeypatch.setattr(locks, "take_units", late_restock)
    # when
    body = await execute(client, PLACE, {"input": {"lines": lines((b.id, 3), (a.id, 2))}}, ada)
    # then
    assert refused == [b.id]
    assert body["data"]["placeOrder"]["order"]["total"] == "8.00"
    stocks, movements, orders = await _state(session)
    assert (stocks, movements, orders) == ([(a.id, 3), (b.id, 1)], 4, 1)
    await _ledger_clean(db)


@pytest.mark.parametrize(
    ("order_lines", "typename", "field"),
    [
        ([], "ValidationError", "lines"),
        ([{"productId": "P", "quantity": 1}] * 101, "ValidationError", "lines"),
        ([{"productId": "P", "quantity": 0}], "ValidationError", "lines[0].quantity"),
        ([{"productId": "P", "quantity": 101}], "ValidationError", "lines[0].quantity"),
        (
            [{"productId": "P", "quantity": 1}, {"productId": "999", "quantity": 1}],
            "NotFoundError",
            "lines[1].productId",
        ),
        ([{"productId": "x", "quantity": 1}], "NotFoundError", "lines[0].productId"),
    ],
)
async def test_bad_orders_change_nothing(
    client: httpx.AsyncClient,
    session: AsyncSession,
    ada: dict[str, str],
    order_lines: list[dict[str, Any]],
    typename: str,
    field: str,
) -> None:
    product = await make_product(session, "P", stock=5)
    for line in order_lines:
        if line["productId"] == "P":
            line["productId"] = gid("Product", product.id)
    before = await _state(session)
    body = await execute(client, PLACE, {"input": {"lines": order_lines}}, ada)
    result = body["data"]["placeOrder"]
    assert (result["__typename"], result["field"]) == (typename, field)
    assert await _state(session) == before


async def test_an_idempotency_key_places_one_order(
    client: httpx.AsyncClient, db: Database, session: AsyncSession, ada: dict[str, str]
) -> None:
    product = await make_product(session, "P", stock=5)
    order_input = {"lines": lines((product.id, 2)), "idempotencyKey": "cart-42"}
    first = (await execute(client, PLACE, {"input": order_input}, ada))["data"]["placeOrder"]
    second = (await execute(client, PLACE, {"input": order_input}, ada))["data"]["placeOrder"]
    assert (first["replayed"], second["replayed"]) == (False, True)
    assert first["order"]["id"] == second["order"]["id"]
    assert (await _state(session))[0] == [(product.id, 3)]
    bob = await signed_in(client, db, "bob@example.com")
    other = (await execute(client, PLACE, {"input": order_input}, bob))["data"]["placeOrder"]
    assert other["order"]["id"] != first["order"]["id"]
    assert (await _state(session))[2] == 2


async def test_cancel_puts_the_units_back_once(
    client: httpx.AsyncClient, db: Database, session: AsyncSession, ada: dict[str, str]
) -> None:
    product = await make_product(session, "P", stock=5)
    placed = await execute(client, PLACE, {"input": {"lines": lines((product.id, 4))}}, ada)
    order_id = placed["data"]["placeOrder"]["order"]["id"]
    cancelled = await execute(client, CANCEL, {"id": order_id}, ada)
    assert cancelled["data"]["cancelOrder"]["order"]["status"] == "CANCELLED"
    assert await _state(session) == ([(product.id, 5)], 3, 1)
    again = await execute(client, CANCEL, {"id": order_id}, ada)
    assert again["data"]["cancelOrder"]["__typename"] == "OrderNotCancellableError"
    assert await _state(session) == ([(product.id, 5)], 3, 1)
    reasons = list(await session.scalars(select(StockMovement.reason).order_by(StockMovement.id)))
    assert reasons == ["RESTOCK", "ORDER", "CANCELLATION"]
    await _ledger_clean(db)


async def test_who_may_cancel(
    client: httpx.AsyncClient, db: Database, session: AsyncSession, ada: dict[str, str]
) -> None:
    product = await make_product(session, "P", stock=5)
    placed = await execute(client, PLACE, {"input": {"lines": lines((product.id, 1))}}, ada)
    order_id = placed["data"]["placeOrder"]["order"]["id"]
    bob = await signed_in(client, db, "bob@example.com")
    foreign = await execute(client, CANCEL, {"id": order_id}, bob)
    assert foreign["data"]["cancelOrder"]["__typename"] == "NotFoundError"
    staff = await signed_in(client, db, "staff@example.com", "staff")
    managed = await execute(client, CANCEL, {"id": order_id}, staff)
    assert managed["data"]["cancelOrder"]["__typename"] == "CancelOrderSuccess"
    anonymous = await execute(client, CANCEL, {"id": order_id})
    assert anonymous["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


async def test_a_customer_who_lost_order_create_cannot_cancel_their_order(
    client: httpx.AsyncClient, db: Database, session: AsyncSession, ada: dict[str, str]
) -> None:
    """Cancelling one's own order needs order:create, read afresh on every request."""
    # given: ada placed an order, then lost the customer role (her only order:create)
    product = await make_product(session, "P", stock=5)
    placed = await execute(client, PLACE, {"input": {"lines": lines((product.id, 2))}}, ada)
    order_id = placed["data"]["placeOrder"]["order"]["id"]
    await session.execute(
        delete(user_role).where(
            user_role.c.user_id
            == select(User.id).where(User.email == "ada@example.com").scalar_subquery(),
            user_role.c.role_id == select(Role.id).where(Role.name == "customer").scalar_subquery(),
        )
    )
    await session.commit()
    before = await _state(session)
    # when
    body = await execute(client, CANCEL, {"id": order_id}, ada)
    # then
    assert body["data"] is None
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert await _state(session) == before
    status = await session.scalar(select(Order.status).where(Order.id == int(db_key(order_id))))
    await session.commit()
    assert status == "PLACED"


async def test_order_manage_alone_cancels_any_order(
    client: httpx.AsyncClient, db: Database, session: AsyncSession, ada: dict[str, str]
) -> None:
    """A role with order:manage and no order:create cancels another customer's order."""
    # given: a role granting order:manage only
    role = Role(name="clerk", description="")
    session.add(role)
    await session.flush()
    await session.execute(
        insert(role_permission).values(role_id=role.id, permission_name="order:manage")
    )
    await session.commit()
    clerk = await signed_in(client, db, "clerk@example.com", "clerk")
    await session.execute(
        delete(user_role).where(
            user_role.c.user_id
            == select(User.id).where(User.email == "clerk@example.com").scalar_subquery(),
            user_role.c.role_id == select(Role.id).where(Role.name == "customer").scalar_subquery(),
        )
    )
    await session.commit()
    product = await make_product(session, "P", stock=5)
    placed = await execute(client, PLACE, {"input": {"lines": lines((product.id, 2))}}, ada)
    order_id = placed["data"]["placeOrder"]["order"]["id"]
    # when
    body = await execute(client, CANCEL, {"id": order_id}, clerk)
    # then
    assert body["data"]["cancelOrder"]["order"]["status"] == "CANCELLED"
    assert (await _state(session))[0] == [(product.id, 5)]
    await _ledger_clean(db)


async def test_another_customers_order_reads_like_a_missing_one(
    client: httpx.AsyncClient, db: Database, session: AsyncSession, ada: dict[str, str]
) -> None:
    product = await make_product(session, "P", stock=5)
    placed = await execute(client, PLACE, {"input": {"lines": lines((product.id, 1))}}, ada)
    order_id = placed["data"]["placeOrder"]["order"]["id"]
    bob = await signed_in(client, db, "bob@example.com")
    assert await execute(client, ORDER, {"id": order_id}, bob) == await execute(
        client, ORDER, {"id": "999999"}, bob
    )
    assert without_cost(await execute(client, ORDER, {"id": order_id}, bob)) == {
        "data": {"order": None}
    }
    staff = await signed_in(client, db, "staff@example.com", "staff")
    seen = await execute(client, ORDER, {"id": order_id}, staff)
    assert seen["data"]["order"]["customer"]["email"] == "ada@example.com"


async def test_orders_lists_own_or_all(
    client: httpx.AsyncClient, db: Database, session: AsyncSession, ada: dict[str, str]
) -> None:
    product = await make_product(session, "P", stock=50)
    bob = await signed_in(client, db, "bob@example.com")
    for headers in (ada, ada, bob):
        await execute(client, PLACE, {"input": {"lines": lines((product.id, 1))}}, headers)
    mine = await execute(client, ORDERS, {}, ada)
    assert mine["data"]["orders"]["totalCount"] == 2
    ids = [int(db_key(e["node"]["id"])) for e in mine["data"]["orders"]["edges"]]
    assert ids == sorted(ids, reverse=True)
    staff = await signed_in(client, db, "staff@example.com", "staff")
    everyone = await execute(client, ORDERS, {}, staff)
    assert everyone["data"]["orders"]["totalCount"] == 3


async def test_order_pages_cost_constant_statements(
    client: httpx.AsyncClient, db: Database, session: AsyncSession, statements: StatementCounter
) -> None:
    products = [await make_product(session, f"P{n}", stock=100) for n in range(3)]
    staff = await signed_in(client, db, "staff@example.com", "staff")
    for _ in range(12):
        await execute(
            client, PLACE, {"input": {"lines": lines(*((p.id, 1) for p in products))}}, staff
        )
    counts = []
    for first in (1, 12):
        statements.reset()
        body = await execute(client, ORDERS, {"first": first}, staff)
        assert len(body["data"]["orders"]["edges"]) == first
        counts.append(statements.count)
    assert counts[0] == counts[1], counts
