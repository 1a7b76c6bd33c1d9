"""Administration of roles and users, with its lock-out protections."""

from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from gql.auth.models import Role, User
from gql.catalog import service as catalog_service
from gql.core.db import Database
from tests.auth.helpers import CREATE_ROLE, SET_PERMISSIONS
from tests.conftest import execute
from tests.factories import gid, signed_in

USER_ERROR = "... on UserError { code message field }"
ASSIGN = f"""
mutation($input: UserRoleInput!) {{
  assignRole(input: $input) {{ __typename ... on UserSuccess {{ user {{ email roles {{ name }} }} }} {USER_ERROR} }}
}}
"""
REMOVE = f"""
mutation($input: UserRoleInput!) {{
  removeRole(input: $input) {{ __typename ... on UserSuccess {{ user {{ email roles {{ name }} }} }} {USER_ERROR} }}
}}
"""
SET_ACTIVE = f"""
mutation($input: SetUserActiveInput!) {{
  setUserActive(input: $input) {{ __typename ... on UserSuccess {{ user {{ isActive }} }} {USER_ERROR} }}
}}
"""
USERS = "query($after: String) { users(first: 2, after: $after) { totalCount edges { node { email roles { name } } } pageInfo { hasNextPage endCursor } } }"


@pytest.fixture
async def admin(client: httpx.AsyncClient, db: Database) -> dict[str, str]:
    return await signed_in(client, db, "root@example.com", "admin")


async def _ids(session: AsyncSession, email: str, role: str) -> dict[str, str]:
    user_id = await session.scalar(select(User.id).where(User.email == email))
    role_id = await session.scalar(select(Role.id).where(Role.name == role))
    await session.commit()
    return {"userId": gid("User", user_id), "roleId": gid("Role", role_id)}


async def test_create_role_and_give_it(
    client: httpx.AsyncClient, db: Database, admin: dict[str, str], session: AsyncSession
) -> None:
    # given
    body = await execute(
        client,
        CREATE_ROLE,
        {
            "input": {
                "name": "auditor",
                "description": "Reads",
                "permissions": ["order:read_all", "inventory:read"],
            }
        },
        admin,
    )
    role = body["data"]["createRole"]["role"]
    assert [p["name"] for p in role["permissions"]] == ["inventory:read", "order:read_all"]
    member = await signed_in(client, db, "audit@example.com")
    # when
    assigned = await execute(
        client, ASSIGN, {"input": await _ids(session, "audit@example.com", "auditor")}, admin
    )
    # then
    assert {r["name"] for r in assigned["data"]["assignRole"]["user"]["roles"]} == {
        "auditor",
        "customer",
    }
    me = await execute(client, "{ me { permissions } }", headers=member)
    assert me["data"]["me"]["permissions"] == ["inventory:read", "order:create", "order:read_all"]


@pytest.mark.parametrize(
    ("role_input", "typename", "field"),
    [
        ({"name": "Bad Name"}, "ValidationError", "name"),
        ({"name": "staff"}, "RoleNameTakenError", "name"),
        (
            {"name": "ok-role", "permissions": ["order:create", "launch:missiles"]},
            "UnknownPermissionError",
            "permissions",
        ),
    ],
)
async def test_create_role_rejections(
    client: httpx.AsyncClient,
    admin: dict[str, str],
    session: AsyncSession,
    role_input: dict[str, Any],
    typename: str,
    field: str,
) -> None:
    body = await execute(client, CREATE_ROLE, {"input": role_input}, admin)
    result = body["data"]["createRole"]
    assert (result["__typename"], result["field"]) == (typename, field)
    assert len(list(await session.scalars(select(Role)))) == 3


async def test_set_role_permissions_replaces_the_set(
    client: httpx.AsyncClient, admin: dict[str, str], session: AsyncSession
) -> None:
    staff_id = (await _ids(session, "root@example.com", "staff"))["roleId"]
    body = await execute(
        client,
        SET_PERMISSIONS,
        {"input": {"roleId": staff_id, "permissions": ["inventory:read"]}},
        admin,
    )
    assert body["data"]["setRolePermissions"]["role"]["permissions"] == [{"name": "inventory:read"}]
    unknown = await execute(
        client, SET_PERMISSIONS, {"input": {"roleId": staff_id, "permissions": ["nope:x"]}}, admin
    )
    assert unknown["data"]["setRolePermissions"]["__typename"] == "UnknownPermissionError"
    missing = await execute(
        client, SET_PERMISSIONS, {"input": {"roleId": "999", "permissions": []}}, admin
    )
    assert missing["data"]["setRolePermissions"]["__typename"] == "NotFoundError"


async def test_the_admin_role_keeps_every_permission(
    client: httpx.AsyncClient, admin: dict[str, str], session: AsyncSession
) -> None:
    admin_role = (await _ids(session, "root@example.com", "admin"))["roleId"]
    body = await execute(
        client,
        SET_PERMISSIONS,
        {"input": {"roleId": admin_role, "permissions": ["order:create"]}},
        admin,
    )
    assert body["data"]["setRolePermissions"]["__typename"] == "LastAdminError"
    still = await execute(client, "{ roles { name } }", headers=admin)
    assert "errors" not in still


async def test_the_last_admin_cannot_lose_the_role_nor_be_deactivated(
    client: httpx.AsyncClient, db: Database, admin: dict[str, str], session: AsyncSession
) -> None:
    # given: one admin
    ids = await _ids(session, "root@example.com", "admin")
    # when / then
    removed = await execute(client, REMOVE, {"input": ids}, admin)
    assert removed["data"]["removeRole"]["__typename"] == "LastAdminError"
    deactivated = await execute(
        client, SET_ACTIVE, {"input": {"userId": ids["userId"], "isActive": False}}, admin
    )
    assert deactivated["data"]["setUserActive"]["__typename"] == "LastAdminError"
    assert "errors" not in await execute(client, "{ roles { name } }", headers=admin)
    # given a second admin, the first may step down
    await signed_in(client, db, "second@example.com", "admin")
    stepped_down = await execute(client, REMOVE, {"input": ids}, admin)
    assert stepped_down["data"]["removeRole"]["__typename"] == "UserSuccess"
    forbidden = await execute(client, "{ roles { name } }", headers=admin)
    assert forbidden["errors"][0]["extensions"]["code"] == "FORBIDDEN"


async def test_deactivated_users_are_signed_out_at_once(
    client: httpx.AsyncClient, db: Database, admin: dict[str, str], session: AsyncSession
) -> None:
    member = await signed_in(client, db, "member@example.com")
    ids = await _ids(session, "member@example.com", "customer")
    body = await execute(
        client, SET_ACTIVE, {"input": {"userId": ids["userId"], "isActive": False}}, admin
    )
    assert body["data"]["setUserActive"]["user"]["isActive"] is False
    me = await execute(client, "{ me { id } }", headers=member)
    assert me["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


async def test_remove_a_role_not_held(
    client: httpx.AsyncClient, db: Database, admin: dict[str, str], session: AsyncSession
) -> None:
    await signed_in(client, db, "member@example.com")
    ids = await _ids(session, "member@example.com", "staff")
    body = await execute(client, REMOVE, {"input": ids}, admin)
    assert body["data"]["removeRole"]["__typename"] == "NotFoundError"


async def test_users_pages_through_everyone(
    client: httpx.AsyncClient, db: Database, admin: dict[str, str]
) -> None:
    for n in range(4):
        await signed_in(client, db, f"u{n}@example.com")
    emails, after = [], None
    while True:
        body = await execute(client, USERS, {"after": after}, admin)
        page = body["data"]["users"]
        emails += [e["node"]["email"] for e in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert page["totalCount"] == 5
    assert sorted(emails) == sorted(["root@example.com"] + [f"u{n}@example.com" for n in range(4)])


async def test_a_denied_resolver_body_never_runs(
    client: httpx.AsyncClient, db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[object] = []

    async def spy(*args: object, **kwargs: object) -> None:
        calls.append(args)
        raise AssertionError("the guarded resolver ran")

    monkeypatch.setattr(catalog_service, "create_product", spy)
    document = 'mutation { createProduct(input: {sku: "S", name: "N", price: "1"}) { __typename } }'
    customer = await signed_in(client, db, "c@example.com")
    for headers in (None, customer):
        body = await execute(client, document, headers=headers)
        assert body["errors"][0]["extensions"]["code"] in {"UNAUTHENTICATED", "FORBIDDEN"}
    assert calls == []
