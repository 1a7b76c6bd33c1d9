"""A subscriber's bounded queue of events (or of its group's rendered frames), and the
groups of subscribers whose events render alike."""

import asyncio
from collections.abc import Hashable
from datetime import datetime
from typing import Protocol, TypeAlias

from gql.inventory.events import StockEventData
from gql.inventory.ledger import Position


class Frame:
    """One event rendered once for a whole group: the serialized payload, and the
    envelopes built around it (one per distinct envelope, shared by its subscribers)."""

    __slots__ = ("_texts", "payload", "position")

    def __init__(self, position: Position, payload: str) -> None:
        self.position = position
        self.payload = payload
        self._texts: dict[str, str] = {}

    def text(self, prefix: str) -> str:
        """`prefix + payload + "}"`, built once per prefix."""
        text = self._texts.get(prefix)
        if text is None:
            text = self._texts[prefix] = f"{prefix}{self.payload}}}"
        return text


class GroupSpec(Protocol):
    """What makes subscribers share the rendering of an event, and how to render it."""

    @property
    def key(self) -> Hashable:
        """Equal for subscriptions whose events render identically."""

    async def render(self, event: StockEventData) -> str:
        """The event's serialized payload; never raises."""

    def for_scope(self, permissions: frozenset[str]) -> "GroupSpec | None":
        """The group of the same subscription for a caller holding `permissions` (this one
        when they make no difference); None when they no longer allow it."""


class Group:
    """Subscribers whose events render to the same payload."""

    __slots__ = ("members", "spec")

    def __init__(self, spec: GroupSpec) -> None:
        self.spec = spec
        self.members: set[Subscriber] = set()


Item: TypeAlias = StockEventData | Frame


class Subscriber:
    """One subscription's bounded queue of events (or of its group's rendered frames),
    and why it ended, if it did."""

    OVERFLOW = "overflow"
    REVOKED = "revoked"
    EXPIRED = "expired"
    FORBIDDEN = "forbidden"

    __slots__ = (
        "_items",
        "_waiter",
        "end_reason",
        "expires_at",
        "group",
        "maxsize",
        "product_ids",
        "scope",
        "session_id",
        "start",
        "user_id",
    )

    def __init__(
        self,
        product_ids: frozenset[int] | None,
        *,
        maxsize: int,
        start: Position,
        session_id: str | None,
        expires_at: datetime | None,
        user_id: int | None = None,
        scope: frozenset[str] | None = None,
    ) -> None:
        self.product_ids = product_ids
        self.maxsize = maxsize
        self.start = start
        self.session_id = session_id
        self.expires_at = expires_at
        self.user_id = user_id
        self.scope = scope
        self.group: Group | None = None
        self.end_reason: str | None = None
        # A list and a future made only while waiting: lighter than a deque and an Event,
        # for thousands of mostly idle subscribers.
        self._items: list[Item] = []
        self._waiter: asyncio.Future[None] | None = None

    def wants(self, event: StockEventData) -> bool:
        """Whether the event came after the subscription's start and passes its product
        filter (and it still runs)."""
        return (
            self.end_reason is None
            and event.position > self.start
            and (self.product_ids is None or event.movement.product_id in self.product_ids)
        )

    def offer(self, event: StockEventData) -> None:
        """Queue an event it wants without ever waiting."""
        if self.wants(event):
            self.push(event)

    def push(self, item: Item) -> None:
        """Queue an item without ever waiting; a full queue ends the subscription."""
        if self.end_reason is not None:
            return
        if len(self._items) >= self.maxsize:
            self.end(self.OVERFLOW)
            return
        self._items.append(item)
        self._wake()

    def end(self, reason: str) -> None:
        """Stop the subscription at its next read; its queued events are dropped."""
        if self.end_reason is None:
            self.end_reason = reason
            self._items.clear()
            self._wake()

    def _wake(self) -> None:
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    async def next(self) -> Item | None:
        """The next event or frame, or None once the subscription has ended."""
        while True:
            if self.end_reason is not None:
                return None
            if self._items:
                return self._items.pop(0)
            self._waiter = asyncio.get_running_loop().create_future()
            try:
                await self._waiter
            finally:
                self._waiter = None

    @property
    def queued(self) -> int:
        """Events waiting to be read."""
        return len(self._items)
