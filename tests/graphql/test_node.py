"""Global object identification: every object a list shows is fetched again through
`node` as the same object, under the same rules, for every role; `nodes` batches per type."""

from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from gql.core.db import Database
from tests.conftest import StatementCounter, execute, without_cost
from tests.factories import gid, make_product, signed_in
from tests.orders.helpers import PLACE, lines

IMAGE = "__typename id url altText position"
ROLE = "__typename id name description"
FIELDS = {
    "ProductImage": IMAGE,
    "Product": f"__typename id sku name price stock inStock images {{ {IMAGE} }}",
    "Role": ROLE,
    "User": f"__typename id email fullName isActive roles {{ {ROLE} }}",
    "Order": "__typename id status total createdAt cancelledAt",
    "Session": "__typename id createdAt lastUsedAt expiresAt userAgent current",
    "StockMovement": "__typename id delta quantityAfter reason createdAt",
}
LISTS = [
    f"products(first: 10) {{ edges {{ node {{ {FIELDS['Product']} }} }} }}",
    f"orders(first: 10) {{ edges {{ node {{ {FIELDS['Order']} }} }} }}",
    f"me {{ {FIELDS['User']} }}",
    f"mySessions {{ {FIELDS['Session']} }}",
    f"users(first: 10) {{ edges {{ node {{ {FIELDS['User']} }} }} }}",
    f"roles {{ {FIELDS['Role']} }}",
    f"stockMovements(first: 10) {{ edges {{ node {{ {FIELDS['StockMovement']} }} }} }}",
]
FRAGMENTS = " ".join(f"... on {name} {{ {fields} }}" for name, fields in FIELDS.items())
NODE = f"query($id: ID!) {{ node(id: $id) {{ __typename {FRAGMENTS} }} }}"
NODES = "query($ids: [ID!]!) { nodes(ids: $ids) { __typename id } }"
ADJUST = """
mutation($id: ID!) { adjustStock(productId: $id, delta: 3, reason: RESTOCK) { __typename } }
"""
Path = tuple[str | int, ...]


def _objects(value: Any, path: Path = ()) -> list[tuple[Path, dict[str, Any]]]:
    """Every object with a global id in a result, with where it stands."""
    found: list[tuple[Path, dict[str, Any]]] = []
    if isinstance(value, dict):
        if value.get("__typename") in FIELDS and "id" in value:
            found.append((path, value))
        for key, child in value.items():
            found += _objects(child, (*path, key))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            found += _objects(child, (*path, index))
    return found


def _errors_under(body: dict[str, Any], path: Path) -> list[tuple[Path, str]]:
    """The errors at or below `path`, by their path below it, with their codes."""
    return sorted(
        (tuple(error["path"][len(path) :]), error["extensions"]["code"])
        for error in body.get("errors", [])
        if tuple(error.get("path") or ())[: len(path)] == path
    )


@pytest.fixture
async def shop(client: httpx.AsyncClient, db: Database, session: AsyncSession) -> dict[str, Any]:
    """Products with images, two customers with an order each, a staff member who moved
    stock, and an admin."""
    pen = await make_product(session, "PEN", stock=5, images=2)
    book = await make_product(session, "BOOK", stock=0, images=1)
    callers = {
        "anonymous": {},
        "customer": await signed_in(client, db, "ada@example.com"),
        "other customer": await signed_in(client, db, "bob@example.com"),
        "staff": await signed_in(client, db, "staff@example.com", "staff"),
        "admin": await signed_in(client, db, "root@example.com", "admin"),
    }
    for caller in ("customer", "other customer"):
        body = await execute(
            client, PLACE, {"input": {"lines": lines((pen.id, 1))}}, callers[caller]
        )
        assert body["data"]["placeOrder"]["__typename"] == "PlaceOrderSuccess", body
    body = await execute(client, ADJUST, {"id": gid("Product", book.id)}, callers["staff"])
    assert body["data"]["adjustStock"]["__typename"] == "AdjustStockSuccess", body
    return {"callers": callers, "pen": pen, "book": book}


@pytest.mark.parametrize("role", ["anonymous", "customer", "staff", "admin"])
async def test_node_gives_every_listed_object_as_the_typed_field_did(
    client: httpx.AsyncClient, shop: dict[str, Any], role: str
) -> None:
    headers = shop["callers"][role]
    seen: set[str] = set()
    for listing in LISTS:
        # given: the objects a list shows the caller (with its errors, e.g. `stock`)
        listed = await execute(client, f"{{ {listing} }}", headers=headers)
        if listed.get("data") is None:
            continue  # a list the caller may not read at all
        for path, obj in _objects(listed["data"]):
            # when
            fetched = await execute(client, NODE, {"id": obj["id"]}, headers)
            # then: the same object, and the same refusals of its fields
            assert fetched["data"]["node"] == obj, (role, path)
            assert _errors_under(fetched, ("node",)) == _errors_under(listed, path), (role, path)
            seen.add(obj["__typename"])
    expected = {
        "anonymous": {"Product", "ProductImage"},
        "customer": {"Product", "ProductImage", "Order", "User", "Role", "Session"},
        "staff": set(FIELDS),
        "admin": set(FIELDS),
    }[role]
    assert seen == expected


async def test_node_keeps_the_typed_fields_rules(
    client: httpx.AsyncClient, shop: dict[str, Any]
) -> None:
    callers = shop["callers"]
    orders = "{ orders(first: 1) { edges { node { id } } } }"
    body = await execute(client, orders, headers=callers["other customer"])
    others_order = body["data"]["orders"]["edges"][0]["node"]["id"]
    body = await execute(client, "{ mySessions { id } }", headers=callers["other customer"])
    others_session = body["data"]["mySessions"][0]["id"]
    body = await execute(
        client, "{ stockMovements(first: 1) { edges { node { id } } } }", headers=callers["staff"]
    )
    movement = body["data"]["stockMovements"]["edges"][0]["node"]["id"]
    body = await execute(client, "{ me { id } }", headers=callers["other customer"])
    other_user = body["data"]["me"]["id"]

    async def node(id: str, caller: str) -> dict[str, Any]:
        body = await execute(
            client, "query($id: ID!) { node(id: $id) { id } }", {"id": id}, callers[caller]
        )
        return without_cost(body)

    def code(body: dict[str, Any]) -> str:
        (error,) = body["errors"]
        assert body["data"] == {"node": None} and error["path"] == ["node"]
        return str(error["extensions"]["code"])

    # another customer's order, session and account read exactly like missing ones
    for hidden in (others_order, others_session, other_user):
        assert await node(hidden, "customer") == {"data": {"node": None}}
        assert await node(hidden, "other customer") == {"data": {"node": {"id": hidden}}}
    # as `order(id:)`: an anonymous caller must sign in; the ledger needs inventory:read
    assert code(await node(others_order, "anonymous")) == "UNAUTHENTICATED"
    assert code(await node(movement, "customer")) == "FORBIDDEN"
    assert await node(movement, "staff") == {"data": {"node": {"id": movement}}}
    # staff may read every order (order:read_all); only admins every account
    assert await node(others_order, "staff") == {"data": {"node": {"id": others_order}}}
    assert await node(other_user, "staff") == {"data": {"node": None}}
    assert await node(other_user, "admin") == {"data": {"node": {"id": other_user}}}
    # ids that name nothing: garbage, unknown rows, types that are not nodes
    for nothing in ("42", "bm9wZQ==", gid("Product", 999999), gid("StockEvent", 1), gid("Nope", 1)):
        assert await node(nothing, "admin") == {"data": {"node": None}}, nothing


async def test_ids_are_unique_across_types_and_refused_for_the_wrong_type(
    client: httpx.AsyncClient, shop: dict[str, Any]
) -> None:
    pen = shop["pen"]
    staff = shop["callers"]["staff"]
    # the same database number names different objects of different types
    assert gid("Product", pen.id) != gid("Order", pen.id)
    body = await execute(
        client, "query($id: ID!) { product(id: $id) { sku } }", {"id": gid("Order", pen.id)}
    )
    assert without_cost(body) == {"data": {"product": None}}
    # an id of the wrong type is refused like a missing object, naming the field
    body = await execute(
        client,
        ADJUST.replace("{ __typename }", "{ __typename ... on UserError { code field } }"),
        {"id": gid("Order", pen.id)},
        staff,
    )
    assert body["data"]["adjustStock"] == {
        "__typename": "NotFoundError",
        "code": "NOT_FOUND",
        "field": "productId",
    }


async def test_nodes_batches_each_type_in_one_statement(
    client: httpx.AsyncClient,
    session: AsyncSession,
    shop: dict[str, Any],
    statements: StatementCounter,
) -> None:
    products = [shop["pen"], shop["book"]] + [
        await make_product(session, f"SKU{n}") for n in range(48)
    ]
    admin = shop["callers"]["admin"]
    body = await execute(client, "{ users(first: 3) { edges { node { id } } } }", headers=admin)
    users = [edge["node"]["id"] for edge in body["data"]["users"]["edges"]]
    counts = []
    for size in (2, 50):
        ids = [gid("Product", p.id) for p in products[:size]] + users + ["junk"]
        # when
        statements.reset()
        body = await execute(client, NODES, {"ids": ids}, admin)
        counts.append(statements.count)
        # then: each id answered in its place
        assert [n and n["id"] for n in body["data"]["nodes"]] == [*ids[:-1], None]
        assert [n["__typename"] for n in body["data"]["nodes"][:size]] == ["Product"] * size
    assert counts[0] == counts[1], counts


async def test_nodes_refuses_per_id_and_caps_the_list(
    client: httpx.AsyncClient, shop: dict[str, Any]
) -> None:
    staff, customer = shop["callers"]["staff"], shop["callers"]["customer"]
    body = await execute(
        client, "{ stockMovements(first: 1) { edges { node { id } } } }", headers=staff
    )
    movement = body["data"]["stockMovements"]["edges"][0]["node"]["id"]
    pen = gid("Product", shop["pen"].id)
    # when: a customer asks for a product, a ledger row and something that does not exist
    body = await execute(client, NODES, {"ids": [pen, movement, "junk"]}, customer)
    # then: the ledger row alone is refused, at its index
    assert body["data"]["nodes"] == [{"__typename": "Product", "id": pen}, None, None]
    (error,) = body["errors"]
    assert (error["path"], error["extensions"]["code"]) == (["nodes", 1], "FORBIDDEN")
    # the cost counts each id: 1 for `nodes`, then 1 (`id`) per id
    assert body["extensions"]["cost"]["requestedQueryCost"] == 1 + 3
    # more than a page of ids is refused before anything is read
    body = await execute(client, NODES, {"ids": [pen] * 101}, customer)
    assert body["data"] is None or body["data"]["nodes"] is None
    assert body["errors"][0]["extensions"]["code"] in {"BAD_USER_INPUT", "QUERY_TOO_COMPLEX"}
