"""stockChanged over a real WebSocket: order, rollbacks, resume, auth, slow consumers."""

import asyncio
import base64
import contextlib
import os
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from websockets.exceptions import ConnectionClosed

from gql.auth.models import Role, User
from gql.core.db import Database
from gql.inventory.models import StockMovement
from gql.orders import service as orders_service
from tests.conftest import LiveServer, execute
from tests.factories import db_key, gid, make_product, signed_in
from tests.ws import GraphQLWebSocket, small_buffer_socket

STOCK_CHANGED = """
subscription($productIds: [ID!], $after: ID) {
  stockChanged(productIds: $productIds, after: $after) {
    id cursor delta quantityAfter reason product { id sku stock inStock }
  }
}
"""
ADJUST = """
mutation($productId: ID!, $delta: Int!, $reason: StockMovementReason!) {
  adjustStock(productId: $productId, delta: $delta, reason: $reason) { __typename }
}
"""
PLACE = """
mutation($input: PlaceOrderInput!) { placeOrder(input: $input) { __typename } }
"""


def _token(headers: dict[str, str]) -> str:
    return headers["Authorization"].removeprefix("Bearer ")


async def _adjust(
    client: httpx.AsyncClient, headers: dict[str, str], product_id: int, delta: int
) -> str:
    body = await execute(
        client,
        ADJUST,
        {"productId": gid("Product", product_id), "delta": delta, "reason": "ADJUSTMENT"},
        headers,
    )
    typename: str = body["data"]["adjustStock"]["__typename"]
    return typename


def _moves(payloads: list[dict[str, Any]]) -> list[tuple[int, int]]:
    return [
        (p["data"]["stockChanged"]["delta"], p["data"]["stockChanged"]["quantityAfter"])
        for p in payloads
    ]


@pytest.fixture
async def staff(client: httpx.AsyncClient, db: Database) -> dict[str, str]:
    return await signed_in(client, db, "staff@example.com", "staff")


async def test_n_changes_arrive_as_n_events_in_order(
    live_server: LiveServer, client: httpx.AsyncClient, session: AsyncSession, staff: dict[str, str]
) -> None:
    # given
    product = await make_product(session, "P", stock=10)
    other = await make_product(session, "O", stock=10)
    async with GraphQLWebSocket(live_server.ws_url, _token(staff)) as ws:
        await ws.subscribe("all", STOCK_CHANGED)
        await ws.subscribe("one", STOCK_CHANGED, {"productIds": [gid("Product", product.id)]})
        await live_server.wait_for_subscribers(2)
        # when
        for delta in (5, -3, 7, -1):
            assert await _adjust(client, staff, product.id, delta) == "AdjustStockSuccess"
        assert await _adjust(client, staff, other.id, 1) == "AdjustStockSuccess"
        # then
        one = await ws.events("one", 4)
        assert _moves(one) == [(5, 15), (-3, 12), (7, 19), (-1, 18)]
        assert one[-1]["data"]["stockChanged"]["product"] == {
            "id": gid("Product", product.id),
            "sku": "P",
            "stock": 18,
            "inStock": True,
        }
        ids = [int(db_key(p["data"]["stockChanged"]["id"])) for p in one]
        assert ids == sorted(ids)
        # the unfiltered one sees every event, the other product's too, in order
        everything = await ws.events("all", 5)
        assert [p["data"]["stockChanged"]["product"]["sku"] for p in everything] == ["P"] * 4 + [
            "O"
        ]


async def test_a_rolled_back_change_publishes_nothing(
    live_server: LiveServer,
    client: httpx.AsyncClient,
    db: Database,
    session: AsyncSession,
    staff: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    product = await make_product(session, "P", stock=2)
    customer = await signed_in(client, db, "buyer@example.com")
    async with GraphQLWebSocket(live_server.ws_url, _token(staff)) as ws:
        await ws.subscribe("s", STOCK_CHANGED, {"productIds": [gid("Product", product.id)]})
        await live_server.wait_for_subscribers(1)
        # an order that fails after its ledger rows (and NOTIFY) were written, then rolled back
        original = orders_service.record_order

        async def then_fail(*args: Any, **kwargs: Any) -> Any:
            await original(*args, **kwargs)
            raise RuntimeError("after the ledger")

        monkeypatch.setattr(orders_service, "record_order", then_fail)
        failed = await execute(
            client,
            PLACE,
            {"input": {"lines": [{"productId": gid("Product", product.id), "quantity": 1}]}},
            customer,
        )
        assert failed["errors"][0]["extensions"]["code"] == "INTERNAL_SERVER_ERROR"
        # a refused adjustment
        assert await _adjust(client, staff, product.id, -5) == "InsufficientStockError"
        assert await ws.silent(1.5)
        # and the next committed change is the next event
        assert await _adjust(client, staff, product.id, 1) == "AdjustStockSuccess"
        assert _moves(await ws.events("s", 1)) == [(1, 3)]


async def test_resume_after_a_disconnect_gets_exactly_the_missed_events(
    live_server: LiveServer, client: httpx.AsyncClient, session: AsyncSession, staff: dict[str, str]
) -> None:
    product = await make_product(session, "P", stock=0)
    async with GraphQLWebSocket(live_server.ws_url, _token(staff)) as ws:
        await ws.subscribe("s", STOCK_CHANGED, {"productIds": [gid("Product", product.id)]})
        await live_server.wait_for_subscribers(1)
        await _adjust(client, staff, product.id, 1)
        await _adjust(client, staff, product.id, 2)
        seen = await ws.events("s", 2)
    last_seen = seen[-1]["data"]["stockChanged"]["id"]
    # while disconnected
    for delta in (3, 4, 5):
        await _adjust(client, staff, product.id, delta)
    async with GraphQLWebSocket(live_server.ws_url, _token(staff)) as ws:
        await ws.subscribe(
            "s", STOCK_CHANGED, {"productIds": [gid("Product", product.id)], "after": last_seen}
        )
        missed = await ws.events("s", 3)
        assert _moves(missed) == [(3, 6), (4, 10), (5, 15)]
        # then live, with no duplicate at the seam
        await _adjust(client, staff, product.id, 6)
        assert _moves(await ws.events("s", 1)) == [(6, 21)]
        assert await ws.silent(0.5)


async def test_replay_from_the_beginning_while_changes_keep_coming(
    live_server: LiveServer, client: httpx.AsyncClient, session: AsyncSession, staff: dict[str, str]
) -> None:
    product = await make_product(session, "P", stock=1)
    for _ in range(30):
        await _adjust(client, staff, product.id, 1)

    async def writer() -> None:
        for _ in range(20):
            await _adjust(client, staff, product.id, 1)

    async with GraphQLWebSocket(live_server.ws_url, _token(staff)) as ws:
        writing = asyncio.create_task(writer())
        await ws.subscribe(
            "s", STOCK_CHANGED, {"productIds": [gid("Product", product.id)], "after": "0"}
        )
        events = await ws.events("s", 51)
        await writing
        assert await ws.silent(0.5)
    quantities = [p["data"]["stockChanged"]["quantityAfter"] for p in events]
    assert quantities == list(range(1, 52))


async def test_without_token_or_permission_there_is_no_subscription(
    live_server: LiveServer, client: httpx.AsyncClient, db: Database
) -> None:
    async with GraphQLWebSocket(live_server.ws_url) as ws:
        await ws.subscribe("s", STOCK_CHANGED)
        message = await ws.receive()
        assert message["type"] in {"error", "next"}
        errors = message["payload"] if message["type"] == "error" else message["payload"]["errors"]
        assert errors[0]["extensions"]["code"] == "UNAUTHENTICATED"
    customer = await signed_in(client, db, "c@example.com")
    async with GraphQLWebSocket(live_server.ws_url, _token(customer)) as ws:
        await ws.subscribe("s", STOCK_CHANGED)
        message = await ws.receive()
        errors = message["payload"] if message["type"] == "error" else message["payload"]["errors"]
        assert errors[0]["extensions"]["code"] == "FORBIDDEN"


async def test_a_bad_token_is_refused_with_4403(live_server: LiveServer) -> None:
    with pytest.raises(ConnectionClosed) as closed:
        async with GraphQLWebSocket(live_server.ws_url, "not-a-token"):
            pass
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 4403


async def test_logout_ends_a_live_subscription(
    live_server: LiveServer, client: httpx.AsyncClient, session: AsyncSession, staff: dict[str, str]
) -> None:
    product = await make_product(session, "P", stock=1)
    async with GraphQLWebSocket(live_server.ws_url, _token(staff)) as ws:
        await ws.subscribe("s", STOCK_CHANGED, {"productIds": [gid("Product", product.id)]})
        await live_server.wait_for_subscribers(1)
        await _adjust(client, staff, product.id, 1)
        await ws.events("s", 1)
        # when
        await execute(client, "mutation { logout { revokedSessions } }", headers=staff)
        # then: an error, then the close
        message = await ws.receive(timeout=5)
        assert message["type"] == "next"
        assert message["payload"]["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
        after_error = []
        with pytest.raises(ConnectionClosed) as closed:
            while True:
                after_error.append((await ws.receive(timeout=5))["type"])
        assert after_error in ([], ["complete"])
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 4403


async def test_a_stalled_client_does_not_delay_a_healthy_one(
    live_server: LiveServer,
    client: httpx.AsyncClient,
    session: AsyncSession,
    staff: dict[str, str],
    app: Any,
) -> None:
    # given: fat events (long descriptions), small queues, a healthy reader and one that
    # stops reading
    app.state.settings = app.state.settings.model_copy(update={"subscription_queue_size": 8})
    product = await make_product(session, "P", stock=0)
    # random text: WebSocket compression would shrink a repeated character to nothing
    product.description = base64.b64encode(os.urandom(75_000)).decode()
    await session.commit()
    fat = STOCK_CHANGED.replace("inStock }", "inStock description }")
    hub = app.state.hub
    async with (
        GraphQLWebSocket(live_server.ws_url, _token(staff)) as healthy,
        GraphQLWebSocket(
            live_server.ws_url,
            _token(staff),
            max_size=2**22,
            sock=small_buffer_socket(live_server.port),
        ) as stalled,
    ):
        await healthy.subscribe("h", fat)
        await stalled.subscribe("s", fat)
        await live_server.wait_for_subscribers(2)
        stalled.stop_reading()
        # when: many changes, one commit each, while `stalled` reads nothing
        for _ in range(80):
            await _adjust(client, staff, product.id, 1)
            events = await healthy.events("h", 1, timeout=5)
            assert events[0]["data"]["stockChanged"]["delta"] == 1
            assert all(s.queued <= 8 for s in hub.subscribers)
        # then: the stalled subscription was dropped, not buffered without bound
        assert len(hub.subscribers) == 1
        stalled.resume_reading()
        messages = []
        while True:
            message = await stalled.receive_for("s", timeout=10)
            messages.append(message)
            if "errors" in message["payload"]:
                break
        ending = messages[-1]["payload"]["errors"][0]
        assert ending["extensions"]["code"] == "SLOW_CONSUMER"
        delivered = [m for m in messages[:-1] if "data" in m["payload"]]
        assert (
            ending["extensions"]["resumeAfter"]
            == delivered[-1]["payload"]["data"]["stockChanged"]["cursor"]
        )


async def test_subscriptions_per_connection_are_limited(
    live_server: LiveServer, staff: dict[str, str], app: Any
) -> None:
    limit = app.state.settings.subscriptions_per_connection
    async with GraphQLWebSocket(live_server.ws_url, _token(staff)) as ws:
        for n in range(limit):
            await ws.subscribe(str(n), STOCK_CHANGED)
        await ws.subscribe("one-too-many", STOCK_CHANGED)
        message = await ws.receive()
        assert (message["id"], message["type"]) == ("one-too-many", "error")


async def test_ledger_rows_have_increasing_ids_in_commit_order(
    session: AsyncSession, client: httpx.AsyncClient, staff: dict[str, str]
) -> None:
    product = await make_product(session, "P", stock=0)
    await asyncio.gather(*(_adjust(client, staff, product.id, 1) for _ in range(20)))
    rows = (
        await session.execute(
            select(StockMovement.id, StockMovement.quantity_after)
            .where(StockMovement.product_id == product.id)
            .order_by(StockMovement.id)
        )
    ).all()
    assert [q for _, q in rows] == list(range(1, 21))


async def test_each_event_reads_fresh_data(
    live_server: LiveServer, client: httpx.AsyncClient, session: AsyncSession, staff: dict[str, str]
) -> None:
    product = await make_product(session, "P", name="Old name", stock=1)
    query = "subscription { stockChanged { product { name stock } } }"
    async with GraphQLWebSocket(live_server.ws_url, _token(staff)) as ws:
        await ws.subscribe("s", query)
        await live_server.wait_for_subscribers(1)
        await _adjust(client, staff, product.id, 1)
        renamed = await execute(
            client,
            'mutation($id: ID!) { updateProduct(input: {id: $id, name: "New name"}) { __typename } }',
            {"id": gid("Product", product.id)},
            staff,
        )
        assert renamed["data"]["updateProduct"]["__typename"] == "UpdateProductSuccess"
        await _adjust(client, staff, product.id, 1)
        first, second = await ws.events("s", 2)
    assert first["data"]["stockChanged"]["product"] == {"name": "Old name", "stock": 2}
    assert second["data"]["stockChanged"]["product"] == {"name": "New name", "stock": 3}


async def test_an_expiring_token_ends_the_subscription(
    live_server: LiveServer, client: httpx.AsyncClient, db: Database, clock: Any
) -> None:
    # given: a token issued so that it expires two seconds from now (real time)
    from datetime import timedelta

    from gql.core.db import utcnow

    clock.now = utcnow() - timedelta(minutes=15) + timedelta(seconds=2)
    staff = await signed_in(client, db, "late@example.com", "staff")
    async with GraphQLWebSocket(live_server.ws_url, _token(staff)) as ws:
        await ws.subscribe("s", STOCK_CHANGED)
        # when the token's lifetime is over, then: an error, then the close
        message = await ws.receive(timeout=6)
        assert message["payload"]["errors"][0]["extensions"]["code"] == "TOKEN_EXPIRED"
        with pytest.raises(ConnectionClosed):
            while True:
                await ws.receive(timeout=5)


async def test_server_pings_keep_the_connection_alive(
    live_server: LiveServer, staff: dict[str, str], app: Any
) -> None:
    import json

    from websockets.asyncio.client import connect

    assert app.state.settings.ws_keepalive_seconds == 1.0  # the tests' setting
    async with connect(live_server.ws_url, subprotocols=["graphql-transport-ws"]) as ws:
        await ws.send(
            json.dumps(
                {"type": "connection_init", "payload": {"Authorization": staff["Authorization"]}}
            )
        )
        assert json.loads(await ws.recv())["type"] == "connection_ack"
        message = json.loads(await asyncio.wait_for(ws.recv(), 3))
        assert message == {"type": "ping"}


ROLE_CHANGE = """
mutation($input: UserRoleInput!, $remove: Boolean!) {
  removed: removeRole(input: $input) @include(if: $remove) { __typename }
  assigned: assignRole(input: $input) @skip(if: $remove) { __typename }
}
"""


async def _staff_role_change(
    client: httpx.AsyncClient, session: AsyncSession, admin: dict[str, str], remove: bool
) -> None:
    user_id = await session.scalar(select(User.id).where(User.email == "staff@example.com"))
    role_id = await session.scalar(select(Role.id).where(Role.name == "staff"))
    await session.commit()
    ids = {"userId": gid("User", user_id), "roleId": gid("Role", role_id)}
    body = await execute(client, ROLE_CHANGE, {"input": ids, "remove": remove}, admin)
    assert body["data"] == {"removed" if remove else "assigned": {"__typename": "UserSuccess"}}


async def test_losing_inventory_read_ends_a_live_subscription(
    live_server: LiveServer,
    client: httpx.AsyncClient,
    db: Database,
    session: AsyncSession,
    staff: dict[str, str],
) -> None:
    """FORBIDDEN with resumeAfter for the one who lost it; others and the socket go on."""
    # given: two staff members subscribed, and one event delivered to both
    admin = await signed_in(client, db, "admin@example.com", "admin")
    keeper = await signed_in(client, db, "keeper@example.com", "staff")
    product = await make_product(session, "P", stock=1)
    async with (
        GraphQLWebSocket(live_server.ws_url, _token(staff)) as ws,
        GraphQLWebSocket(live_server.ws_url, _token(keeper)) as other,
    ):
        await ws.subscribe("s", STOCK_CHANGED, {"productIds": [gid("Product", product.id)]})
        await other.subscribe("s", STOCK_CHANGED, {"productIds": [gid("Product", product.id)]})
        await live_server.wait_for_subscribers(2)
        assert await _adjust(client, admin, product.id, 1) == "AdjustStockSuccess"
        (seen,) = await ws.events("s", 1)
        assert len(await other.events("s", 1)) == 1
        last_seen = seen["data"]["stockChanged"]["cursor"]
        # when: the subscriber's only role with inventory:read is taken away
        await _staff_role_change(client, session, admin, remove=True)
        # then: the subscription ends with FORBIDDEN and where to resume, then completes
        ending = await ws.receive_for("s", timeout=5)
        assert ending["type"] == "next", ending
        (error,) = ending["payload"]["errors"]
        assert error["extensions"] == {"code": "FORBIDDEN", "resumeAfter": last_seen}
        assert (await ws.receive_for("s", timeout=5))["type"] == "complete"
        # the other subscriber is untouched, and the socket of the first stays open
        assert await _adjust(client, admin, product.id, 1) == "AdjustStockSuccess"
        (missed,) = await other.events("s", 1)
        await ws.subscribe("again", STOCK_CHANGED, {"productIds": [gid("Product", product.id)]})
        refused = await ws.receive_for("again", timeout=5)
        errors = refused["payload"] if refused["type"] == "error" else refused["payload"]["errors"]
        assert errors[0]["extensions"]["code"] == "FORBIDDEN"
        # when: the role is given back, resuming from resumeAfter misses nothing
        await _staff_role_change(client, session, admin, remove=False)
        await ws.subscribe(
            "resumed",
            STOCK_CHANGED,
            {"productIds": [gid("Product", product.id)], "after": last_seen},
        )
        (replayed,) = await ws.events("resumed", 1)
        assert replayed["data"]["stockChanged"]["id"] == missed["data"]["stockChanged"]["id"]


async def test_one_permission_check_serves_every_subscriber(
    db: Database,
    database_url: str,
    client: httpx.AsyncClient,
    clock: Any,
    statements: Any,
) -> None:
    """The periodic check is one statement however many subscriptions are live."""
    # given: a server whose own periodic check never comes, and five live subscriptions
    from gql.auth.sessions import AuthTools
    from gql.main import create_app
    from tests.conftest import make_settings

    settings = make_settings(database_url, subscription_auth_check_seconds=3600)
    app = create_app(settings, database=db, auth=AuthTools.from_settings(settings, clock))
    server = LiveServer(app)
    await server.start()
    try:
        tokens = [
            _token(await signed_in(client, db, f"s{n}@example.com", "staff")) for n in range(5)
        ]
        async with contextlib.AsyncExitStack() as stack:
            for token in tokens:
                ws = await stack.enter_async_context(GraphQLWebSocket(server.ws_url, token))
                await ws.subscribe("s", STOCK_CHANGED)
            await server.wait_for_subscribers(5)
            # when
            statements.reset()
            await app.state.hub.session_watch.check()
            # then
            assert statements.count == 1, statements.statements
            assert all(s.end_reason is None for s in app.state.hub.subscribers)
    finally:
        await server.stop()


async def test_changes_committed_before_subscribing_are_not_live_events(
    live_server: LiveServer,
    client: httpx.AsyncClient,
    settings: Any,
    staff: dict[str, str],
) -> None:
    # given: a product whose opening stock another process committed a moment ago, before
    # this server's hub has read the ledger that far
    from gql.core.config import Settings
    from gql.core.db import new_session

    assert isinstance(settings, Settings)
    other_process = Database(settings)
    try:
        async with new_session(other_process, write=True) as session:
            product = await make_product(session, "P", stock=10)
    finally:
        await other_process.dispose()
    async with GraphQLWebSocket(live_server.ws_url, _token(staff)) as ws:
        await ws.subscribe("s", STOCK_CHANGED, {"productIds": [gid("Product", product.id)]})
        await live_server.wait_for_subscribers(1)
        # when
        assert await _adjust(client, staff, product.id, 5) == "AdjustStockSuccess"
        # then: the first event is the change made after subscribing
        assert _moves(await ws.events("s", 1)) == [(5, 15)]
        assert await ws.silent(0.3)
