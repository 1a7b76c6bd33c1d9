"""Administration of users, roles and permissions (GraphQL face)."""

from typing import Annotated

import strawberry
from sqlalchemy import select

from gql.auth import roles
from gql.auth.models import User as UserModel
from gql.auth.types import (
    LastAdminError,
    Permission,
    Role,
    RoleNameTakenError,
    UnknownPermissionError,
    User,
)
from gql.graphql.connections import AFTER, FIRST, Connection
from gql.graphql.context import Info
from gql.graphql.ids import require_id
from gql.graphql.pagination import SortKey, paginate
from gql.graphql.permissions import requires
from gql.graphql.user_errors import NotFoundError, ValidationError, returns_user_errors

USERS_BY_ID = SortKey("ID_ASC", ((UserModel.id, False),))
ALL_USERS = select(UserModel)


@strawberry.input(description="A new role.")
class CreateRoleInput:
    name: str = strawberry.field(
        description="2-64 of a-z, 0-9, '-', '_'; starts with a letter; no other role's."
    )
    description: str = strawberry.field(
        default="", description="What the role is for, at most 300 characters."
    )
    permissions: list[str] = strawberry.field(
        default_factory=list,
        description="Names of the permissions it grants (see `permissions`); none by default.",
    )


@strawberry.input(description="A role and every permission it is to grant.")
class SetRolePermissionsInput:
    role_id: strawberry.ID = strawberry.field(description="The role's `id`.")
    permissions: list[str] = strawberry.field(
        description="The complete new set, by name; the admin role keeps every permission."
    )


@strawberry.input(description="A user and a role.")
class UserRoleInput:
    user_id: strawberry.ID = strawberry.field(description="The user's `id`.")
    role_id: strawberry.ID = strawberry.field(description="The role's `id`.")


@strawberry.input(description="An account and whether it may sign in.")
class SetUserActiveInput:
    user_id: strawberry.ID = strawberry.field(description="The user's `id`.")
    is_active: bool = strawberry.field(
        description="false signs the account out everywhere and refuses its logins; true lets "
        "it sign in again (its old sessions stay ended)."
    )


@strawberry.type(description="The role as it is now.")
class RoleSuccess:
    role: Role = strawberry.field(description="The created or changed role.")


@strawberry.type(description="The user as they are now.")
class UserSuccess:
    user: User = strawberry.field(description="The changed user.")


CreateRoleResult = Annotated[
    RoleSuccess | ValidationError | RoleNameTakenError | UnknownPermissionError,
    strawberry.union("CreateRoleResult", description="The new role, or why none was made."),
]
SetRolePermissionsResult = Annotated[
    RoleSuccess | NotFoundError | UnknownPermissionError | LastAdminError | ValidationError,
    strawberry.union(
        "SetRolePermissionsResult", description="The changed role, or why nothing changed."
    ),
]
AssignRoleResult = Annotated[
    UserSuccess | NotFoundError,
    strawberry.union("AssignRoleResult", description="The user with the role, or why not."),
]
RemoveRoleResult = Annotated[
    UserSuccess | NotFoundError | LastAdminError,
    strawberry.union(
        "RemoveRoleResult",
        description="The user without the role, or why not (NotFoundError when they lack it).",
    ),
]
SetUserActiveResult = Annotated[
    UserSuccess | NotFoundError | LastAdminError,
    strawberry.union("SetUserActiveResult", description="The changed user, or why not."),
]


@strawberry.type
class AdminQuery:
    @strawberry.field(
        description="Every account, by id. Needs `user:manage`.", extensions=requires("user:manage")
    )
    async def users(
        self,
        info: Info,
        first: Annotated[int | None, strawberry.argument(description=FIRST)] = None,
        after: Annotated[str | None, strawberry.argument(description=AFTER)] = None,
    ) -> Connection[User]:
        """A keyset page of users."""
        async with info.context.session() as session:
            page = await paginate(session, ALL_USERS, USERS_BY_ID, first=first, after=after)
        return Connection[User].from_page(page, User.from_model, info)

    @strawberry.field(
        description="Every role, by name. Needs `role:manage`.", extensions=requires("role:manage")
    )
    async def roles(self, info: Info) -> list[Role]:
        """Roles with their permissions."""
        async with info.context.session() as session:
            rows = await roles.list_roles(session)
        return [Role.from_model(row) for row in rows]

    @strawberry.field(
        description="Every permission that roles can grant, by name. Needs `role:manage`.",
        extensions=requires("role:manage"),
    )
    async def permissions(self, info: Info) -> list[Permission]:
        """The fixed catalogue of rights."""
        async with info.context.session() as session:
            rows = await roles.list_permissions(session)
        return [Permission.from_model(row) for row in rows]


@strawberry.type
class AdminMutation:
    @strawberry.mutation(
        description="Create a role. Needs `role:manage`.", extensions=requires("role:manage")
    )
    @returns_user_errors
    async def create_role(
        self,
        info: Info,
        input: Annotated[
            CreateRoleInput,
            strawberry.argument(description="The role's name, description and permissions."),
        ],
    ) -> CreateRoleResult:
        """Unknown permission names are rejected."""
        async with info.context.transaction() as session:
            role = await roles.create_role(
                session,
                name=input.name,
                description=input.description,
                permissions=input.permissions,
            )
        return RoleSuccess(role=Role.from_model(role))

    @strawberry.mutation(
        description="Replace the permissions of a role. Needs `role:manage`.",
        extensions=requires("role:manage"),
    )
    @returns_user_errors
    async def set_role_permissions(
        self,
        info: Info,
        input: Annotated[
            SetRolePermissionsInput,
            strawberry.argument(description="The role and its new permissions."),
        ],
    ) -> SetRolePermissionsResult:
        """The admin role always keeps every permission."""
        role_id = require_id(input.role_id, field="roleId", type_name="Role")
        async with info.context.transaction() as session:
            role = await roles.set_role_permissions(session, role_id, input.permissions)
        return RoleSuccess(role=Role.from_model(role))

    @strawberry.mutation(
        description="Give a user a role (no change if they hold it). Needs `role:manage`.",
        extensions=requires("role:manage"),
    )
    @returns_user_errors
    async def assign_role(
        self,
        info: Info,
        input: Annotated[UserRoleInput, strawberry.argument(description="The user and role.")],
    ) -> AssignRoleResult:
        """Assigning a role the user holds changes nothing."""
        user_id = require_id(input.user_id, field="userId", type_name="User")
        role_id = require_id(input.role_id, field="roleId", type_name="Role")
        async with info.context.transaction() as session:
            user = await roles.assign_role(session, user_id, role_id)
        return UserSuccess(user=User.from_model(user))

    @strawberry.mutation(
        description="Take a role from a user; the last active admin keeps `admin`. Needs "
        "`role:manage`.",
        extensions=requires("role:manage"),
    )
    @returns_user_errors
    async def remove_role(
        self,
        info: Info,
        input: Annotated[UserRoleInput, strawberry.argument(description="The user and role.")],
    ) -> RemoveRoleResult:
        """The last active admin cannot lose the admin role."""
        user_id = require_id(input.user_id, field="userId", type_name="User")
        role_id = require_id(input.role_id, field="roleId", type_name="Role")
        async with info.context.transaction() as session:
            user = await roles.remove_role(session, user_id, role_id)
        return UserSuccess(user=User.from_model(user))

    @strawberry.mutation(
        description="Activate or deactivate an account; a deactivated one is signed out at once. "
        "The last active admin stays active. Needs `user:manage`.",
        extensions=requires("user:manage"),
    )
    @returns_user_errors
    async def set_user_active(
        self,
        info: Info,
        input: Annotated[
            SetUserActiveInput, strawberry.argument(description="The account and its state.")
        ],
    ) -> SetUserActiveResult:
        """The last active admin cannot be deactivated."""
        user_id = require_id(input.user_id, field="userId", type_name="User")
        async with info.context.transaction() as session:
            user = await roles.set_user_active(session, user_id, input.is_active)
        return UserSuccess(user=User.from_model(user))
