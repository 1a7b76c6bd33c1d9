"""The stockChanged subscription: replay from the ledger, then live, with no gap."""

import asyncio
from collections.abc import AsyncGenerator

import strawberry

from gql.auth.tokens import TokenExpired
from gql.context import Info
from gql.errors import BadUserInput, ErrorCode, Forbidden, RequestError, Unauthenticated
from gql.ids import parse_id
from gql.inventory.events import READ_PERMISSION, Subscriber
from gql.inventory.types import StockEvent
from gql.permissions import requires

WEBSOCKET_SESSION_ENDED = 4403
# These end the whole connection; a lost permission or a slow read ends one subscription.
SESSION_ENDED = frozenset({Subscriber.REVOKED, Subscriber.EXPIRED})


class SlowConsumer(RequestError):
    """A subscriber's queue overflowed; `resumeAfter` is the last event it was sent."""

    code = ErrorCode.SLOW_CONSUMER


def _product_filter(product_ids: list[strawberry.ID] | None) -> frozenset[int] | None:
    if product_ids is None:
        return None
    parsed = {parse_id(product_id) for product_id in product_ids}
    # A malformed id names no product: it filters nothing in, like an unknown one.
    return frozenset(p for p in parsed if p is not None)


def _cursor(after: strawberry.ID | None) -> int | None:
    if after is None:
        return None
    text = str(after).strip()
    if text == "0":
        return 0
    cursor = parse_id(text)
    if cursor is None:
        raise BadUserInput("`after` must be the id of a stock movement.", field="after")
    return cursor


@strawberry.type
class InventorySubscription:
    @strawberry.subscription(
        description="Every committed stock movement of the given products (all when omitted), "
        "in ledger order. With `after` (a movement id, 0 for the beginning) the ledger is "
        "replayed first, then events follow live, with no gap and no duplicate.",
        extensions=requires(READ_PERMISSION),
    )
    async def stock_changed(
        self,
        info: Info,
        product_ids: list[strawberry.ID] | None = None,
        after: strawberry.ID | None = None,
    ) -> AsyncGenerator[StockEvent, None]:
        """Ends with an error on session end, a withdrawn permission or a too slow reader."""
        context = info.context
        viewer = await context.require_viewer()
        hub = context.hub
        if hub is None or not hub.started:
            raise RequestError("Live events are not available on this server.")
        products = _product_filter(product_ids)
        cursor = _cursor(after)
        # Live first (buffered), then the replay, then the buffer: nothing falls in between.
        subscriber = hub.subscribe(
            products,
            maxsize=context.settings.subscription_queue_size,
            session_id=viewer.session_id,
            expires_at=viewer.token_expires_at,
        )
        last = subscriber.start_id if cursor is None else cursor
        try:
            if cursor is not None:
                async for replayed in hub.replay(cursor, products, subscriber.start_id):
                    last = replayed.id
                    yield StockEvent.of(replayed)
            while True:
                event = await subscriber.next()
                if event is None:
                    # Yielded, an exception reaches the client as this event's `errors`.
                    yield _ended(subscriber, last)  # type: ignore[misc]
                    if subscriber.end_reason in SESSION_ENDED:
                        context.close_connection_soon(WEBSOCKET_SESSION_ENDED)
                    return
                if event.id <= last:
                    continue
                last = event.id
                yield StockEvent.of(event)
        finally:
            hub.unsubscribe(subscriber)
            await asyncio.sleep(0)


def _ended(subscriber: Subscriber, last: int) -> RequestError:
    """The error that a subscription ends with; yielded, it reaches the client as `errors`."""
    if subscriber.end_reason == Subscriber.OVERFLOW:
        return SlowConsumer(
            f'Events came faster than they were read; resubscribe with `after: "{last}"`.',
            resumeAfter=str(last),
        )
    if subscriber.end_reason == Subscriber.FORBIDDEN:
        return Forbidden(
            f"The `{READ_PERMISSION}` permission was withdrawn; "
            f'resubscribe with `after: "{last}"` once it is granted again.',
            resumeAfter=str(last),
        )
    if subscriber.end_reason == Subscriber.EXPIRED:
        return TokenExpired("The access token has expired.", resumeAfter=str(last))
    return Unauthenticated("The session has ended.", resumeAfter=str(last))
