"""Order use cases: place (no overselling), cancel (stock back), read. Services only flush."""

from collections import Counter
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import bindparam, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from gql.core.db import utcnow
from gql.core.errors import EntityNotFound, InvalidInput
from gql.core.text import has_control_characters
from gql.graphql.pagination import Page, SortKey, paginate
from gql.inventory import locks
from gql.inventory.errors import InsufficientStock, Shortage
from gql.inventory.models import MovementReason, StockMovement
from gql.inventory.service import Change, append_to_ledger
from gql.orders.errors import OrderNotCancellable
from gql.orders.models import Order, OrderLine, OrderStatus
from gql.orders.recording import Taken, record_order

MAX_LINES = 100
# ORDER_LINE_MAX_QUANTITY's default.
MAX_QUANTITY = 100
MAX_IDEMPOTENCY_KEY = 100
NEWEST_FIRST = SortKey("ORDER_ID_DESC", ((Order.id, True),))
ALL_ORDERS = select(Order)
ORDERS_OF_CUSTOMER = select(Order).where(Order.customer_id == bindparam("customer_id"))


@dataclass(frozen=True)
class LineRequest:
    """A product and how many units of it are wanted."""

    product_id: int
    quantity: int


@dataclass
class Placed:
    """The outcome of placeOrder: the order, and whether it was a replay."""

    order: Order
    replayed: bool = False


def _merge(lines: list[LineRequest], max_quantity: int) -> dict[int, int]:
    if not 1 <= len(lines) <= MAX_LINES:
        raise InvalidInput(f"An order has 1 to {MAX_LINES} lines.", field="lines")
    for index, line in enumerate(lines):
        if not 1 <= line.quantity <= max_quantity:
            raise InvalidInput(
                f"A quantity is 1 to {max_quantity}.", field=f"lines[{index}].quantity"
            )
    merged: Counter[int] = Counter()
    for line in lines:
        merged[line.product_id] += line.quantity
    return dict(merged)


async def _take(session: AsyncSession, product_id: int, quantity: int) -> Taken | None:
    """One product's units, or None when it is short or missing."""
    took = await locks.take_units(session, product_id, quantity)
    if took is None:
        return None
    return Taken(product_id, quantity, took.price, took.stock, took.epoch)


async def _take_every_line(
    session: AsyncSession, lines: list[LineRequest], wanted: dict[int, int]
) -> list[Taken]:
    """Every product's units, or NotFound / InsufficientStock listing every short line.

    The common case costs one statement per product: a conditional UPDATE in id order,
    which locks its row (no deadlocks) and never oversells. When one falls short, every
    wanted row is locked (in id order, after those already held) and the order is decided
    on what they hold then."""
    taken: list[Taken] = []
    for product_id, quantity in sorted(wanted.items()):
        took = await _take(session, product_id, quantity)
        if took is None:
            break
        taken.append(took)
    else:
        return taken
    products = await locks.lock_products(session, wanted)
    for index, line in enumerate(lines):
        if line.product_id not in products:
            raise EntityNotFound("The product does not exist.", field=f"lines[{index}].productId")
    held = {line.product_id: line.quantity for line in taken}
    available = {
        product_id: products[product_id].stock + held.get(product_id, 0) for product_id in wanted
    }
    shortages = [
        Shortage(product_id, quantity, available[product_id])
        for product_id, quantity in sorted(wanted.items())
        if available[product_id] < quantity
    ]
    if shortages:
        raise InsufficientStock(shortages, field="lines")
    # Units arrived after the UPDATE that fell short: take the rest under the locks.
    for product_id, quantity in sorted(wanted.items()):
        if product_id in held:
            continue
        took = await _take(session, product_id, quantity)
        if took is None:  # cannot happen under the row lock; never oversell regardless
            shortage = Shortage(product_id, quantity, available[product_id])
            raise InsufficientStock([shortage], field="lines")
        taken.append(took)
    return taken


async def _existing(session: AsyncSession, customer_id: int, key: str) -> Order | None:
    return await session.scalar(
        select(Order).where(Order.customer_id == customer_id, Order.idempotency_key == key)
    )


async def place_order(
    session: AsyncSession,
    customer_id: int,
    lines: list[LineRequest],
    idempotency_key: str | None = None,
    *,
    max_quantity: int = MAX_QUANTITY,
) -> Placed:
    """All or nothing: every line in stock, or InsufficientStock listing every short line."""
    wanted = _merge(lines, max_quantity)
    key = idempotency_key.strip() if idempotency_key is not None else None
    if key is not None and not 1 <= len(key) <= MAX_IDEMPOTENCY_KEY:
        raise InvalidInput(
            f"`idempotencyKey` is 1 to {MAX_IDEMPOTENCY_KEY} characters.", field="idempotencyKey"
        )
    if key is not None and has_control_characters(key):
        raise InvalidInput(
            "`idempotencyKey` must not contain control characters.", field="idempotencyKey"
        )
    if key is not None and (earlier := await _existing(session, customer_id, key)):
        return Placed(earlier, replayed=True)

    order: Order | None = None
    if key is not None:
        # With a key the order row comes first: a concurrent request with the same key
        # waits on the unique index here until this transaction ends, then fails and
        # replays this order.
        order = Order(customer_id=customer_id, status=OrderStatus.PLACED.value, idempotency_key=key)
        try:
            # Added inside the savepoint: begin_nested() flushes what is pending before it.
            async with session.begin_nested():
                session.add(order)
                await session.flush()
        except IntegrityError:
            earlier = await _existing(session, customer_id, key)
            if earlier is None:
                raise
            return Placed(earlier, replayed=True)

    taken = await _take_every_line(session, lines, wanted)
    total = sum((t.unit_price * t.quantity for t in taken), Decimal("0.00")).quantize(
        Decimal("0.01")
    )
    if order is None:
        # Without a key nothing races for this order: it is written once, with its total.
        order = Order(
            customer_id=customer_id,
            status=OrderStatus.PLACED.value,
            total=total,
            created_at=utcnow(),
            cancelled_at=None,
        )
        # Written through Core (gql.orders.recording); this instance stays out of the session.
        order.id = await record_order(session, customer_id, taken, total, order.created_at)
    else:
        await record_order(session, customer_id, taken, total, order.created_at, order.id)
        # The row was updated through Core: this instance must not be flushed again.
        session.expunge(order)
        order.total = total
    return Placed(order)


async def cancel_order(
    session: AsyncSession,
    order_id: int,
    *,
    actor_id: int,
    may_cancel_own: bool,
    may_manage: bool,
) -> tuple[Order, list[StockMovement]]:
    """Put a PLACED order's units back in stock: one's own (order:create) or any (order:manage)."""
    order = (
        await session.scalars(select(Order).where(Order.id == order_id).with_for_update())
    ).one_or_none()
    own = order is not None and order.customer_id == actor_id
    if order is None or not (may_manage or (own and may_cancel_own)):
        raise EntityNotFound("The order does not exist.", field="id")
    if order.status != OrderStatus.PLACED:
        raise OrderNotCancellable(f"The order is {order.status.lower()}.", field="id")
    lines = list(await session.scalars(select(OrderLine).where(OrderLine.order_id == order.id)))
    await locks.lock_products(session, [line.product_id for line in lines])
    changes = []
    for line in sorted(lines, key=lambda line: line.product_id):
        added = await locks.add_units(session, line.product_id, line.quantity)
        assert added is not None
        changes.append(Change(line.product_id, line.quantity, added.stock, added.epoch))
    order.status = OrderStatus.CANCELLED.value
    order.cancelled_at = utcnow()
    movements = await append_to_ledger(
        session, changes, MovementReason.CANCELLATION, actor_id=actor_id, order_id=order.id
    )
    return order, movements


async def orders_by_ids(session: AsyncSession, order_ids: list[int]) -> dict[int, Order]:
    """Orders by id, whoever's, in one statement."""
    rows = await session.scalars(select(Order).where(Order.id.in_(order_ids)))
    return {order.id: order for order in rows}


async def get_order(
    session: AsyncSession, order_id: int, *, viewer_id: int, may_read_all: bool
) -> Order | None:
    """An order the viewer may see; another customer's reads exactly like a missing one."""
    order = await session.get(Order, order_id)
    if order is None or not may_see(order, viewer_id=viewer_id, may_read_all=may_read_all):
        return None
    return order


def may_see(order: Order, *, viewer_id: int, may_read_all: bool) -> bool:
    """Whether the viewer may see the order: their own, or any with order:read_all."""
    return may_read_all or order.customer_id == viewer_id


async def list_orders(
    session: AsyncSession,
    *,
    viewer_id: int,
    may_read_all: bool,
    first: int | None,
    after: str | None,
) -> Page[Order]:
    """Newest first: the viewer's own orders, or everyone's with order:read_all."""
    statement, params = (
        (ALL_ORDERS, {}) if may_read_all else (ORDERS_OF_CUSTOMER, {"customer_id": viewer_id})
    )
    return await paginate(session, statement, NEWEST_FIRST, first=first, after=after, params=params)


async def lines_of_orders(
    session: AsyncSession, order_ids: list[int]
) -> dict[int, list[OrderLine]]:
    """The lines of each order, by product id, in one statement."""
    rows = await session.scalars(
        select(OrderLine)
        .where(OrderLine.order_id.in_(order_ids))
        .order_by(OrderLine.order_id, OrderLine.product_id)
    )
    grouped: dict[int, list[OrderLine]] = {order_id: [] for order_id in order_ids}
    for line in rows:
        grouped[line.order_id].append(line)
    return grouped
