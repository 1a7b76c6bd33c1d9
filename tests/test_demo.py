"""The demo data loader is idempotent."""

import os
import subprocess
import sys
from pathlib import Path

import httpx
from sqlalchemy import func, select

from gql.auth.models import User
from gql.auth.sessions import AuthTools
from gql.catalog.models import Product, ProductImage
from gql.core.config import Settings
from gql.core.db import Database, new_session
from gql.demo import DEMO_ACCOUNTS, DEMO_PRODUCTS, seed_demo
from gql.media.storage import storage_for
from tests.conftest import execute
from tests.media.pictures import size_of
from tests.servers import run_gql


async def test_seed_demo_twice_adds_nothing_the_second_time(
    db: Database, auth_tools: AuthTools, settings: Settings
) -> None:
    assert await seed_demo(db, auth_tools, storage_for(settings, db)) == len(DEMO_PRODUCTS)
    assert await seed_demo(db, auth_tools, storage_for(settings, db)) == 0
    async with new_session(db, write=False) as session:
        assert await session.scalar(select(func.count()).select_from(Product)) == len(DEMO_PRODUCTS)
        images = await session.scalar(select(func.count()).select_from(ProductImage))
        users = await session.scalar(select(func.count()).select_from(User))
    assert images == sum(row[5] for row in DEMO_PRODUCTS)
    assert users == len(DEMO_ACCOUNTS)


async def test_demo_accounts_can_log_in_with_their_roles(
    client: httpx.AsyncClient, db: Database, auth_tools: AuthTools, settings: Settings
) -> None:
    await seed_demo(db, auth_tools, storage_for(settings, db))
    for email, password, role in DEMO_ACCOUNTS:
        body = await execute(
            client,
            "mutation($i: LoginInput!) { login(input: $i) { ... on AuthPayload "
            "{ user { roles { name } } } } }",
            {"i": {"email": email, "password": password}},
        )
        names = {r["name"] for r in body["data"]["login"]["user"]["roles"]}
        assert role in names


async def test_demo_pictures_are_stored_and_served_offline(
    client: httpx.AsyncClient, db: Database, auth_tools: AuthTools, settings: Settings
) -> None:
    # given: the demo data, loaded with no network involved
    await seed_demo(db, auth_tools, storage_for(settings, db))
    # when: the catalog is read with a rendition of each image
    body = await execute(
        client,
        "{ products(first: 50) { edges { node { sku images { url width height "
        "resizedUrl(size: SMALL) } } } } }",
    )
    images = [i for e in body["data"]["products"]["edges"] for i in e["node"]["images"]]
    # then: every image is one of ours, served by the app, at 800x600 and as a rendition
    assert len(images) == sum(row[5] for row in DEMO_PRODUCTS)
    for image in images:
        assert image["url"].startswith("/media/") and (image["width"], image["height"]) == (
            800,
            600,
        )
        original = await client.get(image["url"])
        sized = await client.get(image["resizedUrl"])
        assert original.status_code == sized.status_code == 200
        assert original.headers["content-type"] == "image/png"
        assert size_of(sized.content) == (256, 192)


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
    # and: its pictures are files under MEDIA_DIR (./media by default), all in use
    assert len(list((tmp_path / "media").glob("*.png"))) == len(
        {(row[0], n) for row in DEMO_PRODUCTS for n in range(row[5])}
    )
    assert "media check passed" in gql("check-media")


def test_check_media_fails_on_an_orphan_and_repairs_it(tmp_path: Path) -> None:
    # given: a migrated database and a stray file in its media directory
    env = os.environ | {
        "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'media.db'}",
        "MEDIA_DIR": str(tmp_path / "files"),
    }
    run_gql("migrate", env=env, cwd=tmp_path)
    (tmp_path / "files").mkdir()
    stray = tmp_path / "files" / f"{'a' * 64}.png"
    stray.write_bytes(b"not referenced")
    # when: checked, then repaired
    check = subprocess.run(
        [sys.executable, "-m", "gql.cli", "check-media"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    repaired = run_gql("check-media", "--repair", env=env, cwd=tmp_path)
    # then: the check names the orphan and fails; the repair removes it
    assert check.returncode == 1 and f"unregistered: {stray.name}" in check.stdout
    assert "1 orphan(s) removed" in repaired
    assert not stray.exists()
