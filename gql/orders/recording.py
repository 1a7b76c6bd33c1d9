"""Writing a placed order: its row, its lines and its ledger rows, in as few statements as
the database allows (one on PostgreSQL, where every round trip holds the hot rows' locks)."""

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import cast

from sqlalchemy import Insert, Table, TextClause, Update, bindparam, insert, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from gql.core.db import UTCDateTime
from gql.inventory import events
from gql.inventory.models import MovementReason
from gql.inventory.service import Change, append_to_ledger, note_availability
from gql.orders.models import Order, OrderLine, OrderStatus


@dataclass(frozen=True)
class Taken:
    """Units removed from one product's stock for an order, at the product's price."""

    product_id: int
    quantity: int
    unit_price: Decimal
    stock_after: int
    epoch: int  # of the ledger row (gql.inventory.ledger)


_orders = cast(Table, Order.__table__)
_lines = cast(Table, OrderLine.__table__)

# The order's row comes first: a new one, or the one an idempotency key already wrote.
_NEW_ORDER = """
    INSERT INTO customer_order (customer_id, status, total, created_at)
    VALUES (:customer_id, 'PLACED', :total, :now) RETURNING id"""
_KEYED_ORDER = "UPDATE customer_order SET total = :total WHERE id = :order_id RETURNING id"
# Then its lines and ledger rows (ordered for delivery by gql.inventory.ledger, no lock).
_LINES_AND_LEDGER = """
), taken AS (
    SELECT * FROM unnest(
        CAST(:product_ids AS INTEGER[]), CAST(:quantities AS INTEGER[]),
        CAST(:unit_prices AS NUMERIC[]), CAST(:stocks_after AS INTEGER[]),
        CAST(:epochs AS BIGINT[])
    ) AS taken (product_id, quantity, unit_price, stock_after, epoch)
), lines AS (
    INSERT INTO order_line (order_id, product_id, quantity, unit_price)
    SELECT the_order.id, taken.product_id, taken.quantity, taken.unit_price
    FROM the_order, taken
), ledger AS (
    INSERT INTO stock_movement
        (product_id, delta, quantity_after, reason, order_id, actor_id, created_at, epoch)
    SELECT taken.product_id, -taken.quantity, taken.stock_after, :reason, the_order.id,
        :customer_id, :now, taken.epoch
    FROM the_order, taken
    ORDER BY taken.product_id
)
SELECT id FROM the_order"""


def _postgresql_statement(first: str) -> TextClause:
    return text(f"WITH the_order AS ({first}{_LINES_AND_LEDGER}").bindparams(
        bindparam("now", type_=UTCDateTime())
    )


_RECORD_NEW = _postgresql_statement(_NEW_ORDER)
_RECORD_KEYED = _postgresql_statement(_KEYED_ORDER)


async def record_order(
    session: AsyncSession,
    customer_id: int,
    taken: list[Taken],
    total: Decimal,
    now: datetime,
    keyed_order_id: int | None = None,
) -> int:
    """Write the order (or give the keyed one its total), its lines and its ledger rows in
    product id order; the order's id."""
    connection = await session.connection()
    taken = sorted(taken, key=lambda line: line.product_id)
    changes = [
        Change(line.product_id, -line.quantity, line.stock_after, line.epoch) for line in taken
    ]
    if connection.dialect.name == "postgresql":
        events.announce(session)
        statement = _RECORD_NEW if keyed_order_id is None else _RECORD_KEYED
        result = await connection.execute(
            statement,
            {
                "customer_id": customer_id,
                "order_id": keyed_order_id,
                "total": total,
                "now": now,
                "product_ids": [line.product_id for line in taken],
                "quantities": [line.quantity for line in taken],
                "unit_prices": [line.unit_price for line in taken],
                "stocks_after": [line.stock_after for line in taken],
                "epochs": [line.epoch for line in taken],
                "reason": str(MovementReason.ORDER),
            },
        )
        order_id = int(result.scalar_one())
        await note_availability(session, changes)
        return order_id
    # SQLite has no writing CTEs; its writers are serial anyway. The ledger rows as every
    # other change writes them.
    written: Insert | Update
    if keyed_order_id is None:
        written = insert(_orders).values(
            customer_id=customer_id, status=OrderStatus.PLACED.value, total=total, created_at=now
        )
    else:
        written = update(_orders).where(_orders.c.id == keyed_order_id).values(total=total)
    order_id = int((await connection.execute(written.returning(_orders.c.id))).scalar_one())
    await connection.execute(
        insert(_lines),
        [
            {
                "order_id": order_id,
                "product_id": line.product_id,
                "quantity": line.quantity,
                "unit_price": line.unit_price,
            }
            for line in taken
        ],
    )
    await append_to_ledger(
        session, changes, MovementReason.ORDER, actor_id=customer_id, order_id=order_id
    )
    return order_id
