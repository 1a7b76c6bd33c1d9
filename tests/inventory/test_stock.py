"""adjustStock, the ledger it writes, stockMovements and the ledger check."""

from typing import Any

import httpx
import pytest
from sqlalchemy import func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from gql.auth.models import Role, role_permission
from gql.catalog.models import Product
from gql.core.db import Database, new_session
from gql.inventory.models import StockMovement
from gql.inventory.service import check_ledger
from tests.conftest import execute
from tests.factories import db_key, gid, make_product, signed_in

ADJUST = """
mutation($productId: ID!, $delta: Int!, $reason: StockMovementReason!) {
  adjustStock(productId: $productId, delta: $delta, reason: $reason) {
    __typename
    ... on AdjustStockSuccess { movement { id delta quantityAfter reason product { id stock } } }
    ... on InsufficientStockError { requested available shortages { productId requested available } }
    ... on UserError { code message field }
  }
}
"""

MOVEMENTS = """
query($productId: ID, $first: Int, $after: String) {
  stockMovements(productId: $productId, first: $first, after: $after) {
    totalCount
    edges { node { id delta quantityAfter reason product { sku } } }
    pageInfo { hasNextPage endCursor }
  }
}
"""


@pytest.fixture
async def staff(client: httpx.AsyncClient, db: Database) -> dict[str, str]:
    return await signed_in(client, db, "staff@example.com", "staff")


async def _stock(session: AsyncSession, product_id: int) -> tuple[int, int]:
    stock = await session.scalar(select(Product.stock).where(Product.id == product_id))
    movements = await session.scalar(
        select(func.count())
        .select_from(StockMovement)
        .where(StockMovement.product_id == product_id)
    )
    await session.commit()
    return int(stock or 0), int(movements or 0)


async def _ledger_clean(db: Database) -> None:
    async with new_session(db, write=False) as session:
        assert await check_ledger(session) == []


async def test_restock_and_remove(
    client: httpx.AsyncClient, db: Database, session: AsyncSession, staff: dict[str, str]
) -> None:
    # given: a product created with 5 units (its opening RESTOCK movement)
    product = await make_product(session, "P", stock=5)
    # when
    added = await execute(
        client,
        ADJUST,
        {"productId": gid("Product", product.id), "delta": 10, "reason": "RESTOCK"},
        staff,
    )
    removed = await execute(
        client,
        ADJUST,
        {"productId": gid("Product", product.id), "delta": -15, "reason": "ADJUSTMENT"},
        staff,
    )
    # then
    assert added["data"]["adjustStock"]["movement"] | {"id": 0} == {
        "id": 0,
        "delta": 10,
        "quantityAfter": 15,
        "reason": "RESTOCK",
        "product": {"id": gid("Product", product.id), "stock": 15},
    }
    assert removed["data"]["adjustStock"]["movement"]["quantityAfter"] == 0
    assert await _stock(session, product.id) == (0, 3)
    await _ledger_clean(db)


async def test_stock_never_goes_below_zero(
    client: httpx.AsyncClient, db: Database, session: AsyncSession, staff: dict[str, str]
) -> None:
    product = await make_product(session, "P", stock=3)
    body = await execute(
        client,
        ADJUST,
        {"productId": gid("Product", product.id), "delta": -4, "reason": "ADJUSTMENT"},
        staff,
    )
    result = body["data"]["adjustStock"]
    assert result["__typename"] == "InsufficientStockError"
    assert (result["code"], result["requested"], result["available"]) == (
        "INSUFFICIENT_STOCK",
        4,
        3,
    )
    assert result["shortages"] == [
        {"productId": gid("Product", product.id), "requested": 4, "available": 3}
    ]
    assert await _stock(session, product.id) == (3, 1)
    await _ledger_clean(db)


async def test_a_writer_without_inventory_read_does_not_see_stock_levels(
    client: httpx.AsyncClient, db: Database, session: AsyncSession
) -> None:
    """inventory:write alone shows the shortfall but not the units there are."""
    # given: a role with inventory:write only
    role = Role(name="stocker", description="")
    session.add(role)
    await session.flush()
    await session.execute(
        insert(role_permission).values(role_id=role.id, permission_name="inventory:write")
    )
    await session.commit()
    stocker = await signed_in(client, db, "stocker@example.com", "stocker")
    product = await make_product(session, "P", stock=3)
    # when
    body = await execute(
        client,
        ADJUST,
        {"productId": gid("Product", product.id), "delta": -4, "reason": "ADJUSTMENT"},
        stocker,
    )
    # then
    result = body["data"]["adjustStock"]
    assert (result["__typename"], result["requested"], result["available"]) == (
        "InsufficientStockError",
        4,
        None,
    )
    assert result["shortages"] == [
        {"productId": gid("Product", product.id), "requested": 4, "available": None}
    ]
    assert "available" not in result["message"]
    assert await _stock(session, product.id) == (3, 1)


@pytest.mark.parametrize(
    ("change", "typename", "field"),
    [
        ({"delta": 0}, "ValidationError", "delta"),
        ({"delta": 1_000_001}, "ValidationError", "delta"),
        ({"reason": "ORDER"}, "ValidationError", "reason"),
        ({"reason": "CANCELLATION"}, "ValidationError", "reason"),
        ({"productId": "4242"}, "NotFoundError", "productId"),
    ],
)
async def test_adjust_rejections_change_nothing(
    client: httpx.AsyncClient,
    session: AsyncSession,
    staff: dict[str, str],
    change: dict[str, Any],
    typename: str,
    field: str,
) -> None:
    product = await make_product(session, "P", stock=3)
    adjustment = {"productId": gid("Product", product.id), "delta": 2, "reason": "RESTOCK"} | change
    body = await execute(client, ADJUST, adjustment, staff)
    result = body["data"]["adjustStock"]
    assert (result["__typename"], result["field"]) == (typename, field)
    assert await _stock(session, product.id) == (3, 1)


async def test_stock_movements_in_ledger_order(
    client: httpx.AsyncClient, session: AsyncSession, staff: dict[str, str]
) -> None:
    a = await make_product(session, "A", stock=1)
    b = await make_product(session, "B", stock=2)
    for delta in (3, -1, 4):
        await execute(
            client,
            ADJUST,
            {"productId": gid("Product", a.id), "delta": delta, "reason": "ADJUSTMENT"},
            staff,
        )
    everything = await execute(client, MOVEMENTS, {"first": 100}, staff)
    assert everything["data"]["stockMovements"]["totalCount"] == 5
    of_a: list[dict[str, Any]] = []
    after = None
    while True:
        page = (
            await execute(
                client,
                MOVEMENTS,
                {"productId": gid("Product", a.id), "first": 2, "after": after},
                staff,
            )
        )["data"]["stockMovements"]
        of_a += [e["node"] for e in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert [(m["delta"], m["quantityAfter"]) for m in of_a] == [(1, 1), (3, 4), (-1, 3), (4, 7)]
    assert [int(db_key(m["id"])) for m in of_a] == sorted(int(db_key(m["id"])) for m in of_a)
    assert {m["product"]["sku"] for m in of_a} == {"A"}
    unknown = await execute(client, MOVEMENTS, {"productId": "nope"}, staff)
    assert unknown["data"]["stockMovements"]["totalCount"] == 0
    assert b.id


async def test_create_product_records_its_opening_stock(
    client: httpx.AsyncClient, db: Database, staff: dict[str, str]
) -> None:
    body = await execute(
        client,
        'mutation { createProduct(input: {sku: "NEW", name: "New", price: "1.00", stock: 7}) { ... on CreateProductSuccess { product { id } } } }',
        headers=staff,
    )
    product_id = body["data"]["createProduct"]["product"]["id"]
    movements = await execute(client, MOVEMENTS, {"productId": product_id}, staff)
    (edge,) = movements["data"]["stockMovements"]["edges"]
    assert (edge["node"]["delta"], edge["node"]["reason"]) == (7, "RESTOCK")
    await _ledger_clean(db)


async def test_check_ledger_reports_a_tampered_product(db: Database, session: AsyncSession) -> None:
    product = await make_product(session, "T", stock=4)
    product.stock = 9
    await session.commit()
    async with new_session(db, write=False) as check:
        (mismatch,) = await check_ledger(check)
    assert (mismatch.product_id, mismatch.stock, mismatch.ledger_sum) == (product.id, 9, 4)


async def test_check_ledger_command_exit_codes(
    db: Database, session: AsyncSession, database_url: str
) -> None:
    import asyncio
    import os
    import subprocess
    import sys

    def run() -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "gql.cli", "check-ledger"],
            env=os.environ | {"DATABASE_URL": database_url},
            capture_output=True,
            text=True,
            timeout=60,
        )

    product = await make_product(session, "T", stock=4)
    clean = await asyncio.to_thread(run)
    assert clean.returncode == 0, clean.stderr
    assert "passed" in clean.stdout
    product.stock = 5
    await session.commit()
    broken = await asyncio.to_thread(run)
    assert broken.returncode == 1
    assert f"product {product.id}: stock 5, ledger sum 4" in broken.stdout
