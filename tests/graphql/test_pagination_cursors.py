"""Cursors come back from clients: a crafted one is BAD_USER_INPUT on both backends."""

import base64
import json
from types import SimpleNamespace
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from gql.catalog.models import Product
from gql.graphql.connections import Edge, _cursor
from gql.graphql.pagination import Page, SortKey, decode_cursor
from tests.factories import make_product
from tests.hostile import execute_escaped

PRODUCTS = """
query Products($after: String, $orderBy: ProductOrderBy!) {
  products(first: 5, after: $after, orderBy: $orderBy) { edges { node { sku } } }
}
"""

EDGES = """
query Edges($orderBy: ProductOrderBy!) {
  products(orderBy: $orderBy) { edges { cursor node { sku } } }
}
"""


def _cursor_of(*payload: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(payload).encode()).decode().rstrip("=")


def _with_nul_the_decoder_would_skip() -> str:
    # A cursor of whole base64 quanta: a lenient decoder drops the NUL (and then needs no
    # padding) and reads a valid cursor.
    cursor = _cursor_of("ID_ASC", 100)
    assert len(cursor) % 4 == 0
    return cursor[:4] + "\u0000" + cursor[4:]


CRAFTED = {
    "nul-in-name": ("NAME_ASC", _cursor_of("NAME_ASC", "Pen\u0000", 1)),
    "surrogate-in-name": ("NAME_ASC", _cursor_of("NAME_ASC", "Pen\ud800", 1)),
    "price-overflow": ("PRICE_ASC", _cursor_of("PRICE_ASC", "1e999999", 1)),
    "price-beyond-column": ("PRICE_ASC", _cursor_of("PRICE_ASC", "1e20", 1)),
    "price-nan": ("PRICE_ASC", _cursor_of("PRICE_ASC", "NaN", 1)),
    "price-infinite": ("PRICE_ASC", _cursor_of("PRICE_ASC", "-Infinity", 1)),
    "price-number": ("PRICE_ASC", _cursor_of("PRICE_ASC", 5, 1)),
    "id-beyond-int4": ("ID_ASC", _cursor_of("ID_ASC", 2**31)),
    "id-below-int4": ("ID_ASC", _cursor_of("ID_ASC", -(2**31) - 1)),
    "naive-time": ("CREATED_AT_DESC", _cursor_of("CREATED_AT_DESC", "2024-01-01T00:00:00", 1)),
    "nul-in-base64": ("ID_ASC", _with_nul_the_decoder_would_skip()),
    "standard-base64-alphabet": ("ID_ASC", _cursor_of("ID_ASC", 1).replace("_", "/") + "+"),
    "padding": ("ID_ASC", _cursor_of("ID_ASC", 1) + "="),
}


@pytest.mark.parametrize(("order", "cursor"), CRAFTED.values(), ids=CRAFTED.keys())
async def test_crafted_cursor_is_bad_input(
    client: httpx.AsyncClient, session: AsyncSession, order: str, cursor: str
) -> None:
    # given
    await make_product(session, "PEN", price="2.00")
    # when
    body = await execute_escaped(client, PRODUCTS, {"after": cursor, "orderBy": order})
    # then
    assert body["data"] is None
    assert body["errors"][0]["extensions"] == {"code": "BAD_USER_INPUT", "field": "after"}


@pytest.mark.parametrize("order", ["ID_ASC", "PRICE_DESC", "NAME_ASC", "CREATED_AT_DESC"])
async def test_cursors_the_server_issued_still_work(
    client: httpx.AsyncClient, session: AsyncSession, order: str
) -> None:
    # given: values at the edges of what the columns hold
    await make_product(session, "MAX", name="Z\u00e9\U0001f58a", price="9999999999.99")
    await make_product(session, "MID", name="M", price="0.01")
    await make_product(session, "MIN", name="A", price="0.00")
    listed = await execute_escaped(client, EDGES, {"orderBy": order})
    edges = listed["data"]["products"]["edges"]
    skus = [edge["node"]["sku"] for edge in edges]
    for position, edge in enumerate(edges):
        # when: each issued cursor comes back
        body = await execute_escaped(client, PRODUCTS, {"after": edge["cursor"], "orderBy": order})
        # then: the rest of the list follows it
        assert "errors" not in body, body
        rest = [node["node"]["sku"] for node in body["data"]["products"]["edges"]]
        assert rest == skus[position + 1 :]


def test_an_edge_not_encoded_with_its_page_encodes_its_cursor_when_read() -> None:
    # given: an edge whose page did not encode cursors (the query seemed not to ask)
    row = SimpleNamespace(id=42)
    sort = SortKey("ID_ASC", ((Product.id, False),))
    page = Page([row], sort, False, False, select(func.count()), {})
    edge = Edge(node=None, page=page, item=row)
    # when
    cursor = _cursor(edge)
    # then: the cursor the page would have given, of this row
    assert cursor == page.cursor(row)
    assert decode_cursor(sort, cursor) == [42]
