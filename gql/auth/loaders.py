"""Per-request DataLoaders of identity."""

from aiodataloader import DataLoader

from gql.auth import models, roles, sessions
from gql.graphql.context import Context
from gql.graphql.loaders import rows_by_key


def roles_by_user_id(context: Context) -> DataLoader[int, list[models.Role]]:
    """Roles of many users in one statement."""

    async def load(user_ids: list[int]) -> list[list[models.Role]]:
        async with context.session() as session:
            grouped = await roles.roles_of_users(session, user_ids)
        return [grouped[user_id] for user_id in user_ids]

    return DataLoader(load)


def permissions_by_role_id(context: Context) -> DataLoader[int, list[models.Permission]]:
    """Permissions of many roles in one statement."""

    async def load(role_ids: list[int]) -> list[list[models.Permission]]:
        async with context.session() as session:
            grouped = await roles.permissions_of_roles(session, role_ids)
        return [grouped[role_id] for role_id in role_ids]

    return DataLoader(load)


def role_by_id(context: Context) -> DataLoader[int, models.Role | None]:
    """Roles by id in one statement."""
    return rows_by_key(context, roles.roles_by_ids)


def session_by_id(context: Context) -> DataLoader[str, models.AuthSession | None]:
    """Sessions by id in one statement."""
    return rows_by_key(context, sessions.sessions_by_ids)


def user_by_id(context: Context) -> DataLoader[int, models.User | None]:
    """Users by id in one statement."""
    return rows_by_key(context, roles.users_by_ids)
