"""Stock events of the inventory: what a committed ledger row announces, and the ledger
reads that live events are made of (the hub that fans them out: gql.realtime.hub)."""

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from gql.catalog.models import Product
from gql.core.signals import signal_after_commit
from gql.inventory import ledger
from gql.inventory.ledger import Position
from gql.inventory.models import StockMovement

# NOTIFYed by every app process after it committed ledger rows (gql.realtime.listener).
CHANNEL = "gql_stock"
LEDGER_SIGNAL = "ledger"
BATCH = 500


def announce(session: AsyncSession) -> None:
    """Once this transaction commits, wake this process's tailer and tell the other
    processes (never on rollback)."""
    signal_after_commit(session, LEDGER_SIGNAL)


@dataclass(frozen=True)
class StockEventData:
    """A committed ledger row with its product as read just after it."""

    movement: StockMovement
    product: Product

    @property
    def position(self) -> Position:
        """Where it stands: events are delivered in increasing position."""
        return ledger.position_of(self.movement)


async def events_after(
    session: AsyncSession, after: Position, product_ids: frozenset[int] | None
) -> list[StockEventData]:
    """Final ledger rows after `after` with their products, in delivery order."""
    rows = await ledger.rows_after(session, after, product_ids, BATCH)
    return [StockEventData(movement, product) for movement, product in rows]
