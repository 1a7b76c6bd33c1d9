"""Registration, login, the password policy and hashing."""

from typing import Any

import httpx
import pytest
from passlib.hash import argon2 as argon2_hash
from passlib.hash import pbkdf2_sha256
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from gql.auth.models import AuthSession, LoginFailure, User
from tests.auth.helpers import (
    ME,
    MY_SESSIONS,
    PASSWORD,
    REGISTER,
    bearer,
    error_code,
    login,
    register,
)
from tests.conftest import execute
from tests.factories import db_key


async def _count(session: AsyncSession, model: Any) -> int:
    return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def test_register_signs_in_and_stores_only_a_hash(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    # when
    payload = await register(client, email="  Ada@Example.COM ")
    # then
    assert payload["tokenType"] == "Bearer"
    assert payload["expiresIn"] == 900
    assert payload["user"]["email"] == "ada@example.com"
    user = await session.scalar(select(User))
    assert user is not None
    assert user.hashed_password.startswith("$argon2id$")
    assert PASSWORD not in user.hashed_password
    auth_session = await session.scalar(select(AuthSession))
    assert auth_session is not None
    assert payload["refreshToken"] not in auth_session.refresh_token_hash
    assert len(auth_session.refresh_token_hash) == 64


async def test_register_rejects_a_taken_email_case_insensitively(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    await register(client, email="ada@example.com")
    body = await execute(
        client, REGISTER, {"input": {"email": "ADA@example.com", "password": "another password"}}
    )
    result = body["data"]["register"]
    assert (result["__typename"], result["code"], result["field"]) == (
        "EmailTakenError",
        "EMAIL_TAKEN",
        "email",
    )
    assert await _count(session, User) == 1
    assert await _count(session, AuthSession) == 1


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"email": "not-an-email"}, "email"),
        ({"email": "a@" + "b" * 260 + ".com"}, "email"),
        ({"password": "short"}, "password"),
        ({"password": "p" * 129}, "password"),
        ({"email": "same@example.com", "password": "Same@Example.com"}, "password"),
        ({"fullName": "n" * 201}, "fullName"),
    ],
)
async def test_register_policy_violations_create_nothing(
    client: httpx.AsyncClient, session: AsyncSession, fields: dict[str, str], field: str
) -> None:
    registration = {"email": "ok@example.com", "password": PASSWORD} | fields
    body = await execute(client, REGISTER, {"input": registration})
    result = body["data"]["register"]
    assert (result["__typename"], result["field"]) == ("ValidationError", field)
    assert await _count(session, User) == 0


async def test_password_of_8_and_128_characters_is_accepted(client: httpx.AsyncClient) -> None:
    await register(client, email="a@example.com", password="p" * 8)
    await register(client, email="b@example.com", password="p" * 128)


async def test_login_starts_a_session_that_me_sees(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    # given
    await register(client)
    # when
    result = await login(client, email="ADA@example.com", headers={"User-Agent": "pytest/1"})
    # then
    assert result["__typename"] == "AuthPayload"
    me = await execute(client, ME, headers=bearer(result["accessToken"]))
    assert me["data"]["me"]["email"] == "ada@example.com"
    sessions = await execute(client, MY_SESSIONS, headers=bearer(result["accessToken"]))
    listed = sessions["data"]["mySessions"]
    assert len(listed) == 2
    current = [s for s in listed if s["current"]]
    assert len(current) == 1
    assert current[0]["userAgent"] == "pytest/1"
    stored = await session.get(AuthSession, db_key(current[0]["id"]))
    assert stored is not None
    assert stored.ip == "127.0.0.1"


async def test_me_needs_a_token(client: httpx.AsyncClient) -> None:
    assert error_code(await execute(client, ME)) == "UNAUTHENTICATED"
    assert error_code(await execute(client, MY_SESSIONS)) == "UNAUTHENTICATED"


async def test_inactive_account_cannot_log_in(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    await register(client)
    await session.execute(update(User).values(is_active=False))
    await session.commit()
    result = await login(client)
    assert result["__typename"] == "InvalidCredentialsError"
    assert await _count(session, LoginFailure) == 1


@pytest.mark.parametrize(
    "legacy_hash",
    [
        pbkdf2_sha256.hash(PASSWORD),
        argon2_hash.using(time_cost=1, memory_cost=512, parallelism=1).hash(PASSWORD),
    ],
    ids=["pbkdf2", "weak-argon2"],
)
async def test_legacy_hash_is_upgraded_on_login(
    client: httpx.AsyncClient, session: AsyncSession, legacy_hash: str
) -> None:
    # given
    await register(client)
    await session.execute(update(User).values(hashed_password=legacy_hash))
    await session.commit()
    # when
    result = await login(client)
    # then
    assert result["__typename"] == "AuthPayload"
    session.expire_all()
    stored = await session.scalar(select(User.hashed_password))
    assert stored is not None
    assert stored != legacy_hash
    assert stored.startswith("$argon2id$v=19$m=1024,t=1,p=1$")
    assert (await login(client))["__typename"] == "AuthPayload"
