"""Live stock events: every committed ledger row, fanned out to subscribers in ledger order.

Writers only announce that the ledger grew: on PostgreSQL with NOTIFY inside the
transaction (delivered to every process at commit, never on rollback), on SQLite through
an after-commit signal in the process. Each process runs one tailer that reads the new
ledger rows once and offers them to its subscribers' bounded queues.
"""

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime

import asyncpg
from sqlalchemy import exists, func, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncSession

from gql.auth.models import AuthSession, User, role_permission, user_role
from gql.catalog.models import Product
from gql.db import Database, new_session, signal_after_commit, utcnow
from gql.inventory.models import StockMovement

logger = logging.getLogger("gql.events")

CHANNEL = "gql_stock"
# What a subscriber must keep holding; checked with its session, not once at the start.
READ_PERMISSION = "inventory:read"
LEDGER_SIGNAL = "ledger"
BATCH = 500


async def announce(session: AsyncSession) -> None:
    """Tell every process, once this transaction commits, that the ledger grew."""
    if session.get_bind().dialect.name == "postgresql":
        await session.execute(text("SELECT pg_notify(:channel, '')"), {"channel": CHANNEL})
    signal_after_commit(session, LEDGER_SIGNAL)


@dataclass(frozen=True)
class StockEventData:
    """A committed ledger row with its product as read just after it."""

    movement: StockMovement
    product: Product

    @property
    def id(self) -> int:
        """The ledger id: events are delivered in increasing id order."""
        return self.movement.id


async def events_after(
    session: AsyncSession, after_id: int, product_ids: frozenset[int] | None, limit: int = BATCH
) -> list[StockEventData]:
    """Ledger rows after `after_id` with their products, oldest first."""
    statement = (
        select(StockMovement, Product)
        .join(Product, Product.id == StockMovement.product_id)
        .where(StockMovement.id > after_id)
    )
    if product_ids is not None:
        statement = statement.where(StockMovement.product_id.in_(product_ids))
    rows = await session.execute(statement.order_by(StockMovement.id).limit(limit))
    return [StockEventData(movement, product) for movement, product in rows]


class Subscriber:
    """One subscription's bounded queue of events, and why it ended, if it did."""

    OVERFLOW = "overflow"
    REVOKED = "revoked"
    EXPIRED = "expired"
    FORBIDDEN = "forbidden"

    def __init__(
        self,
        product_ids: frozenset[int] | None,
        *,
        maxsize: int,
        start_id: int,
        session_id: str | None,
        expires_at: datetime | None,
    ) -> None:
        self.product_ids = product_ids
        self.maxsize = maxsize
        self.start_id = start_id
        self.session_id = session_id
        self.expires_at = expires_at
        self.end_reason: str | None = None
        self._items: deque[StockEventData] = deque()
        self._ready = asyncio.Event()

    def offer(self, event: StockEventData) -> None:
        """Queue an event without ever waiting; a full queue ends the subscription."""
        if self.end_reason is not None:
            return
        if self.product_ids is not None and event.movement.product_id not in self.product_ids:
            return
        if len(self._items) >= self.maxsize:
            self.end(self.OVERFLOW)
            return
        self._items.append(event)
        self._ready.set()

    def end(self, reason: str) -> None:
        """Stop the subscription at its next read; its queued events are dropped."""
        if self.end_reason is None:
            self.end_reason = reason
            self._items.clear()
            self._ready.set()

    async def next(self) -> StockEventData | None:
        """The next event, or None once the subscription has ended."""
        while True:
            if self.end_reason is not None:
                return None
            if self._items:
                return self._items.popleft()
            self._ready.clear()
            await self._ready.wait()

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
        self.last_id = 0
        self.subscribers: set[Subscriber] = set()
        self._wake = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self.started = False

    # --- lifecycle ---------------------------------------------------------------------

    async def start(self) -> None:
        """Begin at the current end of the ledger and follow it."""
        async with new_session(self.database, write=False) as session:
            self.last_id = int(await session.scalar(select(func.max(StockMovement.id))) or 0)
        self.database.on_commit(LEDGER_SIGNAL, self.wake)
        self._tasks = [
            asyncio.create_task(self._tail(), name="stock-events-tail"),
            asyncio.create_task(self._watch_sessions(), name="stock-events-auth"),
        ]
        if not self.database.is_sqlite:
            self._tasks.append(asyncio.create_task(self._listen(), name="stock-events-listen"))
        self.started = True

    async def stop(self) -> None:
        """Stop following the ledger; subscribers end."""
        self.database.remove_commit_listener(LEDGER_SIGNAL, self.wake)
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

    # --- subscribers -------------------------------------------------------------------

    def subscribe(
        self,
        product_ids: frozenset[int] | None,
        *,
        maxsize: int,
        session_id: str | None = None,
        expires_at: datetime | None = None,
    ) -> Subscriber:
        """A live subscription from the current end of the ledger on."""
        subscriber = Subscriber(
            product_ids,
            maxsize=maxsize,
            start_id=self.last_id,
            session_id=session_id,
            expires_at=expires_at,
        )
        self.subscribers.add(subscriber)
        return subscriber

    def unsubscribe(self, subscriber: Subscriber) -> None:
        """Forget a subscriber."""
        self.subscribers.discard(subscriber)

    async def replay(
        self, after_id: int, product_ids: frozenset[int] | None, until_id: int
    ) -> AsyncIterator[StockEventData]:
        """Ledger rows in (after_id, until_id], a page at a time from fresh sessions."""
        cursor = after_id
        while cursor < until_id:
            async with new_session(self.database, write=False) as session:
                page = await events_after(session, cursor, product_ids)
            if not page:
                return
            for event in page:
                if event.id > until_id:
                    return
                yield event
            cursor = page[-1].id

    # --- background work ---------------------------------------------------------------

    async def _tail(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=self.poll_seconds)
            self._wake.clear()
            try:
                await self._drain()
            except Exception:
                logger.warning("reading the stock ledger failed; retrying", exc_info=True)
                await asyncio.sleep(1)
                self._wake.set()

    async def _drain(self) -> None:
        while True:
            async with new_session(self.database, write=False) as session:
                page = await events_after(session, self.last_id, None)
            for event in page:
                for subscriber in list(self.subscribers):
                    subscriber.offer(event)
                    if subscriber.end_reason is not None:
                        # Its reader may be stuck on a full socket: let go of it now.
                        self.subscribers.discard(subscriber)
                self.last_id = event.id
            if len(page) < BATCH:
                return

    async def _listen(self) -> None:
        """LISTEN on PostgreSQL; after a lost connection, reconnect and catch up."""
        url = make_url(self.database.url).set(drivername="postgresql")
        dsn = url.render_as_string(hide_password=False)
        delay = 0.5
        while True:
            connection = None
            try:
                connection = await asyncpg.connect(dsn, timeout=10)
                lost = asyncio.Event()
                connection.add_termination_listener(lambda _, lost=lost: lost.set())
                await connection.add_listener(CHANNEL, lambda *_: self.wake())
                delay = 0.5
                self.wake()  # catch up with what was committed while not listening
                while not lost.is_set() and not connection.is_closed():
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(lost.wait(), timeout=2)
                    if not lost.is_set():
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
        """End subscriptions whose session ended, token expired or permission was withdrawn."""
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
        may_read = exists().where(
            user_role.c.user_id == AuthSession.user_id,
            role_permission.c.role_id == user_role.c.role_id,
            role_permission.c.permission_name == READ_PERMISSION,
        )
        # One statement for every subscriber of the process, however many there are.
        async with new_session(self.database, write=False) as session:
            rows = await session.execute(
                select(AuthSession.id, may_read)
                .join(User, User.id == AuthSession.user_id)
                .where(
                    AuthSession.id.in_(session_ids),
                    AuthSession.revoked_at.is_(None),
                    AuthSession.expires_at > now,
                    User.is_active.is_(True),
                )
            )
            allowed: dict[str, bool] = {session_id: ok for session_id, ok in rows}
        for subscriber in watched:
            if subscriber.session_id is None:
                continue
            if subscriber.session_id not in allowed:
                subscriber.end(Subscriber.REVOKED)
            elif not allowed[subscriber.session_id]:
                subscriber.end(Subscriber.FORBIDDEN)
