"""The process's hub of live stock events: it reads the new final ledger rows once and
fans them out to subscribers in ledger order (gql.inventory.ledger: epoch, then row id).

Writers only announce that the ledger grew, and only after their commit: an after-commit
signal wakes this process's tailer, and on PostgreSQL its listener (gql.realtime.listener)
tells the other processes. Should a notification be lost, the ledger is read every
STOCK_EVENTS_POLL_SECONDS anyway. While committed rows wait for an older transaction to
end, the tailer looks again every few milliseconds. Subscribers are grouped by what their
events render to (document, variables, permissions): each event is rendered once per group
that wants it, and the same serialized frame goes to every member's bounded queue.
"""

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Hashable
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from gql.core.db import Database, new_session
from gql.inventory import ledger
from gql.inventory.events import BATCH, LEDGER_SIGNAL, StockEventData, events_after
from gql.inventory.ledger import Position
from gql.realtime.listener import Listener
from gql.realtime.sessions import SessionWatch
from gql.realtime.subscribers import Frame, Group, GroupSpec, Item, Subscriber

logger = logging.getLogger("gql.events")

# With nobody subscribed, how often the hub moves to the ledger's end (seconds).
IDLE_CATCH_UP_SECONDS = 1.0
# While committed rows wait beyond the horizon, how soon the tailer looks again (seconds).
HORIZON_POLL_SECONDS = 0.01
# How long events may be held back by an open transaction before the log says which one,
# and how often it says so again (seconds).
HELD_BACK_WARNING_SECONDS = 10.0
HELD_BACK_REPEAT_SECONDS = 60.0


class StockEventHub:
    """The process's single reader of the ledger and its subscribers."""

    def __init__(
        self,
        database: Database,
        *,
        poll_seconds: float = 5.0,
        auth_check_seconds: float = 2.0,
    ) -> None:
        self.database = database
        self.poll_seconds = poll_seconds
        self.auth_check_seconds = auth_check_seconds
        self.last = ledger.START
        # Committed rows wait beyond the horizon: look again soon.
        self._waiting = False
        # Since when committed rows have waited with nothing delivered (monotonic clock).
        self._held_back_since: float | None = None
        self._warned_at = -HELD_BACK_REPEAT_SECONDS
        self.subscribers: set[Subscriber] = set()
        self.groups: dict[Hashable, Group] = {}
        # One instance of each distinct permission set, however many subscribers hold it.
        self._scopes: dict[frozenset[str], frozenset[str]] = {}
        # Subscribers outside any group get the events themselves, and render them alone.
        self._ungrouped: set[Subscriber] = set()
        self._wake = asyncio.Event()
        self.listener = Listener(database, self.wake)
        self.session_watch = SessionWatch(self, auth_check_seconds)
        self._tasks: list[asyncio.Task[None]] = []
        self.started = False

    # --- lifecycle ---------------------------------------------------------------------

    _caught_up_at = 0.0

    async def ledger_end(self) -> Position:
        """The position of the last final movement."""
        async with new_session(self.database, write=False, transaction=False) as session:
            return await ledger.ledger_end(session)

    async def position_of(self, movement_id: int) -> Position | None:
        """Where the movement with this id stands, if it exists."""
        async with new_session(self.database, write=False, transaction=False) as session:
            return await ledger.position_of_movement(session, movement_id)

    async def start(self) -> None:
        """Begin at the current end of the ledger and follow it."""
        self.last = await self.ledger_end()
        self.database.on_commit(LEDGER_SIGNAL, self._committed_here)
        self._tasks = [
            asyncio.create_task(self._tail(), name="stock-events-tail"),
            asyncio.create_task(self.session_watch.run(), name="stock-events-auth"),
        ]
        if not self.database.is_sqlite:
            self._tasks.append(asyncio.create_task(self.listener.run(), name="stock-events-listen"))
        self.started = True

    async def stop(self) -> None:
        """Stop following the ledger; subscribers end."""
        self.database.remove_commit_listener(LEDGER_SIGNAL, self._committed_here)
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks = []
        self.started = False

    def wake(self) -> None:
        """The ledger may have grown: read it."""
        self._wake.set()

    def _committed_here(self) -> None:
        """A transaction of this process wrote to the ledger: read it, and tell the others."""
        self._wake.set()
        self.listener.tell()

    # --- subscribers -------------------------------------------------------------------

    def subscribe(
        self,
        product_ids: frozenset[int] | None,
        *,
        maxsize: int,
        session_id: str | None = None,
        expires_at: datetime | None = None,
        user_id: int | None = None,
        group: GroupSpec | None = None,
        scope: frozenset[str] | None = None,
    ) -> Subscriber:
        """A live subscription from the current end of the ledger on; with a group spec,
        it receives its group's rendered frames instead of the events."""
        subscriber = Subscriber(
            product_ids,
            maxsize=maxsize,
            start=self.last,
            session_id=session_id,
            expires_at=expires_at,
            user_id=user_id,
            scope=self._scopes.setdefault(scope, scope) if scope is not None else None,
        )
        self.subscribers.add(subscriber)
        if group is None:
            self._ungrouped.add(subscriber)
        else:
            self._join(subscriber, group)
        return subscriber

    def unsubscribe(self, subscriber: Subscriber) -> None:
        """Forget a subscriber."""
        self.subscribers.discard(subscriber)
        self._ungrouped.discard(subscriber)
        self._leave(subscriber)

    def _join(self, subscriber: Subscriber, spec: GroupSpec) -> None:
        group = self.groups.get(spec.key)
        if group is None:
            group = self.groups[spec.key] = Group(spec)
        group.members.add(subscriber)
        subscriber.group = group

    def _leave(self, subscriber: Subscriber) -> None:
        group = subscriber.group
        if group is None:
            return
        subscriber.group = None
        group.members.discard(subscriber)
        if not group.members and self.groups.get(group.spec.key) is group:
            del self.groups[group.spec.key]

    async def follow(
        self,
        product_ids: frozenset[int] | None,
        after: Position | None,
        **subscription: Any,
    ) -> "Following":
        """A subscription (see `subscribe`) with its replay from `after`: live events are
        buffered from now on, then replayed rows and buffered ones meet with no gap and no
        duplicate."""
        subscriber = self.subscribe(product_ids, **subscription)
        try:
            # This hub may not have read the newest commits yet: they happened before the
            # subscription, so they are not live events for it (the replay covers them).
            subscriber.start = max(subscriber.start, await self.ledger_end())
        except BaseException:
            self.unsubscribe(subscriber)
            raise
        return Following(self, subscriber, after)

    async def replay(
        self, after: Position, product_ids: frozenset[int] | None, until: Position
    ) -> AsyncIterator[StockEventData]:
        """Final ledger rows in (after, until], a page at a time from fresh sessions."""
        cursor = after
        while cursor < until:
            async with new_session(self.database, write=False, transaction=False) as session:
                page = await events_after(session, cursor, product_ids)
            if not page:
                return
            for event in page:
                if event.position > until:
                    return
                yield event
            cursor = page[-1].position

    # --- background work ---------------------------------------------------------------

    async def _tail(self) -> None:
        while True:
            timeout = HORIZON_POLL_SECONDS if self._waiting else self.poll_seconds
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=timeout)
            self._wake.clear()
            try:
                await self._drain()
            except Exception:
                logger.warning("reading the stock ledger failed; retrying", exc_info=True)
                await asyncio.sleep(1)
                self._wake.set()

    async def _drain(self) -> None:
        if not self.subscribers:
            self._waiting = False
            # Nobody to tell: keep up with the ledger's end now and then, without reading
            # its rows (a first subscriber starts at the end anyway and skips the rest).
            started = time.monotonic()
            if started - self._caught_up_at < IDLE_CATCH_UP_SECONDS:
                return
            end = await self.ledger_end()
            if not self.subscribers:  # still nobody after the await
                self.last = max(self.last, end)
                self._caught_up_at = started
                return
        while True:
            async with new_session(self.database, write=False, transaction=False) as session:
                page = await events_after(session, self.last, None)
                if len(page) < BATCH:
                    self._waiting = await ledger.waiting_beyond_horizon(
                        session, page[-1].position if page else self.last
                    )
                    await self._tell_if_held_back(session, delivered=bool(page))
            for event in page:
                await self.publish(event)
            if len(page) < BATCH:
                return

    async def _tell_if_held_back(self, session: AsyncSession, *, delivered: bool) -> None:
        """Log the transaction that keeps committed events from being delivered, once it
        has for HELD_BACK_WARNING_SECONDS (then every HELD_BACK_REPEAT_SECONDS)."""
        now = time.monotonic()
        if delivered or not self._waiting:
            self._held_back_since = None
            return
        if self._held_back_since is None:
            self._held_back_since = now
        held = now - self._held_back_since
        if held < HELD_BACK_WARNING_SECONDS or now - self._warned_at < HELD_BACK_REPEAT_SECONDS:
            return
        self._warned_at = now
        logger.warning(
            "stock events are held back (%.0f s so far) until the oldest open writing "
            "transaction on the database server ends: %s",
            held,
            await ledger.oldest_open_writer(session) or "unknown",
        )

    async def publish(self, event: StockEventData) -> None:
        """Hand one event to every subscriber that wants it: rendered once per group."""
        # Moved first: a subscription that starts while this event renders begins after it
        # (its replay, if any, reads it from the ledger).
        self.last = event.position
        for subscriber in list(self._ungrouped):
            subscriber.offer(event)
            self._let_go_if_ended(subscriber)
        work = []
        for group in list(self.groups.values()):
            targets = [s for s in group.members if s.wants(event)]
            if targets:
                work.append((group, targets))
        if not work:
            return
        payloads = await asyncio.gather(*(group.spec.render(event) for group, _ in work))
        for (_, targets), payload in zip(work, payloads, strict=True):
            frame = Frame(event.position, payload)
            for subscriber in targets:
                subscriber.push(frame)
                self._let_go_if_ended(subscriber)

    def _let_go_if_ended(self, subscriber: Subscriber) -> None:
        if subscriber.end_reason is not None:
            # Its reader may be stuck on a full socket: let go of it now.
            self.unsubscribe(subscriber)

    def rescope(self, subscriber: Subscriber, permissions: frozenset[str]) -> None:
        """Follow a change of the subscriber's permissions: another group, or the end."""
        if subscriber.end_reason is not None or permissions == subscriber.scope:
            return
        subscriber.scope = self._scopes.setdefault(permissions, permissions)
        group = subscriber.group
        spec = group.spec.for_scope(permissions) if group is not None else None
        if spec is None:
            subscriber.end(Subscriber.FORBIDDEN)
            return
        if group is not None and spec.key != group.spec.key:
            self._leave(subscriber)
            self._join(subscriber, spec)


class Following:
    """One subscription as the hub serves it: the ledger replayed from `after` (when
    given), then the live items after it, each exactly once, in ledger order."""

    __slots__ = ("after", "hub", "last", "subscriber")

    def __init__(self, hub: StockEventHub, subscriber: Subscriber, after: Position | None) -> None:
        self.hub = hub
        self.subscriber = subscriber
        self.after = after
        # The last event handed on: where a resumed subscription would start.
        self.last = subscriber.start if after is None else after

    async def replayed(self) -> AsyncIterator[StockEventData]:
        """The final ledger rows between `after` and where the live items begin."""
        if self.after is None:
            return
        async for event in self.hub.replay(
            self.after, self.subscriber.product_ids, self.subscriber.start
        ):
            self.last = event.position
            yield event

    async def next_live(self) -> Item | None:
        """The next live event or frame after the last one handed on; None once the
        subscription has ended (`subscriber.end_reason` says why)."""
        while True:
            item = await self.subscriber.next()
            if item is None:
                return None
            if item.position > self.last:
                self.last = item.position
                return item

    def close(self) -> None:
        """Leave the hub."""
        self.hub.unsubscribe(self.subscriber)
