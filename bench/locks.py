"""Lock waits: how many backends of the bench database wait on a lock, sampled from
pg_stat_activity while a workload runs."""

import asyncio
import contextlib
from collections import Counter
from typing import Any

import asyncpg

SAMPLE = """
SELECT wait_event_type, wait_event, state FROM pg_stat_activity
WHERE datname = $1 AND backend_type = 'client backend' AND pid <> pg_backend_pid()
"""


class LockWaitSampler:
    """Samples every `interval` seconds between start() and stop()."""

    def __init__(self, dsn: str, database: str, interval: float = 0.02) -> None:
        self.dsn = dsn
        self.database = database
        self.interval = interval
        self.samples = 0
        self.waiting = 0  # backend-samples waiting on a Lock wait event
        self.active = 0  # backend-samples inside a statement or transaction
        self.events: Counter[str] = Counter()
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Begin sampling on a connection of its own."""
        connection = await asyncpg.connect(self.dsn)
        self._task = asyncio.create_task(self._sample(connection))

    async def _sample(self, connection: asyncpg.Connection) -> None:
        try:
            while True:
                rows = await connection.fetch(SAMPLE, self.database)
                self.samples += 1
                for wait_type, wait_event, state in rows:
                    if state in ("active", "idle in transaction"):
                        self.active += 1
                    if wait_type == "Lock":
                        self.waiting += 1
                        self.events[f"Lock:{wait_event}"] += 1
                    elif wait_type is not None and state == "active":
                        self.events[f"{wait_type}:{wait_event}"] += 1
                await asyncio.sleep(self.interval)
        finally:
            await connection.close()

    async def stop(self) -> dict[str, Any]:
        """Stop; the averages per sample."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        n = max(1, self.samples)
        return {
            "samples": self.samples,
            "lock_waiting_avg": round(self.waiting / n, 2),
            "busy_backends_avg": round(self.active / n, 2),
            "wait_events_avg": {
                name: round(count / n, 2) for name, count in self.events.most_common(6)
            },
        }
