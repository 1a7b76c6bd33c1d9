"""The cost budget of each caller: a leaky bucket of query cost, shared by every process
through PostgreSQL.

Every operation costs what the query limits measure (gql.graphql.execution.limits: each
field 1, a connection's subtree times its `first`). Each caller (a signed-in user, else a
client address) has a bucket of `maximum` points that refills at `restore_rate` points a
second; an operation runs only when its whole cost is available, and takes it.

As with the request limit (gql.web.ratelimit), each process decides at once from memory (no
database round trip per request) and a background task shares what it charged several
times a second: it adds its charges to one row per caller, each row restoring itself at
the same rate, and reads back what every process charged. Between two syncs a caller can
spend, in each other process, what that process believes is left, no more.
"""

import logging
import math
import time
from collections import defaultdict
from collections.abc import Callable
from typing import Any

from sqlalchemy import Float, String, text
from sqlalchemy.orm import Mapped, mapped_column

from gql.core.db import Base, Database, new_session
from gql.core.errors import ErrorCode, RequestError

logger = logging.getLogger("gql.costbudget")

# Restored rows are deleted from the shared table at most this often (seconds).
PRUNE_SECONDS = 5.0
# Callers whose buckets are full again are forgotten (in memory) at most this often.
SWEEP_SECONDS = 10.0
CALLER_LENGTH = 80


class CostBucket(Base):
    """The points of one caller's budget in use, summed over every process, as of
    `updated_at`; they are restored at the configured rate from then on."""

    __tablename__ = "cost_bucket"

    caller: Mapped[str] = mapped_column(String(CALLER_LENGTH), primary_key=True)
    spent: Mapped[float] = mapped_column(Float)
    updated_at: Mapped[float] = mapped_column(Float)  # seconds since the epoch


# Adds each process's charges to the shared rows, restoring what the time since their last
# update gave back first; returns every caller's total. (One statement however many callers.)
SHARE = text(
    "INSERT INTO cost_bucket AS bucket (caller, spent, updated_at) "
    "SELECT batch.caller, batch.spent, CAST(:now AS float8) "
    "FROM unnest(CAST(:callers AS varchar[]), CAST(:charged AS float8[])) "
    "AS batch(caller, spent) "
    "ON CONFLICT (caller) DO UPDATE SET "
    "spent = GREATEST(0, bucket.spent - CAST(:rate AS float8) * GREATEST(0, EXCLUDED.updated_at - "
    "bucket.updated_at)) + EXCLUDED.spent, "
    "updated_at = GREATEST(bucket.updated_at, EXCLUDED.updated_at) "
    "RETURNING bucket.caller, bucket.spent, bucket.updated_at"
)
# Rows whose points are all restored; rows another process is updating are left alone
# (no waiting, no deadlock with its upsert).
PRUNE = text(
    "DELETE FROM cost_bucket WHERE caller IN (SELECT caller FROM cost_bucket "
    "WHERE spent <= CAST(:rate AS float8) * (CAST(:now AS float8) - updated_at) "
    "FOR UPDATE SKIP LOCKED)"
)


class OverBudget(RequestError):
    """An operation costs more than its caller's budget holds now: nothing ran."""

    code = ErrorCode.RATE_LIMITED


def caller_key(user_id: int | None, address: str | None) -> str:
    """Whose budget pays: the signed-in user's, else the client address's (as long as the
    shared table's column allows)."""
    if user_id is not None:
        return f"user:{user_id}"
    return f"address:{address or 'unknown'}"[:CALLER_LENGTH]


class CostBudget:
    """A leaky bucket of query cost per caller, in this process's memory."""

    def __init__(
        self, maximum: int, restore_rate: int, clock: Callable[[], float] = time.time
    ) -> None:
        self.maximum = maximum
        self.restore_rate = restore_rate
        self.clock = clock
        # caller -> [points in use, when]: restored at `restore_rate` since then.
        self._spent: dict[str, list[float]] = {}
        self.pending: defaultdict[str, float] = defaultdict(float)  # charged, not yet shared
        self._swept = 0.0
        self._sweep_every = max(SWEEP_SECONDS, self.refill_seconds)
        self._pruned = 0.0

    @property
    def enabled(self) -> bool:
        """A maximum of 0 turns the budget off."""
        return self.maximum > 0

    @property
    def refill_seconds(self) -> float:
        """How long an empty bucket takes to fill up."""
        return self.maximum / self.restore_rate

    def _in_use(self, caller: str, now: float) -> float:
        entry = self._spent.get(caller)
        if entry is None:
            return 0.0
        return max(0.0, entry[0] - self.restore_rate * max(0.0, now - entry[1]))

    def charge(self, caller: str, cost: int) -> tuple[dict[str, int], int | None]:
        """Take `cost` points from the caller's bucket when it holds them. Returns the
        throttle status (after the charge) and, when refused, the whole seconds until the
        bucket holds enough (None: admitted)."""
        now = self.clock()
        if now - self._swept > self._sweep_every:
            self._sweep(now)
        spent = self._in_use(caller, now)
        available = self.maximum - spent
        if cost > available:
            retry_after = max(1, math.ceil((cost - available) / self.restore_rate))
            return self.status(available), retry_after
        if cost:
            spent += cost
            entry = self._spent.get(caller)
            if entry is None:
                self._spent[caller] = [spent, now]
            else:
                entry[0], entry[1] = spent, now
            self.pending[caller] += cost
        return self.status(self.maximum - spent), None

    def status(self, available: float) -> dict[str, int]:
        """The throttle status in Shopify's shape (points; points a second)."""
        return {
            "maximumAvailable": self.maximum,
            "currentlyAvailable": max(0, math.floor(available)),
            "restoreRate": self.restore_rate,
        }

    def available(self, caller: str) -> float:
        """The points the caller may spend now."""
        return self.maximum - self._in_use(caller, self.clock())

    def _sweep(self, now: float) -> None:
        """Forget callers whose buckets are full again (and whose charges were shared)."""
        self._swept = now
        for caller in [c for c in self._spent if c not in self.pending]:
            if self._in_use(caller, now) <= 0:
                del self._spent[caller]

    async def sync(self, database: Database) -> None:
        """Add this process's charges to the shared rows and take every process's totals."""
        now = self.clock()
        self._sweep(now)
        batch, self.pending = self.pending, defaultdict(float)
        # Callers whose buckets are not full are read back even when this process charged
        # them nothing since: the others may have.
        callers = sorted(set(batch) | set(self._spent))  # one lock order everywhere
        if callers:
            parameters: dict[str, Any] = {
                "callers": callers,
                "charged": [batch.get(caller, 0.0) for caller in callers],
                "now": now,
                "rate": float(self.restore_rate),
            }
            try:
                async with new_session(database, write=True) as session:
                    # Losing the last charges in a crash is fine; waiting for the disk is not.
                    await session.execute(text("SET LOCAL synchronous_commit = off"))
                    totals = (await session.execute(SHARE, parameters)).all()
                    await session.commit()
            except Exception:
                for caller, charged in batch.items():
                    self.pending[caller] += charged
                raise
            for caller, spent, updated_at in totals:
                # What was charged here while the rows were written is not in them yet.
                self._spent[caller] = [spent + self.pending.get(caller, 0.0), updated_at]
        if now - self._pruned >= PRUNE_SECONDS:
            self._pruned = now
            async with new_session(database, write=True) as session:
                await session.execute(PRUNE, {"now": now, "rate": float(self.restore_rate)})
                await session.commit()


def over_budget(cost: int, status: dict[str, int], retry_after: int) -> OverBudget:
    """The error of an operation refused for its cost: nothing of it ran."""
    return OverBudget(
        f"Throttled: the query costs {cost} and {status['currentlyAvailable']} of "
        f"{status['maximumAvailable']} are available (restoring {status['restoreRate']} a "
        f"second); retry in {retry_after} s.",
        retryAfter=retry_after,
    )
