"""Ledger order without a ledger lock: transactions that commit in another order than they
drew their ids, or than they started, are each delivered once, in one order, live and on
resume; one product's movements always arrive in the order they were committed."""

import asyncio
import logging
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from gql.core.db import Database, new_session
from gql.inventory.ledger import Position
from gql.inventory.models import MovementReason
from gql.inventory.service import adjust_stock
from gql.realtime import hub as events
from tests.conftest import LiveServer, execute
from tests.factories import gid, make_product, signed_in
from tests.ws import GraphQLWebSocket

STOCK_CHANGED = """
subscription($after: ID) {
  stockChanged(after: $after) { id cursor delta quantityAfter product { sku } }
}
"""


def _token(headers: dict[str, str]) -> str:
    return headers["Authorization"].removeprefix("Bearer ")


def _seen(events: list[dict[str, Any]]) -> list[tuple[str, int]]:
    return [
        (e["data"]["stockChanged"]["product"]["sku"], e["data"]["stockChanged"]["quantityAfter"])
        for e in events
    ]


@pytest.fixture
async def staff(client: httpx.AsyncClient, db: Database) -> dict[str, str]:
    return await signed_in(client, db, "staff@example.com", "staff")


@pytest.mark.postgres_only
async def test_commits_in_the_opposite_order_of_their_ids_are_each_delivered_once(
    live_server: LiveServer,
    db: Database,
    session: AsyncSession,
    staff: dict[str, str],
) -> None:
    # given: a live subscriber from the start of the ledger, and two products
    first = await make_product(session, "FIRST", stock=10)
    second = await make_product(session, "SECOND", stock=10)
    async with GraphQLWebSocket(live_server.ws_url, _token(staff)) as ws:
        await ws.subscribe("live", STOCK_CHANGED, {"after": "0"})
        opening = await ws.events("live", 2)
        await live_server.wait_for_subscribers(1)
        # when: the first change draws the smaller ledger id and stays open (the barrier)...
        held_open = new_session(db, write=True)
        try:
            await adjust_stock(held_open, first.id, -1, MovementReason.ADJUSTMENT, actor_id=None)
            # ...while the second, on another product, commits (nothing shop-wide to wait for)
            async with new_session(db, write=True) as other:
                await asyncio.wait_for(
                    adjust_stock(other, second.id, -2, MovementReason.ADJUSTMENT, actor_id=None),
                    timeout=5,
                )
                await asyncio.wait_for(other.commit(), timeout=5)
            # then: delivery waits for the open transaction rather than skip past its row
            assert await ws.silent(0.5)
            await held_open.commit()
        finally:
            await held_open.close()
        # then: both, once each, the older transaction's first
        live = await ws.events("live", 2)
        assert _seen(live) == [("FIRST", 9), ("SECOND", 8)]
        assert await ws.silent(0.5)
    # and a subscriber resuming from the beginning, or after the opening events, sees the same
    async with GraphQLWebSocket(live_server.ws_url, _token(staff)) as ws:
        await ws.subscribe("from-start", STOCK_CHANGED, {"after": "0"})
        assert _seen(await ws.events("from-start", 4)) == _seen(opening + live)
        resume_at = opening[-1]["data"]["stockChanged"]["cursor"]
        await ws.subscribe("resumed", STOCK_CHANGED, {"after": resume_at})
        assert _seen(await ws.events("resumed", 2)) == _seen(live)
        after_first = live[0]["data"]["stockChanged"]["cursor"]
        await ws.subscribe("after-first", STOCK_CHANGED, {"after": after_first})
        assert _seen(await ws.events("after-first", 1)) == [("SECOND", 8)]
        assert await ws.silent(0.5)


@pytest.mark.postgres_only
async def test_one_products_movements_arrive_in_commit_order_whatever_their_transaction_ids(
    live_server: LiveServer,
    db: Database,
    session: AsyncSession,
    staff: dict[str, str],
) -> None:
    # given: a transaction that got its id early, and a subscriber
    product = await make_product(session, "P", stock=10)
    async with GraphQLWebSocket(live_server.ws_url, _token(staff)) as ws:
        await ws.subscribe("live", STOCK_CHANGED)
        await live_server.wait_for_subscribers(1)
        older = new_session(db, write=True)
        newer = new_session(db, write=True)
        try:
            current = text("SELECT CAST(pg_current_xact_id() AS text)")
            older_id = int((await older.execute(current)).scalar_one())
            # when: a younger transaction takes the product's row lock first...
            await adjust_stock(newer, product.id, 1, MovementReason.RESTOCK, actor_id=None)
            newer_id = int((await newer.execute(current)).scalar_one())
            assert older_id < newer_id
            # ...the older one waits for it, and commits after it
            waiting = asyncio.create_task(
                adjust_stock(older, product.id, 1, MovementReason.RESTOCK, actor_id=None)
            )
            await asyncio.sleep(0.3)
            assert not waiting.done()
            await newer.commit()
            await asyncio.wait_for(waiting, timeout=5)
            await older.commit()
        finally:
            await older.close()
            await newer.close()
        # then: in the order they were committed (stock 11, then 12), once each
        assert _seen(await ws.events("live", 2)) == [("P", 11), ("P", 12)]
        assert await ws.silent(0.5)
        await ws.subscribe("replayed", STOCK_CHANGED, {"after": "0"})
        assert _seen(await ws.events("replayed", 3)) == [("P", 10), ("P", 11), ("P", 12)]


@pytest.mark.postgres_only
async def test_an_open_transaction_holds_events_back_and_the_log_names_it(
    live_server: LiveServer,
    db: Database,
    session: AsyncSession,
    staff: dict[str, str],
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # given: a subscriber, and a transaction that took an id and stays open
    monkeypatch.setattr(events, "HELD_BACK_WARNING_SECONDS", 0.3)
    product = await make_product(session, "P", stock=1)
    async with GraphQLWebSocket(live_server.ws_url, _token(staff)) as ws:
        await ws.subscribe("live", STOCK_CHANGED)
        await live_server.wait_for_subscribers(1)
        blocker = new_session(db, write=True)
        try:
            await blocker.execute(text("SELECT pg_current_xact_id()"))
            # when: a change commits after it
            with caplog.at_level(logging.WARNING, logger="gql.events"):
                async with new_session(db, write=True) as writer:
                    await adjust_stock(writer, product.id, 1, MovementReason.RESTOCK, actor_id=None)
                    await writer.commit()
                # then: nothing is delivered while it is open, and the log says who waits
                assert await ws.silent(1.0)
            (warning,) = [r for r in caplog.records if "held back" in r.getMessage()]
            assert f"database {db.engine.url.database}" in warning.getMessage()
        finally:
            await blocker.rollback()
            await blocker.close()
        # then: once it ends, the change is delivered
        assert _seen(await ws.events("live", 1)) == [("P", 2)]


async def test_resuming_takes_a_cursor_or_a_movement_id_and_refuses_anything_else(
    live_server: LiveServer, client: httpx.AsyncClient, session: AsyncSession, staff: dict[str, str]
) -> None:
    # given
    product = await make_product(session, "P", stock=1)
    adjust = (
        "mutation($id: ID!) { adjustStock(productId: $id, delta: 1, reason: RESTOCK) "
        "{ __typename } }"
    )
    for _ in range(2):
        body = await execute(client, adjust, {"id": gid("Product", product.id)}, staff)
        assert body["data"]["adjustStock"]["__typename"] == "AdjustStockSuccess"
    async with GraphQLWebSocket(live_server.ws_url, _token(staff)) as ws:
        await ws.subscribe("all", STOCK_CHANGED, {"after": "0"})
        opening, first, _ = await ws.events("all", 3)
        # when: resumed with the first event's cursor, and with its id (as before cursors)
        for name, after in (
            ("by-cursor", first["data"]["stockChanged"]["cursor"]),
            ("by-id", first["data"]["stockChanged"]["id"]),
        ):
            await ws.subscribe(name, STOCK_CHANGED, {"after": after})
            # then: the one event after it
            assert _seen(await ws.events(name, 1)) == [("P", 3)]
        # when: something else
        for name, after in (("unknown-id", "999999"), ("garbage", "not-a-cursor")):
            await ws.subscribe(name, STOCK_CHANGED, {"after": after})
            message = await ws.receive_for(name)
            errors = (
                message["payload"] if message["type"] == "error" else message["payload"]["errors"]
            )
            # then: a coded error naming the argument
            assert errors[0]["extensions"]["code"] == "BAD_USER_INPUT", errors
            assert "after" in errors[0]["message"]
    assert opening["data"]["stockChanged"]["quantityAfter"] == 1


def test_cursors_are_opaque_and_round_trip() -> None:
    position = Position(epoch=7_000_000_123, id=42)
    cursor = position.cursor()
    assert "42" not in cursor and ":" not in cursor
    assert Position.from_cursor(cursor) == position
    for bad in ("", "0", "42", "bGVkZ2VyOjE6", "ledger:1:2", "bm90LWxlZGdlcjox"):
        assert Position.from_cursor(bad) is None
