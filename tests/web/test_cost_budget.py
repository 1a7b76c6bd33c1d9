"""The cost of every answer (`extensions.cost`) and the cost budget of each caller: a leaky
bucket per user, or per address, that refuses an operation it cannot pay with RATE_LIMITED
before anything runs, refills at the configured rate, and is shared by processes on
PostgreSQL."""

import asyncio
import hashlib
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from pydantic import ValidationError
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from gql.auth.models import User
from gql.auth.sessions import AuthTools
from gql.core.config import Settings
from gql.core.db import Database, new_session
from gql.inventory.models import MovementReason
from gql.inventory.service import adjust_stock
from gql.main import create_app
from gql.web.costbudget import CostBucket, CostBudget
from tests.conftest import ServerFactory, StatementCounter, make_settings
from tests.factories import PASSWORD, make_product, signed_in
from tests.servers import ServerProcess
from tests.ws import GraphQLWebSocket

# Costs, by the rule of the query limits: each field 1, a connection's subtree times `first`.
PRODUCTS = "{ products(first: 3) { edges { node { name } } } }"  # 1 + 3 x (1 + 2) = 10
SPEND = "{ products(first: 16) { edges { node { name } } } }"  # 1 + 16 x 3 = 49
TEN = "{ products(first: 10) { edges { node { name } } } }"  # 31
# Not a catalog read (the response cache does not look at it): nothing reads the database
# before it executes.
ME_AND_PRODUCTS = "{ me { email } products(first: 3) { edges { node { name } } } }"  # 12
REGISTER = """
mutation($input: RegisterInput!) { register(input: $input) { ... on AuthPayload { accessToken } } }
"""  # 2
STOCK_CHANGED = """
subscription($after: ID) { stockChanged(after: $after) { quantityAfter reason } }
"""  # 3

MAXIMUM, RATE = 100, 4
BUDGET = {"max_query_cost": 50, "cost_budget_maximum": MAXIMUM, "cost_restore_rate": RATE}


class Clock:
    """Seconds that move only when told."""

    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


def status(available: int) -> dict[str, int]:
    """The throttle status of a caller with `available` points left."""
    return {"maximumAvailable": MAXIMUM, "currentlyAvailable": available, "restoreRate": RATE}


def cost(requested: int, available: int) -> dict[str, Any]:
    """`extensions.cost` of an answer."""
    return {"cost": {"requestedQueryCost": requested, "throttleStatus": status(available)}}


def _budgeted_app(db: Database, settings: Settings, auth_tools: AuthTools, clock: Clock) -> Any:
    app = create_app(make_settings(settings.database_url, **BUDGET), database=db, auth=auth_tools)
    app.state.cost_budget.clock = clock
    return app


def _client(app: Any, address: str = "10.0.0.1") -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, client=(address, 40000))
    return httpx.AsyncClient(transport=transport, base_url="http://testserver")


@pytest.fixture
def budget_clock() -> Clock:
    """The clock of the budgets under test."""
    return Clock()


@pytest.fixture
def budgeted(db: Database, settings: Settings, auth_tools: AuthTools, budget_clock: Clock) -> Any:
    """An app whose callers have 100 points each, 4 restored a second (on budget_clock)."""
    return _budgeted_app(db, settings, auth_tools, budget_clock)


@pytest.fixture
async def caller(budgeted: Any) -> AsyncIterator[httpx.AsyncClient]:
    """A client of the budgeted app, from 10.0.0.1."""
    async with _client(budgeted) as client:
        yield client


async def _post(
    client: httpx.AsyncClient,
    query: str,
    variables: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
) -> httpx.Response:
    return await client.post(
        "/graphql", json={"query": query, "variables": variables or {}}, headers=headers
    )


def _new_account(email: str) -> dict[str, Any]:
    return {"input": {"email": email, "password": PASSWORD}}


# --- extensions.cost on every answer ------------------------------------------------------


async def test_a_query_reports_its_cost_and_the_callers_budget(
    caller: httpx.AsyncClient,
) -> None:
    # when
    first = (await _post(caller, PRODUCTS)).json()
    second = (await _post(caller, "{ products(first: 4) { edges { node { name } } } }")).json()
    # then: each took its cost from the 100 points
    assert first["extensions"] == cost(10, 90)
    assert second["extensions"] == cost(13, 77)
    assert "errors" not in first and "errors" not in second


async def test_a_mutation_reports_its_cost(caller: httpx.AsyncClient) -> None:
    # when
    body = (await _post(caller, REGISTER, _new_account("ada@example.com"))).json()
    # then
    assert body["data"]["register"]["accessToken"]
    assert body["extensions"] == cost(2, 98)


async def test_a_cached_answer_carries_the_callers_own_cost(
    budgeted: Any, session: AsyncSession, statements: StatementCounter
) -> None:
    # given: an answer in the response cache, computed for one client
    await make_product(session, "A")
    async with _client(budgeted, "10.0.0.1") as first, _client(budgeted, "10.0.0.2") as second:
        computed = await _post(first, PRODUCTS)
        # when: it is served again, to that client and to another
        statements.reset()
        again = await _post(first, PRODUCTS)
        other = await _post(second, PRODUCTS)
        # then: served from the cache (one statement each: the version check) ...
        assert statements.count == 2, statements.statements
        # ... the same answer and ETag, each with its caller's own figures
        assert computed.json()["extensions"] == cost(10, 90)
        assert again.json()["extensions"] == cost(10, 80)
        assert other.json()["extensions"] == cost(10, 90)
        assert computed.json()["data"] == again.json()["data"] == other.json()["data"]
        assert computed.headers["etag"] == again.headers["etag"] == other.headers["etag"]
        assert int(again.headers["content-length"]) == len(again.content)
        # and a revalidation (304, no body) is charged like any answer
        etag = again.headers["etag"]
        assert (await _post(first, PRODUCTS, headers={"If-None-Match": etag})).status_code == 304
        assert (await _post(first, PRODUCTS)).json()["extensions"] == cost(10, 60)


async def test_a_persisted_query_reports_its_cost(caller: httpx.AsyncClient) -> None:
    # given: a query registered by its hash
    digest = hashlib.sha256(PRODUCTS.encode()).hexdigest()
    persisted = {"persistedQuery": {"version": 1, "sha256Hash": digest}}
    registered = await caller.post("/graphql", json={"query": PRODUCTS, "extensions": persisted})
    # when: sent by hash alone
    by_hash = await caller.post("/graphql", json={"extensions": persisted})
    # then
    assert registered.json()["extensions"] == cost(10, 90)
    assert by_hash.json()["extensions"] == cost(10, 80)
    assert by_hash.json()["data"] == registered.json()["data"]


async def test_the_cost_is_reported_when_the_budget_is_off(client: httpx.AsyncClient) -> None:
    # when: the tests' own settings (COST_BUDGET_MAXIMUM=0)
    body = (await _post(client, PRODUCTS)).json()
    # then: the cost, and no budget
    assert body["extensions"] == {"cost": {"requestedQueryCost": 10}}


async def test_a_query_over_the_cost_limit_reports_its_cost_and_is_not_charged(
    caller: httpx.AsyncClient,
) -> None:
    # when: 1 + 20 x 3 = 61, over MAX_QUERY_COST (50)
    refused = (await _post(caller, "{ products(first: 20) { edges { node { name } } } }")).json()
    # then
    assert [e["extensions"]["code"] for e in refused["errors"]] == ["QUERY_TOO_COMPLEX"]
    assert refused["extensions"] == {"cost": {"requestedQueryCost": 61}}
    assert (await _post(caller, PRODUCTS)).json()["extensions"] == cost(10, 90)


def test_the_maximum_holds_the_costliest_query_or_is_off() -> None:
    with pytest.raises(ValidationError, match="COST_BUDGET_MAXIMUM"):
        Settings(max_query_cost=500, cost_budget_maximum=499, _env_file=None)  # type: ignore[call-arg]
    Settings(max_query_cost=500, cost_budget_maximum=500, _env_file=None)  # type: ignore[call-arg]
    assert not CostBudget(0, 1).enabled


# --- over budget ---------------------------------------------------------------------------


async def test_a_caller_over_budget_is_refused_before_anything_runs(
    caller: httpx.AsyncClient, statements: StatementCounter
) -> None:
    # given: 98 of 100 points spent
    for _ in range(2):
        assert "errors" not in (await _post(caller, SPEND)).json()
    # when
    statements.reset()
    refused = await _post(caller, ME_AND_PRODUCTS)
    # then: 429 with Retry-After, RATE_LIMITED with retryAfter, and no SQL at all
    assert refused.status_code == 429
    body = refused.json()
    retry_after = (12 - 2 + RATE - 1) // RATE  # 10 points missing, 4 a second: 3 s
    assert refused.headers["retry-after"] == str(retry_after)
    (error,) = body["errors"]
    assert error["extensions"] == {"code": "RATE_LIMITED", "retryAfter": retry_after}
    assert "data" not in body
    assert body["extensions"] == cost(12, 2)
    assert statements.count == 0, statements.statements


async def test_a_mutation_refused_for_its_cost_writes_nothing(
    caller: httpx.AsyncClient, session: AsyncSession
) -> None:
    # given: 98 points spent, 1 more by a query that fits
    for _ in range(2):
        await _post(caller, SPEND)
    assert (await _post(caller, "{ products(first: 0) { totalCount } }")).json()["extensions"] == (
        cost(1, 1)
    )
    # when: a registration, which costs 2
    refused = await _post(caller, REGISTER, _new_account("late@example.com"))
    # then: refused, and no account was made
    assert refused.status_code == 429
    assert [e["extensions"]["code"] for e in refused.json()["errors"]] == ["RATE_LIMITED"]
    assert await session.scalar(select(func.count()).select_from(User)) == 0


async def test_the_budget_recovers_at_the_restore_rate(
    caller: httpx.AsyncClient, budget_clock: Clock
) -> None:
    # given: a spent budget (2 points left)
    for _ in range(2):
        await _post(caller, SPEND)
    assert (await _post(caller, PRODUCTS)).json()["errors"][0]["extensions"]["retryAfter"] == 2
    # when: 1.5 s later, 6 points are back: still short of 10
    budget_clock.now += 1.5
    short = (await _post(caller, PRODUCTS)).json()
    # then
    assert short["errors"][0]["extensions"] == {"code": "RATE_LIMITED", "retryAfter": 1}
    assert short["extensions"] == cost(10, 8)
    # when: 0.5 s more, 10 points: the query runs and takes them
    budget_clock.now += 0.5
    assert (await _post(caller, PRODUCTS)).json()["extensions"] == cost(10, 0)
    # and after 25 s the bucket is full again, and no fuller
    budget_clock.now += 25
    assert (await _post(caller, PRODUCTS)).json()["extensions"] == cost(10, 90)


async def test_signed_in_callers_have_their_own_budgets_and_the_anonymous_their_address(
    budgeted: Any, db: Database
) -> None:
    async with _client(budgeted, "10.0.0.1") as here, _client(budgeted, "10.0.0.2") as there:
        # given: two users signed in from one address (2 points each from the address)
        ada = await signed_in(here, db, "ada@example.com")
        bob = await signed_in(here, db, "bob@example.com")
        # when: Ada spends her budget
        for _ in range(2):
            assert "errors" not in (await _post(here, SPEND, headers=ada)).json()
        # then: Ada is refused, wherever she calls from ...
        assert (await _post(here, PRODUCTS, headers=ada)).status_code == 429
        assert (await _post(there, PRODUCTS, headers=ada)).status_code == 429
        # ... Bob, the anonymous callers of her address and those of another are not
        assert (await _post(here, PRODUCTS, headers=bob)).json()["extensions"] == cost(10, 90)
        assert (await _post(here, PRODUCTS)).json()["extensions"] == cost(10, 86)
        assert (await _post(there, PRODUCTS)).json()["extensions"] == cost(10, 90)


# --- WebSockets ----------------------------------------------------------------------------


async def _budgeted_server(server_with: ServerFactory, clock: Clock) -> Any:
    server = await server_with(**BUDGET)
    server.app.state.cost_budget.clock = clock
    return server


async def test_websocket_queries_and_mutations_report_and_spend_their_cost(
    server_with: ServerFactory, budget_clock: Clock
) -> None:
    # given
    server = await _budgeted_server(server_with, budget_clock)
    async with GraphQLWebSocket(server.ws_url) as ws:
        # when
        await ws.subscribe("q", PRODUCTS)
        query = await ws.receive_for("q")
        await ws.subscribe("m", REGISTER, _new_account("ws@example.com"))
        mutation = await ws.receive_for("m")
        # then
        assert query["type"] == "next"
        assert query["payload"]["extensions"] == cost(10, 90)
        assert mutation["payload"]["data"]["register"]["accessToken"]
        assert mutation["payload"]["extensions"] == cost(2, 88)
        # and over budget, a query is refused in its `next` message, then completed
        for n, query in enumerate((SPEND, TEN)):
            await ws.subscribe(f"s{n}", query)
            assert "errors" not in (await ws.receive_for(f"s{n}"))["payload"]
        await ws.subscribe("r", PRODUCTS)
        refused = await ws.receive_for("r")
        assert refused["type"] == "next"
        assert [e["extensions"]["code"] for e in refused["payload"]["errors"]] == ["RATE_LIMITED"]
        assert refused["payload"]["extensions"] == cost(10, 8)
        assert (await ws.receive_for("r"))["type"] == "complete"


async def test_a_subscription_reports_its_cost_on_its_first_message_only(
    server_with: ServerFactory,
    budget_clock: Clock,
    client: httpx.AsyncClient,
    db: Database,
    session: AsyncSession,
) -> None:
    # given: a product (its opening stock is in the ledger) and a staff member
    server = await _budgeted_server(server_with, budget_clock)
    product = await make_product(session, "P", stock=5)
    staff = await signed_in(client, db, "staff@example.com", "staff")
    token = staff["Authorization"].removeprefix("Bearer ")
    async with GraphQLWebSocket(server.ws_url, token) as ws:
        # when: one subscription replays the ledger first, the other only follows
        await ws.subscribe("replayed", STOCK_CHANGED, {"after": "0"})
        (opening,) = await ws.events("replayed", 1)
        await ws.subscribe("live", STOCK_CHANGED)
        await server.wait_for_subscribers(2)
        async with new_session(db, write=True) as writer:
            await adjust_stock(writer, product.id, 2, MovementReason.RESTOCK, actor_id=None)
            await writer.commit()
        (replayed,) = await ws.events("replayed", 1)
        (live,) = await ws.events("live", 1)
    # then: each one's first message carries its cost (the live one's in the frame its
    # group shares); the next ones do not
    assert opening["data"]["stockChanged"]["quantityAfter"] == 5
    assert opening["extensions"] == cost(3, 97)
    assert "extensions" not in replayed
    assert (
        live["data"]
        == replayed["data"]
        == {"stockChanged": {"quantityAfter": 7, "reason": "RESTOCK"}}
    )
    assert live["extensions"] == cost(3, 94)


async def test_a_subscription_over_budget_is_refused_and_never_starts(
    server_with: ServerFactory, budget_clock: Clock, client: httpx.AsyncClient, db: Database
) -> None:
    # given: a staff member whose budget is spent (over HTTP: one budget for both)
    server = await _budgeted_server(server_with, budget_clock)
    staff = await signed_in(client, db, "staff@example.com", "staff")
    async with httpx.AsyncClient(base_url=server.http_url) as http:
        for _ in range(2):
            assert "errors" not in (await _post(http, SPEND, headers=staff)).json()
        assert (await _post(http, SPEND, headers=staff)).status_code == 429
    token = staff["Authorization"].removeprefix("Bearer ")
    async with GraphQLWebSocket(server.ws_url, token) as ws:
        # when
        await ws.subscribe("s", STOCK_CHANGED)
        refused = await ws.receive_for("s")
        # then
        assert refused["type"] == "next"
        (error,) = refused["payload"]["errors"]
        assert error["extensions"] == {"code": "RATE_LIMITED", "retryAfter": 1}
        assert refused["payload"]["extensions"] == cost(3, 2)
        assert (await ws.receive_for("s"))["type"] == "complete"
    assert not server.app.state.hub.subscribers


# --- shared by processes (PostgreSQL) -----------------------------------------------------


@pytest.mark.postgres_only
async def test_processes_share_the_budget_and_its_recovery(backend: str, db: Database) -> None:
    # given: one budget as two processes see it, on one clock
    clock = Clock()
    first, second = CostBudget(MAXIMUM, RATE, clock), CostBudget(MAXIMUM, RATE, clock)
    caller = "address:10.0.0.1"
    # when: 60 points spent through the first, shared; 30 through the second, which did
    # not know yet (the documented bound: it learns at its next sync)
    assert first.charge(caller, 60)[1] is None
    await first.sync(db)
    assert second.charge(caller, 30) == (status(70), None)
    await second.sync(db)
    # then: the second knows of all 90 ...
    assert second.charge(caller, 20) == (status(10), 3)
    # ... and the first too, once it shares again
    await first.sync(db)
    assert first.available(caller) == 10
    # when: 5 s pass, 20 points come back, in the shared row as in both processes
    clock.now += 5
    await first.sync(db)
    await second.sync(db)
    assert first.available(caller) == second.available(caller) == 30
    async with new_session(db, write=False) as session:
        row = (await session.execute(select(CostBucket.spent, CostBucket.updated_at))).one()
    assert (row.spent, row.updated_at) == (70, clock.now)
    # and once full again, the row goes (and the processes forget the caller)
    clock.now += 70 / RATE
    await first.sync(db)
    async with new_session(db, write=False) as session:
        assert await session.scalar(select(func.count()).select_from(CostBucket)) == 0
    assert first.charge(caller, 10) == (status(90), None)


@pytest.mark.postgres_only
async def test_charges_survive_a_failed_sync(backend: str, db: Database) -> None:
    # given: charges that could not be shared (the database refused)
    budget = CostBudget(MAXIMUM, RATE, Clock())
    budget.charge("address:10.0.0.9", 25)
    broken = Database(make_settings("postgresql+asyncpg://postgres@127.0.0.1:1/none"))
    with pytest.raises(OSError):
        await budget.sync(broken)
    await broken.dispose()
    # when the database is back
    await budget.sync(db)
    # then nothing was lost
    async with new_session(db, write=False) as session:
        assert await session.scalar(select(CostBucket.spent)) == 25


@pytest.mark.postgres_only
async def test_two_server_processes_share_a_callers_budget(
    backend: str, db: Database, database_url: str
) -> None:
    # given: two `gql serve` processes on one PostgreSQL database, 100 points restored at
    # 1 a second, shared every 0.1 s
    env = {
        "DATABASE_URL": database_url,
        "MAX_QUERY_COST": "50",
        "COST_BUDGET_MAXIMUM": "100",
        "COST_RESTORE_RATE": "1",
        "RATE_LIMIT_SYNC_SECONDS": "0.1",
        "RESPONSE_CACHE": "false",
        "LOG_LEVEL": "WARNING",
    }
    servers = [ServerProcess(env), ServerProcess(env)]
    try:
        for server in servers:
            server.start()
        async with (
            httpx.AsyncClient(base_url=servers[0].url) as first,
            httpx.AsyncClient(base_url=servers[1].url) as second,
        ):
            # when: a client spends 98 points through the first process
            for _ in range(2):
                assert "errors" not in (await _post(first, SPEND)).json()
            # then: the second process refuses it too, once they have shared; before that
            # it admits at most what it believed was left (the documented bound). The
            # guard only ends a hang.
            answers = []
            async with asyncio.timeout(20):
                while not answers or answers[-1].status_code != 429:
                    answers.append(await _post(second, PRODUCTS))
                    await asyncio.sleep(0.05)
            assert 10 * len([a for a in answers if a.status_code == 200]) <= 100
            refused = answers[-1].json()
            assert refused["errors"][0]["extensions"]["code"] == "RATE_LIMITED"
            assert refused["extensions"]["cost"]["throttleStatus"]["currentlyAvailable"] < 10
    finally:
        logs = [server.stop()[1] for server in servers]
    assert not any("Traceback" in log for log in logs), logs
