"""Live stock events: every committed ledger row, fanned out to subscribers in ledger order
(gql.inventory.ledger: epoch, then row id, delivered once final).

Writers only announce that the ledger grew, and only after their commit: an after-commit
signal wakes this process's tailer, and on PostgreSQL the process's listener connection
sends one NOTIFY for the commits since its last (never from the writing transaction: a
transaction that NOTIFYs holds a database-wide lock through its commit, which would queue
every writer behind it). Should a notification be lost (a process dying between its commit
and its NOTIFY, a write from outside an app process), the ledger is read every
STOCK_EVENTS_POLL_SECONDS anyway. Each process runs one tailer that reads the new final
ledger rows once; while committed rows wait for an older transaction to end, it looks
again every few milliseconds.
Subscribers are grouped by what their events render to (document, variables,
permissions): each event is rendered once per group that wants it, and the same serialized
frame goes to every member's bounded queue.
"""

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Hashable
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol, TypeAlias

import asyncpg
from sqlalchemy import select
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncSession

from gql.auth import roles
from gql.auth.models import AuthSession, User
from gql.catalog.models import Product
from gql.db import Database, new_session, signal_after_commit, utcnow
from gql.inventory import ledger
from gql.inventory.ledger import Position
from gql.inventory.models import StockMovement

logger = logging.getLogger("gql.events")

# NOTIFYed by every app process after it committed ledger rows.
CHANNEL = "gql_stock"
# The application_name of each process's listener connection (pg_stat_activity).
LISTENER_NAME = "gql stock events"
LEDGER_SIGNAL = "ledger"
BATCH = 500
# With nobody subscribed, how often the hub moves to the ledger's end (seconds).
IDLE_CATCH_UP_SECONDS = 1.0
# While committed rows wait beyond the horizon, how soon the tailer looks again (seconds).
HORIZON_POLL_SECONDS = 0.01
# How long events may be held back by an open transaction before the log says which one,
# and how often it says so again (seconds).
HELD_BACK_WARNING_SECONDS = 10.0
HELD_BACK_REPEAT_SECONDS = 60.0


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
        # Commits of this process that the other processes have not been told of yet.
        self._untold = asyncio.Event()
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
            asyncio.create_task(self._watch_sessions(), name="stock-events-auth"),
        ]
        if not self.database.is_sqlite:
            self._tasks.append(asyncio.create_task(self._listen(), name="stock-events-listen"))
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
        self._untold.set()

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

    async def _listen(self) -> None:
        """LISTEN on PostgreSQL and NOTIFY this process's commits, one NOTIFY for all those
        made while the previous one was sent; after a lost connection, reconnect and catch
        up."""
        url = make_url(self.database.url).set(drivername="postgresql")
        dsn = url.render_as_string(hide_password=False)
        delay = 0.5
        while True:
            connection = None
            try:
                connection = await asyncpg.connect(
                    dsn, timeout=10, server_settings={"application_name": LISTENER_NAME}
                )
                lost = asyncio.Event()

                def on_lost(_: object, lost: asyncio.Event = lost) -> None:
                    lost.set()
                    self._untold.set()  # stops the wait below

                connection.add_termination_listener(on_lost)
                own_pid = connection.get_server_pid()

                def on_notify(_: object, pid: int, *__: object, own_pid: int = own_pid) -> None:
                    if pid != own_pid:  # this process knows of its own commits
                        self.wake()

                await connection.add_listener(CHANNEL, on_notify)
                delay = 0.5
                self.wake()  # catch up with what was committed while not listening
                while not lost.is_set() and not connection.is_closed():
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._untold.wait(), timeout=2)
                    if lost.is_set():
                        break
                    if self._untold.is_set():
                        self._untold.clear()
                        await connection.execute(f"NOTIFY {CHANNEL}")
                    else:
                        await connection.execute("SELECT 1")
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.warning("stock event listener lost PostgreSQL; reconnecting", exc_info=True)
            finally:
                if connection is not None and not connection.is_closed():
                    with contextlib.suppress(Exception):
                        await connection.close(timeout=2)
            await asyncio.sleep(delay)
            delay = min(delay * 2, 10)

    async def _watch_sessions(self) -> None:
        """End subscriptions whose login session was revoked or whose token expired."""
        while True:
            await asyncio.sleep(self.auth_check_seconds)
            try:
                await self._check_sessions()
            except Exception:
                logger.warning("checking subscriber sessions failed", exc_info=True)

    async def _check_sessions(self) -> None:
        now = utcnow()
        watched = [s for s in self.subscribers if s.session_id is not None]
        for subscriber in watched:
            if subscriber.expires_at is not None and subscriber.expires_at <= now:
                subscriber.end(Subscriber.EXPIRED)
        session_ids = {s.session_id for s in watched if s.end_reason is None}
        if not session_ids:
            return
        scoped = [s for s in watched if s.scope is not None and s.user_id is not None]
        permissions = roles.permission_names_of(User.id, self.database.engine.dialect.name)
        async with new_session(self.database, write=False, transaction=False) as session:
            # One statement for every subscriber: the sessions that stand, and what each
            # of their users may do now.
            rows = (
                await session.execute(
                    select(AuthSession.id, AuthSession.user_id, permissions)
                    .join(User, User.id == AuthSession.user_id)
                    .where(
                        AuthSession.id.in_(session_ids),
                        AuthSession.revoked_at.is_(None),
                        AuthSession.expires_at > now,
                        User.is_active.is_(True),
                    )
                )
            ).all()
        live = {session_id for session_id, _, _ in rows}
        held = {
            user_id: frozenset(names.split(",")) if names else frozenset()
            for _, user_id, names in rows
        }
        for subscriber in watched:
            if subscriber.session_id is not None and subscriber.session_id not in live:
                subscriber.end(Subscriber.REVOKED)
        for subscriber in scoped:
            assert subscriber.user_id is not None
            self._rescope(subscriber, held.get(subscriber.user_id, frozenset()))

    def _rescope(self, subscriber: Subscriber, permissions: frozenset[str]) -> None:
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
