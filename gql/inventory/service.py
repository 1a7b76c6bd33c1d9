"""Inventory use cases: stock adjustments, ledger appends, ledger reads and its check."""

from dataclasses import dataclass

from sqlalchemy import bindparam, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from gql.catalog.models import Product
from gql.errors import EntityNotFound, InvalidInput
from gql.inventory import events, locks
from gql.inventory.errors import InsufficientStock, Shortage
from gql.inventory.models import MovementReason, StockMovement
from gql.pagination import Page, SortKey, paginate

MAX_ADJUSTMENT = 1_000_000
MANUAL_REASONS = (MovementReason.RESTOCK, MovementReason.ADJUSTMENT)
LEDGER_ORDER = SortKey("LEDGER", ((StockMovement.id, False),))
WHOLE_LEDGER = select(StockMovement)
MOVEMENTS_OF_PRODUCT = select(StockMovement).where(
    StockMovement.product_id == bindparam("product_id")
)


@dataclass(frozen=True)
class Change:
    """A stock change to be written to the ledger."""

    product_id: int
    delta: int
    quantity_after: int


async def append_to_ledger(
    session: AsyncSession,
    changes: list[Change],
    reason: MovementReason,
    *,
    actor_id: int | None,
    order_id: int | None = None,
) -> list[StockMovement]:
    """One ledger row per change, in product id order; ids follow commit order."""
    await locks.lock_ledger(session)
    movements = [
        StockMovement(
            product_id=change.product_id,
            delta=change.delta,
            quantity_after=change.quantity_after,
            reason=str(reason),
            order_id=order_id,
            actor_id=actor_id,
        )
        for change in sorted(changes, key=lambda c: c.product_id)
    ]
    session.add_all(movements)
    await session.flush()
    events.announce(session)
    return movements


async def adjust_stock(
    session: AsyncSession,
    product_id: int,
    delta: int,
    reason: MovementReason,
    *,
    actor_id: int | None,
) -> StockMovement:
    """Add or remove units by hand; stock never goes below zero."""
    if reason not in MANUAL_REASONS:
        raise InvalidInput("`reason` must be RESTOCK or ADJUSTMENT here.", field="reason")
    if delta == 0 or abs(delta) > MAX_ADJUSTMENT:
        raise InvalidInput(
            f"`delta` must be non-zero and at most {MAX_ADJUSTMENT} either way.", field="delta"
        )
    product = (await locks.lock_products(session, [product_id])).get(product_id)
    if product is None:
        raise EntityNotFound(f"Product {product_id} does not exist.", field="productId")
    if delta < 0:
        took = await locks.take_units(session, product_id, -delta)
        after = took.stock if took is not None else None
        if after is None:
            await session.refresh(product)
            raise InsufficientStock([Shortage(product_id, -delta, product.stock)], field="delta")
    else:
        after = await locks.add_units(session, product_id, delta)
        assert after is not None
    (movement,) = await append_to_ledger(
        session, [Change(product_id, delta, after)], reason, actor_id=actor_id
    )
    return movement


async def record_initial_stock(
    session: AsyncSession, product: Product, *, actor_id: int | None
) -> None:
    """The opening stock of a new product, as a RESTOCK movement."""
    if product.stock > 0:
        await append_to_ledger(
            session,
            [Change(product.id, product.stock, product.stock)],
            MovementReason.RESTOCK,
            actor_id=actor_id,
        )


async def list_movements(
    session: AsyncSession, *, product_id: int | None, first: int | None, after: str | None
) -> Page[StockMovement]:
    """Ledger rows in ledger order, of one product or of all."""
    statement, params = (
        (WHOLE_LEDGER, {})
        if product_id is None
        else (MOVEMENTS_OF_PRODUCT, {"product_id": product_id})
    )
    return await paginate(session, statement, LEDGER_ORDER, first=first, after=after, params=params)


async def movements_after(
    session: AsyncSession, after_id: int, product_ids: list[int] | None, limit: int
) -> list[StockMovement]:
    """Ledger rows with ids above `after_id`, oldest first."""
    statement = select(StockMovement).where(StockMovement.id > after_id)
    if product_ids is not None:
        statement = statement.where(StockMovement.product_id.in_(product_ids))
    return list(await session.scalars(statement.order_by(StockMovement.id).limit(limit)))


@dataclass(frozen=True)
class LedgerMismatch:
    """A product whose stock is not the sum of its ledger."""

    product_id: int
    stock: int
    ledger_sum: int


async def check_ledger(session: AsyncSession) -> list[LedgerMismatch]:
    """Every product whose stock differs from the sum of its ledger deltas."""
    ledger_sum = func.coalesce(func.sum(StockMovement.delta), 0)
    rows = await session.execute(
        select(Product.id, Product.stock, ledger_sum)
        .outerjoin(StockMovement, StockMovement.product_id == Product.id)
        .group_by(Product.id, Product.stock)
        .having(Product.stock != ledger_sum)
        .order_by(Product.id)
    )
    return [LedgerMismatch(product_id, stock, int(total)) for product_id, stock, total in rows]
