"""Control characters in identity inputs are refused by field, identically on both backends."""

from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from gql.auth.models import AuthSession, LoginFailure, Role, User, role_permission
from gql.core.db import Database
from tests.auth.helpers import (
    CHANGE_PASSWORD,
    CREATE_ROLE,
    LOGIN,
    PASSWORD,
    REFRESH,
    REGISTER,
    REVOKE_SESSION,
    SET_PERMISSIONS,
    bearer,
    error_code,
    register,
)
from tests.factories import gid, signed_in
from tests.hostile import HOSTILE, LINE_BREAKS, execute_escaped

CHARACTERS = {**HOSTILE, **LINE_BREAKS}


async def _count(session: AsyncSession, model: Any) -> int:
    count = int(await session.scalar(select(func.count()).select_from(model)) or 0)
    await session.commit()  # end the read snapshot
    return count


def _with(character: str, field: str) -> dict[str, str]:
    values = {"email": "ada@example.com", "password": PASSWORD, "fullName": "Ada Lovelace"}
    if field == "email":
        return values | {"email": f"a{character}da@example.com"}
    return values | {field: f"{values[field][:3]}{character}{values[field][3:]}"}


@pytest.mark.parametrize("character", CHARACTERS.values(), ids=CHARACTERS.keys())
@pytest.mark.parametrize("field", ["email", "password", "fullName"])
async def test_register_refuses_control_characters(
    client: httpx.AsyncClient, session: AsyncSession, field: str, character: str
) -> None:
    # when
    body = await execute_escaped(client, REGISTER, {"input": _with(character, field)})
    # then
    result = body["data"]["register"]
    assert (result["__typename"], result["code"], result["field"]) == (
        "ValidationError",
        "VALIDATION_ERROR",
        field,
    )
    assert await _count(session, User) == 0


@pytest.mark.parametrize("character", CHARACTERS.values(), ids=CHARACTERS.keys())
@pytest.mark.parametrize("field", ["email", "password"])
async def test_login_with_control_characters_is_bad_input_and_not_counted(
    client: httpx.AsyncClient, session: AsyncSession, field: str, character: str
) -> None:
    # given
    await register(client)
    credentials = _with(character, field)
    del credentials["fullName"]
    # when
    body = await execute_escaped(client, LOGIN, {"input": credentials})
    # then
    assert body["data"] is None
    assert body["errors"][0]["extensions"] == {"code": "BAD_USER_INPUT", "field": field}
    assert await _count(session, LoginFailure) == 0
    assert await _count(session, AuthSession) == 1


@pytest.mark.parametrize("character", HOSTILE.values(), ids=HOSTILE.keys())
@pytest.mark.parametrize("field", ["currentPassword", "newPassword"])
async def test_change_password_refuses_control_characters(
    client: httpx.AsyncClient, session: AsyncSession, field: str, character: str
) -> None:
    # given
    payload = await register(client)
    before = await session.scalar(select(User.hashed_password))
    await session.commit()
    passwords = {"currentPassword": PASSWORD, "newPassword": "a new passphrase"}
    passwords[field] = f"{passwords[field]}{character}"
    # when
    body = await execute_escaped(
        client, CHANGE_PASSWORD, {"input": passwords}, headers=bearer(payload["accessToken"])
    )
    # then
    result = body["data"]["changePassword"]
    assert (result["__typename"], result["code"], result["field"]) == (
        "ValidationError",
        "VALIDATION_ERROR",
        field,
    )
    assert await session.scalar(select(User.hashed_password)) == before


@pytest.mark.parametrize(
    "session_id", ["x\u0000", "\ud800", "not-a-session", "8F1B2C3D-0000-4000-8000-000000000000"]
)
async def test_revoke_session_with_a_malformed_id_is_not_found(
    client: httpx.AsyncClient, session: AsyncSession, session_id: str
) -> None:
    # given
    payload = await register(client)
    # when
    body = await execute_escaped(
        client, REVOKE_SESSION, {"id": session_id}, headers=bearer(payload["accessToken"])
    )
    # then
    result = body["data"]["revokeSession"]
    assert (result["__typename"], result["code"], result["field"]) == (
        "NotFoundError",
        "NOT_FOUND",
        "id",
    )
    assert await session.scalar(select(AuthSession.revoked_at)) is None


@pytest.mark.parametrize("field", ["username", "password"])
async def test_password_flow_refuses_control_characters(
    client: httpx.AsyncClient, session: AsyncSession, field: str
) -> None:
    # given
    await register(client)
    form = {"username": "ada@example.com", "password": PASSWORD}
    form[field] = f"{form[field]}\u0000"
    # when
    response = await client.post("/auth/token", data=form)
    # then
    assert response.status_code == 400
    assert "control characters" in response.json()["detail"]
    assert await _count(session, LoginFailure) == 0


@pytest.mark.parametrize("character", HOSTILE.values(), ids=HOSTILE.keys())
async def test_refresh_token_with_control_characters_is_unauthenticated(
    client: httpx.AsyncClient, session: AsyncSession, character: str
) -> None:
    # given
    payload = await register(client)
    # when
    body = await execute_escaped(client, REFRESH, {"token": payload["refreshToken"] + character})
    # then
    assert error_code(body) == "UNAUTHENTICATED"
    assert await session.scalar(select(AuthSession.revoked_at)) is None


async def _staff_permissions(session: AsyncSession) -> list[str]:
    rows = await session.scalars(
        select(role_permission.c.permission_name)
        .join(Role, Role.id == role_permission.c.role_id)
        .where(Role.name == "staff")
        .order_by(role_permission.c.permission_name)
    )
    names = list(rows)
    await session.commit()
    return names


@pytest.mark.parametrize("character", HOSTILE.values(), ids=HOSTILE.keys())
@pytest.mark.parametrize("field", ["name", "description", "permissions"])
async def test_create_role_refuses_control_characters(
    client: httpx.AsyncClient, db: Database, session: AsyncSession, field: str, character: str
) -> None:
    # given
    admin = await signed_in(client, db, "root@example.com", "admin")
    role = {"name": "auditor", "description": "Reads the books.", "permissions": ["inventory:read"]}
    role[field] = [f"inventory:read{character}"] if field == "permissions" else f"au{character}dit"
    before = await _count(session, Role)
    # when
    body = await execute_escaped(client, CREATE_ROLE, {"input": role}, headers=admin)
    # then
    result = body["data"]["createRole"]
    assert (result["__typename"], result["code"], result["field"]) == (
        "ValidationError",
        "VALIDATION_ERROR",
        field,
    )
    assert await _count(session, Role) == before


@pytest.mark.parametrize("character", LINE_BREAKS.values(), ids=LINE_BREAKS.keys())
async def test_a_role_description_may_hold_line_breaks(
    client: httpx.AsyncClient, db: Database, character: str
) -> None:
    # given
    admin = await signed_in(client, db, "root@example.com", "admin")
    role = {"name": "auditor", "description": f"Reads{character}the books."}
    # when
    body = await execute_escaped(client, CREATE_ROLE, {"input": role}, headers=admin)
    # then
    assert body["data"]["createRole"]["role"]["description"] == f"Reads{character}the books."


@pytest.mark.parametrize("character", HOSTILE.values(), ids=HOSTILE.keys())
async def test_set_role_permissions_refuses_control_characters(
    client: httpx.AsyncClient, db: Database, session: AsyncSession, character: str
) -> None:
    # given
    admin = await signed_in(client, db, "root@example.com", "admin")
    staff_id = await session.scalar(select(Role.id).where(Role.name == "staff"))
    before = await _staff_permissions(session)
    permissions = ["inventory:read", f"order:manage{character}"]
    # when
    body = await execute_escaped(
        client,
        SET_PERMISSIONS,
        {"input": {"roleId": gid("Role", staff_id), "permissions": permissions}},
        headers=admin,
    )
    # then
    result = body["data"]["setRolePermissions"]
    assert (result["__typename"], result["code"], result["field"]) == (
        "ValidationError",
        "VALIDATION_ERROR",
        "permissions",
    )
    assert await _staff_permissions(session) == before
