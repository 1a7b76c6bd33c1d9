"""The refused-order budget: a customer learns about stock levels they may not read only
through refused orders, so those are counted, and past the budget answered alike."""

import logging
import math
from datetime import datetime, timedelta

from sqlalchemy import delete, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from gql.core.config import Settings
from gql.core.errors import Throttled
from gql.orders.models import OrderRefusal

logger = logging.getLogger("gql.orders")

# pg_advisory_xact_lock(namespace, customer id): one customer's refusals count one at a time.
REFUSAL_LOCK_NAMESPACE = 0x67716C6F  # "gqlo"


class TooManyRefusedOrders(Throttled):
    """The customer's refused orders used the budget up: no more stock answers for now."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(
            f"Too many orders were refused for want of stock; try again in {retry_after} s.",
            retry_after,
        )


async def note_refusal(
    session: AsyncSession, settings: Settings, customer_id: int, now: datetime
) -> None:
    """Count one refused order of the customer, or raise TooManyRefusedOrders (counting
    nothing) when the budget of the window is used up. Refusals of one customer are
    counted one at a time, so concurrent ones cannot all slip under the budget."""
    if session.get_bind().dialect.name == "postgresql":
        await session.execute(
            text("SELECT pg_advisory_xact_lock(:namespace, :customer_id)"),
            {"namespace": REFUSAL_LOCK_NAMESPACE, "customer_id": customer_id},
        )
    window = timedelta(seconds=settings.order_refusal_window_seconds)
    budget = settings.order_refusals_per_customer
    recent = list(
        await session.scalars(
            select(OrderRefusal.created_at)
            .where(OrderRefusal.customer_id == customer_id, OrderRefusal.created_at > now - window)
            .order_by(OrderRefusal.created_at.desc())
            .limit(budget)
        )
    )
    if len(recent) >= budget:
        # Free again when the oldest of the last `budget` refusals leaves the window.
        raise TooManyRefusedOrders(max(1, math.ceil((recent[-1] + window - now).total_seconds())))
    session.add(OrderRefusal(customer_id=customer_id, created_at=now))
    await session.flush()
    if len(recent) + 1 == budget:
        logger.warning(
            "customer %d used up the refused-order budget (%d in %d s)",
            customer_id,
            budget,
            settings.order_refusal_window_seconds,
        )


async def purge(session: AsyncSession, settings: Settings, now: datetime) -> int:
    """Delete refusals older than the window; how many."""
    window = timedelta(seconds=settings.order_refusal_window_seconds)
    result = await session.execute(
        delete(OrderRefusal).where(OrderRefusal.created_at <= now - window)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]
