"""Property-based fuzzing of the whole schema: queries and mutations generated from the SDL by
hypothesis-graphql, sent over HTTP as an anonymous caller, a customer and an admin, on each
backend; afterwards the database must still be consistent."""

import asyncio
import re
from collections import defaultdict
from decimal import Decimal

import httpx
import pytest
from graphql import build_schema
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis_graphql import from_schema, nodes
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from gql.auth.models import Role, User, role_permission, user_role
from gql.auth.roles import ADMIN, CUSTOMER, PERMISSIONS
from gql.catalog.models import Product, ProductImage
from gql.cli import export_schema_text
from gql.core.db import Database, new_session
from gql.inventory.models import StockMovement
from gql.inventory.service import check_ledger
from gql.orders.models import Order, OrderLine
from tests.factories import gid, make_product, signed_in

EXAMPLES_PER_ROLE = 300
GRAPHQL_RESPONSE = "application/graphql-response+json"
# What a leaked exception looks like: a traceback, SQL, a driver, a DSN.
LEAK = re.compile(
    r"Traceback|File \"|sqlalchemy|asyncpg|aiosqlite|psycopg|postgresql\+|sqlite\+|"
    r"\bSELECT\b.+\bFROM\b|\bINSERT INTO\b|\bUPDATE\b.+\bSET\b|\bDELETE FROM\b|"
    r"IntegrityError|OperationalError|DataError|ProgrammingError|InterfaceError|"
    r"\w+Error: |\bline \d+, in\b",
    re.IGNORECASE,
)
NEVER = {"INTERNAL_SERVER_ERROR", "SERVICE_UNAVAILABLE"}

# Mostly the ids of seeded rows (so mutations reach past their lookups); the rest probe the
# parsing of malformed ids.
IDS = st.one_of(
    st.integers(min_value=1, max_value=4).map(str),
    st.integers(min_value=1, max_value=4).map(str),
    st.integers(min_value=1, max_value=12).map(str),
    st.integers().map(str),
    st.uuids().map(str),
    st.text(max_size=12),
).map(nodes.String)
DECIMALS = st.one_of(
    st.decimals(min_value=-10, max_value=10**6, places=2).map(str),
    st.decimals(allow_nan=True, allow_infinity=True).map(str),
    st.text(max_size=12),
).map(nodes.String)
DATETIMES = st.one_of(st.datetimes().map(lambda d: d.isoformat()), st.text(max_size=12)).map(
    nodes.String
)
# Plain text, and text with a control character in it (NUL is what PostgreSQL refuses).
CONTROLS = st.one_of(st.just("\x00"), st.sampled_from(["\x07", "\x1b", "\x7f", "\x85", "\n", "\t"]))
STRINGS = st.one_of(
    st.text(max_size=16),
    st.text(max_size=16),
    st.tuples(st.text(max_size=6), CONTROLS, st.text(max_size=6)).map("".join),
).map(nodes.String)
# Small numbers pass the range checks (quantities, page sizes) and reach the deeper code.
INTS = st.one_of(
    st.integers(1, 3),
    st.integers(1, 3),
    st.integers(1, 3),
    st.integers(-1, 1000),
    st.integers(-(2**31), 2**31 - 1),
).map(nodes.Int)
SDL = export_schema_text()
# A file only comes in a multipart request: in JSON, an upload is whatever else a client sends.
SCALARS = {
    "ID": IDS,
    "Int": INTS,
    "Decimal": DECIMALS,
    "DateTime": DATETIMES,
    "String": STRINGS,
    "Upload": STRINGS,
}
# Mostly one root field per operation, drawn evenly: a request error in one field nulls the
# data of the whole operation (and stops its later mutations), hiding the other fields. The
# rest combine fields, for what only siblings do: a mutation after one that rolled back, a
# field error that cancels its siblings mid-query.
ROOT_FIELDS = sorted(
    name
    for root in (build_schema(SDL).query_type, build_schema(SDL).mutation_type)
    if root is not None
    for name in root.fields
)
SINGLE_FIELD = st.one_of(
    [from_schema(SDL, fields=[name], custom_scalars=SCALARS) for name in ROOT_FIELDS]
)
OPERATIONS = st.one_of(SINGLE_FIELD, SINGLE_FIELD, from_schema(SDL, custom_scalars=SCALARS))
ACCEPT = st.sampled_from(["application/json", GRAPHQL_RESPONSE])


class Caller:
    """Who sends the fuzzed operations; a signed-in caller signs in again (a new account)
    once a mutation (logout, logoutAll, setUserActive) ended their session."""

    def __init__(self, client: httpx.AsyncClient, db: Database, role: str) -> None:
        self.client, self.db, self.role = client, db, role
        self.headers: dict[str, str] = {}
        self.sign_ins = 0

    async def sign_in(self) -> None:
        """A fresh account and session with the caller's role (none for the anonymous)."""
        if self.role == "anonymous":
            return
        self.sign_ins += 1
        email = f"fuzz-{self.role}-{self.sign_ins}@example.com"
        # Every account is a customer; others get their role on top.
        extra = () if self.role == CUSTOMER else (self.role,)
        self.headers = await signed_in(self.client, self.db, email, *extra)

    async def send(self, operation: str, accept: str) -> httpx.Response:
        """POST one operation; sign in again when the session is gone."""
        response = await self.client.post(
            "/graphql", json={"query": operation}, headers=self.headers | {"Accept": accept}
        )
        if self.headers and "UNAUTHENTICATED" in _codes(response):
            await self.sign_in()
        return response


def _codes(response: httpx.Response) -> set[str]:
    try:
        errors = response.json().get("errors") or []
    except ValueError:
        return set()
    return {str((error.get("extensions") or {}).get("code")) for error in errors}


def _assert_sound(operation: str, response: httpx.Response) -> None:
    """No 5xx, every error coded and none masked, nothing of the server's insides shown."""
    context = f"{operation}\n-> {response.status_code} {response.text[:1000]}"
    assert response.status_code < 500, context
    body = response.json()
    assert isinstance(body, dict), context
    for error in body.get("errors") or []:
        code = (error.get("extensions") or {}).get("code")
        assert code is not None, context
        assert code not in NEVER, context
    assert LEAK.search(response.text) is None, context


async def _seed(session: AsyncSession, client: httpx.AsyncClient, db: Database) -> None:
    """The shop's owner (an admin), products with stock and images, and a customer's order."""
    await signed_in(client, db, "owner@example.com", ADMIN)
    products = [
        await make_product(session, f"FUZZ-{n}", stock=20, images=2, price=f"{n}.50")
        for n in range(1, 5)
    ]
    customer = await signed_in(client, db, "customer@example.com")
    placed = await client.post(
        "/graphql",
        json={
            "query": "mutation($id: ID!) { placeOrder(input: {lines: [{productId: $id, "
            "quantity: 2}]}) { __typename } }",
            "variables": {"id": gid("Product", products[0].id)},
        },
        headers=customer,
    )
    assert placed.json()["data"]["placeOrder"]["__typename"] == "PlaceOrderSuccess"


async def _inconsistencies(db: Database) -> list[str]:
    """Every broken invariant of the database (empty when it is consistent)."""
    found: list[str] = []
    async with new_session(db, write=False) as session:
        found += [f"ledger: {m}" for m in await check_ledger(session)]
        negative = await session.scalars(select(Product.sku).where(Product.stock < 0))
        found += [f"negative stock: {sku}" for sku in negative]
        last_after = (
            select(StockMovement.product_id, func.max(StockMovement.id).label("last"))
            .group_by(StockMovement.product_id)
            .subquery()
        )
        drifted = await session.execute(
            select(Product.sku, Product.stock, StockMovement.quantity_after)
            .join(last_after, last_after.c.product_id == Product.id)
            .join(StockMovement, StockMovement.id == last_after.c.last)
            .where(StockMovement.quantity_after != Product.stock)
        )
        found += [
            f"last quantityAfter {after} != stock {stock}: {sku}" for sku, stock, after in drifted
        ]
        line_sums: dict[int, Decimal] = defaultdict(Decimal)
        for order_id, quantity, unit_price in await session.execute(
            select(OrderLine.order_id, OrderLine.quantity, OrderLine.unit_price)
        ):
            line_sums[order_id] += quantity * unit_price
        for order_id, total in await session.execute(select(Order.id, Order.total)):
            if order_id not in line_sums or line_sums[order_id] != total:
                found.append(f"order {order_id}: total {total}, lines {line_sums.get(order_id)}")
        positions: dict[int, list[int]] = defaultdict(list)
        for product_id, position in await session.execute(
            select(ProductImage.product_id, ProductImage.position).order_by(
                ProductImage.product_id, ProductImage.position
            )
        ):
            positions[product_id].append(position)
        found += [
            f"image positions of product {p}: {ps}"
            for p, ps in positions.items()
            if ps != list(range(len(ps)))
        ]
        admin_permissions = set(
            await session.scalars(
                select(role_permission.c.permission_name)
                .join(Role, Role.id == role_permission.c.role_id)
                .where(Role.name == ADMIN)
            )
        )
        if admin_permissions != set(PERMISSIONS):
            found.append(f"admin role holds {sorted(admin_permissions)}")
        active_admins = await session.scalar(
            select(func.count())
            .select_from(User)
            .join(user_role, user_role.c.user_id == User.id)
            .join(Role, Role.id == user_role.c.role_id)
            .where(Role.name == ADMIN, User.is_active.is_(True))
        )
        if not active_admins:
            found.append("no active admin left")
    return found


@pytest.mark.parametrize("role", ["anonymous", CUSTOMER, ADMIN])
async def test_fuzzed_operations_never_fail_the_server(
    client: httpx.AsyncClient, db: Database, session: AsyncSession, role: str
) -> None:
    # given: a shop with products, images, stock and an order; an admin who stays signed in
    await _seed(session, client, db)
    caller = Caller(client, db, role)
    await caller.sign_in()

    loop = asyncio.get_running_loop()

    # when: generated operations arrive, each answer checked as it comes
    @settings(
        max_examples=EXAMPLES_PER_ROLE,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(operation=OPERATIONS, accept=ACCEPT)
    def fuzz(operation: str, accept: str) -> None:
        sent = asyncio.run_coroutine_threadsafe(caller.send(operation, accept), loop)
        _assert_sound(operation, sent.result(timeout=30))

    # Hypothesis drives synchronous tests: it runs in a thread while this loop serves the app.
    await asyncio.to_thread(fuzz)

    # then: the data still holds together
    assert await _inconsistencies(db) == []
