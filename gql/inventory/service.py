"""Inventory use cases: stock adjustments, ledger appends, ledger reads and its check."""

from dataclasses import dataclass

from sqlalchemy import bindparam, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from gql.cache import versions
from gql.catalog.models import Product
from gql.core.errors import EntityNotFound, InvalidInput
from gql.graphql.pagination import Page, SortKey, paginate
from gql.inventory import events, locks
from gql.inventory.errors import InsufficientStock, Shortage
from gql.inventory.models import MovementReason, StockMovement

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
    # From the statement that changed the stock (gql.inventory.ledger); None: the writing
    # transaction's id, right for a product made in the same transaction.
    epoch: int | None = None

    @property
    def crosses_zero(self) -> bool:
        """Whether the product sold out (now 0) or came back in stock (was 0)."""
        return self.quantity_after in (0, self.delta)


async def note_availability(session: AsyncSession, changes: list[Change]) -> None:
    """Products that sold out or came back change which products an `inStock` filter finds."""
    await versions.note_availability(session, [c.product_id for c in changes if c.crosses_zero])


async def append_to_ledger(
    session: AsyncSession,
    changes: list[Change],
    reason: MovementReason,
    *,
    actor_id: int | None,
    order_id: int | None = None,
) -> list[StockMovement]:
    """One ledger row per change, in product id order (no lock in common with other writers:
    gql.inventory.ledger orders rows for delivery)."""
    movements = [
        StockMovement(
            product_id=change.product_id,
            delta=change.delta,
            quantity_after=change.quantity_after,
            reason=str(reason),
            order_id=order_id,
            actor_id=actor_id,
            **({} if change.epoch is None else {"epoch": change.epoch}),
        )
        for change in sorted(changes, key=lambda c: c.product_id)
    ]
    session.add_all(movements)
    await session.flush()
    await note_availability(session, changes)
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
        raise EntityNotFound("The product does not exist.", field="productId")
    changed = (
        await locks.take_units(session, product_id, -delta)
        if delta < 0
        else await locks.add_units(session, product_id, delta)
    )
    if changed is None:
        await session.refresh(product)
        raise InsufficientStock([Shortage(product_id, -delta, product.stock)], field="delta")
    (movement,) = await append_to_ledger(
        session,
        [Change(product_id, delta, changed.stock, changed.epoch)],
        reason,
        actor_id=actor_id,
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


async def movements_by_ids(
    session: AsyncSession, movement_ids: list[int]
) -> dict[int, StockMovement]:
    """Ledger rows by id, in one statement."""
    rows = await session.scalars(select(StockMovement).where(StockMovement.id.in_(movement_ids)))
    return {row.id: row for row in rows}


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
