"""Live events fan out: executed once per group of alike subscriptions, not per subscriber."""

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncSession
from websockets.asyncio.client import connect

from gql.auth import roles
from gql.core.db import Database, new_session
from tests.conftest import LiveServer, ServerFactory, StatementCounter, execute, without_cost
from tests.factories import gid, make_product, signed_in
from tests.ws import GraphQLWebSocket

WATCH = """
subscription Watch($ids: [ID!]) {
  stockChanged(productIds: $ids) { id quantityAfter product { sku stock images { url } } }
}
"""
WATCH_ORDERS = "subscription { stockChanged { id cursor quantityAfter order { id } } }"
ADJUST = """
mutation($productId: ID!) {
  adjustStock(productId: $productId, delta: 1, reason: RESTOCK) { __typename }
}
"""


@pytest.fixture
def rendering_statements(db: Database) -> AsyncIterator[StatementCounter]:
    """Counts statements, except the tailer's reads of the ledger (one or two per wake-up,
    and on PostgreSQL both NOTIFY and the commit hook may wake it)."""

    class Counter(StatementCounter):
        def __call__(self, _conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
            if "stock_movement.epoch, stock_movement.id) >" not in statement:
                super().__call__(_conn, _cursor, statement)

    counter = Counter()
    event.listen(db.engine.sync_engine, "before_cursor_execute", counter)
    db.driver_listeners.append(counter.driver_statement)
    yield counter  # type: ignore[misc]
    db.driver_listeners.remove(counter.driver_statement)
    event.remove(db.engine.sync_engine, "before_cursor_execute", counter)


def _token(headers: dict[str, str]) -> str:
    return headers["Authorization"].removeprefix("Bearer ")


async def _adjust(client: httpx.AsyncClient, headers: dict[str, str], product_id: int) -> None:
    variables = {"productId": gid("Product", product_id)}
    body = await execute(client, ADJUST, variables, headers)
    assert body["data"]["adjustStock"]["__typename"] == "AdjustStockSuccess"


async def _event_statements(
    client: httpx.AsyncClient,
    staff: dict[str, str],
    product_id: int,
    counter: StatementCounter,
    subscriptions: list[tuple[GraphQLWebSocket, str]],
) -> tuple[int, int, list[dict[str, Any]]]:
    """Statements around one stock change until every subscription got it: all of them,
    those of the images loader, and the payloads."""
    await asyncio.sleep(0.2)  # subscribing reads the caller's session: not part of the event
    counter.reset()
    await _adjust(client, staff, product_id)
    payloads = [(await ws.events(op_id, 1))[0] for ws, op_id in subscriptions]
    images = [s for s in counter.statements if "product_image" in s]
    return counter.count, len(images), payloads


async def test_an_event_is_executed_once_for_every_subscriber_of_a_document(
    server_with: ServerFactory,
    client: httpx.AsyncClient,
    db: Database,
    session: AsyncSession,
    rendering_statements: StatementCounter,
) -> None:
    # given: no polling and no session checks, so only the event itself touches the database
    server = await server_with(stock_events_poll_seconds=60, subscription_auth_check_seconds=60)
    hub = server.app.state.hub
    # in stock: a product coming back in stock also raises a catalog version
    product = await make_product(session, "P", stock=5, images=2)
    staff = await signed_in(client, db, "staff@example.com", "staff")
    variables = {"ids": [gid("Product", product.id)]}
    async with (
        GraphQLWebSocket(server.ws_url, _token(staff)) as first,
        GraphQLWebSocket(server.ws_url, _token(staff)) as second,
    ):
        await first.subscribe("s0", WATCH, variables)
        await server.wait_for_subscribers(1)
        alone = await _event_statements(
            client, staff, product.id, rendering_statements, [(first, "s0")]
        )
        subscriptions = [(first, "s0")]
        for n in range(1, 8):
            ws = first if n % 2 == 0 else second
            await ws.subscribe(f"s{n}", WATCH, variables)
            subscriptions.append((ws, f"s{n}"))
        await server.wait_for_subscribers(8)
        # when
        together = await _event_statements(
            client, staff, product.id, rendering_statements, subscriptions
        )
    # then: as many statements for eight subscribers as for one, the images read once
    assert together[0] == alone[0]
    assert alone[1] == together[1] == 1
    assert len(hub.groups) == 0  # every subscriber left its group on disconnect
    # one frame for all, but each subscription's first message also tells its own cost
    payloads = together[2]
    assert all(without_cost(payload) == without_cost(payloads[0]) for payload in payloads)
    assert "extensions" in alone[2][0]
    assert "extensions" not in payloads[0]  # s0's second message
    assert all(payload["extensions"]["cost"]["requestedQueryCost"] > 0 for payload in payloads[1:])
    assert payloads[0]["data"]["stockChanged"]["quantityAfter"] == 7
    assert payloads[0]["data"]["stockChanged"]["product"] == {
        "sku": "P",
        "stock": 7,
        "images": [{"url": "https://img.test/P/0.jpg"}, {"url": "https://img.test/P/1.jpg"}],
    }


async def test_event_filters_share_one_group(
    live_server: LiveServer,
    client: httpx.AsyncClient,
    db: Database,
    session: AsyncSession,
    app: Any,
) -> None:
    # given: one document, each subscriber filtering its own product
    first = await make_product(session, "A", stock=0)
    second = await make_product(session, "B", stock=0)
    staff = await signed_in(client, db, "staff@example.com", "staff")
    async with GraphQLWebSocket(live_server.ws_url, _token(staff)) as ws:
        await ws.subscribe("a", WATCH, {"ids": [gid("Product", first.id)]})
        await ws.subscribe("b", WATCH, {"ids": [gid("Product", second.id)]})
        await live_server.wait_for_subscribers(2)
        # when
        await _adjust(client, staff, first.id)
        await _adjust(client, staff, second.id)
        # then
        assert len(app.state.hub.groups) == 1
        (a,) = await ws.events("a", 1)
        (b,) = await ws.events("b", 1)
        assert a["data"]["stockChanged"]["product"]["sku"] == "A"
        assert b["data"]["stockChanged"]["product"]["sku"] == "B"
        assert await ws.silent(0.5)


async def _groups_by_scope(app: Any, count: int) -> list[frozenset[str]]:
    async with asyncio.timeout(10):
        while True:
            scopes = [key[-1] for key in app.state.hub.groups]
            if len(scopes) == count:
                return scopes
            await asyncio.sleep(0.05)


async def test_permissions_render_apart_and_their_changes_are_followed(
    live_server: LiveServer,
    client: httpx.AsyncClient,
    db: Database,
    session: AsyncSession,
    app: Any,
) -> None:
    # given: staff (who may read orders) and a watcher (stock only) on one document
    product = await make_product(session, "P", stock=0)
    async with new_session(db, write=True) as writing:
        watcher_role = await roles.create_role(
            writing, name="watcher", description="", permissions=["inventory:read"]
        )
        role_id = watcher_role.id
        await writing.commit()
    staff = await signed_in(client, db, "staff@example.com", "staff")
    watcher = await signed_in(client, db, "watcher@example.com", "watcher")
    async with (
        GraphQLWebSocket(live_server.ws_url, _token(staff)) as staff_ws,
        GraphQLWebSocket(live_server.ws_url, _token(watcher)) as watcher_ws,
    ):
        await staff_ws.subscribe("s", WATCH_ORDERS)
        await watcher_ws.subscribe("w", WATCH_ORDERS)
        await live_server.wait_for_subscribers(2)
        # when
        await _adjust(client, staff, product.id)
        # then: two renderings, the watcher's without the order
        assert len(await _groups_by_scope(app, 2)) == 2
        (for_staff,) = await staff_ws.events("s", 1)
        (for_watcher,) = await watcher_ws.events("w", 1)
        assert "errors" not in for_staff
        assert for_watcher["errors"][0]["extensions"]["code"] == "FORBIDDEN"
        assert for_watcher["errors"][0]["path"] == ["stockChanged", "order"]
        # when: the watcher may read orders too, then: it renders as staff does
        async with new_session(db, write=True) as writing:
            await roles.set_role_permissions(writing, role_id, ["inventory:read", "order:read_all"])
            await writing.commit()
        await _groups_by_scope(app, 1)
        await _adjust(client, staff, product.id)
        (now,) = await watcher_ws.events("w", 1)
        assert "errors" not in now
        # when: the watcher may no longer read stock, then: its subscription ends
        async with new_session(db, write=True) as writing:
            await roles.set_role_permissions(writing, role_id, [])
            await writing.commit()
        ending = await watcher_ws.receive_for("w", timeout=5)
        error = ending["payload"]["errors"][0]
        assert error["extensions"]["code"] == "FORBIDDEN"
        assert error["extensions"]["resumeAfter"] == now["data"]["stockChanged"]["cursor"]
        assert (await watcher_ws.receive_for("w"))["type"] == "complete"
        # and staff goes on
        await _adjust(client, staff, product.id)
        assert len(await staff_ws.events("s", 2)) == 2


async def test_the_legacy_protocol_gets_the_shared_frames(
    server_with: ServerFactory, client: httpx.AsyncClient, db: Database, session: AsyncSession
) -> None:
    # given
    server = await server_with(graphql_ws_legacy=True)
    product = await make_product(session, "P", stock=0)
    staff = await signed_in(client, db, "staff@example.com", "staff")
    async with connect(server.ws_url, subprotocols=["graphql-ws"]) as ws:  # type: ignore[list-item]
        await ws.send(
            json.dumps(
                {"type": "connection_init", "payload": {"Authorization": staff["Authorization"]}}
            )
        )
        assert json.loads(await ws.recv())["type"] == "connection_ack"
        for op_id in ("1", "2"):
            start = {"id": op_id, "type": "start", "payload": {"query": WATCH_ORDERS}}
            await ws.send(json.dumps(start))
        await server.wait_for_subscribers(2)
        # when
        await _adjust(client, staff, product.id)
        # then
        data = {}
        async with asyncio.timeout(10):
            while len(data) < 2:
                message = json.loads(await ws.recv())
                if message["type"] == "data":
                    data[message["id"]] = message["payload"]
        assert data["1"] == data["2"]
        assert data["1"]["data"]["stockChanged"]["quantityAfter"] == 1
        assert data["1"]["data"]["stockChanged"]["order"] is None
