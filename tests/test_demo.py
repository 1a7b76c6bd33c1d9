"""The demo data loader is idempotent."""

import os
from pathlib import Path

import httpx
from sqlalchemy import func, select

from gql.auth.models import User
from gql.auth.sessions import AuthTools
from gql.catalog.models import Product, ProductImage
from gql.core.db import Database, new_session
from gql.demo import DEMO_ACCOUNTS, DEMO_PRODUCTS, seed_demo
from tests.conftest import execute
from tests.servers import run_gql


async def test_seed_demo_twice_adds_nothing_the_second_time(
    db: Database, auth_tools: AuthTools
) -> None:
    assert await seed_demo(db, auth_tools) == len(DEMO_PRODUCTS)
    assert await seed_demo(db, auth_tools) == 0
    async with new_session(db, write=False) as session:
        assert await session.scalar(select(func.count()).select_from(Product)) == len(DEMO_PRODUCTS)
        images = await session.scalar(select(func.count()).select_from(ProductImage))
        users = await session.scalar(select(func.count()).select_from(User))
    assert images == sum(row[5] for row in DEMO_PRODUCTS)
    assert users == len(DEMO_ACCOUNTS)


async def test_demo_accounts_can_log_in_with_their_roles(
    client: httpx.AsyncClient, db: Database, auth_tools: AuthTools
) -> None:
    await seed_demo(db, auth_tools)
    for email, password, role in DEMO_ACCOUNTS:
        body = await execute(
            client,
            "mutation($i: LoginInput!) { login(input: $i) { ... on AuthPayload "
            "{ user { roles { name } } } } }",
            {"i": {"email": email, "password": password}},
        )
        names = {r["name"] for r in body["data"]["login"]["user"]["roles"]}
        assert role in names


def test_the_seed_demo_command_on_a_fresh_database_adds_nothing_the_second_time(
    tmp_path: Path,
) -> None:
    # given: a new SQLite database, migrated by the command as `make run` does
    env = os.environ | {"DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'demo.db'}"}

    def gql(*args: str) -> str:
        return run_gql(*args, env=env, cwd=tmp_path)

    gql("migrate")
    # when
    first, second = gql("seed-demo"), gql("seed-demo")
    # then
    assert f"demo data: {len(DEMO_PRODUCTS)} product(s) added" in first
    assert "demo data: 0 product(s) added" in second
