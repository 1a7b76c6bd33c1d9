"""PostgreSQL deadlocks (40P01) abort a mutation's attempt: it is retried, a bounded number
of times, then reported as a coded error. The failures are real PostgreSQL errors."""

from collections.abc import AsyncIterator

import httpx
import pytest
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from gql.catalog.models import Product
from gql.core.db import Database, new_session
from gql.core.transactions import ATTEMPTS
from gql.inventory.models import StockMovement
from gql.inventory.service import check_ledger
from tests.conftest import execute, without_cost
from tests.factories import gid, make_product, signed_in
from tests.orders.helpers import CANCEL, PLACE, lines

pytestmark = pytest.mark.postgres_only

ADJUST = """
mutation($productId: ID!) {
  adjustStock(productId: $productId, delta: 5, reason: RESTOCK) {
    __typename
    ... on AdjustStockSuccess { movement { quantityAfter } }
  }
}
"""

# nextval() is not transactional: the count of attempts survives their rollbacks.
INSTALL = [
    "CREATE SEQUENCE test_ledger_attempts",
    "CREATE TABLE test_failing_attempts (n int NOT NULL)",
    "INSERT INTO test_failing_attempts VALUES (0)",
    """
    CREATE FUNCTION test_deadlock_first_attempts() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      IF nextval('test_ledger_attempts') <= (SELECT n FROM test_failing_attempts) THEN
        RAISE EXCEPTION 'injected deadlock' USING ERRCODE = 'deadlock_detected';
      END IF;
      RETURN NEW;
    END $$
    """,
    """
    CREATE TRIGGER test_deadlock_first_attempts BEFORE INSERT ON stock_movement
    FOR EACH ROW EXECUTE FUNCTION test_deadlock_first_attempts()
    """,
]
UNINSTALL = [
    "DROP TRIGGER IF EXISTS test_deadlock_first_attempts ON stock_movement",
    "DROP FUNCTION IF EXISTS test_deadlock_first_attempts()",
    "DROP SEQUENCE IF EXISTS test_ledger_attempts",
    "DROP TABLE IF EXISTS test_failing_attempts",
]


class DeadlockInjector:
    """Makes the first N ledger inserts fail with a real PostgreSQL deadlock_detected."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def fail_first(self, attempts: int) -> None:
        """From now on, the first `attempts` ledger inserts raise 40P01."""
        async with self.db.engine.begin() as connection:
            await connection.execute(text("SELECT setval('test_ledger_attempts', 1, false)"))
            await connection.execute(
                text("UPDATE test_failing_attempts SET n = :n"), {"n": attempts}
            )

    async def attempts(self) -> int:
        """How many ledger inserts were tried since fail_first."""
        async with self.db.engine.connect() as connection:
            row = (
                await connection.execute(
                    text("SELECT last_value, is_called FROM test_ledger_attempts")
                )
            ).one()
        return int(row.last_value) if row.is_called else 0


@pytest.fixture
async def deadlocks(db: Database) -> AsyncIterator[DeadlockInjector]:
    """The injector, installed on the test database and removed afterwards."""
    async with db.engine.begin() as connection:
        for statement in UNINSTALL + INSTALL:
            await connection.execute(text(statement))
    try:
        yield DeadlockInjector(db)
    finally:
        async with db.engine.begin() as connection:
            for statement in UNINSTALL:
                await connection.execute(text(statement))


@pytest.fixture
async def staff(client: httpx.AsyncClient, db: Database) -> dict[str, str]:
    return await signed_in(client, db, "staff@example.com", "staff")


async def _stock_and_movements(db: Database, product_id: int) -> tuple[int, int]:
    async with new_session(db, write=False) as session:
        stock = await session.scalar(select(Product.stock).where(Product.id == product_id))
        movements = await session.scalar(
            select(func.count())
            .select_from(StockMovement)
            .where(StockMovement.product_id == product_id)
        )
        assert await check_ledger(session) == []
    return int(stock or 0), int(movements or 0)


async def test_a_deadlocked_first_attempt_is_retried_and_succeeds(
    client: httpx.AsyncClient,
    db: Database,
    session: AsyncSession,
    staff: dict[str, str],
    deadlocks: DeadlockInjector,
) -> None:
    """One aborted attempt is invisible to the client; the change is made once."""
    # given: a product, and a ledger whose next insert deadlocks once
    product = await make_product(session, "P", stock=3)
    await deadlocks.fail_first(1)
    # when
    body = await execute(client, ADJUST, {"productId": gid("Product", product.id)}, staff)
    # then
    assert without_cost(body) == {
        "data": {
            "adjustStock": {"__typename": "AdjustStockSuccess", "movement": {"quantityAfter": 8}}
        }
    }
    assert await deadlocks.attempts() == 2
    assert await _stock_and_movements(db, product.id) == (8, 2)


async def test_deadlocks_beyond_the_bound_are_a_coded_error_and_change_nothing(
    client: httpx.AsyncClient,
    db: Database,
    session: AsyncSession,
    staff: dict[str, str],
    deadlocks: DeadlockInjector,
) -> None:
    """Every attempt aborted: SERVICE_UNAVAILABLE without SQL, after exactly ATTEMPTS tries."""
    # given: a ledger that deadlocks more often than the mutation retries
    product = await make_product(session, "P", stock=3)
    await deadlocks.fail_first(ATTEMPTS + 5)
    # when
    response = await client.post(
        "/graphql",
        json={"query": ADJUST, "variables": {"productId": gid("Product", product.id)}},
        headers=staff | {"Accept": "application/graphql-response+json"},
    )
    # then: a field error of the execution (200, as GraphQL over HTTP says), coded, no SQL
    body = response.json()
    assert response.status_code == 200, body
    assert body["data"] is None
    (error,) = body["errors"]
    assert error["extensions"] == {"code": "SERVICE_UNAVAILABLE"}
    assert error["path"] == ["adjustStock"]
    for leak in ("deadlock", "INSERT", "stock_movement", "40P01", "postgres"):
        assert leak.lower() not in response.text.lower()
    assert await deadlocks.attempts() == ATTEMPTS
    assert await _stock_and_movements(db, product.id) == (3, 1)


async def test_deadlocked_orders_and_cancellations_are_retried(
    client: httpx.AsyncClient,
    db: Database,
    session: AsyncSession,
    deadlocks: DeadlockInjector,
) -> None:
    """placeOrder and cancelOrder survive an aborted first attempt, changing stock once."""
    # given
    ada = await signed_in(client, db, "ada@example.com")
    product = await make_product(session, "P", stock=3)
    await deadlocks.fail_first(1)
    # when
    placed = await execute(client, PLACE, {"input": {"lines": lines((product.id, 2))}}, ada)
    # then
    order = placed["data"]["placeOrder"]["order"]
    assert order["status"] == "PLACED"
    assert await deadlocks.attempts() == 2
    assert await _stock_and_movements(db, product.id) == (1, 2)
    # when
    await deadlocks.fail_first(1)
    cancelled = await execute(client, CANCEL, {"id": order["id"]}, ada)
    # then
    assert cancelled["data"]["cancelOrder"]["order"]["status"] == "CANCELLED"
    assert await deadlocks.attempts() == 2
    assert await _stock_and_movements(db, product.id) == (3, 3)
