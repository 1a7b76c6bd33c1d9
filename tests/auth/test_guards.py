"""Every guarded operation: anonymous, signed in without the permission, and with it."""

from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from gql.auth.models import Role, User
from gql.core.db import Database
from gql.models import Base
from tests.conftest import execute, without_cost
from tests.factories import gid, make_product, signed_in


@dataclass(frozen=True)
class Case:
    """One guarded operation and a role that lacks / holds what it needs."""

    name: str
    document: str
    variables: dict[str, Any]
    without: str  # a role lacking the permission ("" = only anonymous is refused)
    holder: str


CASES = [
    Case(
        "createProduct",
        'mutation { createProduct(input: {sku: "N1", name: "N", price: "1"}) { __typename } }',
        {},
        "customer",
        "staff",
    ),
    Case(
        "updateProduct",
        'mutation($id: ID!) { updateProduct(input: {id: $id, name: "X"}) { __typename } }',
        {"id": "$P"},
        "customer",
        "staff",
    ),
    Case(
        "deleteProduct",
        "mutation($id: ID!) { deleteProduct(id: $id) { __typename } }",
        {"id": "$P"},
        "customer",
        "staff",
    ),
    Case(
        "addProductImage",
        'mutation($id: ID!) { addProductImage(input: {productId: $id, url: "https://i.test/a.png"}) { __typename } }',
        {"id": "$P"},
        "customer",
        "staff",
    ),
    Case(
        "removeProductImage",
        'mutation { removeProductImage(id: "1") { __typename } }',
        {},
        "customer",
        "staff",
    ),
    Case(
        "reorderProductImages",
        "mutation($id: ID!) { reorderProductImages(input: {productId: $id, imageIds: []}) { __typename } }",
        {"id": "$P"},
        "customer",
        "staff",
    ),
    Case(
        "stock", "query($id: ID!) { product(id: $id) { stock } }", {"id": "$P"}, "customer", "staff"
    ),
    Case("users", "{ users { totalCount } }", {}, "staff", "admin"),
    Case(
        "setUserActive",
        'mutation { setUserActive(input: {userId: "1", isActive: false}) { __typename } }',
        {},
        "staff",
        "admin",
    ),
    Case("roles", "{ roles { name } }", {}, "staff", "admin"),
    Case("permissions", "{ permissions { name } }", {}, "staff", "admin"),
    Case(
        "createRole",
        'mutation { createRole(input: {name: "auditor"}) { __typename } }',
        {},
        "staff",
        "admin",
    ),
    Case(
        "setRolePermissions",
        'mutation { setRolePermissions(input: {roleId: "2", permissions: []}) { __typename } }',
        {},
        "staff",
        "admin",
    ),
    Case(
        "assignRole",
        'mutation { assignRole(input: {userId: "1", roleId: "1"}) { __typename } }',
        {},
        "staff",
        "admin",
    ),
    Case(
        "removeRole",
        'mutation { removeRole(input: {userId: "1", roleId: "3"}) { __typename } }',
        {},
        "staff",
        "admin",
    ),
    Case("me", "{ me { id } }", {}, "", "customer"),
    Case("mySessions", "{ mySessions { id } }", {}, "", "customer"),
    Case("logout", "mutation { logout { revokedSessions } }", {}, "", "customer"),
    Case("logoutAll", "mutation { logoutAll { revokedSessions } }", {}, "", "customer"),
    Case("revokeSession", 'mutation { revokeSession(id: "x") { __typename } }', {}, "", "customer"),
    Case(
        "changePassword",
        'mutation { changePassword(input: {currentPassword: "a", newPassword: "b"}) { __typename } }',
        {},
        "",
        "customer",
    ),
]


async def _state(db: Database) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table: the database as a value."""
    async with db.engine.connect() as connection:
        return {
            table.name: sorted(
                map(tuple, (await connection.execute(text(f'SELECT * FROM "{table.name}"'))).all()),
                key=repr,
            )
            for table in Base.metadata.sorted_tables
        }


def _variables(case: Case, product_id: int) -> dict[str, Any]:
    return {k: gid("Product", product_id) if v == "$P" else v for k, v in case.variables.items()}


@pytest.fixture
async def product_id(session: AsyncSession) -> int:
    return (await make_product(session, "GUARDED", images=1)).id


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
async def test_anonymous_callers_are_unauthenticated_and_change_nothing(
    client: httpx.AsyncClient, db: Database, product_id: int, case: Case
) -> None:
    # given
    before = await _state(db)
    # when
    body = await execute(client, case.document, _variables(case, product_id))
    # then
    assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED", body
    assert await _state(db) == before


@pytest.mark.parametrize(
    "case", [c for c in CASES if c.without], ids=[c.name for c in CASES if c.without]
)
async def test_callers_without_the_permission_are_forbidden_and_change_nothing(
    client: httpx.AsyncClient, db: Database, product_id: int, case: Case
) -> None:
    # given
    headers = await signed_in(client, db, "lacking@example.com", case.without)
    before = await _state(db)
    # when
    body = await execute(client, case.document, _variables(case, product_id), headers)
    # then
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN", body
    assert await _state(db) == before


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
async def test_callers_with_the_permission_get_through(
    client: httpx.AsyncClient, db: Database, product_id: int, case: Case
) -> None:
    headers = await signed_in(client, db, "holder@example.com", case.holder)
    body = await execute(client, case.document, _variables(case, product_id), headers)
    codes = {e["extensions"]["code"] for e in body.get("errors", [])}
    assert not codes & {"UNAUTHENTICATED", "FORBIDDEN"}, body
    assert body["data"] is not None


async def test_the_public_sees_in_stock_but_not_stock(
    client: httpx.AsyncClient, db: Database, product_id: int
) -> None:
    query = "query($id: ID!) { product(id: $id) { name inStock stock } }"
    body = await execute(client, query, {"id": gid("Product", product_id)})
    assert body["data"]["product"] == {"name": "Product GUARDED", "inStock": True, "stock": None}
    assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert body["errors"][0]["path"] == ["product", "stock"]
    customer = await signed_in(client, db, "c@example.com", "customer")
    forbidden = await execute(client, query, {"id": gid("Product", product_id)}, customer)
    assert forbidden["data"]["product"]["inStock"] is True
    assert forbidden["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    staff = await signed_in(client, db, "s@example.com", "staff")
    allowed = await execute(client, query, {"id": gid("Product", product_id)}, staff)
    assert without_cost(allowed) == {
        "data": {"product": {"name": "Product GUARDED", "inStock": True, "stock": 5}}
    }


async def test_a_removed_role_is_forbidden_on_the_next_request(
    client: httpx.AsyncClient, db: Database, session: AsyncSession
) -> None:
    # given: a staff member who can read stock
    headers = await signed_in(client, db, "staff@example.com", "staff")
    admin = await signed_in(client, db, "admin@example.com", "admin")
    query = "{ products { edges { node { stock } } } }"
    await make_product(session, "P1")
    assert "errors" not in await execute(client, query, headers=headers)
    user_id = await session.scalar(select(User.id).where(User.email == "staff@example.com"))
    staff_role = await session.scalar(select(Role.id).where(Role.name == "staff"))
    await session.commit()
    # when: an admin takes the role away
    removed = await execute(
        client,
        "mutation($u: ID!, $r: ID!) { removeRole(input: {userId: $u, roleId: $r}) { __typename } }",
        {"u": gid("User", user_id), "r": gid("Role", staff_role)},
        admin,
    )
    assert removed["data"]["removeRole"]["__typename"] == "UserSuccess"
    # then: the same token is forbidden on its very next request
    body = await execute(client, query, headers=headers)
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"


async def test_new_users_are_customers(client: httpx.AsyncClient, db: Database) -> None:
    headers = await signed_in(client, db, "new@example.com")
    body = await execute(client, "{ me { roles { name } permissions } }", headers=headers)
    assert body["data"]["me"] == {"roles": [{"name": "customer"}], "permissions": ["order:create"]}
