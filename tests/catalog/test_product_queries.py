"""Public product reads: one product, lists in every order, filters, cursors."""

from decimal import Decimal
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from tests.conftest import execute, without_cost
from tests.factories import db_key, gid, make_product

PRODUCT = """
query Product($id: ID!) {
  product(id: $id) { id sku name price inStock images { url position altText } }
}
"""

PRODUCTS = """
query Products($first: Int, $after: String, $filter: ProductFilterInput, $orderBy: ProductOrderBy!) {
  products(first: $first, after: $after, filter: $filter, orderBy: $orderBy) {
    totalCount
    edges { cursor node { id name price createdAt } }
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
  }
}
"""

ORDER_KEYS = {
    "ID_ASC": (lambda n: int(db_key(n["id"])), False),
    "ID_DESC": (lambda n: int(db_key(n["id"])), True),
    "PRICE_ASC": (lambda n: (Decimal(n["price"]), int(db_key(n["id"]))), False),
    "PRICE_DESC": (lambda n: (Decimal(n["price"]), int(db_key(n["id"]))), True),
    "NAME_ASC": (lambda n: (n["name"], int(db_key(n["id"]))), False),
    "CREATED_AT_DESC": (lambda n: (n["createdAt"], int(db_key(n["id"]))), True),
}


async def _walk(
    client: httpx.AsyncClient, order: str, first: int, product_filter: dict[str, Any] | None = None
) -> list[dict[str, Any]]:
    nodes: list[dict[str, Any]] = []
    after = None
    for _ in range(100):
        body = await execute(
            client,
            PRODUCTS,
            {"first": first, "after": after, "orderBy": order, "filter": product_filter},
        )
        assert "errors" not in body, body
        page = body["data"]["products"]
        nodes += [edge["node"] for edge in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            return nodes
        after = page["pageInfo"]["endCursor"]
    raise AssertionError("pagination did not end")


async def test_product_by_id_with_images_in_position_order(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    # given
    product = await make_product(session, "PEN-1", price="2.50", stock=0, images=3)
    # when
    body = await execute(client, PRODUCT, {"id": gid("Product", product.id)})
    # then
    node = body["data"]["product"]
    assert node["sku"] == "PEN-1"
    assert node["price"] == "2.50"
    assert node["inStock"] is False
    assert [image["position"] for image in node["images"]] == [0, 1, 2]
    assert node["images"][0]["url"] == "https://img.test/PEN-1/0.jpg"


@pytest.mark.parametrize("product_id", ["999999", "abc", "-1", "0", "1" * 40])
async def test_unknown_or_malformed_id_reads_as_null(
    client: httpx.AsyncClient, db: object, product_id: str
) -> None:
    body = await execute(client, PRODUCT, {"id": product_id})
    assert without_cost(body) == {"data": {"product": None}}


@pytest.mark.parametrize("order", list(ORDER_KEYS))
async def test_every_order_pages_through_all_rows_once(
    client: httpx.AsyncClient, session: AsyncSession, order: str
) -> None:
    # given: prices and names with ties, so the id tie-breaker matters
    for n in range(23):
        await make_product(session, f"SKU-{n:02d}", name=f"Item {n % 4}", price=f"{n % 5}.25")
    # when
    nodes = await _walk(client, order, first=4)
    # then
    ids = [node["id"] for node in nodes]
    assert len(ids) == 23
    assert len(set(ids)) == 23
    key, descending = ORDER_KEYS[order]
    assert nodes == sorted(nodes, key=key, reverse=descending)


async def test_page_info_and_total_count(client: httpx.AsyncClient, session: AsyncSession) -> None:
    for n in range(5):
        await make_product(session, f"P{n}")
    first = await execute(client, PRODUCTS, {"first": 2, "orderBy": "ID_ASC"})
    page = first["data"]["products"]
    assert page["totalCount"] == 5
    assert page["pageInfo"]["hasNextPage"] is True
    assert page["pageInfo"]["hasPreviousPage"] is False
    assert page["pageInfo"]["startCursor"] == page["edges"][0]["cursor"]
    last = await execute(
        client,
        PRODUCTS,
        {"first": 10, "after": page["pageInfo"]["endCursor"], "orderBy": "ID_ASC"},
    )
    rest = last["data"]["products"]
    assert len(rest["edges"]) == 3
    assert rest["pageInfo"]["hasNextPage"] is False
    assert rest["pageInfo"]["hasPreviousPage"] is True
    assert rest["totalCount"] == 5


async def test_first_defaults_to_20_and_is_capped_at_100(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    for n in range(105):
        await make_product(session, f"BULK-{n:03d}")
    default = await execute(client, PRODUCTS, {"orderBy": "ID_ASC"})
    assert len(default["data"]["products"]["edges"]) == 20
    capped = await execute(client, PRODUCTS, {"first": 1000, "orderBy": "ID_ASC"})
    assert len(capped["data"]["products"]["edges"]) == 100
    assert capped["data"]["products"]["pageInfo"]["hasNextPage"] is True


async def test_first_zero_is_an_empty_page(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    await make_product(session, "ONLY")
    body = await execute(client, PRODUCTS, {"first": 0, "orderBy": "ID_ASC"})
    page = body["data"]["products"]
    assert page["edges"] == []
    assert page["pageInfo"]["hasNextPage"] is True


async def test_negative_first_is_bad_input(client: httpx.AsyncClient, db: object) -> None:
    body = await execute(client, PRODUCTS, {"first": -1, "orderBy": "ID_ASC"})
    assert body["data"] is None
    assert body["errors"][0]["extensions"] == {"code": "BAD_USER_INPUT", "field": "first"}


@pytest.mark.parametrize(
    "cursor", ["garbage", "", "WyJJRF9BU0MiXQ", "WyJJRF9BU0MiLCJ4Il0", "eyJhIjoxfQ"]
)
async def test_corrupt_cursor_is_bad_input(
    client: httpx.AsyncClient, db: object, cursor: str
) -> None:
    body = await execute(client, PRODUCTS, {"after": cursor, "orderBy": "ID_ASC"})
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    assert body["errors"][0]["extensions"]["field"] == "after"


async def test_cursor_of_another_order_is_bad_input(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    await make_product(session, "A")
    await make_product(session, "B")
    by_price = await execute(client, PRODUCTS, {"first": 1, "orderBy": "PRICE_ASC"})
    cursor = by_price["data"]["products"]["pageInfo"]["endCursor"]
    body = await execute(client, PRODUCTS, {"first": 1, "after": cursor, "orderBy": "NAME_ASC"})
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


async def test_filters_combine(client: httpx.AsyncClient, session: AsyncSession) -> None:
    # given
    await make_product(session, "NB-1", name="Dotted Notebook", price="12.50", stock=3)
    await make_product(session, "NB-2", name="Lined notebook", price="9.90", stock=0)
    await make_product(session, "PEN-1", name="Gel pen", price="2.20", stock=9)
    await make_product(session, "PCT-1", name="100% cotton bag_x", price="20.00", stock=1)

    async def names(product_filter: dict[str, Any]) -> set[str]:
        return {node["name"] for node in await _walk(client, "ID_ASC", 10, product_filter)}

    # then
    assert await names({"search": "NOTEBOOK"}) == {"Dotted Notebook", "Lined notebook"}
    assert await names({"search": "pen-"}) == {"Gel pen"}
    assert await names({"search": "%"}) == {"100% cotton bag_x"}
    assert await names({"search": "g_x"}) == {"100% cotton bag_x"}
    assert await names({"inStock": True, "search": "notebook"}) == {"Dotted Notebook"}
    assert await names({"inStock": False}) == {"Lined notebook"}
    assert await names({"minPrice": "9.90", "maxPrice": "12.50"}) == {
        "Dotted Notebook",
        "Lined notebook",
    }
    body = await execute(client, PRODUCTS, {"filter": {"search": "x"}, "orderBy": "ID_ASC"})
    assert body["data"]["products"]["totalCount"] == 1


@pytest.mark.parametrize(
    ("product_filter", "field"),
    [
        ({"minPrice": "-1"}, "filter.minPrice"),
        # beyond what the price column holds: PostgreSQL would refuse the comparison
        ({"maxPrice": "10000000000"}, "filter.maxPrice"),
        ({"search": "x" * 201}, "filter.search"),
    ],
)
async def test_bad_filter_values_are_bad_input(
    client: httpx.AsyncClient, db: object, product_filter: dict[str, Any], field: str
) -> None:
    body = await execute(client, PRODUCTS, {"filter": product_filter, "orderBy": "ID_ASC"})
    assert body["errors"][0]["extensions"] == {"code": "BAD_USER_INPUT", "field": field}


async def test_sibling_root_fields_share_the_session_safely(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    # given: several root fields that resolve concurrently against one request session
    products = [await make_product(session, f"S{n}", images=2) for n in range(3)]
    fields = " ".join(
        f'p{n}: product(id: "{gid("Product", p.id)}") {{ name images {{ url }} }}'
        for n, p in enumerate(products)
    )
    query = f"{{ {fields} list: products(first: 3) {{ totalCount edges {{ node {{ images {{ url }} }} }} }} }}"
    # when
    body = await execute(client, query)
    # then
    assert "errors" not in body, body
    assert body["data"]["list"]["totalCount"] == 3
    assert all(len(body["data"][f"p{n}"]["images"]) == 2 for n in range(3))
