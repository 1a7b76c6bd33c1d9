"""The stockChanged subscription: replay from the ledger, then live, with no gap.

Over a WebSocket, live events are not executed per subscriber: subscriptions with the same
document, the same variables (beyond the event filter) and the same permissions form a
group, each event is executed and serialized once for its group (see gql.realtime.fanout), and each
subscriber's task only writes the shared frame to its socket.
"""

import asyncio
from collections.abc import AsyncGenerator, Callable, Hashable
from dataclasses import dataclass
from typing import Annotated, Any

import strawberry

from gql.auth.sessions import Viewer
from gql.auth.tokens import TokenExpired
from gql.core.errors import BadUserInput, ErrorCode, Forbidden, RequestError, Unauthenticated
from gql.graphql import compat
from gql.graphql.context import Context, Info
from gql.graphql.ids import parse_id
from gql.graphql.permissions import CALLER, permissions_guarding, requires
from gql.inventory.events import StockEventData
from gql.inventory.ledger import START, Position
from gql.inventory.types import StockEvent
from gql.realtime.fanout import (
    LIVE_TARGET,
    LiveTarget,
    SharedExecution,
    error_locations,
    operation_document,
    rendering_variables,
)
from gql.realtime.hub import Following, StockEventHub
from gql.realtime.subscribers import Frame, Subscriber
from gql.realtime.websocket import close_soon

WEBSOCKET_SESSION_ENDED = 4403
REQUIRED = "inventory:read"
# The permissions guarding each document's fields, by document text (bounded).
_NEEDED: dict[str, frozenset[str]] = {}


class SlowConsumer(RequestError):
    """A subscriber's queue overflowed; `resumeAfter` is the last event it was sent."""

    code = ErrorCode.SLOW_CONSUMER


def _product_filter(product_ids: list[strawberry.ID] | None) -> frozenset[int] | None:
    if product_ids is None:
        return None
    parsed = {parse_id(product_id, "Product") for product_id in product_ids}
    # A malformed id names no product: it filters nothing in, like an unknown one.
    return frozenset(p for p in parsed if p is not None)


async def _cursor(after: strawberry.ID | None, hub: StockEventHub) -> Position | None:
    """Where `after` resumes: "0" the beginning, an event's `cursor`, or (as before cursors
    existed) the `id` of a movement that still exists."""
    if after is None:
        return None
    text = str(after).strip()
    if text == "0":
        return START
    position = Position.from_cursor(text)
    movement_id = parse_id(text, "StockMovement", "StockEvent") if position is None else None
    if movement_id is not None:
        position = await hub.position_of(movement_id)
    if position is None:
        raise BadUserInput(
            '`after` must be "0", the `cursor` of a stock event or the id of a stock movement.',
            field="after",
        )
    return position


@strawberry.type
class InventorySubscription:
    @strawberry.subscription(
        description="Every committed stock movement of the given products (all when omitted), "
        'in ledger order. With `after` (an event\'s `cursor`, or "0" for the beginning) the '
        "ledger is replayed first, then events follow live, with no gap and no duplicate. "
        "Needs `inventory:read`. It ends with an error carrying `resumeAfter` (the last sent "
        "event's cursor) when the access token expires, the session ends, the permission is "
        "withdrawn, or the caller falls SUBSCRIPTION_QUEUE_SIZE (256 by default) events behind "
        "(SLOW_CONSUMER).",
        extensions=requires(REQUIRED),
    )
    async def stock_changed(
        self,
        info: Info,
        product_ids: Annotated[
            list[strawberry.ID] | None,
            strawberry.argument(
                description="Only events of these products (unknown ids match nothing); "
                "omitted: every product."
            ),
        ] = None,
        after: Annotated[
            strawberry.ID | None,
            strawberry.argument(
                description="Replay the ledger after this point first: an event's `cursor`, "
                '"0" for the beginning, or a '
                "movement's `id`. Omitted: live events only."
            ),
        ] = None,
    ) -> AsyncGenerator[StockEvent, None]:
        """Ends with an error when the caller's session ends or when it reads too slowly."""
        context = info.context
        viewer = await context.require_viewer()
        hub = context.hub
        if hub is None or not hub.started:
            raise RequestError("Live events are not available on this server.")
        products = _product_filter(product_ids)
        cursor = await _cursor(after, hub)
        target = LIVE_TARGET.get()
        group = scope = None
        if target is not None:
            scope = await context.permissions()
            group = _group(info, target, hub, viewer, scope)
        following = await hub.follow(
            products,
            cursor,
            maxsize=context.settings.subscription_queue_size,
            session_id=viewer.session_id,
            expires_at=viewer.token_expires_at,
            user_id=viewer.user.id,
            group=group,
            scope=scope if group is not None else None,
        )
        handed_off = False
        try:
            async for replayed in following.replayed():
                yield StockEvent.of(replayed)
            if target is not None and group is not None and target.can_hand_off:
                # The handler follows from here; returning frees this execution's stack.
                target.handoff = LiveStockEvents(following, context, group)
                handed_off = True
                return
            while (item := await following.next_live()) is not None:
                if isinstance(item, Frame):
                    assert target is not None
                    try:
                        await target.send(target.frame(item))
                    except Exception:
                        return  # the socket is gone; its handler ends the operation
                else:
                    yield StockEvent.of(item)
            # Yielded, an exception reaches the client as this event's `errors`.
            yield _ended(following)  # type: ignore[misc]
            _close_if_session_ended(following.subscriber, context)
        finally:
            if not handed_off:
                following.close()
                await asyncio.sleep(0)


class LiveStockEvents:
    """A grouped subscription's live phase, once its resolver has returned: writes its
    group's frames to the socket, and ends as the resolver would have."""

    __slots__ = ("context", "following", "group")

    def __init__(self, following: Following, context: Context, group: "StockEventGroup") -> None:
        self.following = following
        self.context = context
        self.group = group  # where the field is in the document, for the ending error

    async def follow(self, target: LiveTarget) -> dict[str, Any] | None:
        """Frames until the subscription ends; then the error payload it ends with."""
        while (item := await self.following.next_live()) is not None:
            assert isinstance(item, Frame)  # a grouped subscriber gets frames only
            await target.send(target.frame(item))
        error = _ended(self.following)
        _close_if_session_ended(self.following.subscriber, self.context)
        formatted: dict[str, Any] = {"message": error.message}
        if self.group.locations:
            formatted["locations"] = self.group.locations
        formatted["path"] = [self.group.response_key]
        formatted["extensions"] = error.extensions
        return {"data": None, "errors": [formatted]}

    def release(self) -> None:
        """Leave the hub."""
        self.following.close()


def _close_if_session_ended(subscriber: Subscriber, context: Context) -> None:
    if subscriber.end_reason in (Subscriber.REVOKED, Subscriber.EXPIRED):
        close_soon(context, WEBSOCKET_SESSION_ENDED)


@dataclass(frozen=True, eq=False)
class StockEventGroup:
    """stockChanged subscriptions whose events render alike: one execution per event."""

    key: tuple[Hashable, ...]
    needed: frozenset[str]  # the permissions that guard the document's fields
    execution: SharedExecution
    context_for: Callable[[frozenset[str]], Callable[[], Context]]
    # Where the field is in the document, as an error of it reports it.
    response_key: str | int
    locations: list[dict[str, int]] | None

    async def render(self, event: StockEventData) -> str:
        """The event executed against the group's document, serialized."""
        return await self.execution.render(StockEvent.of(event))

    def for_scope(self, permissions: frozenset[str]) -> "StockEventGroup | None":
        """The group of the same subscription for a caller holding `permissions`."""
        if REQUIRED not in permissions:
            return None
        scope = permissions & self.needed
        if scope == self.key[-1]:
            return self
        return StockEventGroup(
            (*self.key[:-1], scope),
            self.needed,
            self.execution.with_context(self.context_for(scope)),
            self.context_for,
            self.response_key,
            self.locations,
        )


def _group(
    info: Info, target: LiveTarget, hub: StockEventHub, viewer: Viewer, held: frozenset[str]
) -> StockEventGroup | None:
    """The group this subscription belongs to (made on first use); None if unshareable.

    Its key: the document, the variables that shape the result, and of the caller's
    permissions those that guard the document's fields (all a result can depend on)."""
    needed = _NEEDED.get(target.query)
    if needed is None:
        if len(_NEEDED) >= 256:
            _NEEDED.clear()
        needed = _NEEDED[target.query] = permissions_guarding(
            compat.raw_info(info).schema, operation_document(info)
        )
    if CALLER in needed:
        return None  # a guard decides by who the caller is: nobody may share their events
    scope = held & needed
    key = (
        "stockChanged",
        target.query,
        target.operation_name,
        rendering_variables(info, target.variables),
        scope,
    )
    existing = hub.groups.get(key)
    if existing is not None:
        return existing.spec  # type: ignore[return-value]
    context = info.context

    def context_for(permissions: frozenset[str]) -> Callable[[], Context]:
        # Whatever StockEvent leads to depends on the caller's permissions, never on who
        # they are: any member's viewer stands for the group.
        return lambda: Context.scoped(
            context.database,
            context.settings,
            context.auth,
            viewer=viewer,
            permissions=permissions,
            hub=context.hub,
        )

    execution = SharedExecution.prepare(info, target.variables, context_for(scope))
    if execution is None:
        return None
    return StockEventGroup(
        key, needed, execution, context_for, info.path.key, error_locations(info)
    )


def _ended(following: Following) -> RequestError:
    """The error that a subscription ends with; yielded, it reaches the client as `errors`
    with `resumeAfter`, the cursor of the last event sent."""
    subscriber = following.subscriber
    cursor = following.last.cursor()
    if subscriber.end_reason == Subscriber.OVERFLOW:
        return SlowConsumer(
            f'Events came faster than they were read; resubscribe with `after: "{cursor}"`.',
            resumeAfter=cursor,
        )
    if subscriber.end_reason == Subscriber.EXPIRED:
        return TokenExpired("The access token has expired.", resumeAfter=cursor)
    if subscriber.end_reason == Subscriber.FORBIDDEN:
        return Forbidden(
            f"The `{REQUIRED}` permission was withdrawn; "
            f'resubscribe with `after: "{cursor}"` once it is granted again.',
            resumeAfter=cursor,
        )
    return Unauthenticated("The session has ended.", resumeAfter=cursor)
