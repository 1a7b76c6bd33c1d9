"""Per-client request budgets, shared by every process through PostgreSQL.

Each process counts its own hits in memory and decides at once (no database round trip
per request); a background task adds them to a shared row per client and window several
times a second and reads back the total of every process. Between two syncs a client can
get past the budget by what the other processes admitted meanwhile, no more.
"""

import logging
import math
import time
from collections import defaultdict
from collections.abc import Callable

from sqlalchemy import BigInteger, String, delete, text
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.orm import Mapped, mapped_column
from starlette.types import ASGIApp, Receive, Scope, Send

from gql.core.db import Base, Database, new_session
from gql.web.middleware import send_error

logger = logging.getLogger("gql.ratelimit")

Key = tuple[str, int]  # (client address, window start in epoch seconds)


class RateLimitWindow(Base):
    """Requests of one client in one window, summed over every process."""

    __tablename__ = "rate_limit_window"

    client: Mapped[str] = mapped_column(String(64), primary_key=True)
    window_start: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    hits: Mapped[int]


class RateLimiter:
    """A fixed-window budget per client address."""

    def __init__(
        self, limit: int, window_seconds: int, clock: Callable[[], float] = time.time
    ) -> None:
        self.limit = limit
        self.window_seconds = window_seconds
        self.clock = clock
        self.pending: defaultdict[Key, int] = defaultdict(int)  # not yet shared
        self.shared: dict[Key, int] = {}  # every process's total at the last sync
        self._window = 0

    @property
    def enabled(self) -> bool:
        """A limit of 0 turns the budget off."""
        return self.limit > 0

    def hit(self, client: str) -> float | None:
        """Count a request; seconds until the client may retry when it is over budget."""
        now = self.clock()
        window = int(now // self.window_seconds) * self.window_seconds
        if window != self._window:
            self._forget_before(window)
        key = (client, window)
        if self.shared.get(key, 0) + self.pending[key] >= self.limit:
            return window + self.window_seconds - now
        self.pending[key] += 1
        return None

    def _forget_before(self, window: int) -> None:
        self._window = window
        self.shared = {key: hits for key, hits in self.shared.items() if key[1] >= window}
        for key in [key for key in self.pending if key[1] < window]:
            del self.pending[key]

    async def sync(self, database: Database) -> None:
        """Add this process's hits to the shared counts and read the totals back."""
        batch, self.pending = self.pending, defaultdict(int)
        for key in self.shared:
            batch[key] += 0  # adding nothing still reads back what the others added
        if not batch:
            return
        rows = [
            {"client": client, "window_start": window, "hits": hits}
            for (client, window), hits in sorted(batch.items())  # one lock order everywhere
        ]
        insert = pg_insert(RateLimitWindow).values(rows)
        upsert = insert.on_conflict_do_update(
            index_elements=[RateLimitWindow.client, RateLimitWindow.window_start],
            set_={"hits": RateLimitWindow.hits + insert.excluded.hits},
        ).returning(RateLimitWindow.client, RateLimitWindow.window_start, RateLimitWindow.hits)
        try:
            async with new_session(database, write=True) as session:
                # Losing the last few counts in a crash is fine; waiting for the disk is not.
                await session.execute(text("SET LOCAL synchronous_commit = off"))
                totals = (await session.execute(upsert)).all()
                await session.execute(
                    delete(RateLimitWindow).where(
                        RateLimitWindow.window_start < self._window - self.window_seconds
                    )
                )
                await session.commit()
        except Exception:
            for key, hits in batch.items():
                if hits:
                    self.pending[key] += hits
            raise
        for client, window, hits in totals:
            if window >= self._window:
                self.shared[(client, window)] = hits


# Routes that do no work for the caller: probes, the scrape, GraphiQL's static files.
UNCOUNTED_PATHS = frozenset({"/healthz", "/readyz", "/metrics"})
UNCOUNTED_PREFIXES = ("/graphiql/",)


def counted(path: str) -> bool:
    """Whether a request to `path` counts against its client's budget."""
    return path not in UNCOUNTED_PATHS and not path.startswith(UNCOUNTED_PREFIXES)


class RateLimit:
    """Answers 429 (`RATE_LIMITED`, with Retry-After) to a client over its budget, on every
    HTTP route that does work (/graphql, /auth/token, ...). WebSocket connections and their
    operations count against the same budget (gql.web.router)."""

    def __init__(self, app: ASGIApp, limiter: RateLimiter) -> None:
        self.app = app
        self.limiter = limiter

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.limiter.enabled and scope["type"] == "http" and counted(scope["path"]):
            client = scope["client"][0] if scope.get("client") else "unknown"
            retry_after = self.limiter.hit(client)
            if retry_after is not None:
                seconds = max(1, math.ceil(retry_after))
                await send_error(
                    send,
                    429,
                    f"Too many requests; retry in {seconds} s.",
                    "RATE_LIMITED",
                    headers={"Retry-After": str(seconds)},
                    retryAfter=seconds,
                )
                return
        await self.app(scope, receive, send)
