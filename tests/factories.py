"""Arrange helpers: rows created through the services, committed."""

import uuid
from datetime import timedelta
from decimal import Decimal

import httpx
from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from gql.auth import roles
from gql.auth.models import AuthSession, Role, User, user_role
from gql.auth.sessions import AuthTools
from gql.catalog import service
from gql.catalog.models import Product
from gql.core.db import Database, new_session
from gql.graphql.ids import from_global_id, to_global_id

PASSWORD = "correct horse battery"


async def make_product(
    session: AsyncSession,
    sku: str,
    *,
    name: str | None = None,
    price: str = "10.00",
    stock: int = 5,
    images: int = 0,
) -> Product:
    """A committed product with `images` images."""
    product = await service.create_product(
        session, sku=sku, name=name or f"Product {sku}", price=Decimal(price), stock=stock
    )
    for n in range(images):
        await service.add_product_image(
            session, product.id, url=f"https://img.test/{sku}/{n}.jpg", alt_text=f"{sku} {n}"
        )
    await session.commit()
    return product


async def signed_in(
    client: httpx.AsyncClient, db: Database, email: str, *role_names: str
) -> dict[str, str]:
    """Register `email` (a customer), give it `role_names`, and return its auth headers."""
    response = await client.post(
        "/graphql",
        json={
            "query": "mutation($i: RegisterInput!) { register(input: $i) "
            "{ ... on AuthPayload { accessToken } } }",
            "variables": {"i": {"email": email, "password": PASSWORD}},
        },
    )
    token = response.json()["data"]["register"]["accessToken"]
    async with new_session(db, write=True) as session:
        user_id = await session.scalar(select(User.id).where(User.email == email))
        assert user_id is not None
        for name in role_names:
            role_id = await session.scalar(select(Role.id).where(Role.name == name))
            assert role_id is not None
            await roles.assign_role(session, user_id, role_id)
        await session.commit()
    return {"Authorization": f"Bearer {token}"}


async def customers(
    db: Database, tools: AuthTools, count: int, prefix: str = "buyer"
) -> list[dict[str, str]]:
    """`count` customers with live sessions, made directly in the database; their headers."""
    now = tools.clock()
    headers = []
    async with new_session(db, write=True) as session:
        customer_role = await session.scalar(select(Role.id).where(Role.name == roles.CUSTOMER))
        users = [
            User(email=f"{prefix}{n}@example.com", hashed_password="!unusable", created_at=now)
            for n in range(count)
        ]
        session.add_all(users)
        await session.flush()
        await session.execute(
            insert(user_role), [{"user_id": u.id, "role_id": customer_role} for u in users]
        )
        for user in users:
            session_id = str(uuid.uuid4())
            access = tools.tokens.issue(
                user_id=user.id, session_id=session_id, token_type="access", now=now
            )
            session.add(
                AuthSession(
                    id=session_id,
                    user_id=user.id,
                    refresh_token_hash="-" * 64,
                    family=session_id,
                    created_at=now,
                    last_used_at=now,
                    expires_at=now + timedelta(days=1),
                )
            )
            headers.append({"Authorization": f"Bearer {access.token}"})
        await session.commit()
    return headers


def gid(type_name: str, key: int | str) -> str:
    """The global id of a `type_name` object (base64 of "Type:key")."""
    return str(to_global_id(type_name, key))


def db_key(global_id: str) -> str:
    """The database key in a global id."""
    parsed = from_global_id(global_id)
    assert parsed is not None, global_id
    return parsed[1]
