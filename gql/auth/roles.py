"""Roles and permissions: the catalogue of rights, who holds which, and their administration."""

import re
from collections.abc import Iterable
from typing import Any

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.selectable import ScalarSelect

from gql.auth.models import AuthSession, Permission, Role, User, role_permission, user_role
from gql.core.db import insert_for, utcnow
from gql.core.errors import DomainError, EntityNotFound, InvalidInput
from gql.core.text import has_control_characters

PERMISSIONS: dict[str, str] = {
    "product:write": "Create, change and delete products and their images.",
    "inventory:read": "See stock levels, stock movements and live stock events.",
    "inventory:write": "Adjust stock levels.",
    "order:create": "Place and cancel one's own orders.",
    "order:read_all": "See every customer's orders.",
    "order:manage": "Cancel any order.",
    "user:manage": "List users and activate or deactivate them.",
    "role:manage": "Create roles, change their permissions and give them to users.",
}

ADMIN = "admin"
CUSTOMER = "customer"
SEEDED_ROLES: dict[str, tuple[str, tuple[str, ...]]] = {
    ADMIN: ("Everything.", tuple(PERMISSIONS)),
    "staff": (
        "Runs the shop: catalog, inventory and orders.",
        ("product:write", "inventory:read", "inventory:write", "order:read_all", "order:manage"),
    ),
    CUSTOMER: ("Buys things; every new account gets it.", ("order:create",)),
}

ROLE_NAME = re.compile(r"[a-z][a-z0-9_-]{1,63}")


class RoleNameTaken(DomainError):
    """Another role has this name."""

    code = "ROLE_NAME_TAKEN"


class UnknownPermission(DomainError):
    """A permission name that does not exist."""

    code = "UNKNOWN_PERMISSION"


class LastAdmin(DomainError):
    """The change would leave nobody able to administer the service."""

    code = "LAST_ADMIN"


def permission_names_of(user_id: Any, dialect: str) -> ScalarSelect[str | None]:
    """A scalar subquery: the user's permission names joined by commas (NULL for none)."""
    name = role_permission.c.permission_name
    joined = func.string_agg(name, ",") if dialect == "postgresql" else func.group_concat(name, ",")
    return (
        select(joined)
        .join(user_role, user_role.c.role_id == role_permission.c.role_id)
        .where(user_role.c.user_id == user_id)
        .scalar_subquery()
    )


async def users_by_ids(session: AsyncSession, user_ids: list[int]) -> dict[int, User]:
    """Users by id, in one statement."""
    rows = await session.scalars(select(User).where(User.id.in_(user_ids)))
    return {user.id: user for user in rows}


async def roles_by_ids(session: AsyncSession, role_ids: list[int]) -> dict[int, Role]:
    """Roles by id, in one statement."""
    rows = await session.scalars(select(Role).where(Role.id.in_(role_ids)))
    return {role.id: role for role in rows}


async def roles_of_users(session: AsyncSession, user_ids: list[int]) -> dict[int, list[Role]]:
    """The roles of each user, by name."""
    rows = await session.execute(
        select(user_role.c.user_id, Role)
        .join(Role, Role.id == user_role.c.role_id)
        .where(user_role.c.user_id.in_(user_ids))
        .order_by(Role.name)
    )
    grouped: dict[int, list[Role]] = {user_id: [] for user_id in user_ids}
    for user_id, role in rows:
        grouped[user_id].append(role)
    return grouped


async def permissions_of_roles(
    session: AsyncSession, role_ids: list[int]
) -> dict[int, list[Permission]]:
    """The permissions of each role, by name."""
    rows = await session.execute(
        select(role_permission.c.role_id, Permission)
        .join(Permission, Permission.name == role_permission.c.permission_name)
        .where(role_permission.c.role_id.in_(role_ids))
        .order_by(Permission.name)
    )
    grouped: dict[int, list[Permission]] = {role_id: [] for role_id in role_ids}
    for role_id, permission in rows:
        grouped[role_id].append(permission)
    return grouped


async def list_roles(session: AsyncSession) -> list[Role]:
    """Every role, by name."""
    return list(await session.scalars(select(Role).order_by(Role.name)))


async def list_permissions(session: AsyncSession) -> list[Permission]:
    """Every permission, by name."""
    return list(await session.scalars(select(Permission).order_by(Permission.name)))


async def _known_permissions(session: AsyncSession, names: Iterable[str]) -> list[str]:
    wanted = sorted(set(names))
    # Refused before the query: PostgreSQL cannot even compare a string holding NUL.
    if any(has_control_characters(name) for name in wanted):
        raise InvalidInput(
            "`permissions` must not contain control characters.", field="permissions"
        )
    known = set(await session.scalars(select(Permission.name).where(Permission.name.in_(wanted))))
    unknown = [name for name in wanted if name not in known]
    if unknown:
        raise UnknownPermission(
            f"Unknown permission(s): {', '.join(unknown)}.", field="permissions"
        )
    return wanted


async def _role(session: AsyncSession, role_id: int, *, field: str = "roleId") -> Role:
    role = await session.get(Role, role_id)
    if role is None:
        raise EntityNotFound("The role does not exist.", field=field)
    return role


async def _user(session: AsyncSession, user_id: int) -> User:
    user = await session.get(User, user_id)
    if user is None:
        raise EntityNotFound("The user does not exist.", field="userId")
    return user


async def create_role(
    session: AsyncSession, *, name: str, description: str, permissions: list[str]
) -> Role:
    """A new role with the given permissions."""
    clean_name = name.strip()
    if not ROLE_NAME.fullmatch(clean_name):
        raise InvalidInput(
            "`name` must be 2-64 lower-case letters, digits, '-' or '_', starting with a letter.",
            field="name",
        )
    if len(description) > 300:
        raise InvalidInput("`description` is longer than 300 characters.", field="description")
    if has_control_characters(description, multiline=True):
        raise InvalidInput(
            "`description` must not contain control characters.", field="description"
        )
    granted = await _known_permissions(session, permissions)
    if await session.scalar(select(Role.id).where(Role.name == clean_name)) is not None:
        raise RoleNameTaken(f"A role named {clean_name!r} exists already.", field="name")
    role = Role(name=clean_name, description=description.strip())
    try:
        # Added inside the savepoint: begin_nested() flushes what is pending before it.
        async with session.begin_nested():
            session.add(role)
            await session.flush()
    except IntegrityError:
        raise RoleNameTaken(f"A role named {clean_name!r} exists already.", field="name") from None
    if granted:
        await session.execute(
            insert(role_permission), [{"role_id": role.id, "permission_name": p} for p in granted]
        )
    return role


async def set_role_permissions(session: AsyncSession, role_id: int, permissions: list[str]) -> Role:
    """Replace the permissions of a role; the admin role always keeps all of them."""
    role = await _role(session, role_id)
    granted = await _known_permissions(session, permissions)
    if role.name == ADMIN and set(granted) != set(PERMISSIONS):
        raise LastAdmin("The admin role always holds every permission.", field="permissions")
    await session.execute(delete(role_permission).where(role_permission.c.role_id == role.id))
    if granted:
        await session.execute(
            insert(role_permission), [{"role_id": role.id, "permission_name": p} for p in granted]
        )
    return role


async def _holds(session: AsyncSession, user_id: int, role_id: int) -> bool:
    count = await session.scalar(
        select(func.count())
        .select_from(user_role)
        .where(user_role.c.user_id == user_id, user_role.c.role_id == role_id)
    )
    return bool(count)


async def assign_role(session: AsyncSession, user_id: int, role_id: int) -> User:
    """Give a user a role (nothing changes if they hold it already)."""
    user = await _user(session, user_id)
    role = await _role(session, role_id)
    # ON CONFLICT DO NOTHING, not check-then-insert: two concurrent assignments of the same
    # role both see "not held" under READ COMMITTED, and the second would violate the key.
    await session.execute(
        insert_for(session.get_bind().dialect.name)(user_role)
        .values(user_id=user.id, role_id=role.id)
        .on_conflict_do_nothing(index_elements=[user_role.c.user_id, user_role.c.role_id])
    )
    return user


async def _lock_admin_role(session: AsyncSession) -> Role | None:
    # Every change that could remove the last admin locks the admin role row first, so
    # two admins demoting each other at once cannot both succeed.
    return (
        await session.scalars(select(Role).where(Role.name == ADMIN).with_for_update())
    ).one_or_none()


async def _other_active_admins(session: AsyncSession, admin_role: Role, user_id: int) -> int:
    return int(
        await session.scalar(
            select(func.count())
            .select_from(user_role)
            .join(User, User.id == user_role.c.user_id)
            .where(
                user_role.c.role_id == admin_role.id,
                User.is_active.is_(True),
                User.id != user_id,
            )
        )
        or 0
    )


async def remove_role(session: AsyncSession, user_id: int, role_id: int) -> User:
    """Take a role from a user; the last active admin keeps theirs."""
    admin_role = await _lock_admin_role(session)
    user = await _user(session, user_id)
    role = await _role(session, role_id)
    if not await _holds(session, user.id, role.id):
        raise EntityNotFound(f"The user does not hold role {role.name!r}.", field="roleId")
    if (
        admin_role is not None
        and role.id == admin_role.id
        and user.is_active
        and await _other_active_admins(session, admin_role, user.id) == 0
    ):
        raise LastAdmin("The last active admin cannot lose the admin role.", field="userId")
    await session.execute(
        delete(user_role).where(user_role.c.user_id == user.id, user_role.c.role_id == role.id)
    )
    return user


async def set_user_active(session: AsyncSession, user_id: int, active: bool) -> User:
    """Activate or deactivate an account (which ends its sessions); the last active admin
    stays active."""
    admin_role = await _lock_admin_role(session)
    user = await _user(session, user_id)
    if (
        not active
        and user.is_active
        and admin_role is not None
        and await _holds(session, user.id, admin_role.id)
        and await _other_active_admins(session, admin_role, user.id) == 0
    ):
        raise LastAdmin("The last active admin cannot be deactivated.", field="userId")
    user.is_active = active
    await session.flush()
    if not active:
        # Signed out at once, for good: reactivating the account brings no token back.
        await session.execute(
            update(AuthSession)
            .where(AuthSession.user_id == user.id, AuthSession.revoked_at.is_(None))
            .values(revoked_at=utcnow())
            .execution_options(synchronize_session=False)
        )
    return user


async def give_role_by_name(session: AsyncSession, user_id: int, role_name: str) -> None:
    """Give a user a seeded role by name (registration gives `customer`)."""
    role_id = await session.scalar(select(Role.id).where(Role.name == role_name))
    if role_id is None:
        raise RuntimeError(f"role {role_name!r} is missing: run the migrations")
    await assign_role(session, user_id, role_id)
