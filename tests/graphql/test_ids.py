"""Every id argument parsed by gql/graphql/ids.py: beyond int4, an id names nothing (both backends)."""

import httpx
import pytest

from gql.core.db import Database
from tests.conftest import execute, without_cost
from tests.factories import gid, signed_in

BIG = 9999999999
PRODUCT, ORDER_ID, USER = gid("Product", BIG), gid("Order", BIG), gid("User", BIG)
USER_ERROR = "... on UserError { code field }"
ORDER = f'query {{ order(id: "{ORDER_ID}") {{ id }} }}'
MOVEMENTS = f'query {{ stockMovements(productId: "{PRODUCT}") {{ totalCount }} }}'
ADJUST = f"""
mutation {{ adjustStock(productId: "{PRODUCT}", delta: 1, reason: RESTOCK) {{
  __typename {USER_ERROR} }} }}
"""
PLACE = f"""
mutation {{ placeOrder(input: {{lines: [{{productId: "{PRODUCT}", quantity: 1}}]}}) {{
  __typename {USER_ERROR} }} }}
"""
CANCEL = f'mutation {{ cancelOrder(id: "{ORDER_ID}") {{ __typename {USER_ERROR} }} }}'
ASSIGN = f"""
mutation {{ assignRole(input: {{userId: "{USER}", roleId: "{gid("Role", 1)}"}}) {{
  __typename {USER_ERROR} }} }}
"""


@pytest.fixture
async def client(client: httpx.AsyncClient, db: Database) -> httpx.AsyncClient:
    """A client signed in as an admin."""
    client.headers.update(await signed_in(client, db, "admin@example.com", "admin"))
    return client


async def test_queries_with_an_id_beyond_int4_find_nothing(client: httpx.AsyncClient) -> None:
    # when
    order = await execute(client, ORDER)
    movements = await execute(client, MOVEMENTS)
    # then
    assert without_cost(order) == {"data": {"order": None}}
    assert without_cost(movements) == {"data": {"stockMovements": {"totalCount": 0}}}


@pytest.mark.parametrize(
    ("operation", "name", "field"),
    [
        (ADJUST, "adjustStock", "productId"),
        (PLACE, "placeOrder", "lines[0].productId"),
        (CANCEL, "cancelOrder", "id"),
        (ASSIGN, "assignRole", "userId"),
    ],
)
async def test_mutations_with_an_id_beyond_int4_are_not_found(
    client: httpx.AsyncClient, operation: str, name: str, field: str
) -> None:
    # when
    body = await execute(client, operation)
    # then
    assert "errors" not in body, body
    assert body["data"][name] == {
        "__typename": "NotFoundError",
        "code": "NOT_FOUND",
        "field": field,
    }
