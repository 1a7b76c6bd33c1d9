"""Version checks of anonymous catalog reads share statements, never with a read that
arrived after the statement started."""

import asyncio
from collections.abc import Sequence

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from gql.cache.checks import SharedChecks
from gql.cache.versions import COUNTERS_ROW
from gql.core.db import Database
from tests.conftest import StatementCounter
from tests.factories import make_product

PRODUCTS = "{ products(first: 10) { edges { node { id name price inStock } } } }"


class ControlledStatements:
    """Shared statements that finish when the test says so: statement n reads edits = n."""

    def __init__(self) -> None:
        self.asked: list[list[int]] = []
        self.release: list[asyncio.Event] = []
        self.fail_next = False

    async def __call__(self, product_ids: list[int]) -> Sequence[Sequence[int]]:
        self.asked.append(product_ids)
        released = asyncio.Event()
        self.release.append(released)
        await released.wait()
        if self.fail_next:
            self.fail_next = False
            raise ConnectionError("the database went away")
        number = len(self.asked)
        return [(COUNTERS_ROW, number, 0), *((i, 10 * number + i, 0) for i in product_ids)]

    async def started(self, count: int) -> None:
        """Wait until `count` statements have started."""
        while len(self.asked) < count:
            await asyncio.sleep(0)


async def test_a_check_asked_while_a_statement_runs_waits_for_the_next_one(db: Database) -> None:
    # given: a statement under way for the first check
    statements = ControlledStatements()
    checks = SharedChecks(db, statements)
    first = asyncio.create_task(checks.versions((1,)))
    await statements.started(1)
    # when: two more checks are asked while it runs
    second = asyncio.create_task(checks.versions((2,)))
    third = asyncio.create_task(checks.versions((1, 2)))
    await asyncio.sleep(0)
    statements.release[0].set()
    # then: the first statement answers only the first; the next one answers both others
    assert (await first).edits == 1
    assert (await first).products == 11
    await statements.started(2)
    assert statements.asked == [[1], [1, 2]]
    statements.release[1].set()
    assert ((await second).edits, (await second).products) == (2, 22)
    assert ((await third).edits, (await third).products) == (2, 21 + 22)
    assert checks.statements == 2


async def test_a_failed_statement_fails_its_checks_and_the_next_one_runs(db: Database) -> None:
    statements = ControlledStatements()
    checks = SharedChecks(db, statements)
    statements.fail_next = True
    failing = asyncio.create_task(checks.versions(()))
    await statements.started(1)
    statements.release[0].set()
    with pytest.raises(ConnectionError):
        await failing
    # when: the next check is asked
    following = asyncio.create_task(checks.versions(()))
    await statements.started(2)
    statements.release[1].set()
    # then
    assert (await following).edits == 2


async def test_a_cancelled_read_leaves_the_others_of_its_statement_answered(
    db: Database,
) -> None:
    statements = ControlledStatements()
    checks = SharedChecks(db, statements)
    first = asyncio.create_task(checks.versions(()))
    await statements.started(1)
    leaving = asyncio.create_task(checks.versions(()))
    staying = asyncio.create_task(checks.versions(()))
    await asyncio.sleep(0)
    leaving.cancel()
    statements.release[0].set()
    await first
    await statements.started(2)
    statements.release[1].set()
    assert (await staying).edits == 2
    assert leaving.cancelled()


async def test_the_shared_statement_reads_the_counters_and_each_products_version(
    db: Database, session: AsyncSession
) -> None:
    # given
    a = await make_product(session, "A")
    b = await make_product(session, "B")
    checks = SharedChecks(db)
    # when: one statement for both products, and one for a product that does not exist
    both, alone, missing = await asyncio.gather(
        checks.versions((a.id, b.id)), checks.versions((a.id,)), checks.versions((10**6,))
    )
    # then: each check sums its own products' versions (1 each when made)
    assert (both.products, alone.products, missing.products) == (2, 1, 0)
    assert both.edits == alone.edits == missing.edits > 0
    assert checks.statements == 1


async def test_concurrent_anonymous_hits_share_their_statements(
    client: httpx.AsyncClient, session: AsyncSession, statements: StatementCounter
) -> None:
    # given: a cached answer
    await make_product(session, "A", images=1)
    first = await client.post("/graphql", json={"query": PRODUCTS})
    # when: 20 anonymous callers ask for it at once
    statements.reset()
    answers = await asyncio.gather(
        *(client.post("/graphql", json={"query": PRODUCTS}) for _ in range(20))
    )
    # then: the same answer for all, from fewer statements than reads
    assert {answer.content for answer in answers} == {first.content}
    assert {answer.headers["etag"] for answer in answers} == {first.headers["etag"]}
    assert statements.count < 20, statements.statements
