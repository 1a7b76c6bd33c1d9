"""`gql create-admin` and the seeded roles of the migration."""

import asyncio
import os
import subprocess
import sys

from sqlalchemy import select

from gql.auth.models import Permission, Role, User, role_permission
from gql.auth.roles import PERMISSIONS, SEEDED_ROLES
from gql.core.config import Settings
from gql.core.db import Database, new_session
from gql.core.migrate import upgrade
from tests.conftest import EmptyDatabaseFactory, make_settings


def _create_admin(url: str, email: str, password: str | None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "ADMIN_PASSWORD"}
    env |= {"DATABASE_URL": url, "ARGON2_MEMORY_KIB": "1024", "ARGON2_TIME_COST": "1"}
    if password is not None:
        env["ADMIN_PASSWORD"] = password
    return subprocess.run(
        [sys.executable, "-m", "gql.cli", "create-admin", "--email", email],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
    )


async def _roles_of(settings: Settings, email: str) -> set[str]:
    database = Database(settings)
    try:
        async with new_session(database, write=False) as session:
            user = await session.scalar(select(User).where(User.email == email))
            assert user is not None
            from gql.auth.roles import roles_of_users

            grouped = await roles_of_users(session, [user.id])
            return {role.name for role in grouped[user.id]}
    finally:
        await database.dispose()


async def test_create_admin_creates_then_promotes(empty_databases: EmptyDatabaseFactory) -> None:
    # given
    url = await asyncio.to_thread(empty_databases.new_url)
    await asyncio.to_thread(upgrade, url)
    settings = make_settings(url)
    # when: no password anywhere and no terminal
    refused = _create_admin(url, "boss@example.com", None)
    # then
    assert refused.returncode == 2
    assert "password" in refused.stderr
    # when: the password comes from the environment
    created = _create_admin(url, "Boss@example.com", "a long admin password")
    assert created.returncode == 0, created.stderr
    assert "created as admin" in created.stdout
    assert "a long admin password" not in created.stdout + created.stderr
    assert await _roles_of(settings, "boss@example.com") == {"admin", "customer"}
    # and an existing account is promoted without needing a password
    await _register_plain(settings, "worker@example.com")
    promoted = _create_admin(url, "worker@example.com", None)
    assert promoted.returncode == 0, promoted.stderr
    assert "promoted" in promoted.stdout
    assert "admin" in await _roles_of(settings, "worker@example.com")


async def _register_plain(settings: Settings, email: str) -> None:
    from gql.auth.service import prepare_registration, register
    from gql.auth.sessions import AuthTools

    database = Database(settings)
    tools = AuthTools.from_settings(settings)
    try:
        registration = await prepare_registration(
            lambda: new_session(database, write=False), tools, email=email, password="p" * 10
        )
        async with new_session(database, write=True) as session:
            await register(session, tools, registration)
            await session.commit()
    finally:
        await database.dispose()


async def test_the_migration_seeds_the_roles_of_the_code(
    empty_databases: EmptyDatabaseFactory,
) -> None:
    url = await asyncio.to_thread(empty_databases.new_url)
    await asyncio.to_thread(upgrade, url)
    database = Database(make_settings(url))
    try:
        async with new_session(database, write=False) as session:
            permissions = {p.name: p.description for p in await session.scalars(select(Permission))}
            rows = await session.execute(
                select(Role.name, Role.description, role_permission.c.permission_name).join(
                    role_permission, role_permission.c.role_id == Role.id
                )
            )
            seeded: dict[str, tuple[str, set[str]]] = {}
            for name, description, permission in rows:
                seeded.setdefault(name, (description, set()))[1].add(permission)
    finally:
        await database.dispose()
    assert permissions == PERMISSIONS
    assert seeded == {name: (d, set(p)) for name, (d, p) in SEEDED_ROLES.items()}
