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
from gql.graphql.connections import Connection
from gql.graphql.context import Info
from gql.graphql.ids import require_id
from gql.graphql.pagination import SortKey, paginate
from gql.graphql.permissions import requires
from gql.graphql.user_errors import NotFoundError, ValidationError, returns_user_errors

USERS_BY_ID = SortKey("ID_ASC", ((UserModel.id, False),))
ALL_USERS = select(UserModel)


@strawberry.input
class CreateRoleInput:
    name: str = strawberry.field(description="2-64 of a-z, 0-9, '-', '_'; starts with a letter.")
    description: str = ""
    permissions: list[str] = strawberry.field(default_factory=list)


@strawberry.input
class SetRolePermissionsInput:
    role_id: strawberry.ID
    permissions: list[str] = strawberry.field(description="The complete new set.")


@strawberry.input
class UserRoleInput:
    user_id: strawberry.ID
    role_id: strawberry.ID


@strawberry.input
class SetUserActiveInput:
    user_id: strawberry.ID
    is_active: bool


@strawberry.type
class RoleSuccess:
    role: Role


@strawberry.type
class UserSuccess:
    user: User


CreateRoleResult = Annotated[
    RoleSuccess | ValidationError | RoleNameTakenError | UnknownPermissionError,
    strawberry.union("CreateRoleResult"),
]
SetRolePermissionsResult = Annotated[
    RoleSuccess | NotFoundError | UnknownPermissionError | LastAdminError | ValidationError,
    strawberry.union("SetRolePermissionsResult"),
]
AssignRoleResult = Annotated[UserSuccess | NotFoundError, strawberry.union("AssignRoleResult")]
RemoveRoleResult = Annotated[
    UserSuccess | NotFoundError | LastAdminError, strawberry.union("RemoveRoleResult")
]
SetUserActiveResult = Annotated[
    UserSuccess | NotFoundError | LastAdminError, strawberry.union("SetUserActiveResult")
]


@strawberry.type
class AdminQuery:
    @strawberry.field(description="Every account, by id.", extensions=requires("user:manage"))
    async def users(
        self, info: Info, first: int | None = None, after: str | None = None
    ) -> Connection[User]:
        """A keyset page of users."""
        async with info.context.session() as session:
            page = await paginate(session, ALL_USERS, USERS_BY_ID, first=first, after=after)
        return Connection[User].from_page(page, User.from_model, info)

    @strawberry.field(description="Every role, by name.", extensions=requires("role:manage"))
    async def roles(self, info: Info) -> list[Role]:
        """Roles with their permissions."""
        async with info.context.session() as session:
            rows = await roles.list_roles(session)
        return [Role.from_model(row) for row in rows]

    @strawberry.field(
        description="Every permission that roles can grant.", extensions=requires("role:manage")
    )
    async def permissions(self, info: Info) -> list[Permission]:
        """The fixed catalogue of rights."""
        async with info.context.session() as session:
            rows = await roles.list_permissions(session)
        return [Permission.from_model(row) for row in rows]


@strawberry.type
class AdminMutation:
    @strawberry.mutation(description="Create a role.", extensions=requires("role:manage"))
    @returns_user_errors
    async def create_role(self, info: Info, input: CreateRoleInput) -> CreateRoleResult:
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
        description="Replace the permissions of a role.", extensions=requires("role:manage")
    )
    @returns_user_errors
    async def set_role_permissions(
        self, info: Info, input: SetRolePermissionsInput
    ) -> SetRolePermissionsResult:
        """The admin role always keeps every permission."""
        role_id = require_id(input.role_id, field="roleId", type_name="Role")
        async with info.context.transaction() as session:
            role = await roles.set_role_permissions(session, role_id, input.permissions)
        return RoleSuccess(role=Role.from_model(role))

    @strawberry.mutation(description="Give a user a role.", extensions=requires("role:manage"))
    @returns_user_errors
    async def assign_role(self, info: Info, input: UserRoleInput) -> AssignRoleResult:
        """Assigning a role the user holds changes nothing."""
        user_id = require_id(input.user_id, field="userId", type_name="User")
        role_id = require_id(input.role_id, field="roleId", type_name="Role")
        async with info.context.transaction() as session:
            user = await roles.assign_role(session, user_id, role_id)
        return UserSuccess(user=User.from_model(user))

    @strawberry.mutation(description="Take a role from a user.", extensions=requires("role:manage"))
    @returns_user_errors
    async def remove_role(self, info: Info, input: UserRoleInput) -> RemoveRoleResult:
        """The last active admin cannot lose the admin role."""
        user_id = require_id(input.user_id, field="userId", type_name="User")
        role_id = require_id(input.role_id, field="roleId", type_name="Role")
        async with info.context.transaction() as session:
            user = await roles.remove_role(session, user_id, role_id)
        return UserSuccess(user=User.from_model(user))

    @strawberry.mutation(
        description="Activate or deactivate an account; a deactivated one is signed out at once.",
        extensions=requires("user:manage"),
    )
    @returns_user_errors
    async def set_user_active(self, info: Info, input: SetUserActiveInput) -> SetUserActiveResult:
        """The last active admin cannot be deactivated."""
        user_id = require_id(input.user_id, field="userId", type_name="User")
        async with info.context.transaction() as session:
            user = await roles.set_user_active(session, user_id, input.is_active)
        return UserSuccess(user=User.from_model(user))
