"""The checks of catalog reads (versions, sessions) share statements, never with a read
that arrived after they started."""

import asyncio

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from gql.cache.checks import Check, Checked, Round, SharedChecks
from gql.cache.versions import CatalogVersions
from gql.core.db import Database
from gql.core.observability import RequestRecord, current_request
from tests.conftest import StatementCounter
from tests.factories import make_product, signed_in

PRODUCTS = "{ products(first: 10) { edges { node { id name price inStock } } } }"


class ControlledRounds:
    """Rounds of checks that finish when the test says so: round n reads edits = n and
    product i at version 10n + i."""

    def __init__(self) -> None:
        self.asked: list[tuple[list[int] | None, list[str]]] = []
        self.release: list[asyncio.Event] = []
        self.fail_next = False

    async def __call__(self, product_ids: list[int] | None, session_ids: list[str]) -> Round:
        self.asked.append((product_ids, session_ids))
        released = asyncio.Event()
        self.release.append(released)
        await released.wait()
        if self.fail_next:
            self.fail_next = False
            raise ConnectionError("the database went away")
        number = len(self.asked)
        versions = {i: 10 * number + i for i in product_ids or ()}
        sessions = {s: (7, f"row of {s} in round {number}") for s in session_ids}
        return Round((number, 0) if product_ids is not None else None, versions, sessions)

    async def started(self, count: int) -> None:
        """Wait until `count` rounds have started."""
        while len(self.asked) < count:
            await asyncio.sleep(0)


async def test_a_check_asked_while_a_statement_runs_waits_for_the_next_one(db: Database) -> None:
    # given: a statement under way for the first check
    statements = ControlledRounds()
    checks = SharedChecks(db, statements)
    first = asyncio.create_task(checks.check(Check((1,))))
    await statements.started(1)
    # when: three more checks are asked while it runs, two with a token
    second = asyncio.create_task(checks.check(Check((2,))))
    third = asyncio.create_task(checks.check(Check((1, 2), ("s1", 7))))
    fourth = asyncio.create_task(checks.check(Check(None, ("s2", 8))))
    await asyncio.sleep(0)
    statements.release[0].set()
    # then: the first round answers only the first; the next one answers the others
    assert (await first).versions == CatalogVersions(1, 0, 11)
    await statements.started(2)
    assert statements.asked == [([1], []), ([1, 2], ["s1", "s2"])]
    statements.release[1].set()
    assert (await second).versions == CatalogVersions(2, 0, 22)
    assert (await third) == Checked(CatalogVersions(2, 0, 21 + 22), ("row of s1 in round 2",))
    # a session of another user than the token's is no session
    assert (await fourth) == Checked(None, None)
    assert checks.rounds == 2


async def test_a_failed_statement_fails_its_checks_and_the_next_one_runs(db: Database) -> None:
    statements = ControlledRounds()
    checks = SharedChecks(db, statements)
    statements.fail_next = True
    failing = asyncio.create_task(checks.check(Check(())))
    await statements.started(1)
    statements.release[0].set()
    with pytest.raises(ConnectionError):
        await failing
    # when: the next check is asked
    following = asyncio.create_task(checks.check(Check(())))
    await statements.started(2)
    statements.release[1].set()
    # then
    assert (await following).versions == CatalogVersions(2, 0, 0)


async def test_a_cancelled_read_leaves_the_others_of_its_statement_answered(
    db: Database,
) -> None:
    statements = ControlledRounds()
    checks = SharedChecks(db, statements)
    first = asyncio.create_task(checks.check(Check(())))
    await statements.started(1)
    leaving = asyncio.create_task(checks.check(Check(())))
    staying = asyncio.create_task(checks.check(Check(())))
    await asyncio.sleep(0)
    leaving.cancel()
    statements.release[0].set()
    await first
    await statements.started(2)
    statements.release[1].set()
    assert (await staying).versions == CatalogVersions(2, 0, 0)
    assert leaving.cancelled()


async def test_the_shared_statement_reads_the_counters_and_each_products_version(
    db: Database, session: AsyncSession
) -> None:
    # given
    a = await make_product(session, "A")
    b = await make_product(session, "B")
    checks = SharedChecks(db)
    # when: one statement for both products, and one for a product that does not exist
    both, alone, missing = (
        checked.versions
        for checked in await asyncio.gather(
            checks.check(Check((a.id, b.id))),
            checks.check(Check((a.id,))),
            checks.check(Check((10**6,))),
        )
    )
    # then: each check sums its own products' versions (1 each when made)
    assert both is not None and alone is not None and missing is not None
    assert (both.products, alone.products, missing.products) == (2, 1, 0)
    assert both.edits == alone.edits == missing.edits > 0
    assert checks.rounds == 1


async def test_concurrent_hits_share_their_statements(
    client: httpx.AsyncClient, session: AsyncSession, db: Database, statements: StatementCounter
) -> None:
    # given: a cached answer, and two signed-in customers
    await make_product(session, "A", images=1)
    customers = [await signed_in(client, db, f"c{n}@example.com") for n in range(2)]
    first = await client.post("/graphql", json={"query": PRODUCTS})
    # when: 30 callers ask for it at once, a third of them with each token
    statements.reset()
    callers = [None, *customers] * 10
    answers = await asyncio.gather(
        *(client.post("/graphql", json={"query": PRODUCTS}, headers=h) for h in callers)
    )
    # then: the same answer for all, from a round of two statements, not one per read
    assert {answer.content for answer in answers} == {first.content}
    assert {answer.headers["etag"] for answer in answers} == {first.headers["etag"]}
    assert statements.count <= 4, statements.statements


async def test_a_session_ended_while_reads_queue_is_refused_to_the_reads_after_it(
    client: httpx.AsyncClient, session: AsyncSession, db: Database
) -> None:
    # given: a customer's cached read
    await make_product(session, "A")
    customer = await signed_in(client, db, "c@example.com")
    assert (await client.post("/graphql", json={"query": PRODUCTS}, headers=customer)).json()[
        "data"
    ]
    # when: they log out, then read again at once, many times
    logout = await client.post(
        "/graphql", json={"query": "mutation { logout { revokedSessions } }"}, headers=customer
    )
    assert "errors" not in logout.json(), logout.json()
    answers = await asyncio.gather(
        *(client.post("/graphql", json={"query": PRODUCTS}, headers=customer) for _ in range(10))
    )
    # then: every read is refused
    for answer in answers:
        assert answer.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


async def test_rounds_run_outside_the_context_of_the_read_that_started_them(
    db: Database,
) -> None:
    # given: a read that runs with a request of its own in context
    seen: list[object] = []

    async def read_round(product_ids: list[int] | None, session_ids: list[str]) -> Round:
        seen.append(current_request.get())
        return Round((1, 0), {}, {})

    checks = SharedChecks(db, read_round)
    token = current_request.set(RequestRecord("the-first-request"))
    try:
        # when: it starts a round
        await checks.check(Check(()))
    finally:
        current_request.reset(token)
    # then: the round (which may outlive it, serving later reads) does not carry its request
    assert seen == [None]
