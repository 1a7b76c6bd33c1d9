"""Version checks of anonymous catalog reads, shared: one statement answers every check
asked before it started.

A cached answer is served only while the versions it was computed from hold, read by a
statement that starts after its request arrived (an answer is never older than a commit
that returned before the read began). A check asked while another statement runs waits
for the next one, which starts when that one ends and carries every check that queued
meanwhile: under load, many reads per round trip instead of one each, with the same
guarantee. Callers with a token keep their own statement (it checks their session too).
"""

import asyncio
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field

from gql.cache.versions import (
    COUNTERS_ROW,
    CatalogVersions,
    product_ids_parameter,
    versions_by_product,
)
from gql.core.db import Database
from gql.core.driver import reading

# Runs one shared check for these product ids: its rows (see versions_by_product).
BatchReader = Callable[[list[int]], Awaitable[Sequence[Sequence[int]]]]


@dataclass
class _Queue:
    """The checks waiting for the next statement, and whether one is running."""

    waiting: list[tuple[tuple[int, ...], "asyncio.Future[CatalogVersions]"]] = field(
        default_factory=list
    )
    runner: "asyncio.Task[None] | None" = None


def versions_from(rows: Iterable[Sequence[int]], product_ids: tuple[int, ...]) -> CatalogVersions:
    """One check's versions, out of the rows of a statement shared with others."""
    counters = (0, 0)
    versions: dict[int, int] = {}
    for product_id, first, second in rows:
        if product_id == COUNTERS_ROW:
            counters = (first, second)
        else:
            versions[product_id] = first
    products = sum(versions.get(product_id, 0) for product_id in product_ids)
    return CatalogVersions(int(counters[0]), int(counters[1]), int(products))


class SharedChecks:
    """Catalog version checks of anonymous reads, batched into one statement at a time."""

    def __init__(self, database: Database, read_batch: BatchReader | None = None) -> None:
        self.database = database
        self.read_batch = read_batch or self._read
        self._queue: tuple[asyncio.AbstractEventLoop, _Queue] | None = None
        self.statements = 0  # how many shared statements ran (tests, metrics)

    async def versions(self, product_ids: tuple[int, ...]) -> CatalogVersions:
        """The catalog versions (those of `product_ids` summed), read by a statement that
        started after this call."""
        queue = self._current()
        answer: asyncio.Future[CatalogVersions] = asyncio.get_running_loop().create_future()
        queue.waiting.append((product_ids, answer))
        if queue.runner is None:
            queue.runner = asyncio.create_task(self._run(queue))
        return await answer

    def _current(self) -> _Queue:
        # One queue per event loop (tests run several).
        loop = asyncio.get_running_loop()
        if self._queue is None or self._queue[0] is not loop:
            self._queue = (loop, _Queue())
        return self._queue[1]

    async def _run(self, queue: _Queue) -> None:
        try:
            while queue.waiting:
                batch, queue.waiting = queue.waiting, []
                asked = sorted({product_id for ids, _ in batch for product_id in ids})
                try:
                    self.statements += 1
                    rows = await self.read_batch(asked)
                except BaseException as error:
                    for _, answer in batch:
                        if not answer.done():
                            answer.set_exception(_as_exception(error))
                    if not isinstance(error, Exception):
                        raise
                    continue
                for product_ids, answer in batch:
                    if not answer.done():
                        answer.set_result(versions_from(rows, product_ids))
        finally:
            queue.runner = None
            # Left by a runner that was cancelled (shutdown): nobody would answer them.
            for _, answer in queue.waiting:
                if not answer.done():
                    answer.set_exception(RuntimeError("version check cancelled"))
            queue.waiting = []

    async def _read(self, product_ids: list[int]) -> Sequence[Sequence[int]]:
        dialect = self.database.engine.dialect.name
        parameter = product_ids_parameter(dialect, product_ids)
        async with reading(self.database) as read:
            rows = await read(versions_by_product(dialect), {"product_ids": parameter})
        return [tuple(row) for row in rows]


def _as_exception(error: BaseException) -> Exception:
    # A waiter's request fails as in an outage when the shared statement was cancelled.
    return error if isinstance(error, Exception) else RuntimeError("version check cancelled")
