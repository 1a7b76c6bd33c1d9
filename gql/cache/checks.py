"""The checks of catalog reads, shared: one round of statements answers every check asked
before it started.

A catalog read needs, before it is answered, the catalog versions (is a cached answer still
fresh?) and, with a token, the caller's session and permissions; both read by statements
that start after its request arrived, so that an answer is never older than a commit, and
never given to a session ended by one, that returned before the read began. A check asked
while a round runs waits for the next one, which starts when that one ends and carries
every check that queued meanwhile: under load, many reads per round trip instead of one
each, with the same guarantee.
"""

import asyncio
import contextvars
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from prometheus_client import Counter

from gql.auth.sessions import sessions_check
from gql.cache.versions import COUNTERS_ROW, CatalogVersions, versions_by_product
from gql.core.db import Database, list_parameter
from gql.core.driver import reading


@dataclass(frozen=True)
class Check:
    """What one read asks: the versions of these products (None: no versions), and the
    session of its token (session id, user id), if it came with one."""

    product_ids: tuple[int, ...] | None
    session: tuple[str, int] | None = None


@dataclass(frozen=True)
class Checked:
    """One read's answer: the catalog versions, and the `session_check` row of its caller
    (None without a token, or when no such session of that user exists)."""

    versions: CatalogVersions | None
    session_row: Sequence[Any] | None = None


@dataclass(frozen=True)
class Round:
    """What one round of statements read: the catalog's counters (edits, availability;
    None when no check asked for versions), the version of each product asked about, and
    per session id its user id followed by the columns of `session_check`."""

    counters: tuple[int, int] | None
    versions: dict[int, int]
    sessions: dict[str, Sequence[Any]]


# Runs one round: the product ids whose versions (None: none), the session ids to check.
RoundReader = Callable[[list[int] | None, list[str]], Awaitable[Round]]


@dataclass
class _Queue:
    """The checks waiting for the next round, and whether one is running."""

    waiting: list[tuple[Check, "asyncio.Future[Checked]"]] = field(default_factory=list)
    runner: "asyncio.Task[None] | None" = None


def answer_of(check: Check, read: Round) -> Checked:
    """One check's answer, out of a round shared with others."""
    versions = None
    if check.product_ids is not None and read.counters is not None:
        products = sum(read.versions.get(product_id, 0) for product_id in check.product_ids)
        versions = CatalogVersions(*read.counters, products)
    row = None
    if check.session is not None:
        session_id, user_id = check.session
        found = read.sessions.get(session_id)
        row = found[1:] if found is not None and found[0] == user_id else None
    return Checked(versions, row)


class SharedChecks:
    """The version and session checks of catalog reads, one round of statements at a time."""

    def __init__(
        self,
        database: Database,
        read_round: RoundReader | None = None,
        counter: Counter | None = None,
    ) -> None:
        self.database = database
        self.read_round = read_round or self._read
        self.counter = counter
        self._queue: tuple[asyncio.AbstractEventLoop, _Queue] | None = None
        self.rounds = 0  # how many rounds ran

    async def check(self, check: Check) -> Checked:
        """The answer to `check`, read by statements that started after this call."""
        queue = self._current()
        answer: asyncio.Future[Checked] = asyncio.get_running_loop().create_future()
        queue.waiting.append((check, answer))
        if queue.runner is None:
            # In a context of its own: it outlives the request that started it.
            queue.runner = asyncio.create_task(self._run(queue), context=contextvars.Context())
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
                await self._answer(batch)
        finally:
            queue.runner = None
            # Left by a runner that was cancelled (shutdown): nobody would answer them.
            for _, answer in queue.waiting:
                if not answer.done():
                    answer.set_exception(RuntimeError("check cancelled"))
            queue.waiting = []

    async def _answer(self, batch: list[tuple[Check, "asyncio.Future[Checked]"]]) -> None:
        wanted = [check.product_ids for check, _ in batch if check.product_ids is not None]
        product_ids = sorted({i for ids in wanted for i in ids}) if wanted else None
        session_ids = sorted({check.session[0] for check, _ in batch if check.session})
        self.rounds += 1
        if self.counter is not None:
            self.counter.inc()
        try:
            read = await self.read_round(product_ids, session_ids)
        except BaseException as error:
            failure = error if isinstance(error, Exception) else RuntimeError("check cancelled")
            for _, answer in batch:
                if not answer.done():
                    answer.set_exception(failure)
            if not isinstance(error, Exception):
                raise
            return
        for check, answer in batch:
            if not answer.done():
                answer.set_result(answer_of(check, read))

    async def _read(self, product_ids: list[int] | None, session_ids: list[str]) -> Round:
        dialect = self.database.engine.dialect.name
        counters = None
        versions: dict[int, int] = {}
        sessions: dict[str, Sequence[Any]] = {}
        async with reading(self.database) as read:
            if product_ids is not None:
                parameter = list_parameter(dialect, product_ids)
                for key, first, second in await read(
                    versions_by_product(dialect), {"product_ids": parameter}
                ):
                    if key == COUNTERS_ROW:
                        counters = (int(first), int(second))
                    else:
                        versions[key] = int(first)
            if session_ids:
                parameter = list_parameter(dialect, session_ids)
                for row in await read(sessions_check(dialect), {"session_ids": parameter}):
                    sessions[row[0]] = tuple(row[1:])
        return Round(counters, versions, sessions)
