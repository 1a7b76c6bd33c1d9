"""gql's executor (gql.graphql.execution) against graphql-core's own, on the same schema,
data and callers: every operation of the corpus must give identical data and errors."""

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from gql.auth.sessions import AuthTools, Client
from gql.catalog import types as catalog_types
from gql.catalog.listing import ImageRow
from gql.core.config import Settings
from gql.core.db import Database
from gql.graphql import compat
from gql.graphql.context import Context
from gql.graphql.schema import build_schema, schema
from tests.conftest import execute
from tests.factories import gid, make_product, signed_in
from tests.orders.helpers import PLACE, lines

STOCK_SCHEMA = build_schema(compat.ExecutionContextBase)

PRODUCT_FIELDS = "id sku name description price inStock stock createdAt updatedAt"
CORPUS: dict[str, tuple[str, dict[str, Any]]] = {
    "every catalog field": (
        "{ products(first: 10) { totalCount pageInfo { hasNextPage endCursor } "
        f"edges {{ cursor node {{ {PRODUCT_FIELDS} images {{ id url altText position }} }} }} }} }}",
        {},
    ),
    "aliases and fragments": (
        "query { a: products(first: 2) { ...page } b: products(first: 1, orderBy: PRICE_DESC) "
        "{ ...page } } fragment page on ProductConnection { edges { node { ...item } } } "
        "fragment item on Product { id name inStock pic: images { url } }",
        {},
    ),
    "inline fragments and typename": (
        "{ __typename products(first: 3) { __typename edges { ... on ProductEdge { node "
        "{ __typename ... on Product { sku } } } } } }",
        {},
    ),
    "variables, filters and cursors": (
        "query($first: Int, $after: String, $f: ProductFilterInput) { products(first: $first, "
        "after: $after, filter: $f, orderBy: NAME_ASC) { edges { cursor node { sku price } } "
        "pageInfo { hasNextPage endCursor } } }",
        {"first": 2, "after": None, "f": {"minPrice": "1.00", "inStock": True, "search": "o"}},
    ),
    "include and skip": (
        "query($yes: Boolean!, $no: Boolean!) { products(first: 2) { edges { node { "
        "sku @include(if: $yes) name @include(if: $no) price @skip(if: $yes) "
        "images @skip(if: $no) { url } } } } }",
        {"yes": True, "no": False},
    ),
    "one product, guarded stock": (
        "query($id: ID!, $missing: ID!) { product(id: $id) { sku stock inStock images "
        "{ position } } missing: product(id: $missing) { sku } "
        'malformed: product(id: "x") { sku } }',
        {"id": gid("Product", 1), "missing": gid("Product", 999999)},
    ),
    "refetch through node": (
        "query($p: ID!, $o: ID!, $m: ID!, $ids: [ID!]!) { "
        "p: node(id: $p) { __typename id ... on Product { sku stock images { id } } } "
        "o: node(id: $o) { id ... on Order { total customer { email } lines { quantity } } } "
        "m: node(id: $m) { id ... on StockMovement { delta quantityAfter product { sku } } } "
        "nodes(ids: $ids) { __typename id ... on Role { name } ... on User { email } } }",
        {
            "p": gid("Product", 2),
            "o": gid("Order", 1),
            "m": gid("StockMovement", 1),
            "ids": [
                gid("Product", 1),
                gid("ProductImage", 1),
                gid("Order", 1),
                gid("User", 1),
                gid("Role", 1),
                gid("StockMovement", 2),
                "junk",
            ],
        },
    ),
    "the caller": ("{ me { id email fullName isActive roles { name } permissions { name } } }", {}),
    "orders": (
        "{ orders(first: 5) { totalCount edges { node { id status total customer { email } "
        "lines { quantity unitPrice lineTotal product { sku stock } } } } } }",
        {},
    ),
    "the ledger": (
        "{ stockMovements(first: 5) { edges { node { id delta quantityAfter reason "
        "product { sku } order { id } } } } }",
        {},
    ),
    "administration": (
        "{ users(first: 3) { edges { node { email roles { name } } } } roles { name "
        "permissions { name } } permissions { name } mySessions { current } }",
        {},
    ),
    "a bad argument": ("{ products(first: 1000) { totalCount } }", {}),
}
CALLERS = ("anonymous", "customer", "staff", "admin")


@dataclass
class World:
    """The data and the callers' authorization headers."""

    headers: dict[str, str | None]
    db: Database
    settings: Settings
    auth: AuthTools

    async def run(self, which: Any, query: str, variables: dict[str, Any], caller: str) -> Any:
        context = Context(
            self.db,
            self.settings,
            self.auth,
            authorization=self.headers[caller],
            client=Client(ip="127.0.0.1"),
        )
        try:
            result = await which.execute(query, variable_values=variables, context_value=context)
        finally:
            await context.close()
        return result.data, [error.formatted for error in result.errors or ()]


@pytest.fixture
async def world(
    client: httpx.AsyncClient,
    db: Database,
    session: AsyncSession,
    settings: Settings,
    auth_tools: AuthTools,
) -> AsyncIterator[World]:
    for n, sku in enumerate(("A", "B", "C", "D")):
        await make_product(
            session, sku, name=f"Product {sku} of four", price=f"{n + 1}.50", stock=n, images=2
        )
    headers: dict[str, str | None] = {"anonymous": None}
    for caller in CALLERS[1:]:
        role = () if caller == "customer" else (caller,)
        headers[caller] = (await signed_in(client, db, f"{caller}@example.com", *role))[
            "Authorization"
        ]
    customer = {"Authorization": headers["customer"] or ""}
    placed = await execute(client, PLACE, {"input": {"lines": lines((2, 1), (3, 2))}}, customer)
    assert placed["data"]["placeOrder"]["__typename"] == "PlaceOrderSuccess", placed
    yield World(headers, db, settings, auth_tools)


async def _compare(world: World) -> None:
    for name, (query, variables) in CORPUS.items():
        for caller in CALLERS:
            ours = await world.run(schema, query, variables, caller)
            stock = await world.run(STOCK_SCHEMA, query, variables, caller)
            assert ours == stock, f"{name} as {caller}"


async def test_every_operation_of_the_corpus_executes_alike(world: World) -> None:
    await _compare(world)


async def test_nulls_in_non_null_positions_and_errors_in_lists_execute_alike(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given: product B comes without a name (non-null), and C's images fail to load
    original: Callable[..., Any] = catalog_types.Product.from_model.__func__  # type: ignore[attr-defined]

    def nameless_b(cls: Any, product: Any, images: list[ImageRow] | None = None) -> Any:
        made = original(cls, product, images)
        if made.sku == "B":
            made.name = None
        if made.sku == "C":
            made.preloaded_images = None  # loaded on their own, below
        return made

    async def failing_images(self: Any, info: Any) -> Any:
        if self.sku == "C":
            raise RuntimeError("images unavailable")
        return self.preloaded_images or []

    monkeypatch.setattr(catalog_types.Product, "from_model", classmethod(nameless_b))
    monkeypatch.setattr(catalog_types.Product, "_load_images", failing_images)
    # then
    await _compare(world)
