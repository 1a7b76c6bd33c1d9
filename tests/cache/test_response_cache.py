"""The response cache: repeated catalog reads from memory, never older than a commit."""

import asyncio
import dataclasses
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from gql.auth.sessions import authenticate
from gql.catalog.models import Product
from gql.core.config import Settings
from gql.core.db import Database, new_session
from gql.inventory.models import MovementReason
from gql.inventory.service import adjust_stock
from gql.main import create_app
from tests.conftest import StatementCounter, execute
from tests.factories import gid, make_product, signed_in

PRODUCTS = "{ products(first: 10) { edges { node { id name price inStock images { url } } } } }"
WITH_STOCK = "query Stock { products(first: 10) { edges { node { sku stock } } } }"
UPDATE = """
mutation($input: UpdateProductInput!) {
  updateProduct(input: $input) { __typename }
}
"""


async def _post(
    client: httpx.AsyncClient, query: str, headers: dict[str, str] | None = None
) -> httpx.Response:
    return await client.post("/graphql", json={"query": query}, headers=headers)


async def test_a_repeated_catalog_read_runs_no_query_but_the_version_check(
    client: httpx.AsyncClient, session: AsyncSession, statements: StatementCounter
) -> None:
    # given
    await make_product(session, "A", images=2)
    first = await _post(client, PRODUCTS)
    # when
    statements.reset()
    second = await _post(client, PRODUCTS)
    # then: the same answer and ETag, from one statement (the caller and the catalog versions)
    assert second.status_code == 200
    assert second.content == first.content
    assert second.headers["etag"] == first.headers["etag"]
    assert second.headers["cache-control"] == "private, no-cache"
    assert statements.count == 1, statements.statements


async def test_a_matching_if_none_match_gets_304_without_a_body(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    await make_product(session, "A")
    etag = (await _post(client, PRODUCTS)).headers["etag"]
    # when
    revalidated = await _post(client, PRODUCTS, {"If-None-Match": etag})
    other = await _post(client, PRODUCTS, {"If-None-Match": '"something-else"'})
    # then
    assert revalidated.status_code == 304
    assert revalidated.content == b""
    assert revalidated.headers["etag"] == etag
    assert other.status_code == 200
    assert other.json()["data"]["products"]["edges"]


async def test_every_read_after_a_committed_change_sees_it(
    client: httpx.AsyncClient, session: AsyncSession, db: Database
) -> None:
    # given: a cached answer
    product = await make_product(session, "A", name="Old", stock=1)
    staff = await signed_in(client, db, "staff@example.com", "staff")
    assert (await execute(client, PRODUCTS))["data"]["products"]["edges"][0]["node"]["name"] == (
        "Old"
    )
    for round_ in range(5):
        # when: a change through the API returns
        changed = await execute(
            client,
            UPDATE,
            {"input": {"id": gid("Product", product.id), "name": f"New {round_}"}},
            staff,
        )
        assert changed["data"]["updateProduct"]["__typename"] == "UpdateProductSuccess"
        # then: the next read has it
        node = (await execute(client, PRODUCTS))["data"]["products"]["edges"][0]["node"]
        assert node["name"] == f"New {round_}"


async def test_a_change_made_by_another_process_is_seen_at_once(
    client: httpx.AsyncClient, session: AsyncSession, settings: Settings, db: Database
) -> None:
    # given: a staff answer with the stock level, cached
    product = await make_product(session, "A", stock=3)
    staff = await signed_in(client, db, "staff@example.com", "staff")
    assert (await execute(client, WITH_STOCK, headers=staff))["data"]["products"]["edges"][0][
        "node"
    ]["stock"] == 3
    # when: another process (its own engine, none of this app's hooks) changes the stock
    other_process = Database(settings)
    try:
        async with new_session(other_process, write=True) as writer:
            await adjust_stock(writer, product.id, 4, MovementReason.RESTOCK, actor_id=None)
            await writer.commit()
    finally:
        await other_process.dispose()
    # then
    assert (await execute(client, WITH_STOCK, headers=staff))["data"]["products"]["edges"][0][
        "node"
    ]["stock"] == 7


async def test_answers_are_kept_per_permission_scope(
    client: httpx.AsyncClient, session: AsyncSession, db: Database
) -> None:
    # given: the staff answer with stock levels is cached
    await make_product(session, "A", stock=3)
    staff = await signed_in(client, db, "staff@example.com", "staff")
    customer = await signed_in(client, db, "customer@example.com")
    assert (await execute(client, WITH_STOCK, headers=staff))["data"]["products"]["edges"]
    # when: callers without inventory:read ask the same
    for headers in (customer, None):
        body = await execute(client, WITH_STOCK, headers=headers)
        # then: they get their own answer, never the staff one
        codes = [error["extensions"]["code"] for error in body["errors"]]
        assert set(codes) == {"FORBIDDEN" if headers else "UNAUTHENTICATED"}
        assert body["data"]["products"]["edges"][0]["node"]["stock"] is None


def _outcomes(text: str) -> dict[str, float]:
    return {
        line.split('outcome="')[1].split('"')[0]: float(line.rsplit(" ", 1)[1])
        for line in text.splitlines()
        if line.startswith("gql_response_cache_total{")
    }


async def test_callers_alike_in_what_the_guards_ask_share_answers(
    client: httpx.AsyncClient, session: AsyncSession, db: Database
) -> None:
    # given: a read of public fields by an anonymous caller, one of `stock` by staff
    await make_product(session, "A", stock=3)
    customer = await signed_in(client, db, "customer@example.com")
    staff = await signed_in(client, db, "staff@example.com", "staff")
    admin = await signed_in(client, db, "admin@example.com", "admin")
    public = await _post(client, PRODUCTS)
    guarded = await _post(client, WITH_STOCK, staff)
    before = _outcomes((await client.get("/metrics")).text)
    # when: a customer asks the first, an admin (also holding inventory:read) the second
    public_again = await _post(client, PRODUCTS, customer)
    guarded_again = await _post(client, WITH_STOCK, admin)
    # then: both come from the cache, with the same bytes and tags
    after = _outcomes((await client.get("/metrics")).text)
    assert after["hit"] - before.get("hit", 0) == 2
    assert after["miss"] == before["miss"]
    assert public_again.headers["etag"] == public.headers["etag"]
    assert guarded_again.headers["etag"] == guarded.headers["etag"]
    assert guarded_again.json()["data"]["products"]["edges"][0]["node"]["stock"] == 3


async def test_reads_that_depend_on_the_caller_are_never_cached(
    client: httpx.AsyncClient, db: Database
) -> None:
    first = await signed_in(client, db, "first@example.com")
    second = await signed_in(client, db, "second@example.com")
    query = "{ me { email } products(first: 1) { edges { cursor } } }"
    # when
    answers = [await _post(client, query, headers) for headers in (first, second)]
    # then
    assert [a.json()["data"]["me"]["email"] for a in answers] == [
        "first@example.com",
        "second@example.com",
    ]
    assert all("etag" not in a.headers for a in answers)


async def test_a_bad_token_is_refused_even_for_a_cached_read(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    await make_product(session, "A")
    await _post(client, PRODUCTS)
    # when
    refused = await _post(client, PRODUCTS, {"Authorization": "Bearer not-a-token"})
    # then
    assert refused.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


async def test_reads_racing_a_writer_never_go_back_in_time(
    client: httpx.AsyncClient, session: AsyncSession, db: Database
) -> None:
    # given
    product = await make_product(session, "A", price="1.00")
    staff = await signed_in(client, db, "staff@example.com", "staff")
    seen: list[list[float]] = [[] for _ in range(4)]
    done = False

    async def reader(prices: list[float]) -> None:
        while not done:
            body = await execute(client, PRODUCTS)
            prices.append(float(body["data"]["products"]["edges"][0]["node"]["price"]))

    readers = [asyncio.create_task(reader(prices)) for prices in seen]
    # when: each committed price is followed by a read that must see it or a later one
    try:
        for cents in range(2, 30):
            price = f"{cents}.00"
            answer = await execute(
                client, UPDATE, {"input": {"id": gid("Product", product.id), "price": price}}, staff
            )
            assert answer["data"]["updateProduct"]["__typename"] == "UpdateProductSuccess"
            node = (await execute(client, PRODUCTS))["data"]["products"]["edges"][0]["node"]
            assert node["price"] == price
    finally:
        done = True
        await asyncio.gather(*readers)
    # then: each reader, whose reads follow one another, saw prices only move forward
    for prices in seen:
        assert prices
        assert prices == sorted(prices)


async def test_the_cache_can_be_turned_off(
    settings: Settings, db: Database, session: AsyncSession, auth_tools: Any
) -> None:
    await make_product(session, "A")
    app = create_app(settings.model_copy(update={"response_cache": False}), db, auth_tools)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        answers = [await _post(client, PRODUCTS) for _ in range(2)]
    assert all(a.status_code == 200 and "etag" not in a.headers for a in answers)


async def test_a_cached_read_with_the_token_of_an_ended_session_is_refused(
    client: httpx.AsyncClient, session: AsyncSession, db: Database
) -> None:
    # given: a staff answer cached for this token
    await make_product(session, "A", stock=3)
    staff = await signed_in(client, db, "staff@example.com", "staff")
    assert "errors" not in await execute(client, WITH_STOCK, headers=staff)
    # when: the session ends
    ended = await execute(client, "mutation { logout { __typename } }", headers=staff)
    assert "errors" not in ended, ended
    body = await execute(client, WITH_STOCK, headers=staff)
    # then
    assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert "data" not in body or body["data"] is None


PAGE = "{ products(first: 2) { edges { node { sku inStock } } } }"
IN_STOCK = "{ products(filter: {inStock: true}) { totalCount edges { node { sku } } } }"


async def _restock(db: Database, product_id: int, delta: int) -> None:
    async with new_session(db, write=True) as writer:
        reason = MovementReason.RESTOCK if delta > 0 else MovementReason.ADJUSTMENT
        await adjust_stock(writer, product_id, delta, reason, actor_id=None)
        await writer.commit()


async def test_a_stock_change_elsewhere_leaves_a_cached_answer_alone(
    client: httpx.AsyncClient, session: AsyncSession, db: Database, statements: StatementCounter
) -> None:
    # given: a cached page of A and B; C is not on it
    for sku in ("A", "B", "C"):
        await make_product(session, sku, stock=5)
    first = await _post(client, PAGE)
    product_c = await session.scalar(select(Product.id).where(Product.sku == "C"))
    # when: C's stock changes, even to nothing
    await _restock(db, product_c, -5)
    statements.reset()
    again = await _post(client, PAGE)
    # then: still the cached answer, from the one checking statement
    assert again.headers["etag"] == first.headers["etag"]
    assert statements.count == 1, statements.statements


async def test_a_stock_change_on_the_page_is_seen_by_the_next_read(
    client: httpx.AsyncClient, session: AsyncSession, db: Database
) -> None:
    # given: a cached page of A and B
    product_a = await make_product(session, "A", stock=1)
    await make_product(session, "B", stock=5)
    first = (await execute(client, PAGE))["data"]["products"]["edges"]
    assert first[0]["node"] == {"sku": "A", "inStock": True}
    # when: A sells out, then comes back
    await _restock(db, product_a.id, -1)
    sold_out = (await execute(client, PAGE))["data"]["products"]["edges"]
    await _restock(db, product_a.id, 2)
    back = (await execute(client, PAGE))["data"]["products"]["edges"]
    # then
    assert sold_out[0]["node"] == {"sku": "A", "inStock": False}
    assert back[0]["node"] == {"sku": "A", "inStock": True}


async def test_the_in_stock_filter_sees_products_come_and_go_even_off_its_page(
    client: httpx.AsyncClient, session: AsyncSession, db: Database
) -> None:
    # given: a cached list of what is in stock, without A (sold out)
    product_a = await make_product(session, "A", stock=0)
    product_b = await make_product(session, "B", stock=5)

    async def in_stock() -> tuple[int, list[str]]:
        products = (await execute(client, IN_STOCK))["data"]["products"]
        return products["totalCount"], [e["node"]["sku"] for e in products["edges"]]

    assert await in_stock() == (1, ["B"])
    # when: A comes back in stock (it was on no cached page), then B sells out
    await _restock(db, product_a.id, 3)
    with_a = await in_stock()
    await _restock(db, product_b.id, -5)
    # then
    assert with_a == (2, ["A", "B"])
    assert await in_stock() == (1, ["A"])


async def test_a_stock_change_that_keeps_availability_leaves_the_in_stock_list_cached(
    client: httpx.AsyncClient, session: AsyncSession, db: Database, statements: StatementCounter
) -> None:
    # given: the in-stock list cached; C is in stock but beyond the first page
    for sku in ("A", "B", "C"):
        await make_product(session, sku, stock=5)
    query = "{ products(first: 2, filter: {inStock: true}) { edges { node { sku } } } }"
    first = await _post(client, query)
    product_c = await session.scalar(select(Product.id).where(Product.sku == "C"))
    # when: C sells some units but stays in stock
    await _restock(db, product_c, -2)
    statements.reset()
    again = await _post(client, query)
    # then
    assert again.headers["etag"] == first.headers["etag"]
    assert statements.count == 1, statements.statements


async def test_an_answer_is_computed_with_the_permissions_it_is_kept_under(
    client: httpx.AsyncClient,
    session: AsyncSession,
    db: Database,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # given: a customer, whose permissions grow while their read is under way (simulated:
    # any second reading of the caller would see inventory:read)
    await make_product(session, "A", stock=3)
    customer = await signed_in(client, db, "customer@example.com")
    other = await signed_in(client, db, "other@example.com")
    import gql.graphql.caller

    async def grown(*args: Any, **kwargs: Any) -> Any:
        viewer = await authenticate(*args, **kwargs)
        return dataclasses.replace(viewer, permissions=viewer.permissions | {"inventory:read"})

    monkeypatch.setattr(gql.graphql.caller, "authenticate", grown)
    # when: the customer reads stock, then another customer asks the same
    first = await execute(client, WITH_STOCK, headers=customer)
    second = await execute(client, WITH_STOCK, headers=other)
    # then: neither got stock levels, from the cache or otherwise
    for body in (first, second):
        assert body["data"]["products"]["edges"][0]["node"]["stock"] is None
        assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"


async def test_metrics_count_what_the_cache_did(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    # given: a cacheable read sent twice, and a mutation
    await make_product(session, "M")
    for _ in range(2):
        await _post(client, PRODUCTS)
    await _post(client, UPDATE)
    # when: /metrics is read (open in tests)
    text = (await client.get("/metrics")).text
    # then: one miss (computed and kept), one hit, one request it did not handle; each
    # read checked in a round of its own (they came one after the other)
    assert _outcomes(text) == {"miss": 1.0, "hit": 1.0, "bypass": 1.0}
    assert "gql_catalog_check_rounds_total 2.0" in text.splitlines()
